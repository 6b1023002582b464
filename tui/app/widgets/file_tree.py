"""FileTree: a version's files as folders that open lazily, each file with size, format, sha256 and flags."""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass, field
from enum import IntEnum
from typing import ClassVar

from rich.cells import cell_len, set_cell_size
from rich.style import Style
from rich.text import Text
from studbook.cli.format_view import compact_lines
from studbook.cli.output import format_size
from studbook.client.safe_text import safe
from studbook.v1 import formats_pb2, resources_pb2
from textual.binding import Binding, BindingType
from textual.widgets import Tree
from textual.widgets.tree import TreeNode

ArtifactFile = resources_pb2.ArtifactFile

# A folder shows this many entries at a time; a "more" node brings the next ones, so
# opening a folder of 10,000 files costs the same as opening one of 500.
FOLDER_PAGE = 500
# Column widths, in cells, after the name column.
SIZE_WIDTH = 10
FORMAT_WIDTH = 12
SHA_WIDTH = 12
GAP = 2
COLUMNS_WIDTH = GAP + SIZE_WIDTH + GAP + FORMAT_WIDTH + GAP + SHA_WIDTH + GAP
# Names are padded up to this column (counted from the tree's left edge) and cut beyond it.
NAME_COLUMN_MAX = 56
NAME_MIN = 8
ICON_WIDTH = 2
# Lets a click on a folder's arrow toggle it, as in Textual's own Tree.
TOGGLE = Style.from_meta({"toggle": True})


class Severity(IntEnum):
    """How much a safety flag should worry whoever loads the file."""

    NOTE = 0
    CAUTION = 1
    DANGER = 2


# Flags that mean loading the file runs code somebody else wrote, or touches files,
# processes or the network. "unsafe-global:" is what daemons before the dangerous/unknown
# split recorded; stored files may still carry it.
DANGER_FLAGS = (
    "dangerous-global:", "unsafe-global:", "unsafe-ops:", "lambda-layer", "remote-code", "remote-code:",
)  # fmt: skip
NOTE_FLAGS = ("external-data",)
FLAG_NOTES = {
    "unsafe-format": "pickle-based: loading it can run arbitrary code",
    "dangerous-global:": "loading it calls {rest}, which can run code or reach the system",
    "unknown-global:": "loading it imports {rest}, which is not on the allow-list",
    "unsafe-global:": "loading it imports {rest}",
    "unsafe-ops:": "its graph runs file or Python ops: {rest}",
    "lambda-layer": "a Keras Lambda layer: it stores Python code",
    "remote-code": "needs trust_remote_code: runs code shipped with the model",
    "remote-code:": "needs trust_remote_code: runs {rest} shipped with the model",
    "torchscript-code": "holds TorchScript code",
    "unreadable:": "no reader accepted it ({rest})",
    "extension-mismatch": "its content does not match its extension",
    "external-data-missing": "the weights it points to are missing",
    "external-data": "its weights live in another file",
}


def flag_severity(flag: str) -> Severity:
    """DANGER for code that runs on load, NOTE for plain facts, CAUTION for the rest (unknown flags too)."""
    if any(flag == known or (known.endswith(":") and flag.startswith(known)) for known in DANGER_FLAGS):
        return Severity.DANGER
    if flag in NOTE_FLAGS:
        return Severity.NOTE
    return Severity.CAUTION


def flag_note(flag: str) -> str:
    """What a flag means, in words; empty for a flag this client does not know."""
    prefix, colon, rest = flag.partition(":")
    note = FLAG_NOTES.get(prefix + colon, "")
    return note.format(rest=rest) if note else ""


def worst(flags: Iterable[str]) -> Severity | None:
    return max((flag_severity(flag) for flag in flags), default=None)


