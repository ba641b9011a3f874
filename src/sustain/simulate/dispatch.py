"""Running the replications: in this process, on a pool of processes or on Dask.

Replication ``r`` always draws from stream ``r`` of the seeds given, whatever the
number of workers, so results are identical serially, on a process pool and on Dask.

:func:`map_chunks` is the same machinery for any work cut into independent tasks (the
sweeps of :mod:`sustain.sweep` use it): a function of shared data and a list of tasks,
run on chunks of the tasks in this process, on a pool of processes or on Dask, its
results put back in task order.

An interrupt (Ctrl-C, or SIGTERM while the simulation runs: :mod:`.interrupt`) stops
all the work before it propagates: a long replication running in this process stops
within 65,536 events (its compiled loop checks a stop flag; it runs in a helper thread
so that the main thread can take the signal; a short one just finishes first), worker
processes are terminated (they ignore Ctrl-C themselves, so no worker prints a
traceback; a worker whose parent was killed outright ends by itself), Dask futures
cancelled.
"""

from __future__ import annotations

import math
from collections.abc import Callable, Sequence
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass
from typing import Any, TypeVar, cast

import numpy as np

from sustain._procs import run_in_processes
from sustain._types import FloatArray, IntArray
from sustain.errors import MissingExtraError, SustainError
from sustain.simulate.interrupt import SimulationInterrupted
from sustain.simulate.kernel import Replication, kernel_arrays, run
from sustain.simulate.kernel_phased import phased_arrays, run_phased
from sustain.simulate.model import SimModel
from sustain.simulate.phased import PhasedModel

#: A progress callback: ``progress(replications_done, replications_total)``.
Progress = Callable[[int, int], None]
S = TypeVar("S")
T = TypeVar("T")
R = TypeVar("R")
#: Work function of :func:`map_chunks`: ``fn(shared, tasks)`` gives one result per task.
ChunkFn = Callable[[S, list[T]], list[R]]
#: Chunks per worker: small enough to balance the workers and move a progress bar.
CHUNKS_PER_WORKER = 4
#: In this process, a replication estimated at more events than this runs in a helper
#: thread that Ctrl-C can stop mid-way (starting the thread costs about a millisecond);
#: a shorter one runs in the calling thread and is over in a fraction of a second.
IN_THREAD_EVENTS = 1e6


@dataclass(frozen=True, slots=True, kw_only=True)
class Job:
    """Everything a worker needs for its replications (small and picklable)."""

    model: SimModel
    days: float
    warmup_days: float
    series_days: FloatArray
    failures_while_down: bool
    exponential_delays: bool
    phased: PhasedModel | None = None


def _arrays(job: Job) -> Any:
    """The job's model as the loop's arrays (built once per chunk, not per replication)."""
    if job.phased is not None:
        return phased_arrays(job.model, job.phased)
    return kernel_arrays(job.model)


def _replicate(job: Job, arrays: Any, ss: np.random.SeedSequence,
               halt: IntArray | None) -> Replication:
    """The replication of stream ``ss``."""
    rng = np.random.Generator(np.random.PCG64(ss))
    kw: dict[str, Any] = dict(
        days=job.days, warmup_days=job.warmup_days, series_days=job.series_days,
        failures_while_down=job.failures_while_down,
        exponential_delays=job.exponential_delays, arrays=arrays, halt=halt,
    )
    if job.phased is not None:
        return run_phased(job.model, job.phased, rng, **kw)
    return run(job.model, rng, **kw)


def run_chunk(
    job: Job, seeds: Sequence[np.random.SeedSequence], halt: IntArray | None = None
) -> list[Replication]:
    """Replications for the given streams (top level, so worker processes can import it)."""
    arrays = _arrays(job)
    return [_replicate(job, arrays, ss, halt) for ss in seeds]


def _chunks(n: int, parts: int) -> list[range]:
    size = max(1, math.ceil(n / parts))
    return [range(k, min(n, k + size)) for k in range(0, n, size)]


def dispatch(
    job: Job,
    seeds: list[np.random.SeedSequence],
    *,
    workers: int,
    dask_address: str | Any | None,
    progress: Progress | None,
    events_per_replication: float = 0.0,
) -> list[Replication]:
    """All replications, in stream order; :class:`SimulationInterrupted` when interrupted
    (after every worker has stopped).  ``events_per_replication`` (an estimate) decides
    whether replications in this process run in a helper thread."""
    n = len(seeds)
    done = 0
    out: list[Replication | None] = [None] * n

    def store(c: range, reps: list[Replication]) -> None:
        nonlocal done
        for r, rep in zip(c, reps, strict=True):
            out[r] = rep
        done += len(c)
        if progress is not None:
            progress(done, n)

    try:
        if dask_address is not None:
            _on_dask(run_chunk, job, seeds, dask_address, store, "simulate with --dask")
        elif workers > 1:
            _on_processes(run_chunk, job, seeds, workers, store)
        else:
            _in_process(job, seeds, store, events_per_replication > IN_THREAD_EVENTS)
    except KeyboardInterrupt as exc:
        if type(exc) is KeyboardInterrupt:  # Python's own Ctrl-C: say what stopped
            raise SimulationInterrupted from None
        raise  # ours, or the caller's own signal handler's (it knows what it means)
    return [x for x in out if x is not None]


