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

import os
import signal
import threading
import time
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


#: How often a worker process checks that the process that started it is still there.
WATCH_PARENT_SECONDS = 0.5


def _watch_parent(parent: int) -> None:
    while True:
        time.sleep(WATCH_PARENT_SECONDS)
        if os.getppid() != parent:  # killed without a chance to stop its workers
            os._exit(1)


def start_worker(parent: int) -> None:
    """Initializer of worker processes: the parent alone handles Ctrl-C (sent to the
    whole process group by a terminal) and then terminates them; SIGTERM ends a worker
    at once (whatever handler it inherited from the parent); a worker whose parent is
    gone (killed outright) ends by itself within half a second, even mid-replication
    (the compiled loop does not hold the GIL)."""
    signal.signal(signal.SIGINT, signal.SIG_IGN)
    signal.signal(signal.SIGTERM, signal.SIG_DFL)
    if hasattr(signal, "pthread_sigmask"):
        signal.pthread_sigmask(signal.SIG_UNBLOCK, {signal.SIGINT})
    threading.Thread(target=_watch_parent, args=(parent,), daemon=True).start()


def hold_sigint(hold: bool) -> None:
    """Hold Ctrl-C back in this thread (``True``: a worker forked meanwhile cannot
    receive it before it ignores it) or let it through again (one that came is raised
    then)."""
    if hasattr(signal, "pthread_sigmask"):
        signal.pthread_sigmask(signal.SIG_BLOCK if hold else signal.SIG_UNBLOCK,
                               {signal.SIGINT})
