"""The simulator against the analytic engine (METRIC, VARI-METRIC) on two echelons.

Not a closed form: the analytic models are approximations, so this test states
the gap rather than demanding agreement, and checks the issue's criterion that
VARI-METRIC is closer to the simulation than METRIC on average over a few random
scenarios (Sherbrooke 1986 reports the same ordering against simulation).
"""

from __future__ import annotations

import numpy as np

from sustain.readiness.evaluate import evaluate_arrays
from sustain.scenario.compile import ScenarioArrays
from sustain.simulate import simulate


def two_echelon(
    rng: np.random.Generator, *, n_items: int = 3, n_bases: int = 3, count: int = 40,
    subs: bool = False, scale: float = 1.0,
) -> ScenarioArrays:
    """A random depot + bases scenario (optionally the last item a sub-item of item 0).

    ``scale`` multiplies the fleets and divides the failure rates: the same demand
    from more systems, so that empty positions (which cannot fail) thin the demand
    less and it is closer to the analytic model's Poisson stream.
    """
    n_s = n_bases + 1
    parent = np.full(n_items, -1, dtype=np.int64)
    level = np.zeros(n_items, dtype=np.int64)
    fph = 1.0 / rng.uniform(2_000, 6_000, n_items) / scale
    qty = np.ones((n_items, 1))
    repl = np.zeros(n_items)
    if subs and n_items > 1:
        parent[-1], level[-1], fph[-1], qty[-1], repl[-1] = 0, 1, 0.0, 0.0, 0.6
    return ScenarioArrays(
        site_ids=("DEPOT", *(f"B{k}" for k in range(n_bases))),
        item_ids=tuple(f"I{k}" for k in range(n_items)),
        system_ids=("SYS",),
        site_parent=np.array([-1] + [0] * n_bases, dtype=np.int64),
        site_depth=np.array([0] + [1] * n_bases, dtype=np.int64),
        order_ship_days=np.r_[0.0, rng.uniform(2, 8, n_bases)],
        item_parent=parent,
        item_level=level,
        failures_per_hour=fph,
        qty_per_system=qty,
        replace_fraction=repl,
        base_repair_fraction=rng.choice([0.0, 0.3], n_items),
        base_repair_days=rng.uniform(2, 6, n_items),
        depot_repair_days=rng.uniform(15, 40, n_items),
        condemnation_fraction=rng.choice([0.0, 0.1], n_items),
        procurement_days=rng.uniform(60, 120, n_items),
        unit_cost=np.ones(n_items),
        fleet_system=np.zeros(n_bases, dtype=np.int64),
        fleet_site=np.arange(1, n_s, dtype=np.int64),
        fleet_count=np.full(n_bases, float(round(count * scale))),
        fleet_hours_per_day=rng.uniform(8, 16, n_bases),
        stock=rng.integers(0, 4, (n_items, n_s)).astype(np.float64) + np.r_[2.0, [2.0] * n_bases],
    )


def test_vari_metric_closer_than_metric_on_base_backorders() -> None:
    """Analytic assumption switched on (failures while down; ten times the systems at
    a tenth of the failure rate, so demand is Poisson to well within the CIs), single
    indenture, four random two-echelon scenarios.  Measured (seed as here): mean
    absolute error of base EBO 0.025 (VARI-METRIC) against 0.036 (METRIC); VARI-METRIC
    inside the simulation's 99 % CI for 92 % of (item, base) pairs, METRIC for 47 %.
    Asserted: VARI-METRIC closer on average, its error below 0.05 backorders, and
    inside the 99 % CI for at least 3 pairs in 4."""
    err: dict[str, list[float]] = {"metric": [], "vari-metric": []}
    inside: dict[str, list[float]] = {"metric": [], "vari-metric": []}
    for k in range(4):
        a = two_echelon(np.random.default_rng(100 + k), scale=10)
        res = simulate(a, days=12_000, replications=24, seed=k, warmup_days=300,
                       failures_while_down=True, workers=2)
        lo, hi = res.backorders_ci(0.99)
        for method in err:
            ebo = evaluate_arrays(a, method=method).pipes.ebo[:, 1:]
            err[method].append(float(np.abs(ebo - res.backorders[:, 1:]).mean()))
            inside[method] += ((ebo >= lo[:, 1:]) & (ebo <= hi[:, 1:])).ravel().tolist()
    mae = {m: float(np.mean(v)) for m, v in err.items()}
    assert mae["vari-metric"] < mae["metric"], mae
    assert mae["vari-metric"] < 0.05, mae
    assert np.mean(inside["vari-metric"]) >= 0.75, np.mean(inside["vari-metric"])


def test_sub_item_shortage_delays_parent_repair() -> None:
    """Single site, fixed times: with no sub-item spares every parent repair (10 d)
    first waits the sub-item's repair (5 d), so the parent's repairs take 15 d and the
    units in repair are the ample-server law with 15 d; with ample sub-item spares
    they take 10 d."""
    from tests.simulate.helpers import ci, machine_repair

    def build(sub_stock: int) -> ScenarioArrays:
        return ScenarioArrays(
            site_ids=("S",), item_ids=("P", "U"), system_ids=("K",),
            site_parent=np.array([-1]), site_depth=np.array([0]), order_ship_days=np.zeros(1),
            item_parent=np.array([-1, 0]), item_level=np.array([0, 1]),
            failures_per_hour=np.array([1 / 1000, 0.0]), qty_per_system=np.array([[1.0], [0.0]]),
            replace_fraction=np.array([0.0, 1.0]), base_repair_fraction=np.zeros(2),
            base_repair_days=np.zeros(2), depot_repair_days=np.array([10.0, 5.0]),
            condemnation_fraction=np.zeros(2), procurement_days=np.zeros(2),
            unit_cost=np.ones(2), fleet_system=np.array([0]), fleet_site=np.array([0]),
            fleet_count=np.array([6.0]), fleet_hours_per_day=np.array([24.0]),
            stock=np.array([[1.0], [float(sub_stock)]]),
        )

    for sub_stock, days in ((0, 15.0), (50, 10.0)):
        res = simulate(build(sub_stock), days=12_000, replications=16, seed=2, warmup_days=200)
        p = machine_repair(6, 0.024, 1.0 / days, 1)
        k = np.arange(p.size)
        m, h = ci(res.availability[:, 0], 0.99)
        assert abs(m - (1.0 - float(p @ np.maximum(k - 1, 0)) / 6)) <= h, (sub_stock, m, h)


