"""Option values and runaway requests: one clear ``SustainError`` before any work.

* Targets must be numbers from 0 to 1 (a target of 0 is met by any stock: nothing is
  bought for it); budgets finite numbers ≥ 0; fleets must exist; ``max_memory`` a
  positive number of bytes.
* The work is estimated from one evaluation of the starting stock; requests whose
  memory exceeds ``max_memory``, or whose curves exceed ``work.MAX_WORK``, are refused
  with a message naming the item, the site and the inputs that drive them.  The
  refusals are checked to come before any curve is built.
"""

from __future__ import annotations

import math
from pathlib import Path
from typing import Any

import numpy as np
import pytest
import yaml
from typer.testing import CliRunner

from sustain.cli.main import app
from sustain.errors import SustainError
from sustain.optimize import TargetUnreachable, curves, greedy, optimize
from sustain.optimize.api import optimize_arrays
from sustain.optimize.work import (
    MAX_WORK,
    default_max_memory,
    estimate_work,
    machine_memory,
    parse_memory,
)
from sustain.readiness.evaluate import evaluate_arrays
from sustain.scenario import scenario_from_dict
from sustain.scenario.compile import compile_scenario
from tests.optimize.test_targets import two_bases


def big_fleet(count: int = 10_000, mtbf: float = 0.01, n_items: int = 1) -> dict[str, Any]:
    """Items failing every ``mtbf`` hours on a fleet of ``count`` systems at one base."""
    return {
        "sites": [{"id": "DEPOT"}, {"id": "BASE", "parent": "DEPOT", "order_ship_days": 3}],
        "systems": [{"id": "S"}],
        "fleets": [{"system": "S", "site": "BASE", "count": count, "hours_per_day": 24}],
        "items": [
            {"id": f"PART{k}", "unit_cost": 100.0 + k, "mtbf_hours": mtbf * (1 + 0.25 * k),
             "installed_in": [{"system": "S", "qty": 1}], "depot_repair_days": 30}
            for k in range(n_items)
        ],
    }


@pytest.fixture
def no_curves(monkeypatch: pytest.MonkeyPatch) -> None:
    """Fail the test if a curve is built (a refusal must come first)."""

    def refuse(*args: Any, **kw: Any) -> None:
        raise AssertionError("a curve was built before the refusal")

    monkeypatch.setattr(greedy, "build_curves", refuse)
    monkeypatch.setattr(curves, "build_batch", refuse)


# -- runaway requests -----------------------------------------------------------------
def test_a_huge_pipeline_is_refused_with_its_size_and_cause(no_curves: None) -> None:
    sc = scenario_from_dict(big_fleet())
    with pytest.raises(SustainError) as info:
        optimize(sc, target=0.5)
    msg = str(info.value)
    # 10,000 systems × 24 h / 0.01 h = 2.4e7 failures a day, back in 3 + 30 days.
    assert "memory" in msg and "max_memory" in msg
    assert "'PART0' at site 'BASE'" in msg
    assert "7.92e+08 units" in msg and "2.4e+07 demands a day" in msg and "33 days" in msg
    assert "mtbf_hours 0.01" in msg and "S@BASE: 10,000 systems × 24 h/day" in msg


def test_many_items_on_a_huge_fleet_are_refused_for_their_work(no_curves: None) -> None:
    """20 items on 100,000 systems to 0.999999: ~24,000 levels per item at the base."""
    doc = big_fleet(count=100_000, mtbf=2_000.0, n_items=20)
    with pytest.raises(SustainError) as info:
        optimize(scenario_from_dict(doc), target=0.999999)
    msg = str(info.value)
    assert "too long" in msg and f"{MAX_WORK:.3g}" in msg and "'BASE'" in msg
    assert "100,000 systems" in msg


def test_stock_limits_bound_the_estimate() -> None:
    """The same huge item with a maximum stock is small work: the caps are the limits."""
    a = compile_scenario(scenario_from_dict(big_fleet()))
    lo, hi = a.stock.copy(), np.full_like(a.stock, 50.0)
    est = estimate_work(a, evaluate_arrays(a), lo, hi)
    assert est.units == 100  # two sites, 50 each
    assert est.levels == 51


def test_a_run_above_max_memory_is_refused(no_curves: None) -> None:
    sc = scenario_from_dict(two_bases())
    with pytest.raises(SustainError, match=r"more than the limit of 1 kB"):
        optimize(sc, target=0.9, max_memory=1024)


def test_an_ordinary_run_fits_the_default_limit() -> None:
    assert 0 < default_max_memory() <= machine_memory()
    opt = optimize(scenario_from_dict(two_bases()), target=0.9, max_memory=2**31)
    assert np.all(opt.evaluation.availability >= 0.9 - 1e-9)


@pytest.mark.parametrize("bad", [0, -1, math.nan, math.inf, "4G", True])
def test_max_memory_must_be_a_positive_number(bad: Any) -> None:
    with pytest.raises(SustainError, match="max_memory"):
        optimize(scenario_from_dict(two_bases()), target=0.9, max_memory=bad)


