"""Benchmark: uncertainty propagation on one process against ``--workers N`` processes.

    python benchmarks/sweep.py [--samples 1000] [--workers 2] [--repeat 3] [--tasks 2000]

Draws ``--samples`` scenarios of the worked example from its ``uncertainty:`` section
and evaluates each (:func:`sustain.sweep.propagate`), in this process and on a pool of
``--workers`` processes, interleaved ``--repeat`` times (best of each, so that load
from other programs on the machine falls on both alike).  Prints the wall time of
each, the speed-up (the target on a two-core machine is 1.7 or more), the work per
sample, and checks that both give the same document.

Processor time (meaningful on a busy machine, where wall times are not): the
processor seconds of the one-worker run and of the ``--workers`` run (all processes),
whose ratio is the parallel efficiency of the processor time (1: the pool costs
nothing extra), and, in one more run on the pool, the processor seconds each worker
process spent on its tasks: the busiest worker's is the wall time the run would take
on idle cores, so ``1 worker's processor time / busiest worker's`` is the speed-up to
expect there, and ``mean / busiest`` the balance of the work.

Per-task overhead: :func:`sustain.simulate.dispatch.map_chunks` over ``--tasks``
tasks that do nothing, in this process and on the pool: what the machinery costs per
task (pickling, the pool's queues) and to start the pool, apart from the work.  The
machine's load average is printed first and last: a speed-up measured on a busy
machine is a lower bound.
"""

from __future__ import annotations

import argparse
import os
import resource
import time
from pathlib import Path
from typing import Any

from sustain.scenario import load_scenario
from sustain.simulate.dispatch import map_chunks
from sustain.sweep import propagate
from sustain.sweep.factors import Scaling
from sustain.sweep.measure import MeasureJob, measure_chunk, measure_job
from sustain.sweep.sample import draw, random_inputs

EXAMPLE = Path(__file__).resolve().parents[1] / "examples" / "coalition-air-defence.yaml"


def nothing(shared: Any, tasks: list[int]) -> list[int]:
    """A task that does no work (top level, so worker processes can import it)."""
    return tasks


def timed(job: MeasureJob, scalings: list[Scaling]) -> list[tuple[int, float]]:
    """Per task, the worker's process id and the processor seconds the task took."""
    out = []
    for s in scalings:
        t = time.process_time()
        measure_chunk(job, [s])
        out.append((os.getpid(), time.process_time() - t))
    return out


def _cpu() -> float:
    """Processor seconds of this process and of its finished child processes."""
    own = resource.getrusage(resource.RUSAGE_SELF)
    kids = resource.getrusage(resource.RUSAGE_CHILDREN)
    return own.ru_utime + own.ru_stime + kids.ru_utime + kids.ru_stime


def _load() -> str:
    one, five, _ = os.getloadavg()
    return f"load average {one:.2f} (1 min), {five:.2f} (5 min) on {os.cpu_count()} CPUs"


def main() -> None:
    """Run the benchmark and print the results."""
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--samples", type=int, default=1000)
    ap.add_argument("--workers", type=int, default=2)
    ap.add_argument("--repeat", type=int, default=3)
    ap.add_argument("--tasks", type=int, default=2000)
    ap.add_argument("--seed", type=int, default=7)
    args = ap.parse_args()

    sc = load_scenario(EXAMPLE)
    print(f"worked example, {args.samples:,} samples (seed {args.seed}); {_load()}")
    propagate(sc, samples=4, seed=args.seed)  # imports and first-call costs, not timed
    best = {1: float("inf"), args.workers: float("inf")}
    cpu = {1: float("inf"), args.workers: float("inf")}
    docs: dict[int, dict[str, Any]] = {}
    for r in range(args.repeat):
        for w in (1, args.workers):
            t, c = time.perf_counter(), _cpu()
            res = propagate(sc, samples=args.samples, seed=args.seed, target=0.7, workers=w)
            dt, dc = time.perf_counter() - t, _cpu() - c
            best[w] = min(best[w], dt)
            cpu[w] = min(cpu[w], dc)
            docs[w] = res.to_dict()
            print(f"  run {r + 1}, {w} worker{'s' if w > 1 else ''}: {dt:.2f} s wall, "
                  f"{dc:.2f} s processor time (all processes)")
    one, many = best[1], best[args.workers]
    print(f"best: 1 worker {one:.2f} s ({1e3 * one / (args.samples + 1):.2f} ms per "
          f"sample), {args.workers} workers {many:.2f} s; speed-up {one / many:.2f}x "
          f"(target >= 1.7 on 2 cores)")
    print(f"same document on 1 and {args.workers} workers: {docs[1] == docs[args.workers]}")
    print(f"processor time: 1 worker {cpu[1]:.2f} s, {args.workers} workers "
          f"{cpu[args.workers]:.2f} s in all (best runs)")

    # Processor time per worker: the critical path on idle cores.
    _, scalings = draw(sc, random_inputs(sc), args.samples, args.seed)
    job = measure_job(sc, "availability", method="vari-metric", target=None,
                      refine_seconds=0.0)
    per_task = map_chunks(timed, job, [Scaling.identity(sc), *scalings], workers=args.workers)
    busy: dict[int, float] = {}
    for pid, sec in per_task:
        busy[pid] = busy.get(pid, 0.0) + sec
    work, top = sum(busy.values()), max(busy.values())
    print(f"processor time per worker on {args.workers} workers: "
          f"{', '.join(f'{b:.2f} s' for b in sorted(busy.values()))} (work {work:.2f} s in "
          f"all, {1e3 * work / len(per_task):.1f} ms per task); balance (mean / busiest) "
          f"{work / len(busy) / top:.2f}")
    print(f"processor-time efficiency (1 worker / {args.workers} workers, all processes): "
          f"{cpu[1] / cpu[args.workers]:.2f}; speed-up to expect on {args.workers} idle "
          f"cores (1 worker's processor time / busiest worker's): {cpu[1] / top:.2f}x")

    tasks = list(range(args.tasks))
    t = time.perf_counter()
    map_chunks(nothing, None, tasks)
    serial = time.perf_counter() - t
    t = time.perf_counter()
    map_chunks(nothing, None, tasks, workers=args.workers)
    pooled = time.perf_counter() - t
    t = time.perf_counter()
    map_chunks(nothing, None, tasks[:2], workers=args.workers)
    start = time.perf_counter() - t
    print(f"overhead of map_chunks, {args.tasks:,} empty tasks: in this process "
          f"{1e6 * serial / args.tasks:.1f} µs per task; on {args.workers} processes "
          f"{pooled * 1e3:.0f} ms in all ({1e6 * pooled / args.tasks:.1f} µs per task, the "
          f"pool's start included; a pool for two tasks: {start * 1e3:.0f} ms)")
    print(_load())


if __name__ == "__main__":
    main()
