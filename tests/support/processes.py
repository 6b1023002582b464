"""Ending the servers the tests start, exactly those."""

from __future__ import annotations

import contextlib
import os
import signal
import subprocess


def stop_process_group(process: subprocess.Popen[bytes] | subprocess.Popen[str], grace: float = 15.0) -> None:
    """Ends a process started in a session of its own (`start_new_session=True`) with everything
    it forked there: SIGTERM to the group, then SIGKILL when it outlives `grace` seconds."""
    with contextlib.suppress(ProcessLookupError):
        os.killpg(process.pid, signal.SIGTERM)
    try:
        process.wait(timeout=grace)
    except subprocess.TimeoutExpired:
        with contextlib.suppress(ProcessLookupError):
            os.killpg(process.pid, signal.SIGKILL)
        process.wait()