@pytest.mark.parametrize(
    ("text", "size"),
    [("4G", 4 * 2**30), ("512M", 512 * 2**20), ("1.5GB", 1.5 * 2**30), ("2GiB", 2 * 2**30),
     ("100k", 100 * 2**10), ("2000000000", 2e9), (" 1t ", 2**40)],
)
def test_memory_sizes_are_parsed(text: str, size: float) -> None:
    assert parse_memory(text) == size


@pytest.mark.parametrize("text", ["", "G", "4X", "-1G", "0", "nan", "four"])
def test_bad_memory_sizes_are_refused(text: str) -> None:
    with pytest.raises(SustainError, match="--max-memory"):
        parse_memory(text)


def test_cli_max_memory_refuses_with_exit_2(tmp_path: Path) -> None:
    path = tmp_path / "s.yaml"
    path.write_text(yaml.safe_dump(two_bases()))
    runner = CliRunner()
    small = runner.invoke(app, ["optimize", str(path), "-t", "0.9", "-q", "--max-memory", "1k"])
    assert small.exit_code == 2
    assert "more than the limit of 1 kB" in small.output
    bad = runner.invoke(app, ["optimize", str(path), "-t", "0.9", "--max-memory", "lots"])
    assert bad.exit_code == 2 and "--max-memory" in bad.output
    ok = runner.invoke(app, ["optimize", str(path), "-t", "0.9", "-q", "--max-memory", "2G"])
    assert ok.exit_code == 0


# -- option values --------------------------------------------------------------------
@pytest.fixture(scope="module")
def a() -> Any:
    return compile_scenario(scenario_from_dict(two_bases()))


@pytest.mark.parametrize("budget", [math.nan, math.inf, -math.inf, -1.0, "1e6", True])
def test_budget_must_be_a_finite_number_at_least_0(a: Any, budget: Any) -> None:
    with pytest.raises(SustainError, match="budget"):
        optimize_arrays(a, budget=budget)


def test_budget_0_buys_nothing(a: Any) -> None:
    opt = optimize_arrays(a, budget=0.0)
    assert opt.purchase_cost == 0 and not np.any(opt.buy)


@pytest.mark.parametrize("target", [math.nan, math.inf, -0.1, 1.5, "0.9", None, True])
def test_target_must_be_a_number_from_0_to_1(a: Any, target: Any) -> None:
    for value in (target, {"SAMX": target}):
        if value is None:
            continue
        with pytest.raises(SustainError, match="target"):
            optimize_arrays(a, target=value)


def test_target_mapping_needs_a_fleet_named_by_a_string(a: Any) -> None:
    with pytest.raises(SustainError, match="no fleet given"):
        optimize_arrays(a, target={})
    with pytest.raises(SustainError, match="named by a string"):
        optimize_arrays(a, target={3: 0.9})  # type: ignore[dict-item]
    with pytest.raises(SustainError, match=r"no such fleet \(did you mean 'SAMX@WEST'\?\)"):
        optimize_arrays(a, target={"SAMX@WST": 0.9})


@pytest.mark.parametrize("method", ["exact", "poisson"])
def test_method_must_be_metric_or_vari_metric(a: Any, method: str) -> None:
    with pytest.raises(SustainError, match="metric"):
        optimize_arrays(a, target=0.9, method=method)


def test_target_0_is_met_by_the_stock_held(a: Any) -> None:
    for kw in ({"target": 0.0}, {"target": 0.0, "budget": 1e7}, {"target": {"*": 0}}):
        opt = optimize_arrays(a, **kw)
        assert not np.any(opt.buy) and opt.purchase_cost == 0
        np.testing.assert_array_equal(opt.stock, a.stock)
    # With a minimum stock, exactly the minimum is bought.
    lo = a.stock.copy()
    lo[0, 0] += 2
    opt = optimize_arrays(a, target=0.0, min_stock=lo)
    np.testing.assert_array_equal(opt.stock, lo)


def test_a_fleet_with_target_0_constrains_nothing(a: Any) -> None:
    """Naming SAMX with 0 plans as if SAMX had no target (the neighbourhood search and
    the local search included)."""
    with_zero = optimize_arrays(a, target={"SAMX": 0.0, "HOW": 0.95})
    without = optimize_arrays(a, target={"HOW": 0.95})
    np.testing.assert_array_equal(with_zero.stock, without.stock)
    fleets = [a.system_ids[k] for k in a.fleet_system]
    assert [t for t, k in zip(with_zero.targets, fleets, strict=True) if k == "SAMX"] == [0, 0]


def test_target_1_that_cannot_be_met_says_so(a: Any) -> None:
    hi = a.stock + 2
    with pytest.raises(TargetUnreachable):
        optimize_arrays(a, target=1.0, max_stock=hi)
