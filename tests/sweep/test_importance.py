"""Sobol' indices: the estimators on functions with known indices (Ishigami, additive),
against SciPy's own; on a scenario, against indices computed by quadrature of the
closed form; an input with no effect; the same numbers whatever the workers."""

from __future__ import annotations

import json
import math
from pathlib import Path

import numpy as np
import pytest
import yaml
from hypothesis import given, settings
from hypothesis import strategies as st
from scipy import stats
from scipy.stats import qmc
from typer.testing import CliRunner

from sustain.cli.main import app
from sustain.scenario import scenario_from_dict
from sustain.sweep import propagate
from sustain.sweep.importance import sobol_estimates, sobol_indices
from tests.sweep.cases import small

RUNNER = CliRunner()


def saltelli_points(n: int, d: int, seed: int) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """A and B (two Latin hypercubes, n × d) and the d matrices A with column i of B."""
    rng = np.random.default_rng(seed)
    a = qmc.LatinHypercube(d, rng=rng).random(n)
    b = qmc.LatinHypercube(d, rng=rng).random(n)
    ab = np.stack([np.where(np.arange(d) == i, b, a) for i in range(d)])
    return a, b, ab


def ishigami(x: np.ndarray) -> np.ndarray:
    """Ishigami and Homma (1990), a = 7, b = 0.1, on (−π, π)³; x is (…, 3)."""
    return (np.sin(x[..., 0]) + 7 * np.sin(x[..., 1]) ** 2
            + 0.1 * x[..., 2] ** 4 * np.sin(x[..., 0]))


def ishigami_indices() -> tuple[np.ndarray, np.ndarray]:
    """The closed form (Sobol' and Levitan 1999; Saltelli et al. 2008, §4.9)."""
    a, b = 7.0, 0.1
    v1 = 0.5 * (1 + b * math.pi**4 / 5) ** 2
    v2 = a**2 / 8
    v13 = b**2 * math.pi**8 * (1 / 18 - 1 / 50)
    v = v1 + v2 + v13
    return np.array([v1, v2, 0.0]) / v, np.array([v1 + v13, v2, v13]) / v


def test_ishigami_indices_within_their_intervals_and_as_scipy_computes_them() -> None:
    n = 4096
    a, b, ab = (2 * math.pi * p - math.pi for p in saltelli_points(n, 3, seed=1))
    f_a, f_b, f_ab = ishigami(a)[None], ishigami(b)[None], ishigami(ab)[:, None, :]
    res = sobol_indices(f_a, f_b, f_ab, rng=np.random.default_rng(2))
    first, total = ishigami_indices()
    assert np.all(res.first_low[:, 0] <= first) and np.all(first <= res.first_high[:, 0])
    assert np.all(res.total_low[:, 0] <= total) and np.all(total <= res.total_high[:, 0])
    np.testing.assert_allclose(res.first[:, 0], first, atol=0.05)
    np.testing.assert_allclose(res.total[:, 0], total, atol=0.05)
    # SciPy's implementation of the same estimators, on the same outputs.
    ref = stats.sobol_indices(func={"f_A": f_a, "f_B": f_b, "f_AB": f_ab}, n=n)
    np.testing.assert_allclose(res.first[:, 0], ref.first_order, rtol=1e-10, atol=1e-12)
    np.testing.assert_allclose(res.total[:, 0], ref.total_order, rtol=1e-10, atol=1e-12)


def test_linear_function_with_known_variances() -> None:
    """Y = Σ cᵢ Xᵢ with independent Xᵢ: Sᵢ = S_Tᵢ = cᵢ² V(Xᵢ) / Σ cⱼ² V(Xⱼ)."""
    n, c = 4096, np.array([1.0, 2.0, 0.5, 0.0])
    dists = [stats.norm(0, 1), stats.uniform(0, 3), stats.expon(scale=2), stats.norm(5, 1)]
    a, b, ab = saltelli_points(n, 4, seed=3)

    def f(u: np.ndarray) -> np.ndarray:
        x = np.stack([d.ppf(u[..., i]) for i, d in enumerate(dists)], axis=-1)
        return np.asarray(x @ c)

    res = sobol_indices(f(a)[None], f(b)[None], f(ab)[:, None, :],
                        rng=np.random.default_rng(4))
    var = c**2 * np.array([d.var() for d in dists])
    want = var / var.sum()
    np.testing.assert_allclose(res.first[:, 0], want, atol=0.04)
    np.testing.assert_allclose(res.total[:, 0], want, atol=0.04)
    assert res.first[3, 0] == 0 and res.total[3, 0] == 0  # no effect: exactly 0


