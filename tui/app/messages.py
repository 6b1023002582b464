"""Messages the app sends down to every open screen about the registry as a whole (they never bubble)."""

from __future__ import annotations

from typing import TYPE_CHECKING

from textual.message import Message

if TYPE_CHECKING:
    from studbook.v1 import events_pb2


class RegistryChanged(Message, bubble=False):
    """Something changed in the registry; handled by `on_registry_changed`."""

    def __init__(self, event: events_pb2.Event) -> None:
        super().__init__()
        self.event = event
        """The event from the daemon's log."""


class Resynced(Message, bubble=False):
    """Changes may have been missed (the daemon was away): re-read what is shown. Handled by `on_resynced`."""
