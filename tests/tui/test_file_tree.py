"""The files tab's tree: folders indexed in one pass, built only when opened, flags ranked and coloured."""

from __future__ import annotations

from collections.abc import Sequence
from pathlib import Path

import pytest
import studbook.tui
from hypothesis import given
from hypothesis import strategies as st
from rich.style import Style
from studbook.tui.widgets.file_tree import (
    FOLDER_PAGE,
    ICON_WIDTH,
    NAME_COLUMN_MAX,
    NAME_MIN,
    FileNodeData,
    FileTree,
    Folder,
    Severity,
    flag_note,
    flag_severity,
    index_files,
    name_column,
)
from studbook.v1 import formats_pb2, resources_pb2
from textual.app import App, ComposeResult
from textual.color import Color
from textual.pilot import Pilot
from textual.widgets.tree import TreeNode

SHA = "ab" * 32


def artifact(
    path: str, size: int = 10, flags: Sequence[str] = (), fmt: str = "safetensors"
) -> resources_pb2.ArtifactFile:
    return resources_pb2.ArtifactFile(path=path, size=size, sha256=SHA, format=fmt, flags=list(flags))


class Host(App[None]):
    """Just the tree, styled by the real stylesheet."""

    CSS_PATH = [str(Path(studbook.tui.__file__).parent / name) for name in ("studbook.tcss", "screens.tcss")]

    def compose(self) -> ComposeResult:
        yield FileTree(id="file-tree")


def built(tree: FileTree) -> int:
    """How many nodes exist below the root."""
    return len(descendants(tree.root))


async def first_folder_opened(
    app: Host, pilot: Pilot[None], files: list[resources_pb2.ArtifactFile]
) -> tuple[FileTree, TreeNode[FileNodeData]]:
    """The tree showing `files`, with the root's first folder opened."""
    tree = app.query_one(FileTree)
    tree.show(files, "v1")
    await pilot.pause()
    folder = tree.root.children[0]
    folder.expand()
    await pilot.pause()
    return tree, folder


def descendants(node: TreeNode[FileNodeData]) -> list[TreeNode[FileNodeData]]:
    return [d for child in node.children for d in (child, *descendants(child))]


async def open_everything(tree: FileTree, pilot: Pilot[None]) -> list[TreeNode[FileNodeData]]:
    """Open every folder, a level at a time (each is built when opened); return every node."""
    nodes: list[TreeNode[FileNodeData]] = []
    for _ in range(5):
        await pilot.pause()
        nodes = [tree.root, *descendants(tree.root)]
        for node in nodes:
            if node.allow_expand and not node.is_expanded:
                node.expand()
    return nodes


def is_file(node: TreeNode[FileNodeData]) -> bool:
    return node.data is not None and node.data.file is not None


def folder_at(index_root: Folder, path: str) -> Folder:
    folder = index_root
    for part in path.split("/"):
        folder = folder.folders[part]
    return folder


# ---- the index ----

segment = st.text(alphabet="abcXY._-", min_size=1, max_size=4)
paths = st.lists(st.lists(segment, min_size=1, max_size=4).map("/".join), max_size=40, unique=True)


@given(paths, st.integers(min_value=0, max_value=10**12))
def test_every_file_lands_in_its_folder_and_every_folder_counts_what_is_below_it(names: list[str], size: int) -> None:
    files = [artifact(name, size=size, flags=["unsafe-format"] if n % 3 == 0 else []) for n, name in enumerate(names)]

    index = index_files(files, "v1")

    assert (index.root.file_count, index.root.size) == (len(files), size * len(files))
    for item in files:
        folder_path, _, name = item.path.rpartition("/")
        folder = folder_at(index.root, folder_path) if folder_path else index.root
        assert item in folder.files
        below = [f for f in files if f.path.startswith(folder.path + "/")] if folder_path else files
        assert folder.file_count == len(below)
        assert folder.flagged == sum(1 for f in below if f.flags)


def test_only_flags_that_call_for_care_count_a_file_as_flagged() -> None:
    files = [artifact("a.onnx", flags=["external-data"]), artifact("b.pkl", flags=["unsafe-format"]),
             artifact("c.pkl", flags=["unsafe-format", "dangerous-global:os.system"])]  # fmt: skip

    root = index_files(files).root

    assert (root.flagged, root.danger, root.worst) == (2, 1, Severity.DANGER)
    assert index_files(files[:2]).root.worst == Severity.CAUTION


def test_empty_path_segments_are_skipped() -> None:
    index = index_files([artifact("/a//b.bin"), artifact("c.bin"), artifact("")])

    assert [f.path for f in index.root.folders["a"].files] == ["/a//b.bin"]
    assert index.root.file_count == 2


