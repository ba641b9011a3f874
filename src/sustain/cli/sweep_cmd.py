"""``sustain sweep``: how readiness and cost move when the scenario's inputs are wrong."""

from __future__ import annotations

import sys
from enum import StrEnum
from pathlib import Path
from typing import TYPE_CHECKING, Annotated

import typer
from rich.progress import BarColumn, MofNCompleteColumn, Progress, TimeElapsedColumn

from sustain.cli.common import (
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

if TYPE_CHECKING:
    from sustain.sweep import Sensitivity

#: Most samples ``--samples`` may ask for (:data:`sustain.sweep.sample.MAX_SAMPLES`).
MAX_SAMPLES = 1_000_000
#: Fewest samples ``--importance`` works with (:data:`sustain.sweep.importance.MIN_SAMPLES`).
MIN_IMPORTANCE_SAMPLES = 2


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
    samples: Annotated[
        int | None,
        typer.Option("--samples", help="Instead of --vary: draw this many scenarios from the "
                     "scenario's uncertainty: section (Latin hypercube) and report the "
                     "distribution of the measure."),
    ] = None,
    seed: Annotated[
        int, typer.Option("--seed", help="With --samples: seed of the draws (0 is a seed).")
    ] = 7,
    importance: Annotated[
        bool,
        typer.Option("--importance", help="With --samples N: also the Sobol' indices of "
                     "the random inputs (first-order and total, with 95 % intervals), "
                     "from N × (inputs + 1) more scenarios."),
    ] = False,
    measure: Annotated[
        MeasureChoice,
        typer.Option("--measure", help="availability (for the stock held) or cost (of the "
                     "purchases that reach --target)."),
    ] = MeasureChoice.AVAILABILITY,
    target: Annotated[
        list[str] | None,
        typer.Option("--target", "-t", help="Target: 0.9 (every fleet), SYSTEM=0.95 or "
                     "SYSTEM@SITE=0.9; repeat for several. The cost measure needs one; "
                     "with --samples it gives the probability of meeting it."),
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
    workers: Workers = 1,
    dask: DaskAddress = None,
    json_out: Annotated[
        bool, typer.Option("--json", help="Print the JSON document to stdout.")
    ] = False,
    plot: Annotated[
        Path | None, typer.Option("--plot", help="Write the tornado plot (.png/.svg/.pdf).")
    ] = None,
    stock: StockPlan = None,
    stock_mode: StockModeOption = StockModeChoice.OVERLAY,
    output: Annotated[
        list[Path] | None, output_option("the results table")
    ] = None,
    quiet: Annotated[
        bool, typer.Option("--quiet", "-q", help="No progress bar, no table.")
    ] = False,
    allow_outside_tables: AllowOutsideTables = False,
) -> None:
    """What if the inputs are wrong: each factor at its low and its high multiplier, one
    at a time (--vary), or scenarios drawn from the uncertainty: section (--samples)."""
    # Imported here, not at the top: NumPy and the engines slow the start of --help.
    from sustain.report.documents import json_text
    from sustain.report.plots import pyplot
    from sustain.report.sweep import (
        PROPAGATION_TABLE,
        SENSITIVITY_TABLE,
        print_propagation,
        print_sensitivity,
        propagation_report,
        save_quantile_plot,
        save_tornado_plot,
        sensitivity_report,
    )
    from sustain.sweep import Propagation, parse_factor, propagate, sensitivity
    from sustain.sweep.factors import check_selection, parse_selection

    outputs: list[Output] = []
    try:
        check_whole("--workers", workers, low=1, high=MAX_WORKERS)
        check_number("--refine-seconds", refine_seconds, low=0)
        dask = check_dask_address("--dask", dask)
        factors = [parse_factor(v) for v in vary or []]
        if samples is not None:
            check_whole("--samples", samples, low=1, high=MAX_SAMPLES)
            check_whole("--seed", seed, low=0, high=MAX_SEED)
            if factors or select:
                raise OptionError("--samples draws from the uncertainty: section; "
                                  "--vary and --select are for a one-at-a-time sweep")
            if importance and samples < MIN_IMPORTANCE_SAMPLES:
                raise OptionError(f"--importance needs --samples {MIN_IMPORTANCE_SAMPLES} "
                                  f"or more: got {samples}")
        elif importance:
            raise OptionError("--importance needs --samples N (the importance of the "
                              "uncertainty: section's inputs)")
        elif not factors:
            raise OptionError("give at least one factor: --vary mtbf=0.8:1.2 (factors: "
                              "mtbf, repair_days, order_ship_days, tempo), or --samples N")
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
        task = bar.add_task("sweeping", total=1 + (samples or 2 * len(factors)))
        def moved(done: int, total: int) -> None:
            bar.update(task, completed=done, total=total)

        with bar:
            res: Sensitivity | Propagation
            if samples is not None:
                res = propagate(sc, samples=samples, seed=seed, measure=measure.value,
                                target=targets, method=method.value,
                                refine_seconds=refine_seconds, workers=workers,
                                dask_address=dask, progress=moved, importance=importance)
            else:
                res = sensitivity(sc, factors, select=selection, measure=measure.value,
                                  target=targets, method=method.value,
                                  refine_seconds=refine_seconds, workers=workers,
                                  dask_address=dask, progress=moved)
        doc = res.to_dict()
        title = sc.name or str(scenario)
        text = json_text(doc) if json_out else ""
        reports = [o for o in outputs if o.option == "--output"]
        if isinstance(res, Propagation):
            drawn = res
            files = report_files(
                reports, lambda: propagation_report(title, str(scenario), drawn, sc.currency),
                lambda: json_text(doc), main=PROPAGATION_TABLE)

            def draw_plot(path: Path, suffix: str) -> None:
                save_quantile_plot(drawn, path, suffix)
        else:
            swept = res
            files = report_files(
                reports, lambda: sensitivity_report(title, str(scenario), swept, sc.currency),
                lambda: json_text(doc), main=SENSITIVITY_TABLE)

            def draw_plot(path: Path, suffix: str) -> None:
                save_tornado_plot(swept, path, suffix, currency=sc.currency)
        if plot is not None:
            suffix = plot.suffix.lower()[1:]
            files.append((outputs[-1], lambda path: draw_plot(path, suffix)))
        write_outputs(files)
    except SustainError as exc:
        raise fail(exc) from None
    if json_out:
        sys.stdout.write(text)
        return
    if not quiet:
        if isinstance(res, Propagation):
            print_propagation(out, res, sc.currency)
        else:
            print_sensitivity(out, title, res, sc.currency)
        wrote(outputs)
