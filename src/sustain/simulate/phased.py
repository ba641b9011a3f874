"""The time-phased part of a simulation: what changes over time, flattened for the kernel.

Built from a :class:`~sustain.scenario.model.Scenario` (the keys ``deliveries``,
``tempo``, ``attrition``, ``battle_damage``, ``simulation.cannibalisation`` and the
item key ``weibull_shape``).  A scenario without any of them never builds one, and
the simulation runs the steady-state mode of the loop (:mod:`sustain.simulate.kernel`)
unchanged; with any of them, the time-phased mode (:mod:`sustain.simulate.kernel_phased`).

Definitions (docs/simulate.md):

- **Weibull lifetimes**: a unit's life in operating hours of its system is Weibull
  with shape ``k`` and scale ``η = MTBF / Γ(1 + 1/k)``, so its mean is the MTBF
  (Rinne 2009, *The Weibull Distribution*, eq. 2.64); every installed position is a
  renewal process (a replaced unit starts new; every unit is new at day 0).
- **Tempo**: a row multiplies the hours per day of the fleets it matches on days
  ``[from_day, to_day)``; overlapping rows multiply.
- **Attrition**: ``losses_per_day`` is the rate of a Poisson process of losses of the
  fleet, each taking one present system at random (void when none is present), so
  with no deliveries the survivors at day t are ``max(N − K, 0)``,
  ``K ~ Poisson(r t)``: ``E = N − r t`` while ``r t`` is small against ``N``.
  ``day``/``count`` rows take ``count`` present systems at random on that day.
- **Battle damage**: a Poisson process at ``damaged_per_day`` per fleet; each event
  takes a present system not already in battle-damage repair at random (void when
  there is none), which is down for ``repair_days``.  Systems in repair are an
  Erlang loss system, insensitive to the repair-time law.
"""

from __future__ import annotations

import math
from dataclasses import dataclass

from sustain.errors import SustainError
from sustain.scenario.compile import ScenarioArrays
from sustain.scenario.model import Scenario
from sustain.scenario.timeline import tempo_factors, with_delivered_fleets

__all__ = ["PhasedModel", "build_phased", "is_phased", "with_delivered_fleets"]


@dataclass(frozen=True, slots=True, kw_only=True)
class PhasedModel:
    """The time-phased additions to a :class:`~sustain.simulate.model.SimModel`.

    Systems are numbered as in the ``SimModel`` (every fleet's day-0 systems), then
    the delivered ones in delivery order.

    Attributes
    ----------
    sys_fleet, sys_site : tuple[int, ...]
        Per system, day-0 and delivered.
    n_initial : int
        Systems present at day 0 (the first ones).
    deliveries : tuple
        ``(day, fleet, first_system, count, ((flat, qty), …))`` in day order (systems
        ``first_system …`` numbered only for the deliveries within the run).
    fleet_hours : tuple[float, ...]
        Operating hours per day of each fleet at tempo 1.
    fleet_unit_pos : tuple[tuple[int, ...], ...]
        Per fleet, the position (index into ``SimModel.fleet_items``) of each installed
        unit, ``Z_i`` units per position.
    item_scale_hours, item_inv_shape : tuple[float, ...]
        Weibull scale η (hours) and 1/k per item (k = 1: exponential with mean η).
    tempo_start : tuple[float, ...]
        Tempo factor of each fleet at day 0.
    tempo_steps : tuple
        ``(day, ((fleet, factor), …))`` for every later day where a factor changes.
    loss_rate : tuple[float, ...]
        Systems lost per day per fleet (Poisson).
    loss_days : tuple
        ``(day, fleet, count)`` given losses, in day order (the scenario's order on a
        day).
    damage_rate, damage_repair_days : tuple[float, ...]
        Battle damage per fleet: systems per day, whole-system repair days.
    cannibalisation : bool
        A system down for a part takes it from another down system at the site.
    """

    sys_fleet: tuple[int, ...]
    sys_site: tuple[int, ...]
    n_initial: int
    deliveries: tuple[tuple[float, int, int, int, tuple[tuple[int, int], ...]], ...]
    fleet_hours: tuple[float, ...]
    fleet_unit_pos: tuple[tuple[int, ...], ...]
    item_scale_hours: tuple[float, ...]
    item_inv_shape: tuple[float, ...]
    tempo_start: tuple[float, ...]
    tempo_steps: tuple[tuple[float, tuple[tuple[int, float], ...]], ...]
    loss_rate: tuple[float, ...]
    loss_days: tuple[tuple[float, int, int], ...]
    damage_rate: tuple[float, ...]
    damage_repair_days: tuple[float, ...]
    cannibalisation: bool


