"""What an exporter reads from the registry, through the Python client only (gRPC)."""

from __future__ import annotations

import functools
from collections.abc import Callable, Iterator
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field
from pathlib import Path

from google.protobuf import json_format
from studbook.client import names, pull
from studbook.client.clients import Client
from studbook.client.errors import StudbookError
from studbook.v1 import artifacts_pb2, resources_pb2

Progress = Callable[[int], None]


@dataclass
class Source:
    """One model seen through a client: its versions in full, their metric series, their files.

    `progress` is told of every chunk of file bytes written, whichever exporter writes them,
    and `planned` of how many bytes a batch of files will bring before it starts.
    """

    client: Client
    progress: Progress | None = None
    planned: Progress | None = None
    _metrics: dict[str, list[resources_pb2.Metric]] = field(default_factory=dict)

    def model(self, name: str) -> resources_pb2.Model:
        return self.client.get_model(name)

    def version(self, ref: str) -> resources_pb2.ModelVersion:
        """The full version (files, card, lineage...) that `ref` (`fraud@production`) names."""
        return self.client.get_version(ref)

    def versions(self, model: str) -> Iterator[resources_pb2.ModelVersion]:
        """Every version of `model`, archived ones too, oldest first, in full."""
        listed = list(self.client.iter_versions(model, show_archived=True))
        yield from sorted(listed, key=lambda v: v.number)

    def metric_series(self, version: resources_pb2.ModelVersion) -> list[resources_pb2.Metric]:
        """Every observation of every metric, not only the latest value the version carries."""
        if version.name not in self._metrics:
            self._metrics[version.name] = self.client.list_metrics(version.name)
        return self._metrics[version.name]

    def require_kept(self, version: resources_pb2.ModelVersion, what: str) -> None:
        if not version.kept:
            raise StudbookError("FAILED_PRECONDITION", "VERSION_NOT_KEPT",
                                f"{names.short_version(version.name)} is only referenced ({version.storage_uri}): "
                                f"the registry keeps none of its bytes, so {what} cannot hold its files; "
                                "register it from a path to keep a copy")  # fmt: skip

    def fetch(self, version: resources_pb2.ModelVersion, placed: list[tuple[resources_pb2.ArtifactFile, Path]]) -> None:
        """Writes each (file, target path) of a kept version, verified against its sha256 (the
        client's pull: written under a temporary name, renamed only once the digest matches)."""
        local = self.client.address.startswith("unix:")
        if self.planned is not None:
            self.planned(sum(file.size for file, _ in placed))

        def one(item: tuple[resources_pb2.ArtifactFile, Path]) -> None:
            file, target = item
            read = functools.partial(self._read_as, version.name, file.path)
            # The landing is named by the target's last part, below the target's folder.
            landing = resources_pb2.ArtifactFile(path=target.name, size=file.size, sha256=file.sha256)
            target.parent.mkdir(parents=True, exist_ok=True)
            pull.pull_file(read, landing, target.parent, self.progress, local=local)

        with ThreadPoolExecutor(pull.PARALLEL_FILES, thread_name_prefix="studbook-export") as pool:
            list(pool.map(one, placed))

    def _read_as(
        self, version: str, path: str, _landing: str, offset: int, local: bool = False
    ) -> Iterator[artifacts_pb2.ReadArtifactFileResponse]:
        # pull_file asks for the landing's own path; the daemon knows the file by its real one.
        return self.client.read_file(version, path, offset, local)


def lineage(version: resources_pb2.ModelVersion) -> dict[str, object]:
    """Where the version came from: parents, datasets, run and training facts."""
    found: dict[str, object] = {
        "parents": [
            {
                "version": p.version,
                "relation": resources_pb2.ParentRelation.Name(p.relation).removeprefix("PARENT_RELATION_").lower(),
            }
            for p in version.parents
        ],
        "datasets": [
            {k: v for k, v in (("name", d.name), ("version", d.version), ("uri", d.uri)) if v} for d in version.datasets
        ],
    }
    if version.HasField("run"):
        found["run"] = json_format.MessageToDict(version.run)
    if version.HasField("training"):
        found["training"] = json_format.MessageToDict(version.training)
    return {k: v for k, v in found.items() if v}
