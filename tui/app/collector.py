"""The garbage collector while the terminal UI starts: paused until its first rows are on screen.

Start-up builds objects that live as long as the UI: modules, classes, compiled styles, the first
screen's widgets, grpc and the generated protobuf code. The collector's passes over them, several
of them full ones as the heap grows, free next to nothing and cost about as much CPU as the models
screen's whole first query. So the process that runs the UI pauses it before importing Textual
(`pause`), and the app resumes it once its first screen has shown what it loaded, or failed to
(`resume`), freezing what start-up built: later passes leave those objects out.

What start-up left as cyclic garbage (about 2,500 objects, a few hundred KiB, once per process) is
frozen with the rest and never freed: the price of not walking the whole heap once more.
"""

from __future__ import annotations

import gc

_paused = False


def pause() -> None:
    """Stop collecting until `resume`; for the process that is about to start the UI, never a library."""
    global _paused
    if gc.isenabled():
        gc.disable()
        _paused = True


def resume() -> None:
    """Collect again, leaving out every object that exists now; does nothing unless `pause` stopped it.

    Safe to call any number of times; an app run where the collector was never paused (tests,
    an embedding program) keeps its collector exactly as it was.
    """
    global _paused
    if not _paused:
        return
    _paused = False
    gc.freeze()
    gc.enable()


def paused() -> bool:
    return _paused
