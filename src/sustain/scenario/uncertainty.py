"""The ``uncertainty:`` section: how far each input may be off, as a distribution of a
multiplier of the value the scenario gives.

.. code-block:: yaml

    uncertainty:
      mtbf_hours: {dist: lognormal, cv: 0.3}             # every item with an MTBF
      repair_days: {dist: triangular, low: 0.8, mode: 1, high: 1.5}
      order_ship_days: {dist: uniform, low: 1, high: 2}  # every site with a resupply time
      hours_per_day: {dist: triangular, low: 1, mode: 1, high: 1.5}   # every fleet
      items:
        - {item: RADAR, mtbf_hours: {dist: lognormal, cv: 0.5}}

A key at the top draws one multiplier per scenario drawn, shared by everything it
covers (a common cause: the data sheets are optimistic, the repair shop is slow); an
``items`` row draws the item's own multiplier instead, independent of the others.
Distributions: ``lognormal`` (mean 1 and coefficient of variation ``cv``),
``triangular`` (``low``, ``mode``, ``high``), ``uniform`` (``low``, ``high``).  Every
multiplier is above 0.  This module checks the section and reports every problem
into the scenario's collector; the sampling itself is :mod:`sustain.sweep.sample`.
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from enum import StrEnum
from typing import Any

from sustain.scenario.issues import Collector
from sustain.scenario.messages import describe, hint_for, num

#: Largest coefficient of variation accepted (a multiplier spread wider than this says
#: nothing usable).
MAX_CV = 10.0
#: Largest multiplier a triangular or uniform distribution may reach.
MAX_MULTIPLIER = 1e3


class DistKind(StrEnum):
    """Distributions of a multiplier."""

    LOGNORMAL = "lognormal"
    TRIANGULAR = "triangular"
    UNIFORM = "uniform"


#: The keys each distribution takes (besides ``dist``).
PARAMETERS = {
    DistKind.LOGNORMAL: ("cv",),
    DistKind.TRIANGULAR: ("low", "mode", "high"),
    DistKind.UNIFORM: ("low", "high"),
}


@dataclass(frozen=True, slots=True, kw_only=True)
class Distribution:
    """The distribution of a multiplier: ``lognormal`` with mean 1 and coefficient of
    variation ``cv``, ``triangular`` on [low, high] with its peak at ``mode``, or
    ``uniform`` on [low, high]."""

    kind: DistKind
    cv: float = 0.0
    low: float = 0.0
    mode: float = 0.0
    high: float = 0.0

    def describe(self) -> str:
        """``lognormal, mean 1, cv 0.3`` and so on."""
        if self.kind is DistKind.LOGNORMAL:
            return f"lognormal, mean 1, cv {self.cv:g}"
        if self.kind is DistKind.TRIANGULAR:
            return f"triangular {self.low:g} / {self.mode:g} / {self.high:g}"
        return f"uniform {self.low:g} to {self.high:g}"


@dataclass(frozen=True, slots=True, kw_only=True)
class ItemUncertainty:
    """An item's own multipliers (None: the section's shared one applies)."""

    item: str
    mtbf_hours: Distribution | None = None
    repair_days: Distribution | None = None


@dataclass(frozen=True, slots=True, kw_only=True)
class Uncertainty:
    """The validated ``uncertainty:`` section (None: that input is taken as given)."""

    mtbf_hours: Distribution | None = None
    repair_days: Distribution | None = None
    order_ship_days: Distribution | None = None
    hours_per_day: Distribution | None = None
    items: tuple[ItemUncertainty, ...] = ()


SECTION_KEY = "uncertainty"
#: Keys of the section and of an ``items`` row that hold a distribution.
SHARED_KEYS = ("mtbf_hours", "repair_days", "order_ship_days", "hours_per_day")
ITEM_KEYS = ("mtbf_hours", "repair_days")


def _number(c: Collector, loc: tuple[Any, ...], value: object) -> float | None:
    """``value`` as a finite number, else reported."""
    if isinstance(value, bool) or not isinstance(value, int | float):
        c.add(loc, f"must be a number: got {describe(value)}")
        return None
    x = float(value)
    if not math.isfinite(x):
        c.add(loc, f"must be a finite number: got {num(value)}")
        return None
    return x


def _distribution(c: Collector, loc: tuple[Any, ...], value: object) -> Distribution | None:
    """A distribution mapping checked; every problem reported."""
    if not isinstance(value, dict):
        c.add(loc, "must be a mapping such as {dist: lognormal, cv: 0.3}: got "
              f"{describe(value)}")
        return None
    kinds = [k.value for k in DistKind]
    kind_text = value.get("dist")
    if kind_text is None:
        c.add((*loc, "dist"), f"required key is missing ({', '.join(kinds)})")
        return None
    if kind_text not in kinds:
        c.add((*loc, "dist"), f"must be one of {', '.join(kinds)}: got {describe(kind_text)}",
              hint=hint_for(str(kind_text), kinds))
        return None
    kind = DistKind(kind_text)
    allowed = ("dist", *PARAMETERS[kind])
    unknown = [str(k) for k in value if k not in allowed]
    for key in unknown:
        c.add((*loc, key), f"unknown key for a {kind} distribution (it takes "
              f"{', '.join(PARAMETERS[kind])})", hint=hint_for(key, allowed))
    ok = True
    got: dict[str, float] = {}
    for key in PARAMETERS[kind]:
        if key not in value:
            c.add((*loc, key), f"required key is missing (a {kind} distribution takes "
                  f"{', '.join(PARAMETERS[kind])})")
            ok = False
            continue
        x = _number(c, (*loc, key), value[key])
        if x is None:
            ok = False
        else:
            got[key] = x
    if not ok:
        return None
    if kind is DistKind.LOGNORMAL:
        if not 0 < got["cv"] <= MAX_CV:
            c.add((*loc, "cv"), f"must be > 0 and at most {num(MAX_CV)}: got {num(got['cv'])}")
            return None
        return None if unknown else Distribution(kind=kind, cv=got["cv"])
    low, high = got["low"], got["high"]
    mode = got.get("mode", 0.0)
    bad = False
    if not low > 0:
        c.add((*loc, "low"), f"a multiplier must be > 0: got {num(low)}")
        bad = True
    if not high <= MAX_MULTIPLIER:
        c.add((*loc, "high"), f"must be at most {num(MAX_MULTIPLIER)}: got {num(high)}")
        bad = True
    if not low < high:
        c.add((*loc, "high"), f"must be above low ({num(low)}): got {num(high)}")
        bad = True
    elif kind is DistKind.TRIANGULAR and not low <= mode <= high:
        c.add((*loc, "mode"), f"must be from low ({num(low)}) to high ({num(high)}): got "
              f"{num(mode)}")
        bad = True
    if bad or unknown:
        return None
    return Distribution(kind=kind, low=low, mode=mode, high=high)


def check_uncertainty(c: Collector, items: dict[str, Any]) -> Uncertainty | None:
    """Check the ``uncertainty:`` section (None when the scenario has none).

    ``items`` maps each valid item id to its row (an object with ``mtbf_hours``, or a
    ``(position, row)`` pair); an ``items`` row of the section must name one, and only
    an item with an MTBF may have an ``mtbf_hours`` distribution.
    """
    data = c.raw.data.get(SECTION_KEY)
    if data is None:
        return None
    top = (SECTION_KEY,)
    if not isinstance(data, dict):
        c.add(top, f"must be a mapping of keys: got {describe(data)}")
        return None
    keys = (*SHARED_KEYS, "items")
    for key in data:
        if key not in keys:
            c.add((*top, str(key)), "unknown key", hint=hint_for(str(key), keys))
    shared = {k: _distribution(c, (*top, k), data[k]) for k in SHARED_KEYS if k in data}
    rows: list[ItemUncertainty] = []
    listed = data.get("items", [])
    if not isinstance(listed, list):
        c.add((*top, "items"), f"must be a list of rows: got {describe(listed)}")
        listed = []
    seen: dict[str, int] = {}
    for n, row in enumerate(listed):
        at = (*top, "items", n)
        if not isinstance(row, dict):
            c.add(at, f"must be a mapping such as {{item: ID, mtbf_hours: …}}: got "
                  f"{describe(row)}")
            continue
        for key in row:
            if key not in ("item", *ITEM_KEYS):
                c.add((*at, str(key)), "unknown key",
                      hint=hint_for(str(key), ("item", *ITEM_KEYS)))
        item = row.get("item")
        if item is None:
            c.add((*at, "item"), "required key is missing")
            continue
        item = str(item)
        if not c.ref((*at, "item"), item, items, "item", "items"):
            continue
        if item in seen:
            c.add((*at, "item"), f"{c.show(at, item)} has a row already (items[{seen[item]}])")
            continue
        seen[item] = n
        found = items[item]
        found = found[1] if isinstance(found, tuple) else found
        if "mtbf_hours" in row and getattr(found, "mtbf_hours", None) is None:
            c.add((*at, "mtbf_hours"), f"item {c.show(at, item)} has no mtbf_hours (a "
                  "sub-item fails with its parent's repairs)")
            continue
        dists = {k: _distribution(c, (*at, k), row[k]) for k in ITEM_KEYS if k in row}
        if not dists:
            c.add(at, "names no distribution (give mtbf_hours or repair_days)")
            continue
        rows.append(ItemUncertainty(item=item, **dists))
    return Uncertainty(**shared, items=tuple(rows))
