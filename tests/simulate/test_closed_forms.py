"""The simulator against closed forms: machine repair, Palm's theorem, M/M/c.

Fixed seeds; every tolerance is a confidence interval across replications
(independent streams), at 99 % so that a correct simulator fails about once in a
hundred seeds.  The seeds are fixed, so the tests are deterministic.
"""

from __future__ import annotations

import numpy as np
import pytest

from sustain.readiness.backorders import backorder_moments
from sustain.simulate import simulate
from tests.simulate.helpers import ci, machine_repair, single_site

LEVEL = 0.99


@pytest.mark.parametrize("delays", ["deterministic", "exponential"])
@pytest.mark.parametrize(("n", "mtbf", "repair", "stock"), [(5, 1000.0, 10.0, 0),
                                                             (5, 1000.0, 10.0, 2),
                                                             (8, 500.0, 6.0, 1)])
def test_machine_repair_steady_state(
    delays: str, n: int, mtbf: float, repair: float, stock: int
) -> None:
    """Realistic default (down systems do not fail): systems down and units in repair
    follow the finite-source, ample-server law, for fixed and exponential repair."""
    a = single_site(n=n, mtbf_hours=mtbf, repair_days=repair, stock=stock)
    res = simulate(a, days=12_000, replications=20, seed=11, warmup_days=200, delays=delays)
    lam = 24.0 / mtbf
    p = machine_repair(n, lam, 1.0 / repair, stock)
    k = np.arange(p.size)
    exact_avail = 1.0 - float(p @ np.maximum(k - stock, 0)) / n
    exact_repair = float(p @ k)
    m, h = ci(res.availability[:, 0], LEVEL)
    assert abs(m - exact_avail) <= h, (m, h, exact_avail)
    m, h = ci(res.in_repair[:, 0], LEVEL)
    assert abs(m - exact_repair) <= h, (m, h, exact_repair)
    assert res.busy is not None
    np.testing.assert_array_equal(res.busy, res.in_repair)  # unlimited: every job in service
    # Backorders (systems waiting for a part) are the systems down.
    m, h = ci(res.backorders_reps[:, 0, 0], LEVEL)
    assert abs(m - float(p @ np.maximum(k - stock, 0))) <= h


def test_condemnation_and_procurement_mix_into_one_service_time() -> None:
    """Half condemned (procurement 20 d), half repaired (10 d): ample servers with a
    mean service time of 15 d, so the machine-repair law with 15 d holds."""
    a = single_site(n=6, mtbf_hours=800.0, repair_days=10.0, stock=1, condemnation=0.5,
                    procurement_days=20.0)
    res = simulate(a, days=12_000, replications=20, seed=5, warmup_days=200)
    p = machine_repair(6, 24.0 / 800.0, 1.0 / 15.0, 1)
    k = np.arange(p.size)
    m, h = ci(res.availability[:, 0], LEVEL)
    assert abs(m - (1.0 - float(p @ np.maximum(k - 1, 0)) / 6)) <= h


# (mean pipeline, stock): Palm's theorem, Poisson demand, ample repair.
PALM_CASES = [(1.0, 0), (2.0, 2), (4.0, 5), (0.5, 1)]


@pytest.mark.parametrize(("mean", "stock"), PALM_CASES)
def test_palm_theorem(mean: float, stock: int) -> None:
    """Analytic assumption (``failures_while_down=True``), a large fleet so demand is
    Poisson to within far less than the CI: EBO and fill rate inside the 99 % CI of
    Palm's theorem values (Sherbrooke 2004, ch. 2)."""
    n, repair = 2_000, 10.0
    lam = mean / (n * repair)  # per system per day
    a = single_site(n=n, mtbf_hours=24.0 / lam, repair_days=repair, stock=stock)
    res = simulate(a, days=8_000, replications=32, seed=3, warmup_days=50,
                   failures_while_down=True)
    bo = backorder_moments(np.array([mean]), np.array([mean]), np.array([float(stock)]))
    # The finite-source law differs from Palm's by far less than the tolerance.
    p = machine_repair(n, lam, 1.0 / repair, stock)
    k = np.arange(p.size)
    finite_ebo = float(p @ np.maximum(k - stock, 0))
    m, h = ci(res.backorders_reps[:, 0, 0], LEVEL)
    assert abs(finite_ebo - float(bo.ebo[0])) < 0.1 * h
    assert abs(m - float(bo.ebo[0])) <= h, (m, h, float(bo.ebo[0]))
    if stock > 0:
        m, h = ci(res.fill_rate_reps[:, 0, 0], LEVEL)
        assert abs(m - float(bo.fill_rate[0])) <= h, (m, h, float(bo.fill_rate[0]))


def test_failures_while_down_size_of_the_difference() -> None:
    """Two items per system: with the realistic default a down system stops wearing
    its other item, so fewer failures and higher availability than the analytic
    assumption.  The gap here (about 3 points) is far outside both CIs."""
    a = single_site(n=4, mtbf_hours=600.0, repair_days=10.0, stock=1, n_items=2)
    kw = dict(days=10_000, replications=16, seed=9, warmup_days=200)
    real = simulate(a, **kw)  # type: ignore[arg-type]
    analytic = simulate(a, failures_while_down=True, **kw)  # type: ignore[arg-type]
    m1, h1 = ci(real.availability[:, 0], LEVEL)
    m2, h2 = ci(analytic.availability[:, 0], LEVEL)
    assert m1 - m2 > h1 + h2
    assert 0.01 < m1 - m2 < 0.1


@pytest.mark.parametrize(("c", "stock"), [(1, 0), (2, 1), (3, 2)])
def test_repair_channels_finite_source_mmc(c: int, stock: int) -> None:
    """``c`` repair channels, exponential repair: units at the repair shop (queue and
    service) follow the finite-source M/M/c law with spares; min(k, c) of k are in
    service (the busy channels)."""
    n, mtbf, repair = 10, 1200.0, 5.0
    a = single_site(n=n, mtbf_hours=mtbf, repair_days=repair, stock=stock)
    res = simulate(a, days=12_000, replications=20, seed=21, warmup_days=200,
                   delays="exponential", repair_channels={"S": c})
    p = machine_repair(n, 24.0 / mtbf, 1.0 / repair, stock, channels=c)
    k = np.arange(p.size)
    m, h = ci(res.in_repair[:, 0], LEVEL)
    assert abs(m - float(p @ k)) <= h, (m, h, float(p @ k))
    m, h = ci(res.availability[:, 0], LEVEL)
    assert abs(m - (1.0 - float(p @ np.maximum(k - stock, 0)) / n)) <= h
    assert res.busy is not None
    m, h = ci(res.busy[:, 0], LEVEL)
    assert abs(m - float(p @ np.minimum(k, c))) <= h, (m, h, float(p @ np.minimum(k, c)))
