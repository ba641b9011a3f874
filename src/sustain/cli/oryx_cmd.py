"""``sustain oryx``: attrition and battle-damage rates per system type from Oryx's lists.

Thin: parse options, call :func:`sustain.scenario.oryx.loss_rates`, render.  Exit codes:
0 ok, 2 bad input (file, column, row, pattern, fleet size or period).
"""

from __future__ import annotations

import datetime as dt
import sys
from pathlib import Path
from typing import Annotated

import typer

from sustain.cli.common import (
    MAX_DAYS,
    OptionError,
    command,
    err,
    fail,
    out,
    output_option,
    report_files,
    wrote,
)
from sustain.errors import SustainError


def _date(option: str, value: str | None) -> dt.date | None:
    if value is None:
        return None
    try:
        return dt.date.fromisoformat(value)
    except ValueError:
        raise OptionError(f"{option} {value!r}: expected a date YYYY-MM-DD") from None


def _check_calendar(days: int, first: dt.date | None, last: dt.date | None) -> None:
    """The period of ``days`` from ``--from`` (or back from ``--to``) stays in the calendar."""
    try:
        if first is not None:
            first + dt.timedelta(days=days)
        elif last is not None:
            last - dt.timedelta(days=days)
    except OverflowError:
        raise OptionError(f"--days {days}: the period leaves the calendar "
                          "(years 1 to 9999)") from None


@command
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
                                 "(default: the first date_recorded of a matching row).")
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
    output: Annotated[
        list[Path] | None, output_option("the rates (attrition and battle damage per day "
                                         "and per system per day)")
    ] = None,
) -> None:
    """Attrition (destroyed, captured, abandoned) and battle damage per system per day,
    from Oryx's visually confirmed losses: a lower bound, and date_recorded is the
    scrape date, not the loss date, so use periods of a year or more."""
    # Imported here, not at the top: NumPy and pydantic slow the start of --help.
    from sustain.report.builders import MAIN_TABLE, oryx_report
    from sustain.report.documents import json_text
    from sustain.report.files import Input, check_not_inputs, check_outputs, write_outputs
    from sustain.report.outputs import output_files
    from sustain.report.tables import print_loss_rates
    from sustain.scenario.oryx import loss_rates

    try:
        outputs = output_files(output)
        check_outputs(outputs)
        check_not_inputs(outputs, [Input(table, "the loss table")])
        first, last = _date("--from", start), _date("--to", end)
        if days is not None and days > 0:  # days <= 0: the loss table's own check
            if days > MAX_DAYS:
                raise OptionError(f"--days {days}: must be at most {MAX_DAYS:,} (100 years)")
            _check_calendar(days, first, last)
        result = loss_rates(
            table, pattern, fleet_size=fleet_size, start=first, end=last, days=days,
            origins=origin or (), abandoned_as_loss=abandoned_as_loss,
        )
        doc = result.to_dict()
        text = json_text(doc) if json_out else ""
        write_outputs(report_files(outputs, lambda: oryx_report(result),
                                   lambda: json_text(doc), main=MAIN_TABLE["oryx"]))
    except SustainError as exc:
        raise fail(exc) from None
    if json_out:
        sys.stdout.write(text)
        return
    print_loss_rates(out, err, result)
    wrote(outputs)
