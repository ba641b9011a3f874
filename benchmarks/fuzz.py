"""Mutation fuzzing of Sustain's inputs: every case ends in an answer or a clean error.

Usage::

    python benchmarks/fuzz.py --cases 2000 --format all --out fuzz-out --seed 1
    python benchmarks/fuzz.py --replay fuzz-out/yaml/crash-0001.json

Mutates the shipped examples and small generated scenarios (see ``fuzzkit``), runs
each case in a worker process with a timeout, and prints per format the number of
cases that ended ok, in a clean error, a crash, a wrong answer (invalid numbers) or a
hang.  Each failing case is written to ``OUT/FORMAT/KIND-NNNN.json`` (the inputs, the
run, the outcome and its traceback) for ``--replay``; ``OUT/summary.txt`` lists the
fault classes.  Exit code 1 when any case failed.
"""

from __future__ import annotations

import argparse
import json
import signal
import sys
import time
from pathlib import Path

from fuzzkit import FORMATS, KINDS, Case, Tally, make_cases, run_case, run_cases

#: Failing cases written per fault class (the rest are counted only).
KEEP_PER_CLASS = 10


def _table(tallies: dict[str, Tally]) -> str:
    head = f"{'format':<10} {'cases':>7} " + " ".join(f"{k:>6}" for k in KINDS)
    lines = [head, "-" * len(head)]
    for fmt, t in tallies.items():
        total = sum(t.counts.values())
        lines.append(f"{fmt:<10} {total:>7} " + " ".join(f"{t.counts[k]:>6}" for k in KINDS))
    return "\n".join(lines)


def _replay(path: Path) -> int:
    saved = json.loads(path.read_text(encoding="utf-8"))
    case = Case.from_json(json.dumps(saved["case"]) if "case" in saved else path.read_text())
    print(f"{case.format} case {case.index} (seed {case.seed}): {case.mutation}")
    print(f"run: {case.run}")
    out = run_case(case)
    print(f"{out.kind}: {out.detail}")
    if out.trace:
        print(out.trace)
    return 1 if out.kind in ("crash", "wrong") else 0


def _run(args: argparse.Namespace, formats: tuple[str, ...], tallies: dict[str, Tally],
         written: dict[str, int], start: float) -> None:
    """Run every format's cases, counting into ``tallies`` and writing failing cases."""
    for fmt in formats:
        tally = tallies[fmt] = Tally()
        folder = args.out / fmt
        cases = make_cases(fmt, args.seed, args.cases, args.start,
                           targets=not args.budgets_only)
        for n, (case, out) in enumerate(run_cases(cases, workers=args.workers,
                                                  timeout=args.timeout), 1):
            tally.add(case, out)
            if out.kind in ("crash", "wrong", "hang"):
                sig = f"{fmt} {out.kind}: {out.signature()}"
                with (args.out / "failing.txt").open("a", encoding="utf-8") as fh:
                    fh.write(f"{fmt} {case.index} {out.kind} {out.detail[:120]}\n")
                written[sig] = written.get(sig, 0) + 1
                if written[sig] <= KEEP_PER_CLASS:
                    folder.mkdir(parents=True, exist_ok=True)
                    doc = {"case": json.loads(case.to_json()), "outcome": vars(out)}
                    name = f"{out.kind}-{case.index:05d}.json"
                    (folder / name).write_text(json.dumps(doc, indent=1), encoding="utf-8")
            if n % 500 == 0:
                print(f"  {fmt}: {n} cases, {tally.failures} failing, "
                      f"{time.perf_counter() - start:.0f} s", file=sys.stderr, flush=True)


def main(argv: list[str] | None = None) -> int:
    """Run the fuzzer (or replay one case) and print the table."""
    p = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    p.add_argument("--cases", type=int, default=500, help="cases per format")
    p.add_argument("--format", default="all", choices=("all", *FORMATS))
    p.add_argument("--budgets-only", action="store_true",
                   help="optimise for budgets only, never targets (as the test suite does)")
    p.add_argument("--seed", type=int, default=1)
    p.add_argument("--start", type=int, default=0, help="index of the first case")
    p.add_argument("--workers", type=int, default=2)
    p.add_argument("--timeout", type=float, default=30.0, help="seconds per case")
    p.add_argument("--out", type=Path, default=Path("fuzz-out"))
    p.add_argument("--replay", type=Path, help="run one saved case in this process")
    args = p.parse_args(argv)
    if args.replay:
        return _replay(args.replay)
    formats = FORMATS if args.format == "all" else (args.format,)
    tallies: dict[str, Tally] = {}
    written: dict[str, int] = {}
    start = time.perf_counter()
    args.out.mkdir(parents=True, exist_ok=True)
    signal.signal(signal.SIGTERM, signal.default_int_handler)
    try:
        _run(args, formats, tallies, written, start)
    except KeyboardInterrupt:
        print("interrupted: the counts so far", file=sys.stderr)
    table = _table(tallies)
    print(table)
    lines = [table, "", f"seed {args.seed}, {args.cases} cases per format from {args.start}, "
             f"{time.perf_counter() - start:.0f} s", ""]
    for fmt, t in tallies.items():
        for sig, examples in sorted(t.classes.items()):
            lines.append(f"[{fmt}] {sig}  (e.g. case {examples[0][0].index}: "
                         f"{examples[0][0].mutation[:80]})")
    args.out.mkdir(parents=True, exist_ok=True)
    (args.out / "summary.txt").write_text("\n".join(lines) + "\n", encoding="utf-8")
    print("\n".join(lines[4:]))
    return 1 if any(t.failures for t in tallies.values()) else 0


if __name__ == "__main__":
    sys.exit(main())
