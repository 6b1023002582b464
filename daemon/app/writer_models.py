"""The model records the writer decides on, read on first use rather than all at start-up."""

from __future__ import annotations

from collections import OrderedDict
from collections.abc import Iterator, Sequence
from typing import Protocol

from studbook.daemon.domain.model import Model

# How many models' records the writer keeps between groups, and the read cache keeps (each; the
# daemon's `cache_models`); past it those used least recently are dropped, and read again when
# next used. A catalog of 100,000 models started in 1.4 s and 257 MiB while every record was
# read at start-up (measured), against 0.4 s and 99 MiB empty.
MAX_MODEL_RECORDS = 10_000


class ModelReader(Protocol):
    """What the records are read through: the writer's open transaction."""

    def load_models(self, names: Sequence[str]) -> list[Model]: ...


class WriterModels:
    """Model records by name, read through the writer's transaction when not held.

    Read through the transaction, a record includes what earlier operations of the same group
    wrote, and a model deleted in the group is gone. Every operation's writes to a model go
    through the record it holds here, so a record is dropped only between groups (`trim`):
    one dropped mid-group could be read back without the group's buffered rows (its versions'
    figures). Absent names are not remembered: each look for one reads again.
    """

    def __init__(self, limit: int = MAX_MODEL_RECORDS) -> None:
        self.limit = limit
        self._held: OrderedDict[str, Model] = OrderedDict()
        self._reader: ModelReader | None = None

    def read_through(self, reader: ModelReader) -> None:
        """Sets the transaction the next operations read missing records through."""
        self._reader = reader

    def get(self, name: str) -> Model | None:
        found = self._held.get(name)
        if found is not None:
            self._held.move_to_end(name)
            return found
        if self._reader is None:
            raise RuntimeError("the writer's models are read inside an operation only")
        loaded = self._reader.load_models([name])
        if not loaded:
            return None
        self._held[name] = loaded[0]
        return loaded[0]

    def __contains__(self, name: object) -> bool:
        return isinstance(name, str) and self.get(name) is not None

    def __getitem__(self, name: str) -> Model:
        found = self.get(name)
        if found is None:
            raise KeyError(name)
        return found

    def __setitem__(self, name: str, model: Model) -> None:
        self._held[name] = model
        self._held.move_to_end(name)

    def held(self, name: str) -> Model | None:
        """The record if held, without reading it."""
        return self._held.get(name)

    def forget(self, name: str) -> None:
        """Drops a record: the model was deleted or renamed, or another daemon changed it."""
        self._held.pop(name, None)

    def __iter__(self) -> Iterator[str]:
        """The names held, least recently used first."""
        return iter(list(self._held))

    def trim(self) -> list[str]:
        """Between groups: drops the records used least recently past the limit; their names."""
        dropped: list[str] = []
        while len(self._held) > self.limit:
            name, _ = self._held.popitem(last=False)
            dropped.append(name)
        return dropped