@dataclass
class Folder:
    """One folder of the artifact with totals over everything below it."""

    name: str
    path: str
    folders: dict[str, Folder] = field(default_factory=dict)
    files: list[ArtifactFile] = field(default_factory=list)
    file_count: int = 0
    size: int = 0
    # Files below with a CAUTION or DANGER flag, and those with a DANGER one.
    flagged: int = 0
    danger: int = 0
    _entries: list[Folder | ArtifactFile] | None = None

    def entries(self) -> list[Folder | ArtifactFile]:
        """Sub-folders, then files, each by name; sorted on first use, so only opened folders pay."""
        if self._entries is None:
            folders = sorted(self.folders.values(), key=lambda f: (f.name.lower(), f.name))
            files = sorted(self.files, key=lambda f: (_name(f.path).lower(), f.path))
            self._entries = [*folders, *files]
        return self._entries

    @property
    def worst(self) -> Severity | None:
        if self.danger:
            return Severity.DANGER
        return Severity.CAUTION if self.flagged else None


@dataclass
class FileIndex:
    """The folder tree of a file list, and the widest name at each depth (for the name column)."""

    root: Folder
    widest: dict[int, int]


def index_files(files: Iterable[ArtifactFile], root_name: str = "") -> FileIndex:
    """Group '/'-separated paths into folders in one pass; empty segments ('a//b', '/a') are skipped."""
    root = Folder(root_name, "")
    widest = {0: cell_len(root_name)}
    for item in files:
        parts = [part for part in item.path.split("/") if part]
        if not parts:
            continue
        # Plain facts (external-data) do not make a file "flagged"; only what calls for care does.
        severity = worst(item.flags)
        flagged = severity is not None and severity >= Severity.CAUTION
        danger = severity == Severity.DANGER
        folder = root
        for depth, part in enumerate(parts[:-1], 1):
            _count(folder, item.size, flagged, danger)
            child = folder.folders.get(part)
            if child is None:
                child = folder.folders[part] = Folder(part, "/".join(parts[:depth]))
                widest[depth] = max(widest.get(depth, 0), cell_len(part) + 1)  # + "/"
            folder = child
        _count(folder, item.size, flagged, danger)
        folder.files.append(item)
        widest[len(parts)] = max(widest.get(len(parts), 0), cell_len(parts[-1]))
    return FileIndex(root, widest)


def name_column(widest: dict[int, int], guide_depth: int) -> int:
    """Where names end and SIZE begins: after the widest name, at most NAME_COLUMN_MAX cells in,
    unless that would leave the deepest level fewer than NAME_MIN cells for its names."""
    end = max(depth * guide_depth + ICON_WIDTH + width for depth, width in widest.items())
    deepest = max(widest) * guide_depth + ICON_WIDTH + NAME_MIN
    return min(end, max(NAME_COLUMN_MAX, deepest))


def _count(folder: Folder, size: int, flagged: bool, danger: bool) -> None:
    folder.file_count += 1
    folder.size += size
    folder.flagged += flagged
    folder.danger += danger


def _name(path: str) -> str:
    return path.rstrip("/").rsplit("/", 1)[-1]


@dataclass
class FileNodeData:
    """What a node stands for: a folder (children added on first open), a file, or the rest of a long folder."""

    depth: int
    folder: Folder | None = None
    file: ArtifactFile | None = None
    # For a "more" node: where in its folder's entries the rest begins.
    more_from: int = 0
    loaded: bool = False

    @property
    def is_more(self) -> bool:
        return self.folder is not None and self.more_from > 0


