"""``sustain sweep``: how readiness and cost move when the scenario's inputs are wrong."""

from __future__ import annotations

import sys
from enum import StrEnum
from pathlib import Path
from typing import Annotated

import typer
from rich.progress import BarColumn, MofNCompleteColumn, Progress, TimeElapsedColumn

from sustain.cli.common import (
    MAX_WORKERS,
    AllowOutsideTables,
    OptionError,
    StockModeChoice,
    StockModeOption,
    check_dask_address,
    check_number,
    check_whole,
    command,
    err,
    fail,
    load_for_outputs,
    out,
    output_option,
    parse_targets,
    report_files,
    wrote,
)
from sustain.errors import SustainError
from sustain.report.files import PLOT_SUFFIXES, Output, write_outputs
from sustain.report.outputs import output_files


class MeasureChoice(StrEnum):
    """``--measure`` values (:class:`sustain.sweep.Measure`, kept here so that ``--help``
    does not load the engines)."""

    AVAILABILITY = "availability"
    COST = "cost"


class SweepMethod(StrEnum):
    """Pipeline models a sweep can use."""

    VARI_METRIC = "vari-metric"
    METRIC = "metric"


@command
def sweep(
    scenario: Annotated[Path, typer.Argument(help="Scenario file (YAML or JSON).")],
    vary: Annotated[
        list[str] | None,
        typer.Option("--vary", help="A factor and its low and high multipliers, NAME=LOW:HIGH "
                     "(mtbf, repair_days, order_ship_days, tempo), e.g. mtbf=0.8:1.2; repeat "
                     "for several."),
    ] = None,
    select: Annotated[
        list[str] | None,
        typer.Option("--select", help="What the factors apply to: items=ID,…, systems=ID,… "
                     "or sites=ID,… (default: everything)."),
    ] = None,
    measure: Annotated[
        MeasureChoice,
        typer.Option("--measure", help="availability (for the stock held) or cost (of the "
                     "purchases that reach --target)."),
    ] = MeasureChoice.AVAILABILITY,
    target: Annotated[
        list[str] | None,
        typer.Option("--target", "-t", help="Target for the cost: 0.9 (every fleet), "
                     "SYSTEM=0.95 or SYSTEM@SITE=0.9; repeat for several."),
    ] = None,
    method: Annotated[
        SweepMethod, typer.Option("--method", "-m", help="Pipeline model.")
    ] = SweepMethod.VARI_METRIC,
    refine_seconds: Annotated[
        float,
        typer.Option("--refine-seconds", help="With --measure cost: processor seconds per "
                     "plan for optimize's extra searches (default 0: the greedy alone, "
                     "which gives the same plan on any machine)."),
    ] = 0.0,
    workers: Annotated[int, typer.Option("--workers", help="Worker processes.")] = 1,
    dask: Annotated[
        str | None, typer.Option("--dask", help="Dask scheduler address (tcp://host:8786).")
    ] = None,
    json_out: Annotated[
        bool, typer.Option("--json", help="Print the JSON document to stdout.")
    ] = False,
    plot: Annotated[
        Path | None, typer.Option("--plot", help="Write the tornado plot (.png/.svg/.pdf).")
    ] = None,
    stock: Annotated[
        Path | None,
        typer.Option("--stock", help="Stock plan CSV (item,site,qty), e.g. from `sustain "
                     "optimize -o plan.csv`; see --stock-mode."),
    ] = None,
    stock_mode: StockModeOption = StockModeChoice.OVERLAY,
    output: Annotated[
        list[Path] | None, output_option("the results table")
    ] = None,
    quiet: Annotated[
        bool, typer.Option("--quiet", "-q", help="No progress bar, no table.")
    ] = False,
    allow_outside_tables: AllowOutsideTables = False,
) -> None:
    """Sensitivity: each factor at its low and its high multiplier, one at a time."""
    # Imported here, not at the top: NumPy and the engines slow the start of --help.
    from sustain.report.documents import json_text
    from sustain.report.plots import pyplot
    from sustain.report.sweep import (
        SENSITIVITY_TABLE,
        print_sensitivity,
        save_tornado_plot,
        sensitivity_report,
    )
    from sustain.sweep import parse_factor, sensitivity
    from sustain.sweep.factors import check_selection, parse_selection

    outputs: list[Output] = []
    try:
        check_whole("--workers", workers, low=1, high=MAX_WORKERS)
        check_number("--refine-seconds", refine_seconds, low=0)
        dask = check_dask_address("--dask", dask)
        factors = [parse_factor(v) for v in vary or []]
        if not factors:
            raise OptionError("give at least one factor: --vary mtbf=0.8:1.2 (factors: "
                              "mtbf, repair_days, order_ship_days, tempo)")
        targets = parse_targets(target or [])
        if measure is MeasureChoice.COST and targets is None:
            raise OptionError("--measure cost needs --target (such as --target 0.9)")
        outputs += output_files(output)
        if plot is not None:
            if plot.suffix.lower() not in PLOT_SUFFIXES:
                raise OptionError(
                    f"--plot {plot}: unknown plot type {plot.suffix!r} (use .png, .svg or .pdf)"
                )
            pyplot("--plot")
            outputs.append(Output("--plot", plot))
        sc, _ = load_for_outputs(scenario, outputs, allow_outside_tables, stock=stock,
                                 stock_mode=stock_mode, quiet=quiet)
        selection = parse_selection(select or [], sc)
        check_selection(factors, selection)
        bar = Progress("sweeping", BarColumn(), MofNCompleteColumn(), TimeElapsedColumn(),
                       console=err, transient=True, disable=quiet)
        task = bar.add_task("sweeping", total=1 + 2 * len(factors))
        with bar:
            res = sensitivity(
                sc, factors, select=selection, measure=measure.value, target=targets,
                method=method.value, refine_seconds=refine_seconds, workers=workers,
                dask_address=dask,
                progress=lambda done, total: bar.update(task, completed=done),
            )
        doc = res.to_dict()
        title = sc.name or str(scenario)
        text = json_text(doc) if json_out else ""
        files = report_files([o for o in outputs if o.option == "--output"],
                             lambda: sensitivity_report(title, str(scenario), res, sc.currency),
                             lambda: json_text(doc), main=SENSITIVITY_TABLE)
        if plot is not None:
            suffix = plot.suffix.lower()[1:]
            files.append((outputs[-1], lambda path: save_tornado_plot(
                res, path, suffix, currency=sc.currency)))
        write_outputs(files)
    except SustainError as exc:
        raise fail(exc) from None
    if json_out:
        sys.stdout.write(text)
        return
    if not quiet:
        print_sensitivity(out, title, res, sc.currency)
        wrote(outputs)
