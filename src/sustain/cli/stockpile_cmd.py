"""``sustain stockpile``: donors' stocks, production and the partner's consumption by month.

Thin: parse options, call :func:`sustain.stockpile.plan_stockpile`, render.  Exit codes:
0 ok, 2 a malformed scenario or usage error, or the solver stopped without an answer
(numerical trouble names the inputs behind it), 3 no plan is possible (a donor's
pledges exceed all it can have).
"""

from __future__ import annotations

import sys
from pathlib import Path
from typing import Annotated

import typer

from sustain.cli.common import (
    MAX_WORKERS,
    AllowOutsideTables,
    check_whole,
    command,
    fail,
    inputs_of,
    load,
    out,
    output_option,
    report_files,
    wrote,
)
from sustain.errors import ScenarioError, Severity, SustainError
from sustain.report.files import (
    PLOT_SUFFIXES,
    Output,
    check_not_inputs,
    check_outputs,
    write_outputs,
)
from sustain.report.outputs import output_files


def _fail(message: str, code: int) -> typer.Exit:
    sys.stderr.write(message + "\n")
    sys.stderr.flush()
    return typer.Exit(code)


@command
def stockpile(
    scenario: Annotated[Path, typer.Argument(help="Scenario file with a stockpile section.")],
    json_out: Annotated[
        bool, typer.Option("--json", help="Print the JSON document to stdout.")
    ] = False,
    plot: Annotated[
        Path | None,
        typer.Option("--plot", help="Draw stocks, demand and shortfall: .png, .svg or .pdf."),
    ] = None,
    usage_from_fleets: Annotated[
        bool,
        typer.Option(
            "--usage-from-fleets",
            help="Demand from usage rows: systems up (fleet count × availability from the "
            "readiness engine) × rate × days × tempo, even where demand rows exist.",
        ),
    ] = False,
    availability: Annotated[
        bool,
        typer.Option(
            "--availability/--no-availability",
            help="With --usage-from-fleets: scale each fleet by its availability.",
        ),
    ] = True,
    monthly: Annotated[
        bool, typer.Option("--monthly/--no-monthly", help="Month-by-month table per consumable.")
    ] = True,
    top: Annotated[
        int, typer.Option(help="Donors and consumables to list by capacity value (>= 1).")
    ] = 10,
    workers: Annotated[
        int | None, typer.Option(help="Processes solving consumables side by side.")
    ] = None,
    output: Annotated[
        list[Path] | None, output_option("month-by-month plan of every consumable")
    ] = None,
    quiet: Annotated[bool, typer.Option("--quiet", "-q", help="No tables on the console.")] = False,
    allow_outside_tables: AllowOutsideTables = False,
) -> None:
    """Can donors' stocks plus production meet the partner's consumption, month by month,
    without any donor falling below its floor?  Where are the shortfalls, and which extra
    production would close them?"""
    # Imported here, not at the top: SciPy's LP solver slows the start of other commands.
    from sustain.report.builders import MAIN_TABLE, stockpile_report
    from sustain.report.documents import json_text
    from sustain.report.plots import pyplot, save_stockpile_plot
    from sustain.report.run_documents import no_stockpile_message, stockpile_document
    from sustain.report.tables import print_stockpile
    from sustain.stockpile import PlanInfeasible, plan_stockpile

    if plot is not None and plot.suffix.lower() not in PLOT_SUFFIXES:
        raise _fail(f"error: --plot {plot}: use a .png, .svg or .pdf file", 2)
    try:
        outputs = output_files(output)
        if plot is not None:
            outputs.append(Output("--plot", plot))
        check_whole("--top", top, low=1)
        if workers is not None:
            check_whole("--workers", workers, low=1, high=MAX_WORKERS)
        if plot is not None:
            pyplot("--plot")
        check_outputs(outputs)
        check_not_inputs(outputs, inputs_of(scenario))
        sc = load(scenario, allow_outside_tables)
        check_not_inputs(outputs, inputs_of(scenario, sc))
    except SustainError as exc:
        raise fail(exc) from None
    if sc.stockpile is None:
        raise _fail(no_stockpile_message(str(scenario)), 2)
    for issue in sc.stockpile.warnings:
        if issue.severity is Severity.WARNING:
            sys.stderr.write(f"{issue}\n")
    try:
        result = plan_stockpile(sc, usage_from_fleets=usage_from_fleets,
                                availability=availability, workers=workers)
    except PlanInfeasible as exc:
        raise _fail(f"{scenario}: {exc}", 3) from None
    except SustainError as exc:
        raise _fail(str(exc) if isinstance(exc, ScenarioError) else f"error: {exc}", 2) from None
    doc = stockpile_document(result)
    try:
        text = json_text(doc) if json_out else ""
        files = report_files([o for o in outputs if o.option == "--output"],
                             lambda: stockpile_report(sc, doc, top=top), lambda: json_text(doc),
                             main=MAIN_TABLE["stockpile"])
        if plot is not None:
            suffix = plot.suffix.lower()[1:]
            files.append((outputs[-1], lambda path: save_stockpile_plot(result, path, suffix)))
        write_outputs(files)
    except SustainError as exc:
        raise fail(exc) from None
    if json_out:
        sys.stdout.write(text)
        return
    if not quiet:
        print_stockpile(out, sc.name or str(scenario), doc, top=top, monthly=monthly,
                        currency=sc.currency)
    if not quiet:
        wrote(outputs)
