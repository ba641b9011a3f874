"""The simulator with redundancy (k out of n) against a closed form.

One site, ``N`` systems of ``Z`` positions of one item, ``k`` needed, ``s`` spares, ample
repair, failures of every filled position at rate λ (``failures_while_down=True``, so a
grounded system's remaining units fail too).  The units in repair then form a
finite-source birth-death chain: birth ``(N·Z − (j − s)⁺) λ``, death ``j μ``, whatever the
holes' places (insensitive to the repair-time law with ample servers; Kelly 1979, ch. 3).
The positions are exchangeable, so given ``B = (j − s)⁺`` empty positions every set of
``B`` is equally likely: a system is mission capable with the hypergeometric probability
of at most ``Z − k`` holes (Sherbrooke 2004, availability with redundancy; enumerated in
tests/readiness/test_redundancy.py), fully mission capable with ``k = Z``.  Random cases;
each tolerance is the 99 % confidence interval across replications.
"""

from __future__ import annotations

from dataclasses import replace

import numpy as np
import pytest

from sustain.readiness.redundancy import up_given_backorders
from sustain.scenario import Scenario, scenario_from_dict
from sustain.simulate import simulate
from tests.simulate.helpers import ci, single_site

LEVEL = 0.99


def exact(n: int, z: int, k: int, lam: float, mu: float, stock: int) -> tuple[float, float]:
    """(mission capable, fully mission capable) availability of the chain above."""
    top = n * z + stock
    w = np.zeros(top + 1)
    w[0] = 1.0
    for j in range(1, top + 1):
        w[j] = w[j - 1] * (n * z - max(0, j - 1 - stock)) * lam / (j * mu)
    p = w / w.sum()
    holes = np.maximum(np.arange(top + 1) - stock, 0)
    mc = np.r_[up_given_backorders(n, z, k, consolidated=False), 0.0]
    fmc = np.r_[up_given_backorders(n, z, z, consolidated=False), 0.0]
    return float(p @ mc[holes]), float(p @ fmc[holes])


@pytest.mark.parametrize("seed", range(6))
def test_random_redundant_cases_within_the_99_percent_band(seed: int) -> None:
    rng = np.random.default_rng(100 + seed)
    n = int(rng.integers(2, 7))
    z = int(rng.integers(2, 4))
    k = int(rng.integers(1, z))
    stock = int(rng.integers(0, 3))
    mtbf, repair = float(rng.uniform(300, 1500)), float(rng.uniform(5, 20))
    a = single_site(n=n, mtbf_hours=mtbf, repair_days=repair, stock=stock)
    a = replace(a, qty_per_system=np.array([[float(z)]]), needed_per_system=np.array([[float(k)]]))
    res = simulate(a, days=8_000, replications=16, seed=seed, warmup_days=200,
                   failures_while_down=True, delays="exponential" if seed % 2 else "deterministic")
    want_mc, want_fmc = exact(n, z, k, 24.0 / mtbf, 1.0 / repair, stock)
    m, h = ci(res.availability[:, 0], LEVEL)
    assert abs(m - want_mc) <= h, (m, h, want_mc)
    assert res.availability_fmc is not None
    m, h = ci(res.availability_fmc[:, 0], LEVEL)
    assert abs(m - want_fmc) <= h, (m, h, want_fmc)
    assert want_fmc < want_mc  # redundancy shows


def test_inessential_item_grounds_nothing() -> None:
    """Two items, the second inessential: mission capable = the first item's positions
    alone (machine repair law with the inessential one never down), fully mission capable
    lower; without redundancy both columns are the same number."""
    a = single_site(n=4, mtbf_hours=600.0, repair_days=10.0, stock=0, n_items=2)
    plain = simulate(a, days=3_000, replications=8, seed=4, warmup_days=100,
                     failures_while_down=True)
    assert plain.availability_fmc is not None
    np.testing.assert_array_equal(plain.availability, plain.availability_fmc)
    a2 = replace(a, essential_per_system=np.array([[1.0], [0.0]]))
    res = simulate(a2, days=8_000, replications=16, seed=4, warmup_days=200,
                   failures_while_down=True)
    want_mc, _ = exact(4, 1, 1, 24.0 / 600.0, 0.1, 0)
    m, h = ci(res.availability[:, 0], LEVEL)
    assert abs(m - want_mc) <= h, (m, h, want_mc)
    assert res.availability_fmc is not None
    assert res.availability_fmc.mean() < m - 0.05
    doc = res.to_dict()["fleets"][0]
    assert doc["availability_fmc"] == pytest.approx(res.availability_fmc.mean())


def _scenario(n: int, z: int, k: int, mtbf: float, repair: float, stock: int,
              cannibalisation: bool) -> Scenario:
    return scenario_from_dict({
        "sites": [{"id": "D"}],
        "systems": [{"id": "S"}],
        "fleets": [{"system": "S", "site": "D", "count": n, "hours_per_day": 24}],
        "items": [{"id": "TX", "mtbf_hours": mtbf, "depot_repair_days": repair,
                   "installed_in": [{"system": "S", "qty": z, "needed": k}]}],
        "stock": [{"item": "TX", "site": "D", "qty": stock}],
        "simulation": {"cannibalisation": cannibalisation},
    })


@pytest.mark.parametrize(("n", "z", "k", "stock"), [(4, 2, 1, 0), (3, 3, 1, 1), (5, 2, 1, 1)])
def test_cannibalisation_consolidates_the_holes(n: int, z: int, k: int, stock: int) -> None:
    """Time-phased run with cannibalisation: a system about to be grounded takes the unit
    from a grounded one, and a unit arriving goes first to a system it makes mission
    capable.  The holes are then on as few systems as possible, so the mission-capable
    share is the consolidated form, ``1 − E[min(N, ⌈(B − N(Z − k))⁺ / k⌉)] / N``, over the
    same finite-source law (cannibalisation moves units, it does not change how many
    fail); fully mission capable is not checked (the consolidation is for grounding).
    With ``k = 1`` every unit that reaches a grounded system restores it, and the two
    rules keep the holes consolidated at all times; with ``k ≥ 2`` they do not always
    (docs/simulate.md), so those cases are not held to the consolidated form."""
    mtbf, repair = 700.0, 12.0
    res = simulate(_scenario(n, z, k, mtbf, repair, stock, True), days=8_000,
                   replications=16, seed=7, warmup_days=200, failures_while_down=True,
                   delays="exponential")
    top = n * z + stock
    w = np.zeros(top + 1)
    w[0] = 1.0
    for j in range(1, top + 1):
        w[j] = w[j - 1] * (n * z - max(0, j - 1 - stock)) * (24.0 / mtbf) / (j / repair)
    p = w / w.sum()
    holes = np.maximum(np.arange(top + 1) - stock, 0)
    up = np.r_[up_given_backorders(n, z, k, consolidated=True), 0.0]
    want = float(p @ up[holes])
    m, h = ci(res.availability[:, 0], LEVEL)
    assert abs(m - want) <= h, (m, h, want)
    spread = exact(n, z, k, 24.0 / mtbf, 1.0 / repair, stock)[0]
    assert want > spread  # consolidation shows
