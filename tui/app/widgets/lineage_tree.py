"""LineageTree: a version's lineage, upstream and downstream, fetched one level at a time as nodes open."""

from __future__ import annotations

from dataclasses import dataclass
from typing import ClassVar

from rich.text import Text
from studbook.client.safe_text import safe
from studbook.v1 import lineage_pb2
from textual import on
from textual.binding import Binding, BindingType
from textual.message import Message
from textual.widgets import Tree
from textual.widgets.tree import TreeNode

UPSTREAM = "upstream"
DOWNSTREAM = "downstream"
KIND_LABELS = {
    lineage_pb2.NODE_KIND_MODEL_VERSION: "model",
    lineage_pb2.NODE_KIND_DATASET: "dataset",
    lineage_pb2.NODE_KIND_RUN: "run",
    lineage_pb2.NODE_KIND_DEPLOYMENT: "deployment",
}


@dataclass
class LineageNodeData:
    """What a tree node stands for, and whether its neighbours were fetched yet."""

    name: str
    direction: str
    loaded: bool = False
    kind: int = lineage_pb2.NODE_KIND_UNSPECIFIED


def version_ref(name: str) -> str | None:
    """`models/bert/versions/6` -> `bert@6`; None for anything that is not a model version's name."""
    parts = name.split("/")
    if len(parts) == 4 and parts[0] == "models" and parts[2] == "versions":
        return f"{parts[1]}@{parts[3]}"
    return None


def neighbours(
    response: lineage_pb2.GetLineageResponse, name: str, direction: str
) -> list[tuple[lineage_pb2.LineageNode, str]]:
    """The nodes one edge away from `name` in `direction`, with the edge kind, sorted by label."""
    by_name = {node.name: node for node in response.nodes}
    found = []
    for edge in response.edges:
        near, far = (edge.target, edge.source) if direction == UPSTREAM else (edge.source, edge.target)
        if near == name and far in by_name:
            found.append((by_name[far], edge.kind))
    return sorted(found, key=lambda pair: (pair[0].kind, pair[0].label or pair[0].name))


class LineageTree(Tree[LineageNodeData]):
    """Root: the version; two branches, what it came from and what came from it.

    Keys as in the tables and the file tree (j/k/g/G), plus h/l to close and open. Enter
    opens the version under the cursor, or opens/closes a branch; the root always stays
    open, since a closed root hides the whole tree behind one line.
    """

    BINDINGS: ClassVar[list[BindingType]] = [
        Binding("j", "cursor_down", "Down", show=False, id="lineage.down"),
        Binding("k", "cursor_up", "Up", show=False, id="lineage.up"),
        Binding("g", "scroll_home", "First", show=False, id="lineage.top"),
        Binding("G", "scroll_end", "Last", show=False, id="lineage.bottom"),
        Binding("h,left", "close_node", "Close / to parent", show=False, id="lineage.close"),
        Binding("l,right", "open_node", "Open / to first child", show=False, id="lineage.open"),
    ]

    class VersionChosen(Message):
        """Enter (or a click) on another model version; handled by `on_lineage_tree_version_chosen`."""

        def __init__(self, tree: LineageTree, ref: str) -> None:
            super().__init__()
            self.tree = tree
            self.ref = ref

        @property
        def control(self) -> LineageTree:
            return self.tree

    class ExpandRequested(Message):
        """A node opened whose neighbours are not known yet; handled by `on_lineage_tree_expand_requested`."""

        def __init__(self, tree: LineageTree, node: TreeNode[LineageNodeData]) -> None:
            super().__init__()
            self.tree = tree
            self.node = node

        @property
        def control(self) -> LineageTree:
            return self.tree

    def __init__(self, *, id: str | None = None) -> None:
        super().__init__("lineage", id=id)
        self.show_root = True
        # Selecting decides for itself (see `_selected`): Tree's own toggling would close the root.
        self.auto_expand = False

    def start(self, version_name: str, label: str) -> None:
        """Reset the tree to one version with its two (not yet fetched) branches."""
        self.clear()
        self.root.set_label(Text(safe(label)))
        self.root.data = LineageNodeData(version_name, "", loaded=True)
        for direction, caption in ((UPSTREAM, "▲ came from"), (DOWNSTREAM, "▼ led to")):
            self.root.add(caption, LineageNodeData(version_name, direction), allow_expand=True)
        self.root.expand()

    def on_tree_node_expanded(self, event: Tree.NodeExpanded[LineageNodeData]) -> None:
        data = event.node.data
        if data is not None and data.direction and not data.loaded:
            event.node.add_leaf(Text("loading…", style="dim"))
            self.post_message(self.ExpandRequested(self, event.node))

    def fill(self, node: TreeNode[LineageNodeData], response: lineage_pb2.GetLineageResponse) -> None:
        """Put the fetched neighbours under `node`; each can be opened further the same way."""
        assert node.data is not None
        node.remove_children()
        node.data.loaded = True
        found = neighbours(response, node.data.name, node.data.direction)
        if not found:
            node.add_leaf(Text("nothing recorded", style="dim"))
        for neighbour, edge_kind in found:
            label = Text.assemble(
                (f"{KIND_LABELS.get(neighbour.kind, 'node')} ", "dim"),
                safe(neighbour.label or neighbour.name),
                (f"  {edge_kind.replace('_', ' ')}", "dim italic"),
            )
            data = LineageNodeData(neighbour.name, node.data.direction, kind=neighbour.kind)
            node.add(label, data, allow_expand=True)

    def failed(self, node: TreeNode[LineageNodeData], message: str) -> None:
        node.remove_children()
        node.add_leaf(Text(safe(message)))

    # ---- keys ----

    @on(Tree.NodeSelected)
    def _selected(self, event: Tree.NodeSelected[LineageNodeData]) -> None:
        node = event.node
        if node.is_root:
            return
        data = node.data
        ref = version_ref(data.name) if data and data.kind == lineage_pb2.NODE_KIND_MODEL_VERSION else None
        if ref is not None:
            self.post_message(self.VersionChosen(self, ref))
        elif node.allow_expand:
            node.toggle()

    def action_close_node(self) -> None:
        """Close the node under the cursor; on a closed node (or a leaf), go to its parent."""
        node = self.cursor_node
        if node is None:
            return
        if node.is_expanded and not node.is_root:
            node.collapse()
        elif node.parent is not None:
            self.move_cursor(node.parent)

    def action_open_node(self) -> None:
        """Open the node under the cursor; on an open one, go to its first child."""
        node = self.cursor_node
        if node is None:
            return
        if node.allow_expand and not node.is_expanded:
            node.expand()
        elif node.is_expanded and node.children:
            self.move_cursor(node.children[0])
