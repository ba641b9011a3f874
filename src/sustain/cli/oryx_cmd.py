"""``sustain oryx``: attrition and battle-damage rates per system type from Oryx's lists.

Thin: parse options, call :func:`sustain.scenario.oryx.loss_rates`, render.  Exit codes:
0 ok, 2 bad input (file, column, row, pattern, fleet size or period).
"""

from __future__ import annotations

import datetime as dt
import json
import sys
from pathlib import Path
from typing import Annotated

import typer
from rich.console import Console
from rich.table import Table

from sustain.errors import ScenarioError, SustainError

out = Console()
err = Console(stderr=True)


def _date(option: str, value: str | None) -> dt.date | None:
    if value is None:
        return None
    try:
        return dt.date.fromisoformat(value)
    except ValueError:
        raise SustainError(f"{option} {value!r}: expected a date YYYY-MM-DD") from None


def oryx(
    table: Annotated[Path, typer.Argument(help="Oryx loss table (CSV: origin, system, "
                                          "status, date_recorded).")],
    pattern: Annotated[
        list[str],
        typer.Option("--pattern", "-p",
                     help="Regular expression on the system name (case-insensitive, tally "
                     "prefix removed); repeat or use | for several."),
    ],
    fleet_size: Annotated[
        float, typer.Option("--fleet-size", "-n",
                            help="Systems in service on average over the period.")
    ],
    start: Annotated[
        str | None, typer.Option("--from", help="First day counted, YYYY-MM-DD "
                                 "(default: first date_recorded).")
    ] = None,
    end: Annotated[
        str | None, typer.Option("--to", help="Day after the last one counted, YYYY-MM-DD "
                                 "(default: the day after the last date_recorded).")
    ] = None,
    days: Annotated[
        int | None, typer.Option("--days", help="Length of the period, with --from or --to.")
    ] = None,
    origin: Annotated[
        list[str] | None,
        typer.Option("--origin", help="Keep only rows of this origin; repeat for several."),
    ] = None,
    abandoned_as_loss: Annotated[
        bool, typer.Option("--abandoned-as-loss/--abandoned-not-loss",
                           help="Count abandoned systems as attrition.")
    ] = True,
    json_out: Annotated[bool, typer.Option("--json", help="Print a JSON document.")] = False,
) -> None:
    """Attrition (destroyed, captured, abandoned) and battle damage per system per day,
    from Oryx's visually confirmed losses: a lower bound, and date_recorded is the
    scrape date, not the loss date, so use periods of a year or more."""
    from sustain.scenario.oryx import loss_rates

    try:
        result = loss_rates(
            table, pattern, fleet_size=fleet_size, start=_date("--from", start),
            end=_date("--to", end), days=days, origins=origin or (),
            abandoned_as_loss=abandoned_as_loss,
        )
    except ScenarioError as exc:
        sys.stderr.write(f"{exc}\n")
        raise typer.Exit(2) from None
    except SustainError as exc:
        sys.stderr.write(f"error: {exc}\n")
        raise typer.Exit(2) from None
    if json_out:
        sys.stdout.write(json.dumps(result.to_dict(), indent=1) + "\n")
        return
    t = Table(title=f"Systems matched by {' | '.join(result.patterns)}")
    for col, just in (("system", "left"), ("attrition", "right"), ("damaged", "right")):
        t.add_column(col, justify=just)  # type: ignore[arg-type]
    for s in result.systems:
        t.add_row(s.name, str(s.attrition), str(s.damaged))
    out.print(t)
    loss = "destroyed + captured" + (" + abandoned" if result.abandoned_as_loss else "")
    t = Table(title=f"{result.start} to {result.end} (exclusive): {result.days} days, "
              f"fleet of {result.fleet_size:g}")
    for col in ("", "count", "per day (fleet)", "per system per day"):
        t.add_column(col, justify="left" if not col else "right")
    t.add_row(f"attrition ({loss})", str(result.attrition),
              f"{result.attrition_per_day:.4g}", f"{result.attrition_per_system_day:.4g}")
    t.add_row("battle damage (damaged)", str(result.damaged),
              f"{result.damage_per_day:.4g}", f"{result.damage_per_system_day:.4g}")
    out.print(t)
    out.print(f"destroyed {result.destroyed}, captured {result.captured}, "
              f"abandoned {result.abandoned}, damaged {result.damaged}; "
              f"matching rows outside the period: {result.rows_outside_period}.")
    err.print("Confirmed losses are a lower bound; date_recorded is the scrape date, not the "
              "loss date.")
    out.print(result.attribution, markup=False)
