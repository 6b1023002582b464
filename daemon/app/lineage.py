"""Walks the lineage graph: datasets and runs upstream, derived versions downstream."""

from __future__ import annotations

from dataclasses import dataclass, field

from studbook.daemon.app.core import Core
from studbook.daemon.domain.errors import InvalidArgument, NotFound
from studbook.daemon.domain.names import parse_version_name, version_name

DEFAULT_DEPTH = 3
MAX_DEPTH = 20
# A walk stops adding nodes past this many, and says it was truncated.
MAX_NODES = 5_000


@dataclass
class LineageNode:
    name: str
    kind: str  # version, dataset, run
    label: str
    depth: int


@dataclass
class LineageGraph:
    root: str
    nodes: list[LineageNode] = field(default_factory=list)
    edges: list[tuple[str, str, str]] = field(default_factory=list)
    truncated: bool = False


class LineageUseCases:
    def __init__(self, core: Core) -> None:
        self.core = core

    async def walk(self, name: str, upstream: bool, downstream: bool, depth: int) -> LineageGraph:
        if depth < 0 or depth > MAX_DEPTH:
            raise InvalidArgument(f"depth must be between 1 and {MAX_DEPTH}", reason="INVALID_DEPTH", field="depth")
        depth = depth or DEFAULT_DEPTH
        root = await self._canonical(name)
        graph = LineageGraph(root=root)
        depths = {root: 0}
        edges: set[tuple[str, str, str]] = set()
        for going_up, sign in ((True, -1), (False, 1)):
            if (going_up and not upstream) or (not going_up and not downstream):
                continue
            frontier = {root}
            for level in range(1, depth + 1):
                found = await self.core.read(self.core.catalog.lineage_edges, frontier, going_up)
                next_frontier = set()
                for source, target, kind in found:
                    edges.add((source, target, kind))
                    other = source if going_up else target
                    if other not in depths:
                        if len(depths) >= MAX_NODES:
                            graph.truncated = True
                            continue
                        depths[other] = sign * level
                        next_frontier.add(other)
                frontier = next_frontier
                if not frontier:
                    break
            else:
                if frontier:
                    beyond = await self.core.read(self.core.catalog.lineage_edges, frontier, going_up)
                    graph.truncated = graph.truncated or bool(beyond)
        graph.nodes = await self._label(depths)
        graph.edges = sorted(e for e in edges if e[0] in depths and e[1] in depths)
        return graph

    async def _canonical(self, name: str) -> str:
        if name.startswith("models/"):
            version = await self.core.read_version(*await _model_and_number(self.core, name))
            return version_name(version.model, version.number)
        if name.startswith(("datasets/", "runs/")):
            if not await self.core.read(self.core.catalog.lineage_labels, [name]):
                raise NotFound(f"{name} is not in the lineage graph", reason="NODE_NOT_FOUND", name=name[:200])
            return name
        raise InvalidArgument(
            "name must be a version (models/m/versions/3), a dataset (datasets/name@version) or a run (runs/id)",
            reason="INVALID_NAME",
            field="name",
        )

    async def _label(self, depths: dict[str, int]) -> list[LineageNode]:
        versions = {}
        for name in depths:
            if name.startswith("models/"):
                ref = parse_version_name(name)
                versions[(ref.model, ref.number or 0)] = name
        semvers = await self.core.read(self.core.catalog.version_labels, versions.keys())
        others = await self.core.read(
            self.core.catalog.lineage_labels, [n for n in depths if n not in versions.values()]
        )
        nodes = []
        for name, depth in depths.items():
            if name.startswith("models/"):
                ref = parse_version_name(name)
                semver = semvers.get((ref.model, ref.number or 0), "")
                nodes.append(LineageNode(name, "version", f"{ref.model} v{ref.number} ({semver})", depth))
            else:
                kind, label = others.get(name, ("dataset" if name.startswith("datasets/") else "run", name))
                nodes.append(LineageNode(name, kind, label, depth))
        return sorted(nodes, key=lambda n: (n.depth, n.name))


async def _model_and_number(core: Core, name: str) -> tuple[str, int]:
    ref = parse_version_name(name)
    return ref.model, await core.resolve_number(ref)
