"""A model renamed while the UI shows it: the models list and its versions screen follow the new name."""

from __future__ import annotations

from studbook.client.clients import Client
from studbook.tui.screens.models import ModelsScreen
from studbook.tui.screens.versions import VersionsScreen


async def test_the_models_list_and_an_open_versions_screen_follow_a_rename(shared_daemon, model_id, ui) -> None:  # type: ignore[no-untyped-def]
    new = f"{model_id}-v2"
    with Client(shared_daemon.address) as client:
        client.register(model_id, uri="s3://m/1", environment=False, git=False)
        client.register(model_id, uri="s3://m/2", environment=False, git=False)
    app = ui.app(shared_daemon.address)

    async with app.run_test(size=(160, 40)) as pilot:
        await ui.wait_for_text(pilot, "● connected")
        await ui.wait_for(pilot, lambda: isinstance(app.screen, ModelsScreen) and f"models/{model_id}" in
                          app.screen.models, "the model listed")  # fmt: skip
        models = app.screen
        app.open_versions(model_id)
        await ui.wait_for(pilot, lambda: isinstance(app.screen, VersionsScreen) and len(app.screen.versions) == 2,
                          "its versions")  # fmt: skip
        screen = app.screen
        with Client(shared_daemon.address) as client:
            client.rename_model(model_id, new)
        await ui.wait_for(pilot, lambda: screen.model_id == new, "the versions screen to follow the rename")
        await ui.wait_for(pilot, lambda: screen.model is not None and screen.model.name == f"models/{new}"
                          and [v.name for v in screen.versions] == [f"models/{new}/versions/2", f"models/{new}/versions/1"],
                          "the versions under the new name")  # fmt: skip
        await ui.wait_for_text(pilot, f"models › {new}")
        await pilot.press("escape")
        await ui.wait_for(pilot, lambda: f"models/{new}" in models.models and f"models/{model_id}" not in models.models,
                          "the models list to follow")  # fmt: skip
