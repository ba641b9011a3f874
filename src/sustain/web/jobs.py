"""Jobs: each run in a worker process of its own, a few at a time, each with a time limit.

Every run the API is asked for, answered at once or in the background, is a job.
Jobs wait in a first-in first-out queue for one of ``max_jobs`` slots; a job in a slot
runs in a new process forked from a fork server that imported the engines once
(:data:`sustain.web.worker.PRELOAD`), so a crash or a runaway job never touches the
server.  A job running longer than ``time_limit_seconds`` is killed and fails with a
message saying so; a job whose process would take more than ``memory_bytes`` beyond
the loaded engines fails with an out-of-memory message
(:func:`sustain.web.worker.limit_memory`); a cancelled job is killed (running) or
never started (queued).
When ``max_queued`` jobs already wait, a new one is refused (the API answers 429).

Status, result and error are written to the run history (:class:`~sustain.web.db.Store`);
the progress of a running job (simulation replications) is kept here, in memory.
"""

from __future__ import annotations

import multiprocessing
import multiprocessing.forkserver
import queue
import shutil
import threading
import time
from dataclasses import dataclass, field
from multiprocessing.connection import Connection
from pathlib import Path
from typing import Any

from sustain.errors import SustainError
from sustain.web.db import Status, Store
from sustain.web.worker import PRELOAD, Failure, Task, main

#: How often (seconds) a supervisor looks at its worker: messages, time limit, cancel.
POLL_SECONDS = 0.05
#: What the server's own main module imports (``sustain serve``, or an app made with
#: :func:`sustain.web.app.create_app`).  A worker started by the fork server runs the
#: parent's main module again (the rule of ``multiprocessing``; Python 3.11's fork
#: server does not load it for its children); with these modules loaded once in the
#: fork server that takes milliseconds, not the second it took each run to import the
#: web framework and the command line again.
SERVER_MODULES = ("sustain.web.app", "sustain.cli.main")


class QueueFull(SustainError):
    """As many jobs as allowed wait already."""


@dataclass(slots=True, kw_only=True)
class Job:
    """A run the manager knows of while it is queued or running."""

    id: str
    task: Task
    folder: Path
    progress: tuple[int, int] | None = None
    cancel: threading.Event = field(default_factory=threading.Event)
    finished: threading.Event = field(default_factory=threading.Event)
    status: Status = Status.QUEUED
    result: str | None = None
    error: Failure | None = None


