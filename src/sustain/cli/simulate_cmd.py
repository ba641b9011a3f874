"""``sustain simulate``: the discrete-event simulator from the command line."""

from __future__ import annotations

import sys
from pathlib import Path
from typing import TYPE_CHECKING, Annotated

import typer
from rich.progress import BarColumn, MofNCompleteColumn, Progress, TimeElapsedColumn

import sustain
from sustain.cli.common import (
    MAX_DAYS,
    MAX_REPLICATIONS,
    MAX_SEED,
    MAX_WORKERS,
    AllowOutsideTables,
    DaskAddress,
    OptionError,
    StockModeChoice,
    StockModeOption,
    StockPlan,
    Workers,
    check_dask_address,
    check_whole,
    command,
    err,
    fail,
    load_for_outputs,
    out,
    output_option,
    report_files,
    wrote,
)
from sustain.errors import SustainError
from sustain.report.outputs import output_files

if TYPE_CHECKING:
    pass
from sustain.report.files import (
    PLOT_SUFFIXES,
    Output,
    write_outputs,
)


@command
def simulate(
    scenario: Annotated[Path, typer.Argument(help="Scenario file (YAML or JSON).")],
    days: Annotated[
        float, typer.Option("--days", help=f"Days per replication (at most {MAX_DAYS:,}).")
    ] = 730,
    reps: Annotated[
        int, typer.Option("--reps", help=f"Replications (1 to {MAX_REPLICATIONS:,}).")
    ] = 200,
    seed: Annotated[int, typer.Option("--seed", help="Seed (0 is a seed).")] = 7,
    warmup: Annotated[
        float | None,
        typer.Option(
            "--warmup",
            help="Days left out of the statistics (default: simulation.warmup_days, else 0).",
        ),
    ] = None,
    json_out: Annotated[
        bool, typer.Option("--json", help="Print the JSON document to stdout.")
    ] = False,
    workers: Workers = 1,
    dask: DaskAddress = None,
    plot: Annotated[
        Path | None, typer.Option("--plot", help="Write the availability over time (.png/.svg).")
    ] = None,
    stock: StockPlan = None,
    stock_mode: StockModeOption = StockModeChoice.OVERLAY,
    compare: Annotated[
        bool, typer.Option("--compare", help="Add the analytic (METRIC family) availability.")
    ] = False,
    failures_while_down: Annotated[
        bool,
        typer.Option(
            "--failures-while-down", help="Down systems keep failing (analytic assumption)."
        ),
    ] = False,
    cannibalisation: Annotated[
        bool | None,
        typer.Option(
            "--cannibalisation/--no-cannibalisation",
            help="A system down for a part may take it from another down system at the site "
            "(default: simulation.cannibalisation, else off).",
        ),
    ] = None,
    exponential: Annotated[
        bool, typer.Option("--exponential", help="Exponential repair/ship times (default fixed).")
    ] = False,
    output: Annotated[
        list[Path] | None, output_option("one row per fleet")
    ] = None,
    quiet: Annotated[
        bool, typer.Option("--quiet", "-q", help="No progress bar, no table.")
    ] = False,
    allow_outside_tables: AllowOutsideTables = False,
) -> None:
    """Simulate the support system over time (Monte Carlo with confidence intervals)."""
    # Imported here, not at the top: NumPy and pydantic slow the start of --help.
    from sustain.report.builders import MAIN_TABLE, simulation_report
    from sustain.report.documents import json_text
    from sustain.report.plots import pyplot, save_availability_plot
    from sustain.report.run_documents import simulation_document
    from sustain.report.shops import gap_notes, print_repair_shops, shop_warnings
    from sustain.report.tables import print_simulation

    outputs: list[Output] = []
    try:
        check_options(days, reps, seed, warmup, workers)
        dask = check_dask_address("--dask", dask)
        outputs += output_files(output)
        if plot is not None:
            if plot.suffix.lower() not in PLOT_SUFFIXES:
                raise OptionError(
                    f"--plot {plot}: unknown plot type {plot.suffix!r} (use .png, .svg or .pdf)"
                )
            pyplot("--plot")
            outputs.append(Output("--plot", plot))
        sc, change = load_for_outputs(scenario, outputs, allow_outside_tables, stock=stock,
                                      stock_mode=stock_mode, quiet=quiet)
        bar = Progress(
            "simulating", BarColumn(), MofNCompleteColumn(), TimeElapsedColumn(),
            console=err, transient=True, disable=quiet,
        )
        task = bar.add_task("simulating", total=reps)
        with bar:
            res = sustain.simulate(
                sc, days=days, replications=reps, seed=seed, warmup_days=warmup,
                failures_while_down=failures_while_down, cannibalisation=cannibalisation,
                delays="exponential" if exponential else "deterministic",
                workers=workers, dask_address=dask, compare=compare,
                progress=lambda done, total: bar.update(task, completed=done),
            )
        doc = simulation_document(res, change)
        cannibal = (sc.simulation.cannibalisation if cannibalisation is None
                    else cannibalisation)
        text = json_text(doc) if json_out else ""
        files = report_files([o for o in outputs if o.option == "--output"],
                             lambda: simulation_report(sc, doc, cannibalisation=cannibal),
                             lambda: json_text(doc),
                             main=MAIN_TABLE["simulate"])
        if plot is not None:
            suffix = plot.suffix.lower()[1:]
            files.append((outputs[-1], lambda path: save_availability_plot(res, path, suffix)))
        write_outputs(files)
    except SustainError as exc:
        raise fail(exc) from None
    shops = doc.get("repair_shops", [])
    notes = gap_notes(doc, sc, cannibalisation=cannibal)
    for line in shop_warnings(shops) + [f"note: {n}" for n in notes]:
        sys.stderr.write(line + "\n")
    if json_out:
        sys.stdout.write(text)
        return
    if not quiet:
        print_simulation(out, sc.name or str(scenario), doc)
        if shops:
            print_repair_shops(out, shops)
        wrote(outputs)


def check_options(
    days: float, reps: int, seed: int, warmup: float | None, workers: int
) -> None:
    """The numbers given on the command line (or to the web API), before any work."""
    if not 0 < days <= MAX_DAYS:  # also NaN
        raise OptionError(f"--days {days:g}: days must be a positive number "
                          f"of at most {MAX_DAYS:,}")
    if not 1 <= reps <= MAX_REPLICATIONS:
        raise OptionError(f"--reps {reps}: replications must be a whole number >= 1 "
                          f"and at most {MAX_REPLICATIONS:,}")
    check_whole("--seed", seed, low=0, high=MAX_SEED)
    check_whole("--workers", workers, low=1, high=MAX_WORKERS)
    if warmup is not None and not 0 <= warmup < days:  # also NaN
        raise OptionError(f"--warmup {warmup:g}: warmup_days must be >= 0 and less than "
                          f"days ({days:g})")