def _in_process(job: Job, seeds: list[np.random.SeedSequence],
                store: Callable[[range, list[Replication]], None], threaded: bool) -> None:
    arrays = _arrays(job)
    if not threaded:
        for r in range(len(seeds)):
            store(range(r, r + 1), [_replicate(job, arrays, seeds[r], None)])
        return
    halt = np.zeros(1, dtype=np.int64)
    # The compiled loop releases the GIL; running it in a helper thread leaves the main
    # thread free to take a signal and set the stop flag.
    with ThreadPoolExecutor(max_workers=1, thread_name_prefix="sustain-simulate") as ex:
        try:
            for r in range(len(seeds)):
                rep = ex.submit(_replicate, job, arrays, seeds[r], halt).result()
                store(range(r, r + 1), [rep])
        except BaseException:
            halt[0] = 1  # the running replication stops; leaving the block waits for it
            raise


def map_chunks(
    fn: ChunkFn[S, T, R],
    shared: S,
    tasks: Sequence[T],
    *,
    workers: int = 1,
    dask_address: str | Any | None = None,
    progress: Progress | None = None,
    what: str = "--dask",
) -> list[R]:
    """``fn(shared, chunk)`` over chunks of ``tasks``: one result per task, in task order.

    In this process (one task at a time) when ``workers`` is 1 and no Dask address is
    given; else on a pool of ``workers`` processes, or on the Dask scheduler at
    ``dask_address`` (or a ``distributed.Client``), :data:`CHUNKS_PER_WORKER` chunks
    per worker.  ``fn`` must be a module-level function and ``shared`` and the tasks
    picklable; ``shared`` is sent to each worker once (Dask: scattered).  The results do
    not depend on how the tasks were split as long as ``fn`` treats each task on its
    own.  ``progress(done, total)`` is called as chunks finish; ``what`` names the
    work in the message when Dask is not installed.  An interrupt stops every worker
    before it propagates.
    """
    items = list(tasks)
    n = len(items)
    done = 0
    out: list[R | None] = [None] * n
    filled = [False] * n

    def store(c: range, results: list[R]) -> None:
        nonlocal done
        if len(results) != len(c):
            raise SustainError(f"a worker gave {len(results)} results for {len(c)} tasks")
        for r, res in zip(c, results, strict=True):
            out[r] = res
            filled[r] = True
        done += len(c)
        if progress is not None:
            progress(done, n)

    if dask_address is not None:
        _on_dask(fn, shared, items, dask_address, store, what)
    elif workers > 1 and n > 1:
        _on_processes(fn, shared, items, workers, store)
    else:
        for r in range(n):
            store(range(r, r + 1), fn(shared, [items[r]]))
    if not all(filled):
        raise SustainError(f"{filled.count(False)} of {n} tasks gave no result")
    return cast("list[R]", out)


def _on_processes(fn: Callable[[Any, list[Any]], list[Any]], shared: Any,
                  items: Sequence[Any], workers: int,
                  store: Callable[[range, list[Any]], None]) -> None:
    chunks = _chunks(len(items), CHUNKS_PER_WORKER * workers)
    tasks = [(fn, shared, [items[r] for r in c]) for c in chunks]
    # On Ctrl-C or an error every worker is ended (SIGTERM), queued work is dropped.
    run_in_processes(_call, tasks, workers, lambda k, results: store(chunks[k], results))


def _call(fn: Callable[[Any, list[Any]], list[Any]], shared: Any, items: list[Any]) -> list[Any]:
    return fn(shared, items)


def _on_dask(fn: Callable[[Any, list[Any]], list[Any]], shared: Any, items: Sequence[Any],
             address: str | Any, store: Callable[[range, list[Any]], None],
             what: str) -> None:
    try:  # an optional extra (sustain[dask]), imported only when asked for
        from dask.distributed import Client, as_completed
    except ImportError:
        raise MissingExtraError(what, "dask") from None
    own = not isinstance(address, Client)
    try:
        client: Any = Client(address, timeout="10s") if own else address
    except OSError as exc:
        raise SustainError(f"--dask {address}: cannot reach the Dask scheduler: {exc}") from None
    futures: dict[Any, range] = {}
    try:
        # Small chunks keep the progress bar moving and balance the workers.
        n_workers = max(1, len(client.scheduler_info().get("workers", {})) or 1)
        # A key of its own (hash=False): with the content's hash as key, a second run of
        # the same job could name data an earlier client was still releasing (the
        # scheduler then cancels the work as "lost dependencies").
        fshared = client.scatter(shared, broadcast=True, hash=False)
        for c in _chunks(len(items), CHUNKS_PER_WORKER * n_workers):
            futures[client.submit(fn, fshared, [items[r] for r in c], pure=False)] = c
        for fut in as_completed(futures):
            store(futures[fut], fut.result())
    except BaseException:
        if futures:
            client.cancel(list(futures))
        raise
    finally:
        if own:
            client.close()
