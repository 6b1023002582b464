"""Hugging Face caches and model folders on this machine: the repositories and snapshots a
path holds, and each snapshot's files.

A cache (`~/.cache/huggingface/hub`) holds `models--ORG--NAME/` folders; in each,
`snapshots/REVISION/` lists a revision's files as links into the repository's `blobs/`
and `refs/main` names the revision `main` pointed at when it was downloaded. Nothing here
reaches the network, and no link is followed out of the repository folder.
"""

from __future__ import annotations

import hashlib
import re
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING

from studbook.client import local_tree
from studbook.client.errors import StudbookError

if TYPE_CHECKING:  # the upload module loads generated code: only when files are read
    from studbook.client.upload import LocalFile

MODELS_PREFIX = "models--"
# Other kinds of repository a cache holds; `import hf` brings in models only.
OTHER_PREFIXES = ("datasets--", "spaces--")
_REVISION = re.compile(r"[0-9a-f]{40}")


def model_id_for(repo_id: str) -> str:
    """The registry's model name for a hub repository id: the cache's spelling (`org/name` ->
    `org--name`), lower-cased, other characters as '-', at most 64. The daemon links a card's
    base_model to the model of this name (daemon/formats/huggingface.py spells it the same)."""
    spelled = re.sub(r"[^a-z0-9._-]", "-", repo_id.strip().lower().replace("/", "--"))
    return spelled.lstrip("._-")[:64]


@dataclass(frozen=True)
class Snapshot:
    """One revision of one repository to import (or a plain model folder)."""

    folder: Path
    model: str
    repo_id: str = ""
    """`org/name`; empty for a plain folder."""
    revision: str = ""
    """The commit the snapshot holds; empty for a plain folder."""
    repo_folder: Path | None = None
    """`models--org--name`: links may lead anywhere inside it (its blobs)."""

    @property
    def source(self) -> str:
        """Where the version came from, as recorded on it."""
        if self.repo_id:
            return f"hf://{self.repo_id}@{self.revision}" if self.revision else f"hf://{self.repo_id}"
        return str(self.folder)


@dataclass
class Found:
    snapshots: list[Snapshot] = field(default_factory=list)
    # Folders passed over, and why (a dataset repository, a model with no snapshot).
    skipped: list[tuple[str, str]] = field(default_factory=list)


def find(path: Path, *, model: str | None = None, revision: str | None = None) -> Found:
    """The snapshots `path` holds: a cache root (every model in it), one `models--*` folder,
    one snapshot folder, or a plain model folder.

    `revision` (a commit or a ref name such as main) picks a repository's snapshot; by
    default the one `refs/main` names, or the only one. `model` names the registry model
    when the path holds one repository.
    """
    path = path.expanduser()
    if not path.is_dir():
        raise StudbookError("INVALID_ARGUMENT", "PATH_NOT_FOUND",
                            f"{path} is not a folder: give a Hugging Face cache, a models--ORG--NAME folder, "
                            "a snapshot or a model folder")  # fmt: skip
    path = path.absolute()
    found = Found()
    if path.parent.name == "snapshots" and path.parent.parent.name.startswith(MODELS_PREFIX):
        repo = path.parent.parent
        found.snapshots.append(_snapshot(repo, path, path.name, model))
    elif path.name.startswith(MODELS_PREFIX):
        found.snapshots.append(_pick(path, revision, model))
    else:
        repos = sorted(p for p in path.iterdir() if p.is_dir() and p.name.startswith(MODELS_PREFIX))
        others = sorted(p.name for p in path.iterdir() if p.is_dir() and p.name.startswith(OTHER_PREFIXES))
        if not repos and not others:
            return Found([Snapshot(path, _checked_model(model or _plain_name(path.name)))])
        if model is not None and len(repos) > 1:
            raise StudbookError("INVALID_ARGUMENT", "MODEL_NAME_AMBIGUOUS",
                                f"{path} holds {len(repos)} models; --model names one, so import their "
                                "models--ORG--NAME folders one at a time to name them")  # fmt: skip
        for repo in repos:
            try:
                found.snapshots.append(_pick(repo, revision, model))
            except StudbookError as error:
                if error.reason not in ("NO_SNAPSHOT", "REVISION_NOT_FOUND"):
                    raise
                found.skipped.append((repo.name, error.message))
        found.skipped += [(name, "not a model repository") for name in others]
    return found


