"""``sustain next``: which offers (systems, spares, consumables) buy the most capability.

Thin: parse options, value the scenario's offers with :class:`sustain.deliver.Measure`,
choose with :func:`sustain.deliver.choose`, render.  Exit codes: 0 ok, 2 a malformed
scenario, a scenario without offers, or a bad option; 3 no stockpile plan exists (a donor
overcommitted).
"""

from __future__ import annotations

import sys
from pathlib import Path
from typing import Annotated

import typer

from sustain.cli.common import (
    MAX_DAYS,
    AllowOutsideTables,
    check_number,
    check_whole,
    command,
    fail,
    inputs_of,
    load,
    note_no_laterals,
    out,
    output_option,
    report_files,
    wrote,
)
from sustain.errors import SustainError
from sustain.report.files import check_not_inputs, check_outputs, write_outputs
from sustain.report.outputs import output_files


@command
def next_(
    scenario: Annotated[Path, typer.Argument(help="Scenario file with an offers table.")],
    budget: Annotated[float, typer.Option("--budget", "-b", help="Money for the offers.")],
    days: Annotated[int, typer.Option("--days", help="Horizon D in days.")] = 730,
    step: Annotated[int, typer.Option("--step", help="Days between points K of the "
                                      "readiness-over-time engine.")] = 7,
    json_out: Annotated[
        bool, typer.Option("--json", help="Print the JSON document to stdout.")
    ] = False,
    output: Annotated[
        list[Path] | None, output_option("picks in order, with the reason for each")
    ] = None,
    quiet: Annotated[bool, typer.Option("--quiet", "-q", help="No tables on the console.")] = False,
    allow_outside_tables: AllowOutsideTables = False,
) -> None:
    """What to deliver next: the offers (more systems, spares, consumables) that buy the
    most mission-capable system-days within a budget, in the order to take them."""
    # Imported here, not at the top: NumPy and SciPy slow the start of other commands.
    from sustain.deliver import Measure, choose
    from sustain.report.documents import json_text
    from sustain.report.next import next_csv, next_report, print_next
    from sustain.stockpile import PlanInfeasible

    try:
        check_number("--budget", budget, low=0, what="an amount of money")
        check_whole("--days", days, low=1, high=MAX_DAYS)
        check_whole("--step", step, low=1)
        outputs = output_files(output)
        check_outputs(outputs)
        check_not_inputs(outputs, inputs_of(scenario))
        sc = load(scenario, allow_outside_tables)
        check_not_inputs(outputs, inputs_of(scenario, sc))
        note_no_laterals(sc, "sustain next (the over-time model)")
        if not sc.offers:
            raise SustainError(f"{scenario}: the scenario has no offers (see docs/next.md)")
        plan = choose(Measure(sc, days=days, step=step), budget=budget)
        doc = plan.to_dict()
        text = json_text(doc) if json_out else ""
        write_outputs(report_files(
            outputs, lambda: next_report(sc.name or str(scenario), sc.source, plan, sc.currency),
            lambda: json_text(doc), csv=lambda: next_csv(plan)))
    except PlanInfeasible as exc:
        raise fail(exc, 3) from None
    except SustainError as exc:
        raise fail(exc) from None
    if json_out:
        sys.stdout.write(text)
        return
    if not quiet:
        print_next(out, sc.name or str(scenario), plan, sc.currency)
        wrote(outputs)