def test_a_folder_lists_its_sub_folders_first_then_files_by_name() -> None:
    index = index_files([artifact("b.bin"), artifact("Z/x.bin"), artifact("A.bin"), artifact("a/y.bin")])

    names = [e.name if isinstance(e, Folder) else e.path for e in index.root.entries()]

    assert names == ["a", "Z", "A.bin", "b.bin"]


@pytest.mark.parametrize(
    ("flag", "severity"),
    [("dangerous-global:os.system", Severity.DANGER), ("lambda-layer", Severity.DANGER),
     ("remote-code", Severity.DANGER), ("remote-code:modeling_x.py", Severity.DANGER),
     ("unsafe-ops:PyFunc,WriteFile", Severity.DANGER), ("unsafe-global:os.system", Severity.DANGER),
     ("unknown-global:__main__.Net", Severity.CAUTION), ("unsafe-format", Severity.CAUTION),
     ("unreadable:BAD_MAGIC", Severity.CAUTION), ("torchscript-code", Severity.CAUTION),
     ("external-data", Severity.NOTE), ("a-flag-from-a-newer-daemon", Severity.CAUTION),
     ("dangerous-global", Severity.CAUTION)],
)  # fmt: skip
def test_flags_that_run_code_on_load_rank_as_danger(flag: str, severity: Severity) -> None:
    assert flag_severity(flag) == severity


def test_flag_notes_name_what_the_flag_carries() -> None:
    assert "os.system" in flag_note("dangerous-global:os.system")
    assert "__main__.Net" in flag_note("unknown-global:__main__.Net")
    assert "PyFunc, WriteFile" in flag_note("unsafe-ops:PyFunc, WriteFile")
    assert "modeling_x.py" in flag_note("remote-code:modeling_x.py")
    assert "BAD_MAGIC" in flag_note("unreadable:BAD_MAGIC")
    assert flag_note("a-flag-from-a-newer-daemon") == ""


# ---- the widget ----


async def test_ten_thousand_files_build_only_the_folders_that_are_open() -> None:
    files = [artifact(f"shard-{n % 100:03d}/part-{n:05d}.bin") for n in range(10_000)]
    app = Host()

    async with app.run_test() as pilot:
        tree = app.query_one(FileTree)
        tree.show(files, "big v1")
        await pilot.pause()
        after_show = built(tree)
        tree.root.children[7].expand()
        await pilot.pause()
        after_open = built(tree)

    assert after_show == 100  # the folders, not their files
    assert after_open == 200  # one folder's 100 files added


async def test_a_long_folder_shows_a_page_and_enter_on_more_shows_the_rest() -> None:
    files = [artifact(f"part-{n:05d}.bin") for n in range(FOLDER_PAGE + 20)]
    app = Host()

    async with app.run_test() as pilot:
        tree = app.query_one(FileTree)
        tree.show(files, "long v1")
        tree.focus()
        await pilot.pause()
        first_page = len(tree.root.children)
        more = tree.root.children[-1]
        more_label = tree.render_label(more, tree.rich_style, tree.rich_style).plain
        tree.move_cursor(more)
        await pilot.press("enter")
        await pilot.pause()
        everything = [node.data.file.path for node in tree.root.children if node.data and node.data.file]

    assert first_page == FOLDER_PAGE + 1
    assert "20 more" in more_label
    assert everything == [f.path for f in files]


async def test_labels_line_up_columns_and_are_measured_without_drawing() -> None:
    files = [
        artifact("model.pkl", 2048, ["unsafe-format", "dangerous-global:os.system"], "pickle"),
        artifact("weights/a-rather-long-file-name-that-will-not-fit-the-name-column.safetensors", 5),
        artifact("weights/[bold]odd.bin", 1),
        artifact("weights/d/e/x", 1),  # short names deep down
        *(artifact(f"many/{n}.bin") for n in range(FOLDER_PAGE + 1)),
    ]
    app = Host()

    async with app.run_test(size=(200, 40)) as pilot:
        tree = app.query_one(FileTree)
        tree.show(files, "v1")
        nodes = await open_everything(tree, pilot)
        labels = {n.id: tree.render_label(n, tree.rich_style, tree.rich_style) for n in nodes}
        widths = {n.id: tree.get_label_width(n) for n in nodes}
        rows = {n.id: " " * tree.guide_depth * n.data.depth + labels[n.id].plain for n in nodes if is_file(n)}

    assert widths == {key: label.cell_len for key, label in labels.items()}
    assert len(rows) == len(files) - 1  # all but the one past the first page of many/
    assert len({row.index(SHA[:12]) for row in rows.values()}) == 1  # same columns at every depth
    assert any("[bold]odd.bin" in row for row in rows.values())  # a name is never read as markup
    assert any("a-rather-long" in row and "…" in row for row in rows.values())  # cut to the name column
    pickle = next(row for row in rows.values() if "model.pkl" in row)
    assert "2.0 KiB" in pickle and "pickle" in pickle and SHA[:12] in pickle and "dangerous-global:os.system" in pickle