@settings(max_examples=30, deadline=None)
@given(k=st.integers(0, 3), seed=st.integers(0, 2**32 - 1), power=st.integers(1, 4))
def test_inputs_a_function_ignores_have_zero_indices(k: int, seed: int, power: int) -> None:
    """f depends on input k alone: every other input's indices are exactly 0, input k's
    total index is exactly 1 (f(A_B⁽ᵏ⁾) = f(B))."""
    a, b, ab = saltelli_points(64, 4, seed)
    f_a, f_b, f_ab = a[:, k] ** power, b[:, k] ** power, ab[:, :, k] ** power
    first, total = sobol_estimates(f_a[None], f_b[None], f_ab[:, None, :])
    others = [i for i in range(4) if i != k]
    assert np.all(first[others, 0] == 0) and np.all(total[others, 0] == 0)
    assert total[k, 0] == pytest.approx(
        0.5 * np.mean((f_a - f_b) ** 2) / np.var(np.concatenate([f_a, f_b])), rel=1e-12)


def test_constant_and_missing_outputs() -> None:
    a, b, ab = saltelli_points(16, 2, seed=5)
    f_a = np.stack([np.ones(16), a[:, 0], a[:, 0]])
    f_b = np.stack([np.ones(16), b[:, 0], b[:, 0]])
    f_ab = np.stack([np.stack([np.ones(16), m[:, 0], m[:, 0]]) for m in ab])
    f_a[2, 3] = np.nan  # a fleet of no systems, a cost some draw cannot reach
    res = sobol_indices(f_a, f_b, f_ab, rng=np.random.default_rng(0), resamples=99)
    assert np.all(res.first[:, 0] == 0) and np.all(res.total[:, 0] == 0)
    assert np.all(np.isnan(res.first[:, 2])) and np.all(np.isnan(res.total_high[:, 2]))
    assert np.all(np.isfinite(res.total_low[:, 1]))


# -- on scenarios -----------------------------------------------------------------------

N, HOURS, MTBF, REPAIR, STOCK, CV = 10, 8.0, 500.0, 30.0, 6, 0.4


def two_inputs() -> dict[str, object]:
    """One item at one site (Poisson pipeline); MTBF lognormal, tempo uniform 0.5–1.5."""
    return {
        "sites": [{"id": "S"}], "systems": [{"id": "K"}],
        "fleets": [{"system": "K", "site": "S", "count": N, "hours_per_day": HOURS}],
        "items": [{"id": "I", "mtbf_hours": MTBF, "installed_in": [{"system": "K"}],
                   "depot_repair_days": REPAIR}],
        "stock": [{"item": "I", "site": "S", "qty": STOCK}],
        "uncertainty": {"mtbf_hours": {"dist": "lognormal", "cv": CV},
                        "hours_per_day": {"dist": "uniform", "low": 0.5, "high": 1.5}},
    }


def availability(mu: np.ndarray) -> np.ndarray:
    """A = max(0, 1 − EBO(s)/N) for a Poisson pipeline of mean mu (Sherbrooke 2004,
    ch. 2): EBO(s) = mu − s + Σ_{k<s} (s − k) P(k)."""
    k = np.arange(STOCK)
    pmf = stats.poisson.pmf(k, mu[..., None])
    ebo = mu - STOCK + np.sum((STOCK - k) * pmf, axis=-1)
    return np.asarray(np.maximum(0.0, 1.0 - ebo / N))