def test_worked_example_steady_state_gap() -> None:
    """The worked example's steady state (its day-0 fleets and stock, time-phased keys
    left out: compiled arrays are steady state) simulated against VARI-METRIC.

    Under the analytic assumption (failures continue while down) the gap per fleet is
    small and one-sided: the analytic value is never above the simulated interval
    (empty positions, which cannot fail, thin the demand of these small fleets), and at
    most 10 points below (measured: 0 to 8, most for the one-system SAMX fleet).  The
    realistic default (down systems do not fail) lies further above still.
    """
    from sustain.scenario import load_scenario
    from sustain.scenario.compile import compile_scenario
    from tests.conftest import EXAMPLES

    a = compile_scenario(load_scenario(EXAMPLES / "coalition-air-defence.yaml"))
    vm = evaluate_arrays(a, method="vari-metric").availability
    docs = {
        fwd: simulate(a, days=1500, replications=16, seed=11, warmup_days=300,
                      failures_while_down=fwd).to_dict()["fleets"]
        for fwd in (True, False)
    }
    for n, (f, g) in enumerate(zip(docs[True], docs[False], strict=True)):
        lo, hi = f["availability_ci95"]
        gap = f["availability"] - vm[n]
        print(f"{f['system']}@{f['site']}: sim {f['availability']:.3f} [{lo:.3f}, {hi:.3f}] "
              f"VARI-METRIC {vm[n]:.3f} gap {gap:+.3f}; realistic {g['availability']:.3f}")
        assert vm[n] <= hi + 0.005, f
        assert gap <= 0.10, f
        assert g["availability"] >= f["availability"] - 0.01, (f, g)


def test_optimised_plan_checked_by_the_simulator() -> None:
    """``sustain.simulate(scenario, stock=opt.stock)`` checks an optimised plan: on the
    worked example's steady state, every fleet bought to 0.9 by the analytic optimiser
    reaches 0.9 in simulation too (its interval's upper end at least; the realistic
    default lies above the analytic value, see the test above), and the plan lifts every
    fleet above what the stock held today gives on the same seeds."""
    import sustain
    from sustain.scenario.compile import compile_scenario
    from tests.conftest import EXAMPLES

    sc = sustain.load_scenario(EXAMPLES / "coalition-air-defence.yaml")
    a = compile_scenario(sc)
    opt = sustain.optimize(sc, target=0.9)
    assert opt.stock.shape == a.stock.shape and np.all(opt.stock >= a.stock)
    run = {"days": 1000, "replications": 8, "seed": 5, "warmup_days": 200}
    plan = simulate(a, stock=opt.stock, **run).to_dict()["fleets"]
    held = simulate(a, **run).to_dict()["fleets"]
    for f, h in zip(plan, held, strict=True):
        assert f["availability_ci95"][1] >= 0.9, f
        assert f["availability"] > h["availability"], (f, h)


def test_compare_adds_both_methods_after_the_simulated_document() -> None:
    """``sustain.simulate(..., compare=True)`` (sustain.crosscheck) returns the same
    simulation with an ``analytic`` block last: per method and fleet the analytic
    availability (as ``evaluate_arrays`` computes it), its difference from the simulated
    mean and whether it lies in the simulated 95 % interval."""
    import sustain

    a = two_echelon(np.random.default_rng(4), n_items=3, subs=True)
    run = {"days": 400, "replications": 6, "seed": 0, "warmup_days": 50}
    plain = simulate(a, **run).to_dict()
    doc = sustain.simulate(a, compare=True, **run).to_dict()
    assert list(doc)[-1] == "analytic"
    assert {k: v for k, v in doc.items() if k != "analytic"} == plain
    assert set(doc["analytic"]) == {"vari-metric", "metric"}
    for method, block in doc["analytic"].items():
        av = evaluate_arrays(a, method=method).availability
        diffs = []
        for f, (row, fleet) in enumerate(zip(block["fleets"], plain["fleets"], strict=True)):
            lo, hi = fleet["availability_ci95"]
            assert (row["system"], row["site"]) == (fleet["system"], fleet["site"])
            assert row["availability"] == float(av[f])
            assert row["difference"] == float(av[f]) - fleet["availability"]
            assert row["inside_ci95"] == (lo <= av[f] <= hi)
            diffs.append(abs(row["difference"]))
        assert block["mean_abs_difference"] == float(np.mean(diffs))


def test_the_simulator_does_not_import_the_analytic_engine() -> None:
    """No module of sustain.simulate imports sustain.readiness or the cross-check
    above both (anywhere in the file, functions included)."""
    import ast
    from pathlib import Path

    from sustain.simulate import kernel

    for path in Path(kernel.__file__).parent.glob("*.py"):
        for node in ast.walk(ast.parse(path.read_text())):
            names = (
                [node.module or ""] if isinstance(node, ast.ImportFrom)
                else [x.name for x in node.names] if isinstance(node, ast.Import) else []
            )
            for name in names:
                assert not name.startswith(("sustain.readiness", "sustain.crosscheck")), (
                    path.name, name)
