"""Benchmark: the drivers of every fleet (why it is down) against the evaluation itself.

    python benchmarks/drivers.py [--items 10000] [--bases 3] [--systems 10] [--repeat 7]

Builds the random two-echelon scenario of ``benchmarks/evaluate.py`` (every system
type at every base) and prints the best of ``--repeat`` wall times of the evaluation,
of every (fleet, item) term of ``−log A`` (``ev.drivers()``), of the five largest per
fleet with the sources of their backorders (``ev.drivers(5)``, what the JSON
documents use), and of the whole JSON document with and without them.
"""

from __future__ import annotations

import argparse
import time
from collections.abc import Callable

from evaluate import build
from sustain.readiness.evaluate import evaluate_arrays


def best(fn: Callable[[], object], repeat: int) -> float:
    """The shortest of ``repeat`` wall times of ``fn()``, in milliseconds."""
    times = []
    for _ in range(repeat):
        t0 = time.perf_counter()
        fn()
        times.append(time.perf_counter() - t0)
    return 1e3 * min(times)


def main() -> None:
    """Parse the options, build the scenario, print the times."""
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--items", type=int, default=10_000)
    ap.add_argument("--bases", type=int, default=3)
    ap.add_argument("--systems", type=int, default=10)
    ap.add_argument("--repeat", type=int, default=7)
    args = ap.parse_args()
    a = build(args.items, args.bases, args.systems)
    ev = evaluate_arrays(a)
    rows = ev.drivers().item.size
    print(f"{args.items} items, {a.n_sites} sites, {a.fleet_system.size} fleets, "
          f"{rows} (fleet, item) terms; best of {args.repeat}:")
    print(f"  evaluate                 {best(lambda: evaluate_arrays(a), args.repeat):8.1f} ms")
    print(f"  drivers, every term      {best(ev.drivers, args.repeat):8.1f} ms")
    print(f"  drivers, top 5 + sources {best(lambda: ev.drivers(5), args.repeat):8.1f} ms")
    plain = best(lambda: (ev.fleets_dict(), ev.items_dict()), args.repeat)
    print(f"  JSON document without    {plain:8.1f} ms")
    print(f"  JSON document with       {best(ev.to_dict, args.repeat):8.1f} ms")


if __name__ == "__main__":
    main()