def quadrature_indices() -> tuple[np.ndarray, np.ndarray]:
    """S and S_T of (mtbf, tempo) by Gauss–Hermite (the lognormal) × Gauss–Legendre (the
    uniform) quadrature of A(μ₀ x_h / x_m): V(E[A | x_m]) / V(A) and so on; with two
    inputs S_T of one is 1 − S of the other."""
    z, wz = np.polynomial.hermite_e.hermegauss(160)
    wz = wz / wz.sum()
    t, wt = np.polynomial.legendre.leggauss(80)
    xh, wt = 1.0 + 0.5 * t, wt / wt.sum()
    s2 = math.log1p(CV**2)
    xm = np.exp(-s2 / 2 + math.sqrt(s2) * z)
    mu0 = N * HOURS * REPAIR / MTBF
    grid = availability(mu0 * xh[None, :] / xm[:, None])  # (mtbf × tempo)
    mean = wz @ grid @ wt
    var = wz @ grid**2 @ wt - mean**2
    v_m = wz @ (grid @ wt) ** 2 - mean**2
    v_h = (wz @ grid) ** 2 @ wt - mean**2
    first = np.array([v_m, v_h]) / var
    return first, 1.0 - first[::-1]


def test_scenario_indices_against_quadrature_of_the_closed_form() -> None:
    res = propagate(scenario_from_dict(two_inputs()), samples=512, seed=9, method="metric",
                    importance=True)
    ind = res.importance
    assert ind is not None and [i.name for i in res.inputs] == ["mtbf_hours", "hours_per_day"]
    first, total = quadrature_indices()
    # The reference lies in each 95 % interval, and the intervals are narrow enough to
    # tell the inputs apart (the clipped availability makes the total index's estimator
    # vary more than Ishigami's smooth function).
    for col in (0, 1):  # all systems, and the one fleet: the same output
        assert np.all(ind.first_low[:, col] <= first) and np.all(first <= ind.first_high[:, col])
        assert np.all(ind.total_low[:, col] <= total) and np.all(total <= ind.total_high[:, col])
        assert np.all(ind.first_high[:, col] - ind.first_low[:, col] < 0.4)
        assert np.all(ind.total_high[:, col] - ind.total_low[:, col] < 0.4)
    # The draws and their quantiles are those of the propagation without importance.
    plain = propagate(scenario_from_dict(two_inputs()), samples=512, seed=9, method="metric")
    assert plain.to_dict()["fleets"] == res.to_dict()["fleets"]


def no_effect_case() -> dict[str, object]:
    """small() with an item Z in system T at 50 spares where it is used: its MTBF,
    uncertain on its own, cannot change any availability."""
    doc = small()
    doc["items"].append({"id": "Z", "mtbf_hours": 20000, "depot_repair_days": 10,
                         "installed_in": [{"system": "T"}], "unit_cost": 10})
    doc["stock"].append({"item": "Z", "site": "B1", "qty": 50})
    doc["uncertainty"] = {
        "mtbf_hours": {"dist": "lognormal", "cv": 0.3},
        "repair_days": {"dist": "triangular", "low": 0.8, "mode": 1, "high": 1.5},
        "items": [{"item": "Z", "mtbf_hours": {"dist": "uniform", "low": 0.5, "high": 2}}],
    }
    return doc


def test_an_input_with_no_effect_has_indices_near_zero() -> None:
    res = propagate(scenario_from_dict(no_effect_case()), samples=64, seed=2,
                    importance=True)
    ind = res.importance
    assert ind is not None
    names = [i.name for i in res.inputs]
    z, mtbf = names.index("mtbf_hours of Z"), names.index("mtbf_hours")
    assert np.all(np.abs(ind.first[z]) < 1e-6) and np.all(np.abs(ind.total[z]) < 1e-6)
    assert np.all(ind.total[mtbf] > 0.5)  # the shared MTBF dominates every fleet


def test_same_indices_whatever_the_workers() -> None:
    sc = scenario_from_dict(no_effect_case())
    one = propagate(sc, samples=16, seed=5, importance=True).to_dict()
    assert propagate(sc, samples=16, seed=5, importance=True, workers=2).to_dict() == one
    other = propagate(sc, samples=16, seed=6, importance=True).to_dict()
    assert other["importance"] != one["importance"]


