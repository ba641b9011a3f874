"""Mutation fuzzing, seeded: no input ends in a crash, a wrong answer or a hang.

The machinery is ``benchmarks/fuzzkit.py`` (plain Python, no pytest), which
``benchmarks/fuzz.py`` runs at scale.  It lives in ``benchmarks/`` rather than here
because ``make run`` installs no test tools and a benchmark must never import
``tests``; tests may import plain benchmark code (as ``tests/optimize`` imports
``benchmarks/optimize_cases.py``), so the dependency points one way only.

Each format runs :data:`CASES` seeded cases (the same on every machine) in two worker
processes with a per-case timeout.  Optimisation runs for budgets here (``targets=False``):
with a target it also runs the small-case strategies and local search, which take tens
of seconds on some small scenarios, longer than a test may wait; ``benchmarks/fuzz.py``
runs targets too.  Every case must end in an answer with valid
numbers or in Sustain's own error (exit code 2/3 with a message on the command line).
A failure names the case; ``python benchmarks/fuzz.py --format F --seed S --start I
--cases 1`` reruns it and writes its inputs and traceback.
"""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

import pytest
from benchmarks.fuzzkit import (
    FORMATS,
    Case,
    Outcome,
    Tally,
    invalid_numbers,
    make_case,
    make_cases,
    run_cases,
)

SEED = 20261202
CASES = 100
TIMEOUT = 30.0
BENCHMARKS = Path(__file__).resolve().parents[2] / "benchmarks"


@pytest.fixture(scope="module")
def tallies() -> dict[str, Tally]:
    """Every format's cases, run once for the module (one warm-up, two workers)."""
    cases = [c for fmt in FORMATS for c in make_cases(fmt, SEED, CASES, targets=False)]
    out = {fmt: Tally() for fmt in FORMATS}
    for case, outcome in run_cases(cases, workers=2, timeout=TIMEOUT):
        out[case.format].add(case, outcome)
    return out


@pytest.mark.parametrize("fmt", FORMATS)
def test_every_case_ends_in_an_answer_or_a_clean_error(
    tallies: dict[str, Tally], fmt: str
) -> None:
    tally = tallies[fmt]
    assert sum(tally.counts.values()) == CASES
    failures = [
        f"{sig}\n    case {examples[0][0].index} ({examples[0][0].mutation}): "
        f"{examples[0][1].trace[-600:]}"
        for sig, examples in tally.classes.items()
    ]
    assert tally.failures == 0, f"{fmt}: {tally.counts}\n" + "\n".join(failures)
    # The mutations must reach the engines, not only the loader's first check.
    assert tally.counts["ok"] >= CASES // 25, tally.counts


def test_cases_are_reproducible_from_seed_and_index() -> None:
    for fmt in FORMATS:
        a, b = make_case(fmt, SEED, 7), make_case(fmt, SEED, 7)
        assert a.to_json() == b.to_json()
        assert Case.from_json(a.to_json()).files == a.files
        assert make_case(fmt, SEED, 8).to_json() != a.to_json()


def test_the_classifier_sees_invalid_numbers() -> None:
    assert invalid_numbers({"fleets": [{"availability": 0.5, "ebo": 0.0}]}) == []
    assert invalid_numbers({"fleets": [{"availability": 1.2}]}) == [
        ".fleets[0].availability = 1.2 outside [0, 1]"]
    assert invalid_numbers({"items": [{"ebo": -0.5}]}) == [".items[0].ebo = -0.5 < 0"]
    assert invalid_numbers({"x": [float("nan")]}) == [".x[0] = nan"]


def test_a_hang_is_killed_and_counted() -> None:
    """A case that never ends costs the timeout, then the worker is replaced."""
    rng_case = make_case("yaml", SEED, 0)
    stuck = Case("yaml", 0, 0, "sleeps", "s.yaml", {"s.yaml": "a: 1\n"},
                 {"sleep": 60})
    results = list(run_cases([stuck, rng_case], workers=1, timeout=1.0))
    assert [c.mutation for c, _ in results] == ["sleeps", rng_case.mutation]
    assert results[0][1].kind == "hang"
    assert isinstance(results[1][1], Outcome) and results[1][1].kind != "hang"


def test_fuzz_script_starts_without_test_tools() -> None:
    block = (
        "import runpy, sys\n"
        "for name in ('pytest', '_pytest', 'hypothesis', 'tests'):\n"
        "    sys.modules[name] = None\n"
        "sys.path.insert(0, sys.argv[1])\n"
        "sys.argv = [sys.argv[2], '--help']\n"
        "runpy.run_path(sys.argv[0], run_name='__main__')\n"
    )
    done = subprocess.run(
        [sys.executable, "-c", block, str(BENCHMARKS), str(BENCHMARKS / "fuzz.py")],
        capture_output=True, text=True, timeout=120, check=False,
    )
    assert done.returncode == 0, done.stderr
    assert "--replay" in done.stdout
