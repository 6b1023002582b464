"""OfflineNotice: what a screen shows in place of its data when the daemon cannot be reached."""

from __future__ import annotations

from studbook import locations
from studbook.client.errors import StudbookError
from studbook.tui.widgets.fitted_text import FittedText

# The client's reason when nothing answers at the address (TLS and certificate trouble have their own).
NOTHING_ANSWERS = "UNAVAILABLE"


def unreachable(error: StudbookError) -> bool:
    """The daemon could not be reached at all, as opposed to refusing or failing one call."""
    return error.code == "UNAVAILABLE"


def start_command(address: str) -> str:
    """How to start a daemon that listens where the UI looks for one."""
    if address == locations.default_address():
        return "`studbook serve`"
    if address.startswith("unix:"):
        return f"`studbook serve --address {address}`"
    # A TCP address is served over TLS, on the daemon's host.
    return f"`studbook serve --listen {address} --tls-cert CERT --tls-key KEY` on its host"


def offline_hint(error: StudbookError, address: str) -> str:
    """Three lines: what is wrong, what to do, and that nothing more is needed afterwards."""
    if error.reason == NOTHING_ANSWERS:
        what = f"The studbook daemon cannot be reached at {address}."
        todo = (
            f"Start it in another terminal with {start_command(address)} (or `make run` for the demo), "
            "or start this UI with --address pointing at a running daemon."
        )
    else:
        what = f"The studbook daemon at {address} cannot be used: {error.message} [{error.reason}]."
        todo = "Check the address, the certificate (--tls-ca) and the token, then try again."
    return f"✕ {what}\n{todo}\nThis screen loads by itself as soon as the daemon answers (or press r)."


class OfflineNotice(FittedText):
    """Hidden until its screen has the class `-offline`; see RegistryScreen.show_error."""

    def __init__(self) -> None:
        super().__init__("", id="offline-notice", markup=False)
        self.border_title = "offline"

    def explain(self, error: StudbookError, address: str) -> None:
        self.update(offline_hint(error, address))