class FileTree(Tree[FileNodeData]):
    """Root: the whole artifact; folders open (and are built) on demand, `enter` on "more" shows the next page."""

    BINDINGS: ClassVar[list[BindingType]] = [
        Binding("j", "cursor_down", "Down", show=False, id="files.down"),
        Binding("k", "cursor_up", "Up", show=False, id="files.up"),
        Binding("g", "scroll_home", "First", show=False, id="files.top"),
        Binding("G", "scroll_end", "Last", show=False, id="files.bottom"),
    ]
    COMPONENT_CLASSES: ClassVar[set[str]] = {
        "file-tree--folder",
        "file-tree--meta",
        "file-tree--danger",
        "file-tree--caution",
        "file-tree--note",
    }

    def __init__(self, *, id: str | None = None) -> None:
        super().__init__("files", id=id)
        self.show_root = True
        self.index = index_files(())
        self.name_column = NAME_MIN
        self.summary = formats_pb2.FormatInfo()

    def show(self, files: Iterable[ArtifactFile], label: str, summary: formats_pb2.FormatInfo | None = None) -> None:
        """Replace the tree with `files` under a root called `label`; only the top level is built.

        `summary` is the version's format record, described under the tree when the root is picked.
        """
        self.summary = summary if summary is not None else formats_pb2.FormatInfo()
        self.index = index_files(files, label)
        self.name_column = name_column(self.index.widest, self.guide_depth)
        self.reset(Text(label), FileNodeData(0, self.index.root))
        self.root.expand()
        self.cursor_line = 0

    def header(self) -> Text:
        """Column titles lined up with the labels, for a line above the tree."""
        return Text(
            "NAME".ljust(self.name_column + GAP)
            + "SIZE".rjust(SIZE_WIDTH)
            + " " * GAP
            + "FORMAT".ljust(FORMAT_WIDTH + GAP)
            + "SHA256".ljust(SHA_WIDTH + GAP)
            + "FLAGS",
            no_wrap=True,
        )

    # ---- building, one folder page at a time ----

    def on_tree_node_expanded(self, event: Tree.NodeExpanded[FileNodeData]) -> None:
        data = event.node.data
        if data is not None and data.folder is not None and not data.loaded:
            data.loaded = True
            self._add_page(event.node, data.folder, data.depth + 1, 0)

    def on_tree_node_selected(self, event: Tree.NodeSelected[FileNodeData]) -> None:
        data = event.node.data
        parent = event.node.parent
        if data is not None and data.is_more and data.folder is not None and parent is not None:
            event.stop()
            event.node.remove()
            self._add_page(parent, data.folder, data.depth, data.more_from)

    def _add_page(self, node: TreeNode[FileNodeData], folder: Folder, depth: int, start: int) -> None:
        entries = folder.entries()
        if not entries and depth == 1:
            node.add_leaf(Text("no files registered with this version"), FileNodeData(depth))
        end = min(len(entries), start + FOLDER_PAGE)
        for entry in entries[start:end]:
            if isinstance(entry, Folder):
                node.add(Text(safe(entry.name)), FileNodeData(depth, folder=entry))
            else:
                # Text, not str: a str label would be read as markup, and file names are not.
                node.add_leaf(Text(safe(_name(entry.path))), FileNodeData(depth, file=entry))
        if end < len(entries):
            node.add_leaf(Text("more"), FileNodeData(depth, folder=folder, more_from=end))

    # ---- drawing ----

    def _style(self, component: str) -> Style:
        return self.get_component_rich_style(component, partial=True)

    def _severity_style(self, severity: Severity | None) -> Style:
        names = {Severity.DANGER: "danger", Severity.CAUTION: "caution", Severity.NOTE: "note"}
        return self._style(f"file-tree--{names[severity]}") if severity is not None else Style()

    def _name_width(self, depth: int) -> int:
        return self.name_column - depth * self.guide_depth - ICON_WIDTH

    def _message(self, node: TreeNode[FileNodeData]) -> str | None:
        """The text of a row that is not a file or folder ("more", "no files"), else None."""
        data = node.data
        if data is not None and data.is_more and data.folder is not None:
            rest = len(data.folder.entries()) - data.more_from
            return f"… {rest:,} more (enter shows {min(rest, FOLDER_PAGE):,})"
        if data is None or (data.folder is None and data.file is None):
            return str(node.label)
        return None

    @staticmethod
    def _flags(data: FileNodeData) -> list[tuple[str, Severity | None]]:
        """What the FLAGS column shows: a file's flags, or how many files below a folder are flagged."""
        if data.file is not None:
            return [(flag, flag_severity(flag)) for flag in data.file.flags]
        if data.folder is not None and data.folder.flagged:
            return [(f"{data.folder.flagged:,} flagged", data.folder.worst)]
        return []

    def get_label_width(self, node: TreeNode[FileNodeData]) -> int:
        # Arithmetic, not a render: the tree measures every visible row whenever it changes.
        message = self._message(node)
        if message is not None:
            return ICON_WIDTH + cell_len(message)
        assert node.data is not None
        flags = self._flags(node.data)
        tail = sum(cell_len(flag) for flag, _ in flags) + max(0, len(flags) - 1)
        return ICON_WIDTH + self._name_width(node.data.depth) + COLUMNS_WIDTH + tail

    def render_label(self, node: TreeNode[FileNodeData], base_style: Style, style: Style) -> Text:
        """Icon, name padded to the name column, then SIZE, FORMAT, SHA256 and FLAGS at fixed offsets."""
        if node.allow_expand:
            icon = self.ICON_NODE_EXPANDED if node.is_expanded else self.ICON_NODE
            text = Text.assemble((icon, base_style + TOGGLE))
        else:
            text = Text(" " * ICON_WIDTH)
        meta = self._style("file-tree--meta")
        message = self._message(node)
        data = node.data
        if message is not None or data is None:
            text.append(message or "", meta)
        elif data.folder is not None:
            folder = data.folder
            name = safe(folder.name) + ("/" if data.depth else "")
            text.append(_fit(name, self._name_width(data.depth)), self._style("file-tree--folder"))
            text.append(" " * GAP + format_size(folder.size).rjust(SIZE_WIDTH) + " " * GAP)
            count = f"{folder.file_count:,} file" + ("" if folder.file_count == 1 else "s")
            # The count spans FORMAT and SHA256: a folder has neither.
            text.append(count.ljust(FORMAT_WIDTH + GAP + SHA_WIDTH + GAP), meta)
        elif data.file is not None:
            item = data.file
            text.append(_fit(safe(_name(item.path)), self._name_width(data.depth)))
            text.append(" " * GAP + format_size(item.size).rjust(SIZE_WIDTH) + " " * GAP)
            text.append(_fit(safe(item.format) or "?", FORMAT_WIDTH) + " " * GAP)
            text.append(item.sha256[:SHA_WIDTH].ljust(SHA_WIDTH) + " " * GAP, meta)
        if message is None and data is not None:
            for number, (flag, severity) in enumerate(self._flags(data)):
                text.append(" " if number else "")
                text.append(safe(flag), self._severity_style(severity))
        text.stylize(style)
        return text

    def describe(self, node: TreeNode[FileNodeData] | None) -> Text:
        """A few lines on one node, for under the tree: full path and sha256, and what each flag means."""
        data = node.data if node is not None else None
        meta = self._style("file-tree--meta")
        if data is None or data.is_more:
            return Text("")
        if data.folder is not None:
            folder = data.folder
            text = Text.assemble((safe(folder.path + "/" if folder.path else folder.name), "bold"))
            text.append(f"  {folder.file_count:,} files, {format_size(folder.size)}", meta)
            if folder.flagged:
                text.append("\n")
                text.append(f"{folder.flagged:,} flagged", self._severity_style(folder.worst))
                if folder.danger:
                    text.append(f", {folder.danger:,} can run code when loaded", meta)
            if data.depth == 0:
                _append_format(text, self.summary, meta)
            return text
        if data.file is None:
            return Text("")
        item = data.file
        text = Text.assemble((safe(item.path), "bold"), (f"  {item.size:,} bytes  {safe(item.format)}", meta))
        text.append(f"\nsha256 {item.sha256}", meta)
        for flag in item.flags:
            note = flag_note(flag)
            text.append("\n")
            text.append(safe(flag), self._severity_style(flag_severity(flag)))
            text.append(f"  {safe(note)}" if note else "", meta)
        _append_format(text, item.format_info, meta)
        return text


def _append_format(text: Text, info: formats_pb2.FormatInfo, meta: Style) -> None:
    """What the format reader learned, a line each: summary, family facts, the largest tensors."""
    for number, line in enumerate(compact_lines(info)):
        text.append("\n")
        text.append(safe(line), "bold" if number == 0 else meta)


def _fit(text: str, width: int) -> str:
    """`text` padded or cut (with an ellipsis) to exactly `width` cells."""
    if cell_len(text) <= width:
        return set_cell_size(text, width)
    return set_cell_size(text, width - 1) + "…"