def repo_id_of(folder_name: str) -> str:
    """`models--org--name` -> `org/name` (`models--gpt2` -> `gpt2`)."""
    return folder_name.removeprefix(MODELS_PREFIX).replace("--", "/", 1)


def _pick(repo: Path, revision: str | None, model: str | None) -> Snapshot:
    snapshots = repo / "snapshots"
    present = sorted(p.name for p in snapshots.iterdir() if p.is_dir()) if snapshots.is_dir() else []
    if not present:
        raise StudbookError("FAILED_PRECONDITION", "NO_SNAPSHOT",
                            f"{repo.name} has no snapshot: nothing of it was downloaded")  # fmt: skip
    wanted = revision or ("main" if (repo / "refs" / "main").is_file() else None)
    if wanted is None:
        if len(present) > 1:
            raise StudbookError("INVALID_ARGUMENT", "REVISION_AMBIGUOUS",
                                f"{repo.name} holds {len(present)} snapshots and no refs/main; pick one with "
                                f"--revision ({', '.join(p[:12] for p in present[:5])})")  # fmt: skip
        wanted = present[0]
    commit = _resolve(repo, wanted)
    if commit not in present:
        raise StudbookError("NOT_FOUND", "REVISION_NOT_FOUND",
                            f"{repo.name} has no snapshot of {wanted!r} ({commit[:12]}); download that revision "
                            "first, or pick another with --revision", {"revision": wanted[:100]})  # fmt: skip
    return _snapshot(repo, snapshots / commit, commit, model)


def _resolve(repo: Path, wanted: str) -> str:
    """A ref name (main, or refs/pr/1) read from refs/, or a commit as given."""
    if _REVISION.fullmatch(wanted):
        return wanted
    ref = repo / "refs" / wanted.removeprefix("refs/")
    inside = local_tree.within(ref, repo / "refs")
    if not inside or not ref.is_file():
        return wanted
    text = ref.read_bytes()[:200].decode("ascii", errors="replace").strip()
    if not _REVISION.fullmatch(text):
        raise StudbookError("FAILED_PRECONDITION", "BAD_REF",
                            f"{repo.name}/refs/{wanted} does not hold a commit id; download the model again")  # fmt: skip
    return text


def _snapshot(repo: Path, folder: Path, revision: str, model: str | None) -> Snapshot:
    repo_id = repo_id_of(repo.name)
    return Snapshot(folder, _checked_model(model or model_id_for(repo_id)), repo_id, revision, repo)


_MODEL_ID = re.compile(r"[a-z0-9][a-z0-9._-]{0,63}")


def _plain_name(name: str) -> str:
    return model_id_for(name) or "model"


def _checked_model(model: str) -> str:
    if not _MODEL_ID.fullmatch(model):
        raise StudbookError("INVALID_ARGUMENT", "INVALID_NAME",
                            f"{model[:100]!r} is not a model name: use 1-64 characters a-z, 0-9, '.', '_' or '-', "
                            "starting with a letter or digit; name one with --model")  # fmt: skip
    return model


def files(snapshot: Snapshot) -> list[LocalFile]:
    """The snapshot's files, hashed, as the version will hold them: links are followed into
    the repository folder (a cache's blobs) only, or for a plain folder within itself."""
    return local_tree.files(snapshot.folder, snapshot.repo_folder or snapshot.folder)


def request_id(snapshot: Snapshot, listed: list[LocalFile]) -> str:
    """The same on every run for the same snapshot: a repository's revision (and the model it
    goes to), or a plain folder's content, so a second import returns the first versions."""
    if snapshot.revision:
        key = f"hf\0{snapshot.model}\0{snapshot.repo_id}\0{snapshot.revision}"
    else:
        key = "hf\0" + snapshot.model + "\0" + "\0".join(f"{f.rel}:{f.sha256}" for f in listed)
    return "import-hf-" + hashlib.sha256(key.encode("utf-8", "surrogateescape")).hexdigest()[:32]
