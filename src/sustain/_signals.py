"""Signals the command line's handler could not turn into an exception at once.

Python runs a signal handler between two bytecodes of the main thread, wherever that
thread is, including inside a Python function that C code called through ctypes.  An
exception raised there is printed as "Exception ignored" and lost: numba's compiler
calls back into llvmlite's Python code like this when it compiles or loads a compiled
function, so a Ctrl-C landing at that moment would be dropped and the run would go on
to write its outputs.

The command line's handler (:mod:`sustain.cli.common`) therefore

- records every signal here (:func:`arrived`) before raising, and whoever turns the
  exception into an exit marks it handled (:func:`handled`);
- does not raise while llvmlite's Python code is on the stack (:func:`in_callback`):
  it sends the signal again a moment later (:func:`redeliver_later`);
- and :func:`raise_missed` sends a recorded, unhandled signal again before outputs are
  renamed into place and when a command returns, so a signal lost anyway still stops the
  run with nothing written.
"""

from __future__ import annotations

import os
import signal
import threading
from types import FrameType

#: Packages whose Python code C code calls back into (an exception there is lost).
CALLBACK_PACKAGES = ("llvmlite",)
#: How long a signal that arrived inside such a callback waits before it is sent again.
REDELIVER_SECONDS = 0.02

_missed: int | None = None


def arrived(signum: int) -> None:
    """Record ``signum`` as arrived and not yet handled."""
    global _missed
    _missed = signum


def handled() -> None:
    """The recorded signal has been turned into an exit (or there was none)."""
    global _missed
    _missed = None


def pending() -> int | None:
    """The signal that arrived and was not handled, if any."""
    return _missed


def in_callback(frame: FrameType | None) -> bool:
    """Whether ``frame`` or one of its callers is code of :data:`CALLBACK_PACKAGES`."""
    while frame is not None:
        path = frame.f_code.co_filename.replace("\\", "/")
        if any(f"/{name}/" in path for name in CALLBACK_PACKAGES):
            return True
        frame = frame.f_back
    return False


def redeliver_later(signum: int) -> None:
    """Send ``signum`` to this process again after :data:`REDELIVER_SECONDS`."""
    timer = threading.Timer(REDELIVER_SECONDS, os.kill, (os.getpid(), signum))
    timer.daemon = True
    timer.start()


def raise_missed() -> None:
    """Send the recorded, unhandled signal again, so that its handler raises now.

    Only in the main thread (where Python runs handlers) and only when a signal is
    recorded: outside the command line nothing is ever recorded.
    """
    signum = _missed
    if signum is None or threading.current_thread() is not threading.main_thread():
        return
    handled()
    signal.raise_signal(signum)
