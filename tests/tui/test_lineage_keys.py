"""The lineage tab is driven by the same keys as the tables: j/k/g/G move, h/l close and open, enter follows."""

from __future__ import annotations

from studbook.tui.screens.version import VersionScreen
from studbook.tui.widgets.lineage_tree import LineageTree


async def _lineage_of_first(app, pilot, ui, model_id):  # type: ignore[no-untyped-def]
    app.open_version(f"{model_id}@1", tab="lineage")
    await ui.wait_for(pilot, lambda: isinstance(app.screen, VersionScreen) and app.screen.version, "version")
    tree = app.screen.query_one(LineageTree)
    await ui.wait_for(pilot, lambda: tree.has_focus, "the tree has the keys")
    return tree


async def test_j_and_k_move_the_cursor_and_g_and_G_jump(shared_daemon, seeder, model_id, ui) -> None:
    base = seeder.version(model_id, {"auc": 0.9})
    seeder.version(model_id, {"auc": 0.92}, parents=((f"{model_id}@{base.number}", "fine_tuned_from"),))
    app = ui.app(shared_daemon.address)

    async with app.run_test(size=(120, 40)) as pilot:
        tree = await _lineage_of_first(app, pilot, ui, model_id)
        upstream, downstream = tree.root.children
        await pilot.press("g")
        at_top = tree.cursor_node
        await pilot.press("j")
        after_j = tree.cursor_node
        await pilot.press("j")
        after_jj = tree.cursor_node
        await pilot.press("k")
        after_k = tree.cursor_node
        await pilot.press("G")
        at_bottom = tree.cursor_node

    assert at_top is tree.root
    assert after_j is upstream and after_jj is downstream and after_k is upstream
    assert at_bottom is downstream


async def test_enter_on_the_root_leaves_it_open(shared_daemon, seeder, model_id, ui) -> None:
    seeder.version(model_id, {"auc": 0.9})
    app = ui.app(shared_daemon.address)

    async with app.run_test(size=(120, 40)) as pilot:
        tree = await _lineage_of_first(app, pilot, ui, model_id)
        await pilot.press("g", "enter")
        await pilot.pause()
        text = ui.text(app)

    assert tree.root.is_expanded
    assert "came from" in text and "led to" in text


async def test_l_opens_a_branch_h_closes_it_and_enter_follows_a_version(shared_daemon, seeder, model_id, ui) -> None:
    base = seeder.version(model_id, {"auc": 0.9})
    seeder.version(model_id, {"auc": 0.92}, parents=((f"{model_id}@{base.number}", "fine_tuned_from"),))
    app = ui.app(shared_daemon.address)

    async with app.run_test(size=(120, 40)) as pilot:
        tree = await _lineage_of_first(app, pilot, ui, model_id)
        downstream = tree.root.children[1]
        await pilot.press("G", "l")
        await ui.wait_for(pilot, lambda: downstream.data.loaded, "the branch fetched")
        opened = downstream.is_expanded
        await pilot.press("h")
        closed = not downstream.is_expanded
        await pilot.press("l")
        await pilot.press("l")  # on an open branch: to its first child, the version made from this one
        await pilot.press("enter")
        await ui.wait_for(pilot, lambda: isinstance(app.screen, VersionScreen) and app.screen.ref == f"{model_id}@2",
                          "the downstream version opened")  # fmt: skip
        await ui.wait_for(pilot, lambda: app.screen.version is not None, "its version loaded")
        followed = app.screen.version.number

    assert opened and closed
    assert followed == 2
