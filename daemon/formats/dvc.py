"""DVC files (`dvc.lock`, `*.dvc`): the data a model was trained on, as path, md5 and size.

Read with the bounded YAML subset, so nothing in a file ever runs. A `.dvc` file's `outs`
are the data it tracks and its `deps` where an imported copy came from; a `dvc.lock`'s
stage `deps` are what each stage read. Source code and parameter files among the deps are
not data, nor is a path that is a file of the version itself (a `model.pkl.dvc` tracks the
model, not its training data).
"""

from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import PurePosixPath
from typing import Any

from studbook.daemon.domain.model import Dataset
from studbook.daemon.domain.names import MAX_DATA_VERSIONS
from studbook.daemon.formats import jsonutil, yaml_subset
from studbook.daemon.formats.errors import FormatError

LOCK_NAME = "dvc.lock"
SUFFIX = ".dvc"
# Dependencies with these suffixes are code or configuration read by a stage, not data.
_NOT_DATA = frozenset(
    {".py", ".ipynb", ".sh", ".bash", ".r", ".jl", ".js", ".ts", ".java", ".scala", ".go", ".rs", ".c",
     ".cc", ".cpp", ".h", ".hpp", ".m", ".toml", ".cfg", ".ini", ".yaml", ".yml", ".lock", ".txt", ".md"}
)  # fmt: skip
_MAX_PATH = 200


def is_dvc_name(name: str) -> bool:
    """A file name DVC writes: `dvc.lock`, or `NAME.dvc` (not a bare `.dvc` folder name)."""
    return name == LOCK_NAME or (name.endswith(SUFFIX) and len(name) > len(SUFFIX))


@dataclass(frozen=True)
class DataDependency:
    """One piece of data DVC recorded: its path in the repository, md5, size and file count."""

    path: str
    md5: str = ""
    size: int | None = None
    nfiles: int | None = None
    # Where a `dvc import` took it from: the repository URL (and the revision it was locked at).
    repo: str = ""
    rev: str = ""

    @property
    def dataset_name(self) -> str:
        """Dataset names may not hold '/' or '@': the path with '/' spelled '--' (as the HF cache does)."""
        return self.path.replace("/", "--").replace("@", "_")[:256] or "data"

    def as_dataset(self) -> Dataset:
        uri = f"{self.repo}#{self.path}" if self.repo else f"dvc:{self.path}"
        if self.rev:
            uri += f"@{self.rev}"
        return Dataset(self.dataset_name, self.md5, uri[:4096], self.size)


@dataclass
class DvcData:
    dependencies: list[DataDependency] = field(default_factory=list)
    warnings: list[str] = field(default_factory=list)

    @property
    def datasets(self) -> list[Dataset]:
        return [d.as_dataset() for d in self.dependencies]

    @property
    def data_versions(self) -> dict[str, str]:
        return {d.dataset_name: d.md5 for d in self.dependencies if d.md5}

    def without(self, paths: set[str]) -> DvcData:
        """The same data but the dependencies at `paths` (the version's own files)."""
        return DvcData([d for d in self.dependencies if d.path not in paths], list(self.warnings))


def parse(text: str, name: str, *, own_files: frozenset[str] = frozenset(), max_depth: int = 64,
          max_items: int = MAX_DATA_VERSIONS) -> DvcData:  # fmt: skip
    """The data dependencies of a `dvc.lock` or `.dvc` file's text.

    `name` is the file's name (for messages); `own_files` the version's files, left out as
    data. Raises FormatError (BAD_DVC_FILE) when the text is not YAML of either shape.
    """
    try:
        doc = yaml_subset.loads(text, max_depth=max_depth)
    except yaml_subset.YamlError as err:
        raise FormatError("BAD_DVC_FILE", f"{name} is not YAML studbook can read: {err}; fix or remove it",
                          file=name[:_MAX_PATH]) from None  # fmt: skip
    if not isinstance(doc, dict):
        raise FormatError("BAD_DVC_FILE", f"{name} is not a DVC file: its top level is not a mapping",
                          file=name[:_MAX_PATH])  # fmt: skip
    found = DvcData()
    if "stages" in doc:
        candidates = [dep for stage in jsonutil.as_dict(doc["stages"]).values()
                      for dep in jsonutil.as_list(jsonutil.as_dict(stage).get("deps"))]  # fmt: skip
    elif "outs" in doc or "deps" in doc:
        candidates = [*jsonutil.as_list(doc.get("deps")), *jsonutil.as_list(doc.get("outs"))]
    else:
        raise FormatError("BAD_DVC_FILE", f"{name} is not a DVC file: it has neither stages (dvc.lock) nor "
                          "outs (.dvc)", file=name[:_MAX_PATH])  # fmt: skip
    seen: set[str] = set()
    for entry in candidates:
        dependency = _dependency(entry, name)
        if dependency is None or dependency.path in seen or dependency.path in own_files:
            continue
        if PurePosixPath(dependency.path).suffix.lower() in _NOT_DATA:
            continue
        if len(found.dependencies) >= max_items:
            found.warnings.append(f"{name}: only the first {max_items} data dependencies are recorded")
            break
        seen.add(dependency.path)
        found.dependencies.append(dependency)
    return found


def _dependency(entry: Any, name: str) -> DataDependency | None:
    if not isinstance(entry, dict) or not isinstance(entry.get("path"), str) or not entry["path"]:
        return None
    path = entry["path"]
    relative = PurePosixPath(path)
    # A path is only ever recorded, never opened; one that leaves the repository is still refused,
    # since no DVC writes one and a lineage record should not name the reader's own files.
    if relative.is_absolute() or ".." in relative.parts or "\x00" in path:
        raise FormatError("PATH_OUTSIDE", f"{name} names {path[:_MAX_PATH]!r}, outside the repository; "
                          "DVC paths are relative to the repository", path=path[:_MAX_PATH])  # fmt: skip
    md5 = entry.get("md5", entry.get("etag", ""))
    if not isinstance(md5, str):
        md5 = ""
    repo = jsonutil.as_dict(entry.get("repo"))
    url = repo.get("url")
    rev = repo.get("rev_lock", repo.get("rev", ""))
    return DataDependency(
        path=str(relative)[:1024],
        md5=md5.removesuffix(".dir")[:256],
        size=_count(entry.get("size")),
        nfiles=_count(entry.get("nfiles")),
        repo=url[:2048] if isinstance(url, str) else "",
        rev=rev[:256] if isinstance(rev, str) else "",
    )


def _count(value: Any) -> int | None:
    return value if isinstance(value, int) and not isinstance(value, bool) and value >= 0 else None