async def test_short_names_deep_down_keep_the_columns_in_line() -> None:
    files = [artifact("model.pkl"), artifact("w/x.onnx"), artifact("w/d/y")]
    app = Host()

    async with app.run_test() as pilot:
        tree = app.query_one(FileTree)
        tree.show(files, "v1")
        nodes = await open_everything(tree, pilot)
        rows = [" " * tree.guide_depth * n.data.depth + tree.render_label(n, Style(), Style()).plain  # type: ignore[union-attr]
                for n in nodes if is_file(n)]  # fmt: skip

    assert len(rows) == 3
    assert len({row.index(SHA[:12]) for row in rows}) == 1


@given(st.dictionaries(st.integers(min_value=0, max_value=30), st.integers(min_value=1, max_value=200), min_size=1))
def test_the_name_column_leaves_every_level_room_and_is_capped_unless_the_tree_is_very_deep(
    widest: dict[int, int],
) -> None:
    column = name_column(widest, guide_depth=4)

    room = {depth: column - depth * 4 - ICON_WIDTH for depth in widest}
    deepest_needs = max(widest) * 4 + ICON_WIDTH + NAME_MIN
    assert all(room[depth] >= min(width, NAME_MIN) for depth, width in widest.items())
    assert column <= max(NAME_COLUMN_MAX, deepest_needs)
    if column < NAME_COLUMN_MAX:  # not cut: every name fits
        assert all(room[depth] >= width for depth, width in widest.items())


async def test_danger_flags_take_the_themes_error_colour_and_caution_flags_its_warning_colour() -> None:
    files = [artifact("model.pkl", flags=["unsafe-format", "dangerous-global:os.system"], fmt="pickle")]
    app = Host()

    async with app.run_test() as pilot:
        tree = app.query_one(FileTree)
        tree.show(files, "v1")
        await pilot.pause()
        label = tree.render_label(tree.root.children[0], tree.rich_style, tree.rich_style)
        styles = {label.plain[span.start : span.end]: span.style for span in label.spans}
        theme = app.theme_variables

    danger, caution = styles["dangerous-global:os.system"], styles["unsafe-format"]
    assert danger.color.triplet == Color.parse(theme["text-error"]).rich_color.triplet  # type: ignore[union-attr]
    assert danger.bgcolor.triplet == Color.parse(theme["error-muted"]).rich_color.triplet  # type: ignore[union-attr]
    assert danger.bold
    assert caution.color.triplet == Color.parse(theme["text-warning"]).rich_color.triplet  # type: ignore[union-attr]


async def test_the_detail_of_a_file_gives_its_full_hash_and_what_each_flag_means() -> None:
    files = [artifact("sub/model.pkl", 16, ["dangerous-global:os.system"], "pickle")]
    app = Host()

    async with app.run_test() as pilot:
        tree, folder = await first_folder_opened(app, pilot, files)
        file_text = tree.describe(folder.children[0]).plain
        folder_text = tree.describe(folder).plain

    assert "sub/model.pkl" in file_text and f"sha256 {SHA}" in file_text
    assert "dangerous-global:os.system  loading it calls os.system" in file_text
    assert folder_text.startswith("sub/") and "1 flagged, 1 can run code when loaded" in folder_text


async def test_a_version_without_files_says_so() -> None:
    app = Host()

    async with app.run_test() as pilot:
        tree = app.query_one(FileTree)
        tree.show([], "v1")
        await pilot.pause()
        labels = [str(node.label) for node in tree.root.children]

    assert labels == ["no files registered with this version"]


async def test_names_flags_and_format_facts_from_files_show_escaped() -> None:
    hostile = "evil\x1b]8;;x\x07\u202eos.pkl"
    info = formats_pb2.FormatInfo(format="gguf", architecture="llama\x1b[2J")
    files = [resources_pb2.ArtifactFile(path=f"sub\x1b[31m/{hostile}", size=3, sha256=SHA, format="gguf",
                                        flags=["unknown-global:a\x1bb.C"], format_info=info)]  # fmt: skip
    app = Host()

    async with app.run_test() as pilot:
        tree, folder = await first_folder_opened(app, pilot, files)
        row = tree.render_label(folder.children[0], Style(), Style()).plain
        texts = [str(folder.label), row, tree.describe(folder).plain, tree.describe(folder.children[0]).plain]

    assert not any("\x1b" in t or "\u202e" in t or "\x07" in t for t in texts)
    assert "\\x1b]8;;x\\x07\\u202eos.pkl" in texts[3] and "llama\\x1b[2J" in texts[3]
    assert "sub\\x1b[31m" in texts[0]
