"""RegistryCommands: the ctrl+p palette finds models and versions by name and offers verbs on them."""

from __future__ import annotations

import asyncio
import re
from collections.abc import Callable, Iterator
from functools import partial
from typing import TYPE_CHECKING, cast

from studbook.client.errors import StudbookError
from studbook.tui import cells
from textual.command import DiscoveryHit, Hit, Hits, Provider

if TYPE_CHECKING:
    from studbook.tui.app import StudbookApp
    from studbook.v1 import resources_pb2

MAX_MODELS = 1000
# Versions offered per model once the query names it.
VERSIONS_PER_MODEL = 20
# Look versions up only when the query narrows the models down this far.
VERSION_LOOKUP_MODELS = 3
# Words the commands start with; `promote 12` names no model, so it is never read as `promote@12`.
VERBS = frozenset({"versions", "open", "diff", "lineage", "promote", "rollback", "vs"})
_VERSION_NUMBER = re.compile(r"[vV]?(\d+)")


def normalize_query(query: str) -> str:
    """`fraud 12` (or `fraud v12`) reads as `fraud@12`, the way versions are written everywhere else.

    Only a number right after a word that could be a model joins it; the rest stays as typed.
    """
    words = query.split()
    if len(words) >= 2 and "@" not in words[-2] and words[-2].lower() not in VERBS:
        number = _VERSION_NUMBER.fullmatch(words[-1])
        if number is not None:
            words[-2:] = [f"{words[-2]}@{int(number.group(1))}"]
    return " ".join(words)


def model_part(query: str) -> str:
    """The part of a (normalized) query that names a model: `open fraud@12` -> `fraud`."""
    words = query.split()
    return words[-1].split("@")[0] if words else ""


class RegistryCommands(Provider):
    """Texts like `versions fraud-detector`, `promote fraud-detector@3`, `diff fraud-detector@3 vs production`."""

    # The daemon's list of models, on its way (see startup).
    _listing: asyncio.Future[None] | None = None

    async def startup(self) -> None:
        # The models last listed are offered at once; the daemon's list replaces them when it comes.
        self.models: list[str] = self.registry.known_models()
        self.versions: dict[str, list[resources_pb2.ModelVersion]] = {}
        # Each key typed cancels the search under way and whatever it awaits, this startup included
        # (which then never completes): the listing runs in a task of its own, awaited shielded, so
        # a slow answer (an unreachable daemon takes about a second to say so) is not lost.
        self._listing = asyncio.ensure_future(self._list_models())

    async def shutdown(self) -> None:
        if self._listing is not None:
            self._listing.cancel()

    async def _list_models(self) -> None:
        try:
            page = await self.registry.client.list_models(page_size=MAX_MODELS)
        except StudbookError:
            return  # offline: the models last listed stay offered, and their screens say why they are empty
        self.models = [cells.model_id(m.name) for m in page.models]

    async def _listed(self) -> None:
        if self._listing is not None:
            await asyncio.shield(self._listing)

    @property
    def registry(self) -> StudbookApp:
        return cast("StudbookApp", self.app)

    def _model_commands(self, model: str) -> Iterator[tuple[str, Callable[[], object], str]]:
        app = self.registry
        yield f"versions {model}", partial(app.open_versions, model), "list its versions"
        yield f"open {model}@latest", partial(app.open_version, f"{model}@latest"), "its newest version"
        yield f"diff {model}@latest vs production", partial(app.open_diff, f"{model}@production", f"{model}@latest"), \
            "what the newest version changes"  # fmt: skip
        yield f"lineage {model}@latest", partial(app.open_version, f"{model}@latest", "lineage"), "where it came from"
        if not app.readonly:
            yield f"promote {model}@latest", partial(app.start_promote, f"{model}@latest"), "dry run first"
            yield f"rollback {model} production", partial(app.start_rollback, model, "production"), \
                "put the previous holder back"  # fmt: skip

    def _version_commands(self, version: resources_pb2.ModelVersion) -> Iterator[tuple[str, Callable[[], object], str]]:
        app = self.registry
        ref = f"{cells.model_id(version.model)}@{version.number}"
        about = f"{version.semver} {' '.join(version.stages)}".strip()
        yield f"open {ref}", partial(app.open_version, ref), about
        yield f"diff {ref} vs production", partial(app.open_diff, f"{ref.split('@')[0]}@production", ref), about
        yield f"lineage {ref}", partial(app.open_version, ref, "lineage"), about
        if not app.readonly:
            yield f"promote {ref}", partial(app.start_promote, ref), about

    def _screens(self) -> Iterator[tuple[str, Callable[[], object], str]]:
        app = self.registry
        yield "models", app.open_models, "every model"
        yield "drops", app.open_drops, "quarantined drop-ins"
        yield "approvals", app.open_approvals, "promotions waiting for approval"

    async def discover(self) -> Hits:
        await self._listed()
        for text, command, help in self._screens():
            yield DiscoveryHit(text, command, help=help)
        for model in self.models:
            command = partial(self.registry.open_versions, model)
            yield DiscoveryHit(f"versions {model}", command, help="list its versions")

    async def search(self, query: str) -> Hits:
        await self._listed()
        query = normalize_query(query)
        matcher = self.matcher(query)
        part = model_part(query)
        named = [m for m in self.models if part and part in m]
        number = query.split()[-1].partition("@")[2] if query.split() else ""
        if 0 < len(named) <= VERSION_LOOKUP_MODELS:
            for model in named:
                await self._load_versions(model)
                if number.isdigit():
                    await self._load_version(model, int(number))
        candidates = list(self._screens())
        for model in self.models:
            candidates += self._model_commands(model)
        for model in named:
            for version in self.versions.get(model, []):
                candidates += self._version_commands(version)
        for text, command, help in candidates:
            score = matcher.match(text)
            if score > 0:
                yield Hit(score, matcher.highlight(text), command, text=text, help=help)

    async def _load_version(self, model: str, number: int) -> None:
        """One version named by number, which may be older than the newest few already offered."""
        known = self.versions.setdefault(model, [])
        if any(version.number == number for version in known):
            return
        try:
            version = await self.registry.client.get_version(model, number)
        except StudbookError:
            return  # no such version: nothing to offer for it
        known.append(version)

    async def _load_versions(self, model: str) -> None:
        if model in self.versions:
            return
        try:
            page = await self.registry.client.list_versions(model, page_size=VERSIONS_PER_MODEL, summary_only=True)
        except StudbookError:
            self.versions[model] = []
            return
        self.versions[model] = list(page.versions)