def test_importance_on_the_command_line(tmp_path: Path) -> None:
    path = tmp_path / "case.yaml"
    path.write_text(yaml.safe_dump(no_effect_case()), encoding="utf-8")
    res = RUNNER.invoke(app, ["sweep", str(path), "--samples", "16", "--importance",
                              "--json", "-o", str(tmp_path / "u.html"),
                              "-o", str(tmp_path / "u.md")])
    assert res.exit_code == 0, res.output
    doc = json.loads(res.stdout)["importance"]
    assert (doc["base_samples"], doc["evaluations"]) == (16, 16 * (3 + 2))
    assert [r["input"] for r in doc["all_systems"]] == ["mtbf_hours", "repair_days",
                                                      "mtbf_hours of Z"]
    assert list(doc["all_systems"][0]) == ["input", "first", "first_low", "first_high",
                                           "total", "total_low", "total_high"]
    assert [(f["system"], f["site"]) for f in doc["fleets"]] == [("S", "B1"), ("S", "B2"),
                                                                ("T", "B1")]
    row = doc["all_systems"][0]
    assert row["total_low"] <= row["total"] <= row["total_high"]
    assert 'data-chart="importance"' in (tmp_path / "u.html").read_text()
    assert "## Importance of the inputs" in (tmp_path / "u.md").read_text()


@pytest.mark.parametrize(
    ("args", "message"),
    [(["--vary", "mtbf=1:2", "--importance"], "--importance needs --samples N"),
     (["--samples", "1", "--importance"], "--importance needs --samples 2 or more: got 1")],
)
def test_bad_importance_options_exit_2(tmp_path: Path, args: list[str], message: str) -> None:
    path = tmp_path / "case.yaml"
    path.write_text(yaml.safe_dump(no_effect_case()), encoding="utf-8")
    res = RUNNER.invoke(app, ["sweep", str(path), *args])
    assert res.exit_code == 2
    assert message in res.stderr
    assert len(res.stderr.strip().splitlines()) == 1


def test_importance_of_the_cost() -> None:
    """With the cost measure the one output is the cost; the item Z, stocked far beyond
    any target, changes no purchase."""
    res = propagate(scenario_from_dict(no_effect_case()), samples=4, seed=1, measure="cost",
                    target=0.6, importance=True)
    doc = res.to_dict()["importance"]
    assert "fleets" not in doc and "all_systems" not in doc
    rows = {r["input"]: r for r in doc["cost"]}
    assert list(rows) == ["mtbf_hours", "repair_days", "mtbf_hours of Z"]
    assert rows["mtbf_hours of Z"]["total"] == 0 and rows["mtbf_hours of Z"]["first"] == 0
    assert rows["mtbf_hours"]["total"] > 0.3


def test_the_design_swaps_one_input_from_a_second_latin_hypercube() -> None:
    from sustain.sweep.sample import draw, importance_draws, importance_streams, random_inputs

    sc = scenario_from_dict(no_effect_case())
    inputs = random_inputs(sc)
    x, _ = draw(sc, inputs, 40, 3)
    b_rng, _ = importance_streams(3)
    xb, mixed = importance_draws(inputs, x, b_rng)
    assert len(mixed) == len(inputs) == 3
    for i, xi in enumerate(mixed):
        assert np.array_equal(xi[:, i], xb[:, i])
        others = [j for j in range(3) if j != i]
        assert np.array_equal(xi[:, others], x[:, others])
    # B is a Latin hypercube of the same distributions, and not A again.
    lognormal = stats.lognorm(s=math.sqrt(math.log1p(0.09)), scale=math.exp(-math.log1p(0.09) / 2))
    assert sorted(np.floor(lognormal.cdf(xb[:, 0]) * 40).astype(int).tolist()) == list(range(40))
    assert not np.any(np.isclose(xb[:, 0], x[:, 0]))


def test_the_command_line_knows_the_fewest_samples() -> None:
    from sustain.cli import sweep_cmd
    from sustain.sweep import importance

    assert sweep_cmd.MIN_IMPORTANCE_SAMPLES == importance.MIN_SAMPLES
