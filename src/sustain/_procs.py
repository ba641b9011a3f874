"""Worker processes that never leave anything behind: Ctrl-C, SIGTERM, a dead parent.

Used by every engine that spreads work over local processes (simulation replications,
sweeps, stockpile consumables).  :func:`run_in_processes` starts ``workers`` processes,
each with a pipe of its own, and feeds each the next task as it finishes one.  No lock
or queue is shared between processes, so a worker ended in the middle of anything
cannot leave the others or the caller waiting (``multiprocessing.Pool.terminate`` can
wait for ever on a queue lock held by a worker it is ending).

- The workers ignore SIGINT (a terminal sends Ctrl-C to the whole process group); the
  calling process receives it, terminates the workers, waits for them and re-raises.
- Ctrl-C is held back while the workers start and while they are terminated
  (:class:`HeldInterrupt`), so that none receives it before it ignores it and a second
  Ctrl-C cannot cut the clean-up short.
- A worker whose parent is gone (killed outright) ends by itself within
  :data:`WATCH_PARENT_SECONDS`, even in the middle of a task, as long as the task
  releases the GIL now and then (compiled loops and HiGHS do).
"""

from __future__ import annotations

import contextlib
import multiprocessing as mp
import os
import signal
import threading
import time
from collections.abc import Callable, Sequence
from multiprocessing.connection import Connection, wait
from multiprocessing.process import BaseProcess
from types import TracebackType
from typing import Any

from sustain.errors import SustainError

#: How often a worker process checks that the process that started it is still there.
WATCH_PARENT_SECONDS = 0.5
#: The message when a worker process dies (killed, out of memory) in the middle of a task.
LOST = ("a worker process ended unexpectedly (killed, or out of memory?): "
        "try fewer workers")
#: How long the calling process waits for a terminated worker before killing it.
TERMINATE_SECONDS = 2.0


def _watch_parent(parent: int) -> None:
    while True:
        time.sleep(WATCH_PARENT_SECONDS)
        if os.getppid() != parent:  # killed without a chance to stop its workers
            os._exit(1)


def start_worker(parent: int) -> None:
    """Set up a worker process: the parent alone handles Ctrl-C; SIGTERM ends it at
    once (whatever handler it inherited); it ends by itself if ``parent`` dies."""
    signal.signal(signal.SIGINT, signal.SIG_IGN)
    signal.signal(signal.SIGTERM, signal.SIG_DFL)
    if hasattr(signal, "pthread_sigmask"):
        signal.pthread_sigmask(signal.SIG_UNBLOCK, {signal.SIGINT})
    threading.Thread(target=_watch_parent, args=(parent,), daemon=True).start()


class HeldInterrupt:
    """Hold Ctrl-C back over a block and raise it once at the end.

    ``pthread_sigmask`` alone cannot do this: Python runs its SIGINT handler in the main
    thread whichever thread the kernel hands the signal to, and threads started by
    libraries (BLAS pools) do not block it.  So the handler itself is replaced for the
    block (main thread only; elsewhere Python never raises ``KeyboardInterrupt``), and
    SIGINT is also blocked in this thread, so that a process forked inside the block
    starts with it blocked and discards it when it starts ignoring it.  A signal that
    came is passed to the handler that was in place before, when the block ends.
    """

    def __enter__(self) -> HeldInterrupt:
        self.caught = False
        self.main = threading.current_thread() is threading.main_thread()
        self.previous: Any = None
        if self.main:
            self.previous = signal.signal(signal.SIGINT, self._catch)
        self.masked = hasattr(signal, "pthread_sigmask")
        if self.masked:
            signal.pthread_sigmask(signal.SIG_BLOCK, {signal.SIGINT})
        return self

    def _catch(self, signum: int, frame: object) -> None:
        self.caught = True

    def __exit__(self, kind: type[BaseException] | None, exc: BaseException | None,
                 tb: TracebackType | None) -> None:
        if self.masked:
            signal.pthread_sigmask(signal.SIG_UNBLOCK, {signal.SIGINT})
        if not self.main:
            return
        signal.signal(signal.SIGINT, self.previous)
        if self.caught and kind is None:
            if callable(self.previous):
                self.previous(signal.SIGINT, None)
            elif self.previous == signal.default_int_handler:
                raise KeyboardInterrupt


def _serve(conn: Connection, parent: int) -> None:
    """A worker: run each ``(index, fn, args)`` received and send back ``(index, result
    or exception)``; end on ``None`` or when the parent's end of the pipe closes."""
    start_worker(parent)
    while True:
        try:
            task = conn.recv()
        except (EOFError, OSError):
            return
        if task is None:
            return
        index, fn, args = task
        try:
            answer = fn(*args)
        except Exception as exc:  # sent back and raised by the caller
            answer = _Failed(exc)
        conn.send((index, answer))


class _Failed:
    """An exception raised by a task, carried back to the caller."""

    def __init__(self, exc: Exception) -> None:
        self.exc = exc


def _end(procs: Sequence[BaseProcess]) -> None:
    """Terminate the started ``procs`` and wait for them (killing any that lingers)."""
    started = [p for p in procs if p.pid is not None]
    for p in started:
        with contextlib.suppress(OSError):
            p.terminate()
    for p in started:
        p.join(TERMINATE_SECONDS)
        if p.exitcode is None:
            with contextlib.suppress(OSError):
                p.kill()
            p.join()


def run_in_processes(
    fn: Callable[..., Any], tasks: Sequence[tuple[Any, ...]], workers: int,
    on_result: Callable[[int, Any], None],
) -> None:
    """Run ``fn(*tasks[k])`` for every ``k`` in up to ``workers`` processes, calling
    ``on_result(k, result)`` in this process as each result arrives (in any order).

    An exception raised by a task is raised here (after the workers are ended), as is
    ``KeyboardInterrupt``; either way no worker process is left running.
    """
    method = "fork" if "fork" in mp.get_all_start_methods() else "spawn"
    ctx: Any = mp.get_context(method)  # a context's Process is not in the stubs
    procs: list[BaseProcess] = []
    conns: list[Connection] = []
    try:
        with HeldInterrupt():
            for _ in range(min(workers, len(tasks))):
                mine, theirs = ctx.Pipe()
                conns.append(mine)
                proc = ctx.Process(target=_serve, args=(theirs, os.getpid()), daemon=True)
                procs.append(proc)
                proc.start()
                theirs.close()
        todo = iter(range(len(tasks)))
        busy: set[Connection] = set()

        def feed(conn: Connection) -> None:
            k = next(todo, None)
            if k is not None:
                try:
                    conn.send((k, fn, tasks[k]))
                except OSError:  # a broken pipe: the worker has died
                    raise SustainError(LOST) from None
                busy.add(conn)

        for conn in conns:
            feed(conn)
        while busy:
            for ready in wait(list(busy)):
                assert isinstance(ready, Connection)
                busy.discard(ready)
                try:
                    k, answer = ready.recv()
                except (EOFError, OSError):
                    raise SustainError(LOST) from None
                if isinstance(answer, _Failed):
                    raise answer.exc
                on_result(k, answer)
                feed(ready)
        for conn in conns:
            conn.send(None)
        for proc in procs:
            proc.join()
    except BaseException:
        with HeldInterrupt():
            _end(procs)
        raise
    finally:
        for conn in conns:
            conn.close()
