"""Why fleets are down: the report section, its Markdown and the terminal table.

Drawn from the ``drivers`` and ``drivers_other`` keys of the fleets of the evaluate
and optimize documents (:mod:`sustain.readiness.drivers`).
"""

from __future__ import annotations

from typing import Any

from rich.console import Console
from rich.table import Table as RichTable

from sustain.report.model import Cell, Column, Kind, Section, Table, Text, table_markdown

TITLE = "Why fleets are down"

#: The terminal lists the fleets below this availability (worst first) ...
DOWN_BELOW = 0.9
#: ... at most this many of them, with this many drivers each.
TERMINAL_FLEETS = 5
TERMINAL_DRIVERS = 3

EXPLANATION = (
    "Each item's share of the fleet's lost availability: Sherbrooke's product formula "
    "makes −log A a sum of one term per top-level item, so the shares are exact and add "
    "up to 100 %. *Without it*: the fleet's availability if the item never waited at the "
    "fleet's site. *EBO*: the item's expected backorders there (shared by the fleets "
    "that use it). *From upper sites*: the part of those backorders that comes from "
    "waiting for the upper sites' backorders; *from sub-items*: the part added by "
    "repairs held up for sub-items; the rest is the site's own repair and resupply "
    "time."
)

COLUMNS = (
    Column("fleet"),
    Column("availability", Kind.PERCENT),
    Column("item"),
    Column("share of loss", Kind.PERCENT),
    Column("EBO", Kind.NUMBER, digits=3),
    Column("without it", Kind.PERCENT),
    Column("from upper sites", Kind.PERCENT, digits=0),
    Column("from sub-items", Kind.PERCENT, digits=0),
)


def _rows(fleet: dict[str, Any], drivers: int | None) -> list[tuple[Cell, ...]]:
    """One row per driver, then the other items; the fleet named on the first row."""
    shown = fleet["drivers"][:drivers] if drivers is not None else fleet["drivers"]
    other = fleet["drivers_other"]
    n_more = other["items"] + len(fleet["drivers"]) - len(shown)
    more_share = other["share"] + sum(d["share"] for d in fleet["drivers"][len(shown):])
    rows: list[tuple[Cell, ...]] = [
        ("", "", d["item"], d["share"], d["ebo"], d["availability_without"],
         d["from_upper_sites"], d["from_sub_items"])
        for d in shown
    ]
    if n_more:
        label = f"{n_more} other item" + ("s" if n_more > 1 else "")
        rows.append(("", "", label, more_share, "", "", "", ""))
    if not rows:
        rows.append(("", "", "no backorders", "", "", "", "", ""))
    return [(f"{fleet['system']} at {fleet['site']}", fleet["availability"], *rows[0][2:]),
            *rows[1:]]


def worst_fleets(fleets: list[dict[str, Any]], below: float = DOWN_BELOW,
                 limit: int | None = None) -> list[dict[str, Any]]:
    """The fleets with availability below ``below``, worst first (at most ``limit``)."""
    down = [f for f in fleets if f["availability"] is not None and f["availability"] < below]
    down.sort(key=lambda f: f["availability"])
    return down if limit is None else down[:limit]


def drivers_table(fleets: list[dict[str, Any]], drivers: int | None = None) -> Table:
    """The drivers of ``fleets`` (in the order given), ``drivers`` per fleet (all listed
    when None), each fleet's other items summed on one row."""
    rows: list[tuple[Cell, ...]] = []
    rules = []
    for f in fleets:
        rows += _rows(f, drivers)
        rules.append(len(rows) - 1)
    return Table("drivers", COLUMNS, tuple(rows), rules=tuple(rules[:-1]), fill_down=(0, 1))


def drivers_section(fleets: list[dict[str, Any]]) -> Section:
    """Section "Why fleets are down": every fleet with systems, worst first."""
    known = [f for f in fleets if f["availability"] is not None]
    ordered = sorted(known, key=lambda f: f["availability"])
    return Section(TITLE, (Text(EXPLANATION), drivers_table(ordered)))


def drivers_markdown(fleets: list[dict[str, Any]]) -> str:
    """:func:`drivers_section` as a Markdown section (``## Why fleets are down``)."""
    section = drivers_section(fleets)
    body = [b.markdown if isinstance(b, Text) else table_markdown(b)
            for b in section.blocks if isinstance(b, Text | Table)]
    return "\n\n".join([f"## {section.title}", *body]) + "\n"


def print_drivers(console: Console, fleets: list[dict[str, Any]]) -> None:
    """The worst fleets below :data:`DOWN_BELOW` and their largest drivers (nothing when
    every fleet is at or above it)."""
    down = worst_fleets(fleets)
    if not down:
        return
    shown = down[:TERMINAL_FLEETS]
    table = drivers_table(shown, TERMINAL_DRIVERS)
    t = RichTable(title=f"{TITLE} (fleets below {100 * DOWN_BELOW:.0f} %, worst first)")
    for c in table.columns:
        t.add_column(c.heading, justify="right" if c.numeric else "left")
    rules = set(table.rules)
    for n, row in enumerate(table.text_rows()):
        t.add_row(*row, end_section=n in rules)
    console.print(t)
    more = f"; {len(down) - len(shown)} more fleets below {100 * DOWN_BELOW:.0f} %" \
        if len(down) > len(shown) else ""
    console.print(
        "share of loss: the item's share of −log A (exact); without it: availability if "
        "the item never waited; from upper sites: part of its backorders due to the upper "
        f"sites' backorders{more}", soft_wrap=True,
    )
