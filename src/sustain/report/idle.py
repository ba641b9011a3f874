"""Stock held where no demand reaches it (``idle_stock`` of a document): the warning
printed on stderr and the report section.

A spare at a site serves the failures of the fleets at that site and the resupply
orders of the sites below it; where neither uses the item its demand rate is 0 and
the units never serve anyone (``Evaluation.idle_stock``).  ``sustain optimize
--redistribute`` may move them where they are needed.
"""

from __future__ import annotations

from typing import Any

from sustain.report.model import Column, Kind, Section, Table, Text

#: Idle rows named in the warning line; the rest are counted.
SHOWN_IDLE = 3

_HINT = ("no fleet there or below it uses them; `sustain optimize --redistribute` may move "
         "them where they are needed")
#: The same after ``optimize --redistribute``, which left them where they are.
_HINT_MOVED = ("no fleet there or below it uses them, and the plan does not need them "
               "elsewhere")


def _units(n: int) -> str:
    return f"{n} unit{'s' if n != 1 else ''}"


def idle_warnings(rows: list[dict[str, Any]], currency: str, *, moved: bool = False
                  ) -> list[str]:
    """One line naming the idle stock (the most valuable rows first) and its value, or
    nothing when there is none; ``moved``: of a plan of ``optimize --redistribute``."""
    if not rows:
        return []
    unit = f" {currency}" if currency else ""
    total = sum(r["value"] for r in rows)
    named = ", ".join(f"{r['item']} at {r['site']} ({_units(r['qty'])}, "
                      f"{r['value']:,.0f}{unit})" for r in rows[:SHOWN_IDLE])
    more = f" and {len(rows) - SHOWN_IDLE} more" if len(rows) > SHOWN_IDLE else ""
    return [f"warning: stock worth {total:,.0f}{unit} is held where no demand reaches it: "
            f"{named}{more}; {_HINT_MOVED if moved else _HINT}"]


def idle_section(rows: list[dict[str, Any]], currency: str, *, moved: bool = False
                 ) -> Section:
    """The idle stock as a table (item, site, units, value) with its total; ``moved``:
    of a plan of ``optimize --redistribute``."""
    money = Kind.MONEY
    table = Table(
        "idle stock",
        (Column("item"), Column("site"), Column("qty", Kind.INT),
         Column("value", money, unit=currency)),
        tuple((r["item"], r["site"], r["qty"], r["value"]) for r in rows),
    )
    total = sum(r["value"] for r in rows)
    unit = f" {currency}" if currency else ""
    return Section("Idle stock", (
        Text(f"Stock worth **{total:,.0f}{unit}** is held where no demand reaches it: "
             f"{_HINT_MOVED if moved else _HINT}."),
        table,
    ))
