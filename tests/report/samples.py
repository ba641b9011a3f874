"""A report with every kind of block, for the HTML writer's tests."""

from __future__ import annotations

import math

from sustain.report.model import (
    Chart,
    Column,
    Kind,
    Marker,
    Report,
    Section,
    Series,
    Table,
    Text,
)

#: A scenario name that would inject a script if any text went into the page unescaped.
HOSTILE = "<script>alert('x')</script> & <b>bold</b>"

FLEETS = Table(
    "fleets",
    (Column("system"), Column("site"), Column("systems", Kind.INT),
     Column("availability", Kind.PERCENT), Column("backorders", Kind.NUMBER, digits=2),
     Column("cost", Kind.MONEY, unit="EUR")),
    (("SAMX", "EAST", 12, 0.5125, 3.456, 1_250_000.0),
     ("HOW155", "WEST", 24, 0.93125, None, 80_000.0),
     (HOSTILE, "NORTH", 6, math.nan, 0.0, 0.0),
     ("all", "", 42, 0.8, 5.0, 1_330_000.0)),
    title="Availability per fleet",
    rules=(2,),
)

LONG = Table(
    "items", (Column("item"), Column("backorders", Kind.NUMBER, digits=3)),
    tuple((f"item-{n:03d}", 1.0 / (n + 1)) for n in range(60)),
    title="Backorders per item",
)

DAYS = tuple(float(d) for d in range(0, 366, 7))
OVER_TIME = Chart(
    "over-time", "Availability over time", "day", "availability",
    (Series("SAMX", DAYS, tuple(0.8 + 0.1 * math.sin(d / 60) for d in DAYS),
            low=tuple(0.75 + 0.1 * math.sin(d / 60) for d in DAYS),
            high=tuple(0.85 + 0.1 * math.sin(d / 60) for d in DAYS)),
     Series(HOSTILE, DAYS, tuple(0.9 - d / 4000 for d in DAYS), style="step")),
    y_kind=Kind.PERCENT,
    markers=(Marker(90.0, "surge"), Marker(200.0, "tempo", x1=260.0)),
    levels=((0.9, "target"),),
)

CURVE = Chart(
    "curve", "Efficient curve", "cost (M EUR)", "expected backorders",
    (Series("curve", (0.0, 1.0, 2.0, 4.0, 8.0), (9.0, 5.0, 3.0, 1.5, 0.7), style="markers"),
     Series("stock", (1.0, 2.0, 3.0), (4.0, 2.0, None), style="bar")),
)


def sample_report(title: str = "Evaluation of coalition-air-defence") -> Report:
    """Text (with Markdown and raw HTML), typed tables and charts of every series style."""
    return Report(
        title,
        intro=(Text(f"Scenario **{HOSTILE}**: readiness of `3` fleets.\n\n- one\n- two"),),
        sections=(
            Section("Fleets", (Text("Fleets *below* target are listed first."), FLEETS,
                               OVER_TIME)),
            Section("Items", (LONG,)),
            Section("Plan", (CURVE, Text("The curve ends at the target."))),
        ),
    )