class JobManager:
    """Runs jobs in worker processes; see the module's docstring."""

    def __init__(self, store: Store, *, max_jobs: int, max_queued: int,
                 time_limit_seconds: float, memory_bytes: int | None = None) -> None:
        self.store = store
        self.max_jobs = max_jobs
        self.max_queued = max_queued
        self.time_limit_seconds = time_limit_seconds
        self.memory_bytes = memory_bytes
        self._waiting: queue.Queue[Job | None] = queue.Queue()
        self._jobs: dict[str, Job] = {}
        self._lock = threading.Lock()
        self._threads: list[threading.Thread] = []
        self._context = multiprocessing.get_context("forkserver")
        self._context.set_forkserver_preload([*PRELOAD, *SERVER_MODULES])

    def start(self) -> None:
        """Start the fork server and the supervisors (one per slot).

        The fork server is started here rather than by the first run: it imports the
        engines (seconds) while the server answers its first requests, instead of
        making the first run wait for them.
        """
        multiprocessing.forkserver.ensure_running()
        for n in range(self.max_jobs):
            t = threading.Thread(target=self._supervise, name=f"sustain-job-{n}", daemon=True)
            t.start()
            self._threads.append(t)

    def stop(self) -> None:
        """Cancel every job and wait for the supervisors to end."""
        with self._lock:
            jobs = list(self._jobs.values())
        for job in jobs:
            job.cancel.set()
        for _ in self._threads:
            self._waiting.put(None)
        for t in self._threads:
            t.join(timeout=10)
        self._threads.clear()

    def submit(self, job: Job) -> None:
        """Queue ``job`` (already recorded as ``queued`` in the store).

        Raises
        ------
        QueueFull
            ``max_queued`` jobs wait already.
        """
        with self._lock:
            waiting = sum(j.status is Status.QUEUED for j in self._jobs.values())
            if waiting >= self.max_queued:
                raise QueueFull(
                    f"{self.max_queued} runs are waiting already (the server runs "
                    f"{self.max_jobs} at a time): try again later")
            self._jobs[job.id] = job
        self._waiting.put(job)

    def get(self, job_id: str) -> Job | None:
        """The job, while it is queued or running (afterwards: the store has it)."""
        with self._lock:
            return self._jobs.get(job_id)

    def cancel(self, job_id: str) -> bool:
        """Ask a queued or running job to stop; False if it is not queued or running."""
        job = self.get(job_id)
        if job is None:
            return False
        job.cancel.set()
        if job.status is Status.QUEUED:
            self._end(job, Status.CANCELLED)
        return True

    def _end(self, job: Job, status: Status, *, result: str | None = None,
             error: Failure | None = None) -> None:
        with self._lock:
            if job.finished.is_set():
                return
            if error is not None:
                error = error.within(job.folder)
            # The outcome before the status: whoever sees the status sees the outcome.
            job.result, job.error = result, error
            job.status = status
            self.store.finish(job.id, status, result=result,
                              error=None if error is None else error.to_dict())
            self._jobs.pop(job.id, None)
            job.finished.set()
        shutil.rmtree(job.folder, ignore_errors=True)

    def _supervise(self) -> None:
        while True:
            job = self._waiting.get()
            if job is None:
                return
            if job.cancel.is_set() or job.finished.is_set():
                self._end(job, Status.CANCELLED)
                continue
            try:
                self._run(job)
            except Exception as exc:  # the server stays up whatever one job does
                self._end(job, Status.FAILED, error=Failure(
                    message=f"error: internal error ({type(exc).__name__}): {exc}",
                    problems=(str(exc),)))

    def _run(self, job: Job) -> None:
        if not self.store.started(job.id):
            self._end(job, Status.CANCELLED)
            return
        job.status = Status.RUNNING
        receive, send = self._context.Pipe(duplex=False)
        process = self._context.Process(target=main, args=(send, job.task, self.memory_bytes),
                                        daemon=True, name=f"sustain-run-{job.id}")
        process.start()
        send.close()
        deadline = time.monotonic() + self.time_limit_seconds
        try:
            self._watch(job, process, receive, deadline)
        finally:
            if process.is_alive():
                process.kill()
            process.join(timeout=10)
            receive.close()

    def _watch(self, job: Job, process: Any, receive: Connection, deadline: float) -> None:
        while True:
            if job.cancel.is_set():
                process.kill()
                self._end(job, Status.CANCELLED)
                return
            if time.monotonic() > deadline:
                process.kill()
                limit = f"{self.time_limit_seconds:g}"
                self._end(job, Status.FAILED, error=Failure(
                    message=f"error: the run took longer than the server's time limit of "
                    f"{limit} s and was stopped (sustain serve --time-limit)",
                    problems=(f"time limit of {limit} s reached",)))
                return
            if receive.poll(POLL_SECONDS):
                try:
                    message = receive.recv()
                except EOFError:
                    message = None
                if message is None:
                    process.join(timeout=5)
                    self._lost(job, process.exitcode)
                    return
                if message[0] == "progress":
                    job.progress = (message[1], message[2])
                    continue
                if message[0] == "done":
                    self._end(job, Status.DONE, result=message[1])
                else:
                    self._end(job, Status.FAILED, error=message[1])
                return
            if not process.is_alive() and not receive.poll():
                self._lost(job, process.exitcode)
                return

    def _lost(self, job: Job, exitcode: int | None) -> None:
        """The worker ended without an outcome (killed, crashed)."""
        hint = ""
        if self.memory_bytes is not None:
            # Code outside Python (numba, HiGHS) may abort rather than raise MemoryError.
            hint = (f" (a run that passes the server's memory limit of "
                    f"{self.memory_bytes / 2**20:g} MB per run, sustain serve "
                    "--max-memory-mb, can end so)")
        self._end(job, Status.FAILED, error=Failure(
            message=f"error: the worker process ended without a result (exit code "
            f"{exitcode}){hint}; the run left no result",
            problems=(f"worker process ended (exit code {exitcode})",)))
