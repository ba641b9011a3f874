"""Building the chunks' candidates in this process, on worker processes or on Dask.

The scenario goes to each worker once (worker processes: when they start; Dask:
scattered); each round sends only the prices.  A worker keeps the allocation state
of the chunks it has built (their families, flows and bounds), so a later round on the
same chunk starts at once.  Local worker processes own their chunks (chunk ``k`` goes
to worker ``k mod workers`` in every round), so each chunk's state is set up once, by
one worker, and a round costs one message to each worker and one back.  The
candidates come back in chunk order, whichever worker built them, so the plan does not
depend on the number of workers.
"""

from __future__ import annotations

import multiprocessing
import uuid
from typing import Any

import numpy as np

from sustain._types import FloatArray
from sustain.errors import MissingExtraError, SustainError
from sustain.optimize.decompose import (
    Candidates,
    Chunk,
    Problem,
    chunk_candidates,
    chunk_state,
)
from sustain.optimize.state import AllocationState

#: Chunk states kept by this process (a worker's, or the caller's), per run.
_STATES: dict[tuple[str, int], AllocationState] = {}
#: The problem a worker process was started with.
_PROBLEM: list[Problem] = []


def _state(token: str, problem: Problem, k: int) -> AllocationState:
    key = (token, k)
    if key not in _STATES:
        for old in [x for x in _STATES if x[0] != token]:  # another run's: dropped
            del _STATES[old]
        _STATES[key] = chunk_state(problem, problem.chunks[k])
    return _STATES[key]


def build_chunk(token: str, problem: Problem, k: int, prices: FloatArray, cut: float
                ) -> Candidates:
    """Candidates of chunk ``k`` at ``prices`` down to ``cut`` (a pure function of its
    arguments: the cached state is reset before each build)."""
    state = _state(token, problem, k)
    return chunk_candidates(state, problem.chunks[k].rows, prices, cut)


def _load_kernels(problem: Problem) -> None:
    """Run the curve builds on the first family alone, here, so that the compiled
    kernels they call are loaded in this process before workers are forked from it
    (each worker would otherwise load them from numba's cache again)."""
    a, chunk = problem.a, problem.chunks[0]
    later = np.flatnonzero(a.item_parent[chunk.rows[1:]] < 0)  # the next family's top
    end = int(later[0]) + 1 if later.size else chunk.rows.size
    one = Chunk(families=chunk.families[:1], rows=chunk.rows[:end])
    state = chunk_state(Problem(a=a, lo=problem.lo, hi=problem.hi, method=problem.method,
                                chunks=(one,)), one)
    ones = np.ones(a.fleet_system.size)
    for cut in (0.0, 1.0):
        chunk_candidates(state, one.rows, ones, cut)


def _init(problem: Problem) -> None:
    _PROBLEM[:] = [problem]


def _on_worker(token: str, ks: list[int], prices: FloatArray, cut: float) -> list[Candidates]:
    return [build_chunk(token, _PROBLEM[0], k, prices, cut) for k in ks]


class Builder:
    """Builds every chunk's candidates, on ``workers`` processes or on Dask
    (``dask_address``: a scheduler address or a ``distributed.Client``).

    A context manager: the worker processes (or the Dask client it made) are closed
    on leaving it.
    """

    def __init__(self, problem: Problem, workers: int = 1,
                 dask_address: str | Any | None = None) -> None:
        self.problem = problem
        self.token = uuid.uuid4().hex
        self.pools: list[Any] = []
        self.client: Any = None
        self.own_client = False
        self.shared: Any = None
        n = len(problem.chunks)
        if dask_address is not None:
            try:  # an optional extra (sustain[dask]), imported only when asked for
                from dask.distributed import Client
            except ImportError:
                raise MissingExtraError("--dask", "dask") from None
            if isinstance(dask_address, Client):
                self.client = dask_address
            else:
                try:
                    self.client = Client(dask_address, timeout="10s")
                except OSError as exc:
                    raise SustainError(
                        f"--dask {dask_address}: cannot reach the Dask scheduler: {exc}"
                    ) from None
                self.own_client = True
            self.shared = self.client.scatter(problem, broadcast=True, hash=False)
        elif workers > 1 and n > 1:
            _load_kernels(problem)
            ctx = multiprocessing.get_context("fork")
            self.pools = [ctx.Pool(processes=1, initializer=_init, initargs=(problem,))
                          for _ in range(min(workers, n))]

    def __enter__(self) -> Builder:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()

    def close(self) -> None:
        """Stop the worker processes, or close the Dask client made here."""
        for pool in self.pools:
            pool.terminate()
            pool.join()
        self.pools = []
        if self.client is not None:
            if self.own_client:
                self.client.close()
            self.client = None
        for key in [x for x in _STATES if x[0] == self.token]:
            del _STATES[key]

    def candidates(self, prices: FloatArray, cut: float) -> Candidates:
        """Every chunk's candidates at ``prices`` down to ``cut``, joined in chunk order."""
        n = len(self.problem.chunks)
        prices = np.asarray(prices, dtype=np.float64)
        parts: list[Any] = [None] * n
        if self.client is not None:
            futures = [self.client.submit(build_chunk, self.token, self.shared, k, prices, cut,
                                          pure=False) for k in range(n)]
            try:
                parts = list(self.client.gather(futures))
            except BaseException:
                self.client.cancel(futures)
                raise
        elif self.pools:
            m = len(self.pools)
            jobs = [pool.apply_async(_on_worker, (self.token, list(range(i, n, m)), prices, cut))
                    for i, pool in enumerate(self.pools)]
            for i, job in enumerate(jobs):
                parts[i::m] = job.get()
        else:
            parts = [build_chunk(self.token, self.problem, k, prices, cut) for k in range(n)]
        return Candidates.join(list(parts))