def is_phased(scenario: Scenario, cannibalisation: bool | None = None) -> bool:
    """Does the scenario (or the option) need the time-phased kernel?"""
    cannibal = (
        scenario.simulation.cannibalisation if cannibalisation is None else cannibalisation
    )
    return bool(
        scenario.deliveries or scenario.tempo or scenario.attrition or scenario.battle_damage
        or cannibal or any(it.weibull_shape != 1.0 for it in scenario.items)
    )


def build_phased(
    scenario: Scenario,
    a: ScenarioArrays,
    fleet_qty: tuple[tuple[int, ...], ...],
    sys_fleet: tuple[int, ...],
    sys_site: tuple[int, ...],
    *,
    cannibalisation: bool,
    days: float,
) -> PhasedModel:
    """Flatten the time-phased keys of ``scenario`` (compiled as ``a``) for ``days`` days.

    A delivery after the last day numbers no systems: it never happens in the run.
    """
    n_f = int(a.fleet_system.size)
    n_s = a.n_sites
    fleet_of = {
        (a.system_ids[int(a.fleet_system[f])], a.site_ids[int(a.fleet_site[f])]): f
        for f in range(n_f)
    }
    i_idx = {x: n for n, x in enumerate(a.item_ids)}
    s_idx = {x: n for n, x in enumerate(a.site_ids)}

    def fleet(system: str, site: str, what: str) -> int:
        if (system, site) not in fleet_of:
            raise SustainError(f"{what}: there is no fleet of {system!r} at {site!r}")
        return fleet_of[(system, site)]

    all_fleet, all_site = list(sys_fleet), list(sys_site)
    deliveries = []
    for d in sorted(scenario.deliveries, key=lambda d: d.day):
        f = fleet(d.system, d.site, "deliveries") if d.count > 0 else -1  # spares only
        first = len(all_fleet)
        if d.day <= days:
            all_fleet += [f] * d.count
            all_site += [int(a.fleet_site[f])] * d.count
        stock = tuple(
            (i_idx[s.item] * n_s + s_idx[d.site], s.qty) for s in d.stock if s.qty > 0
        )
        deliveries.append((float(d.day), f, first, d.count, stock))

    by_item = {it.id: it for it in scenario.items}
    scale, inv_shape = [], []
    for n, iid in enumerate(a.item_ids):
        k = by_item[iid].weibull_shape if iid in by_item else 1.0
        rate = float(a.failures_per_hour[n])
        mtbf = 1.0 / rate if rate > 0 else math.inf
        scale.append(mtbf / math.gamma(1.0 + 1.0 / k))
        inv_shape.append(1.0 / k)

    keys = [
        (a.system_ids[int(a.fleet_system[f])], a.site_ids[int(a.fleet_site[f])])
        for f in range(n_f)
    ]

    def factors(t: float) -> list[float]:
        return tempo_factors(scenario.tempo, keys, t)

    start = factors(0.0)
    steps = []
    prev = start
    for t in sorted({x for r in scenario.tempo for x in (r.from_day, r.to_day)} - {0.0}):
        now = factors(t)
        change = tuple((f, now[f]) for f in range(n_f) if now[f] != prev[f])
        if change:
            steps.append((float(t), change))
        prev = now

    loss_rate = [0.0] * n_f
    loss_days = []
    for r in scenario.attrition:
        f = fleet(r.system, r.site, "attrition")
        if r.losses_per_day is not None:
            loss_rate[f] += r.losses_per_day
        elif r.day is not None and r.count:
            loss_days.append((float(r.day), f, int(r.count)))
    damage_rate = [0.0] * n_f
    damage_days = [0.0] * n_f
    for b in scenario.battle_damage:
        f = fleet(b.system, b.site, "battle_damage")
        if damage_rate[f] > 0:
            raise SustainError(
                f"battle_damage: {b.system!r} at {b.site!r} is given twice (one row per fleet)"
            )
        damage_rate[f] = b.damaged_per_day
        damage_days[f] = b.repair_days

    unit_pos = tuple(
        tuple(p for p, z in enumerate(fleet_qty[f]) for _ in range(z)) for f in range(n_f)
    )
    return PhasedModel(
        sys_fleet=tuple(all_fleet), sys_site=tuple(all_site), n_initial=len(sys_fleet),
        deliveries=tuple(deliveries),
        fleet_hours=tuple(float(h) for h in a.fleet_hours_per_day),
        fleet_unit_pos=unit_pos,
        item_scale_hours=tuple(scale), item_inv_shape=tuple(inv_shape),
        tempo_start=tuple(start), tempo_steps=tuple(steps),
        loss_rate=tuple(loss_rate), loss_days=tuple(sorted(loss_days, key=lambda x: x[0])),
        damage_rate=tuple(damage_rate), damage_repair_days=tuple(damage_days),
        cannibalisation=cannibalisation,
    )
