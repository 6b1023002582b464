"""What users wrote is shown escaped in the UI: escape sequences, bidi overrides and other
invisible characters appear as visible escapes, and user text is never read as markup."""

from __future__ import annotations

from studbook.tui.screens.version import VersionScreen

HOSTILE = "\x1b]8;;https://evil.example/\x07click\x1b]8;;\x07 \x1b[2J \u202egnp.exe"
MARKUP = "[b]loud[/b] [@click=app.quit]quit[/]"
RAW = ("\x1b", "\x07", "\u202e")


def raw_free(text: str) -> bool:
    return not any(ch in text for ch in RAW)


async def test_a_versions_hostile_text_is_shown_escaped_and_never_as_markup(
    shared_daemon, seeder, model_id, ui
) -> None:
    version = seeder.version(model_id, {"auc": 0.9}, params={"lr": f"0.1 {HOSTILE}"},
                             tags={"team": f"{HOSTILE} {MARKUP}"}, card=f"# Card\n\n{HOSTILE} {MARKUP}\n")  # fmt: skip
    seeder.client.update_version(
        __import__("studbook.v1.resources_pb2", fromlist=["x"]).ModelVersion(
            name=version.name, description=f"{HOSTILE} {MARKUP}"
        ),
        ["description"],
    )
    seeder.client.promote(f"{model_id}@1", "staging", reason=f"because {HOSTILE} {MARKUP}")
    app = ui.app(shared_daemon.address)

    async with app.run_test(size=(200, 50)) as pilot:
        app.open_version(f"{model_id}@1")
        await ui.wait_for(pilot, lambda: isinstance(app.screen, VersionScreen) and app.screen.version, "version")
        await ui.wait_for_text(pilot, "\\u202egnp.exe")
        seen = {"overview": ui.text(app)}
        for key, tab, expected in (("3", "params", "lr"), ("6", "card", "Card"), ("8", "history", "because")):
            await pilot.press(key)
            await ui.wait_for_text(pilot, expected)
            seen[tab] = ui.text(app)
        running = app.is_running

    assert running  # the [@click=app.quit] in user text did nothing
    for tab, text in seen.items():
        assert raw_free(text), (tab, text)
    assert "\\x1b]8;;https://evil.example/\\x07click" in seen["overview"]
    assert "[b]loud[/b]" in seen["overview"] and "\\[b]" not in seen["overview"]  # as typed, not bold
    assert "\\x1b[2J" in seen["params"]
    assert "\\u202egnp.exe" in seen["card"] and "[b]loud[/b]" in seen["card"]
    assert "because \\x1b]8;;" in seen["history"]


async def test_a_diff_of_hostile_text_is_shown_escaped(shared_daemon, seeder, model_id, ui) -> None:
    seeder.version(model_id, {"auc": 0.9}, params={"lr": "0.1"}, card=f"# v1\n{HOSTILE} [2J {MARKUP}")
    seeder.version(model_id, {"auc": 0.9}, params={"lr": f"0.2 {HOSTILE}"}, card="# v2\n")
    app = ui.app(shared_daemon.address)

    async with app.run_test(size=(200, 60)) as pilot:
        app.open_diff(f"{model_id}@1", f"{model_id}@2")
        await ui.wait_for_text(pilot, "-# v1")  # the card diff
        await ui.wait_for_text(pilot, "0.2 \\x1b]8")  # the params table, filled on its own
        text = ui.text(app)

    assert raw_free(text), text
    assert "0.2 \\x1b]8;;https://evil.example/\\x07click" in text  # the params table
    assert "[2J [b]loud[/b]" in text and "\\[b]" not in text  # the card diff, as written
