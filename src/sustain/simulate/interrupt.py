"""Interrupts of a simulation: Ctrl-C (SIGINT) or SIGTERM stop every worker, then raise.

:func:`sustain.simulate.simulate` stops all its work within a fraction of a second when
interrupted: the compiled loop of a replication in this process checks a stop flag
every 65,536 events, worker processes are terminated, Dask futures cancelled.  Then it
raises :class:`SimulationInterrupted`, a :class:`KeyboardInterrupt`, to its caller
(or, when the caller's own signal handler raised a :class:`KeyboardInterrupt` of
another kind, that one).  While it runs in the main thread, SIGTERM is handled like
SIGINT unless the caller has installed a handler of its own (which then decides).
"""

from __future__ import annotations

import signal
import threading
from collections.abc import Iterator
from contextlib import contextmanager
from types import FrameType


class SimulationInterrupted(KeyboardInterrupt):
    """A simulation stopped by a signal, after stopping all its workers.

    Attributes
    ----------
    signum : int
        The signal: ``signal.SIGINT`` (Ctrl-C) or ``signal.SIGTERM``.
    """

    def __init__(self, signum: int = signal.SIGINT) -> None:
        super().__init__(f"simulation interrupted ({signal.Signals(signum).name})")
        self.signum = signum


def _raise_interrupted(signum: int, _frame: FrameType | None) -> None:
    raise SimulationInterrupted(signum)


@contextmanager
def sigterm_as_interrupt() -> Iterator[None]:
    """Within the block, SIGTERM raises :class:`SimulationInterrupted` in the main thread
    (when SIGTERM has its default action: a caller's own handler is left in place)."""
    if threading.current_thread() is not threading.main_thread():
        yield
        return
    previous = signal.getsignal(signal.SIGTERM)
    if previous is not signal.SIG_DFL:
        yield
        return
    signal.signal(signal.SIGTERM, _raise_interrupted)
    try:
        yield
    finally:
        signal.signal(signal.SIGTERM, previous)
