"""The time budget of the small-case searches (``refine_seconds``) and their progress.

* Batched evaluations (several families, several stocks in one call), which the local
  search and the plain greedy use, give exactly the numbers of one family and one
  stock at a time.
* Wherever the budget stops the searches, the plan still meets every target (checked
  on an independent evaluation) and costs no more than the first greedy's plan; a
  budget of 0 gives that plan, flagged as stopped.  A fake clock makes the cut points
  reproducible: each reading advances it by a fixed step.
* The progress callback names the search running and reports the cheapest plan so far.
"""

from __future__ import annotations

import itertools
import math
from pathlib import Path

import numpy as np
import pytest
from typer.testing import CliRunner

from sustain.cli.main import app
from sustain.errors import SustainError
from sustain.optimize.api import optimize_arrays
from sustain.optimize.greedy import marginal_allocation
from sustain.optimize.state import AllocationState, Deadline, stock_bounds
from sustain.readiness.evaluate import evaluate_arrays
from sustain.readiness.metric import Method
from sustain.scenario import load_scenario
from sustain.scenario.compile import ScenarioArrays, compile_scenario

SCENARIOS = Path(__file__).resolve().parents[2] / "benchmarks" / "scenarios"
WIND = SCENARIOS / "wind-farm.yaml"
RAIL = SCENARIOS / "rail-fleet.yaml"
TARGET = 0.9


@pytest.fixture(scope="module")
def wind() -> ScenarioArrays:
    return compile_scenario(load_scenario(WIND))


def purchase_cost(a: ScenarioArrays, stock: np.ndarray) -> float:
    return float(np.sum((stock - a.stock) * a.unit_cost[:, None]))


def test_batched_family_terms_equal_one_family_and_one_stock_at_a_time() -> None:
    a = compile_scenario(load_scenario(RAIL))
    lo, hi = stock_bounds(a, None, None)
    opt = AllocationState(a, weights=np.ones(a.fleet_system.size), lo=lo, hi=hi,
                          method=Method.VARI_METRIC)
    rng = np.random.default_rng(5)
    batches = [
        (fam, rng.integers(0, 8, size=(int(rng.integers(1, 5)), fam.rows.size, a.n_sites))
         .astype(float))
        for fam in opt.families
    ]
    assert any(fam.rows.size > 1 for fam, _ in batches)  # sub-items among them
    got = opt.families_eval(batches)
    for (fam, stocks), terms in zip(batches, got, strict=True):
        for n in range(stocks.shape[0]):
            one, _ = opt.family_eval(fam, stocks[n : n + 1])
            np.testing.assert_array_equal(terms[n], one[0])


def test_a_budget_of_zero_gives_the_greedy_plan_flagged_and_none_the_searched_one(
    wind: ScenarioArrays,
) -> None:
    greedy = marginal_allocation(wind, targets=np.full(wind.fleet_system.size, TARGET))
    cut = optimize_arrays(wind, target=TARGET, refine_seconds=0.0)
    full = optimize_arrays(wind, target=TARGET, refine_seconds=math.inf)
    assert cut.refinement_stopped and cut.to_dict()["refinement_stopped"] is True
    assert not full.refinement_stopped
    np.testing.assert_array_equal(cut.stock, greedy.stock)
    assert full.purchase_cost <= cut.purchase_cost
    for opt in (cut, full):
        av = evaluate_arrays(wind.with_stock(opt.stock)).availability
        assert np.all(av >= TARGET - 1e-9)


def test_wherever_the_budget_stops_the_plan_meets_the_targets(
    wind: ScenarioArrays, monkeypatch: pytest.MonkeyPatch
) -> None:
    reads = [0]

    def clock() -> float:  # each reading advances the fake clock by one second
        reads[0] += 1
        return float(reads[0])

    monkeypatch.setattr(Deadline, "clock", staticmethod(clock))
    optimize_arrays(wind, target=TARGET, refine_seconds=math.inf)
    total = reads[0]  # the clock's readings in a search that runs to its end
    greedy = marginal_allocation(wind, targets=np.full(wind.fleet_system.size, TARGET))
    ceiling = purchase_cost(wind, greedy.stock)
    for share in (0.2, 0.5, 0.8):
        opt = optimize_arrays(wind, target=TARGET, refine_seconds=share * total)
        assert opt.refinement_stopped
        av = evaluate_arrays(wind.with_stock(opt.stock)).availability
        assert np.all(av >= TARGET - 1e-9)
        assert opt.purchase_cost <= ceiling + 1e-6


def test_progress_reports_the_search_running_and_the_cheapest_plan_so_far(
    wind: ScenarioArrays,
) -> None:
    calls: list[tuple[str, float, float, float]] = []
    opt = optimize_arrays(wind, target=TARGET, refine_seconds=60.0,
                          refine_progress=lambda *args: calls.append(args))
    stages = {c[0] for c in calls}
    assert {"second greedy", "plain greedy", "neighbourhood search, round 1"} <= stages
    seconds = [c[1] for c in calls]
    assert seconds == sorted(seconds) and all(c[2] == 60.0 for c in calls)
    costs = [c[3] for c in calls if not math.isnan(c[3])]
    assert costs and all(x >= y for x, y in itertools.pairwise(costs))
    assert costs[-1] >= opt.purchase_cost


@pytest.mark.parametrize("seconds", [-1.0, math.nan, "5", True])
def test_refine_seconds_must_be_a_number_of_seconds(wind: ScenarioArrays, seconds: object) -> None:
    with pytest.raises(SustainError, match="refine_seconds"):
        optimize_arrays(wind, target=TARGET, refine_seconds=seconds)  # type: ignore[arg-type]


def test_cli_says_when_the_budget_stopped_the_search(tmp_path: Path) -> None:
    report = tmp_path / "report.md"
    result = CliRunner().invoke(
        app, ["optimize", str(WIND), "--target", "0.9", "--refine-seconds", "0", "--quiet",
              "-o", str(report)]
    )
    assert result.exit_code == 0, result.output
    assert "note: the search for a cheaper plan stopped after 0 s" in " ".join(
        result.stderr.split())
    assert "stopped by its time budget (refine_seconds)" in report.read_text()
