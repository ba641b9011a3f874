"""``sustain`` command line: thin wrappers over the public API.

Each command checks its options and output files, loads the scenario, calls the
library and renders the result through :mod:`sustain.report`.  Diagnostics go to
stderr; ``--json`` writes one document to stdout.  Exit codes are listed in
:mod:`sustain.cli.common`.
"""

from __future__ import annotations

import math
import os
import sys
from enum import StrEnum
from pathlib import Path
from typing import TYPE_CHECKING, Annotated, Any

import typer
from rich.progress import (
    BarColumn,
    MofNCompleteColumn,
    Progress,
    SpinnerColumn,
    TextColumn,
    TimeElapsedColumn,
)

import sustain
from sustain.cli.common import (
    EXACT_NOT_FOR_OPTIMIZE,
    HELP_FILE_WIDTH,
    MAX_DAYS,
    MAX_REPLICATIONS,
    MAX_SEED,
    MAX_WORKERS,
    AllowOutsideTables,
    Exponential,
    HolesOption,
    OptionError,
    OverTimeDays,
    OverTimeStep,
    StockModeChoice,
    StockModeOption,
    check_dask_address,
    check_number,
    check_optimize_options,
    check_whole,
    command,
    err,
    fail,
    inputs_of,
    install_interrupt_handlers,
    load,
    load_for_outputs,
    note_no_laterals,
    out,
    output_option,
    parse_service,
    parse_targets,
    report_files,
    with_holes,
    with_stock_plan,
    wrote,
)
from sustain.cli.next_cmd import next_
from sustain.cli.oryx_cmd import oryx
from sustain.cli.robust_cmd import (
    CheckSamples,
    Confidence,
    RobustSamples,
    RobustSeed,
    optimize_robust,
    refuse_robust_options,
)
from sustain.cli.serve_cmd import serve
from sustain.cli.simulate_cmd import simulate
from sustain.cli.stockpile_cmd import stockpile
from sustain.cli.sweep_cmd import sweep
from sustain.errors import SustainError
from sustain.report.files import (
    PLOT_SUFFIXES,
    Input,
    Output,
    Render,
    check_not_inputs,
    check_outputs,
    text_file,
    write_outputs,
)
from sustain.report.outputs import output_files

if TYPE_CHECKING:
    from sustain._types import FloatArray
    from sustain.readiness.over_time import OverTime

#: Replications of ``evaluate --over-time --compare`` unless --replications says.
COMPARE_REPLICATIONS = 100

app = typer.Typer(
    add_completion=False,
    no_args_is_help=True,
    pretty_exceptions_enable=False,
    help="Sustain: keep delivered systems operational (readiness, sparing, simulation).",
)


class MethodChoice(StrEnum):
    """Evaluation methods offered on the command line."""

    VARI_METRIC = "vari-metric"
    METRIC = "metric"
    EXACT = "exact"


class SearchChoice(StrEnum):
    """The searches of ``optimize --search`` (``sustain.optimize.scale``)."""

    AUTO = "auto"
    GREEDY = "greedy"
    LAGRANGE = "lagrange"


@app.callback()
def _root() -> None:
    """Sustain: keep delivered systems operational."""


@app.command()
@command
def evaluate(
    scenario: Annotated[Path, typer.Argument(help="Scenario file (YAML or JSON).")],
    json_out: Annotated[
        bool, typer.Option("--json", help="Print the JSON document to stdout.")
    ] = False,
    method: Annotated[
        MethodChoice, typer.Option("--method", "-m", help="Pipeline model.")
    ] = MethodChoice.VARI_METRIC,
    output: Annotated[
        list[Path] | None, output_option("one row per fleet (--over-time: one row per "
                                         "fleet and reported day)")
    ] = None,
    top: Annotated[int, typer.Option(help="Items to list by backorders (>= 1).")] = 15,
    quiet: Annotated[bool, typer.Option("--quiet", "-q", help="No tables on the console.")] = False,
    allow_outside_tables: AllowOutsideTables = False,
    stock: Annotated[
        list[Path] | None,
        typer.Option(
            "--stock",
            help="Stock plan CSV (item,site,qty), e.g. from `sustain optimize -o plan.csv`: "
            "evaluated beside the stock held; repeat to compare plans side by side.",
        ),
    ] = None,
    stock_mode: StockModeOption = StockModeChoice.OVERLAY,
    over_time: Annotated[
        bool, typer.Option("--over-time", help="Readiness at days 0, K, 2K, … D through "
                           "the scenario's deliveries, tempo, attrition and battle damage.")
    ] = False,
    days: OverTimeDays = None,
    step: OverTimeStep = None,
    exponential: Exponential = False,
    plot: Annotated[
        Path | None, typer.Option("--plot", help="With --over-time: plot availability over "
                                  "time (.png, .svg or .pdf).")
    ] = None,
    target: Annotated[
        list[str] | None,
        typer.Option("--target", "-t", help="With --plot: target line(s): 0.9 (every fleet), "
                     "SYSTEM=0.95, SYSTEM@SITE=0.9; repeat for several."),
    ] = None,
    compare: Annotated[
        bool, typer.Option("--compare", help="With --over-time: the simulator's 95 % band "
                           "for the same scenario under the analytic assumptions.")
    ] = False,
    replications: Annotated[
        int | None, typer.Option("--replications", help="With --compare: replications "
                                 f"(default {COMPARE_REPLICATIONS}).")
    ] = None,
    seed: Annotated[
        int | None, typer.Option("--seed", help="With --compare: seed (default 7; 0 is a seed).")
    ] = None,
    measures: Annotated[
        bool, typer.Option("--measures", help="Also print each fleet's and site's fill rate "
                           "and mean wait for a spare (days); the JSON always has them.")
    ] = False,
    holes: HolesOption = None,
) -> None:
    """Readiness of every fleet at every site with the stock held now (and with plans)."""
    # Imported here, not at the top: NumPy and SciPy slow the start of --help.
    from sustain.report.builders import MAIN_TABLE, evaluation_report, over_time_report
    from sustain.report.documents import json_text
    from sustain.report.idle import idle_warnings
    from sustain.report.run_documents import evaluation_document
    from sustain.report.shops import print_repair_shops, shop_warnings
    from sustain.report.tables import print_evaluation, print_over_time, print_plans

    plans = stock or []
    try:
        outputs = output_files(output)
        check_whole("--top", top, low=1)
        if measures and (over_time or plans):
            raise OptionError("--measures is for the stock held alone (not with --over-time "
                              "or --stock); the JSON documents carry the measures")
        if over_time:
            if method is MethodChoice.EXACT:
                raise OptionError("--over-time uses --method vari-metric or metric, not exact")
            horizon = check_whole("--days", 365 if days is None else days, low=1, high=MAX_DAYS)
            every = check_whole("--step", 7 if step is None else step, low=1)
            if len(plans) > 1:
                raise OptionError("--over-time takes one --stock plan at most")
            targets = _check_picture(plot, target, compare, replications, seed)
            if plot is not None:
                outputs.append(Output("--plot", plot))
        else:
            for name, given in (("--exponential", exponential), ("--days", days is not None),
                                ("--step", step is not None), ("--plot", plot is not None),
                                ("--compare", compare)):
                if given:
                    raise OptionError(f"{name} needs --over-time")
            _check_picture(plot, target, compare, replications, seed)
        check_outputs(outputs)
        inputs = inputs_of(scenario) + [Input(p, "a stock plan") for p in plans]
        check_not_inputs(outputs, inputs)
        sc = with_holes(load(scenario, allow_outside_tables), holes)
        check_not_inputs(outputs, inputs_of(scenario, sc))
        variants = [with_stock_plan(sc, p, stock_mode, quiet=quiet) for p in plans]
        if over_time:
            held = variants[0][0] if variants else sc
            note_no_laterals(held, "evaluate --over-time")
            ot = sustain.evaluate_over_time(held, days=horizon, step=every,
                                            method=method.value, exponential=exponential)
            goals = _fleet_targets(ot, targets)
            doc_ot = ot.to_dict()
            if compare:
                doc_ot["simulated"] = _compare_over_time(
                    held, ot, COMPARE_REPLICATIONS if replications is None else replications,
                    7 if seed is None else seed, quiet)
            text = json_text(doc_ot) if json_out else ""
            reports = [o for o in outputs if o.option == "--output"]
            picture = None if plot is None or not reports else Path(
                os.path.relpath(plot.absolute(), reports[0].path.absolute().parent)).as_posix()
            files = report_files(reports, lambda: over_time_report(sc, doc_ot, picture),
                                 lambda: json_text(doc_ot), main=MAIN_TABLE["over-time"])
            if plot is not None:
                files.append((outputs[-1], _over_time_plot(doc_ot, held, plot, goals)))
            write_outputs(files)
            if json_out:
                sys.stdout.write(text)
                return
            if not quiet:
                print_over_time(out, sc.name or str(scenario), doc_ot)
                wrote(outputs)
            return
        ev = sustain.evaluate(sc, method=method.value)
        doc: dict[str, Any] = evaluation_document(
            ev, plans=[(change, sustain.evaluate(v, method=method.value))
                       for v, change in variants])
        comparison = doc.get("approximation")
        text = json_text(doc) if json_out else ""
        # With plans, a .csv holds them side by side (the stock held's column first).
        main = "plans" if variants else MAIN_TABLE["evaluate"]
        write_outputs(report_files(outputs, lambda: evaluation_report(sc, doc, top=top),
                                   lambda: json_text(doc), main=main, doc=lambda: doc))
    except SustainError as exc:
        raise fail(exc) from None
    shops = doc.get("repair_shops", [])
    for line in shop_warnings(shops) + idle_warnings(doc.get("idle_stock", []), sc.currency):
        sys.stderr.write(line + "\n")
    if json_out:
        sys.stdout.write(text)
        return
    if not quiet:
        if variants:
            print_plans(out, sc.name or str(scenario), doc, sc.currency)
        else:
            print_evaluation(out, sc.name or str(scenario), doc, top, comparison,
                             sc.currency, measures=measures)
        if shops:
            print_repair_shops(out, shops)
        wrote(outputs)


def _check_picture(
    plot: Path | None, target: list[str] | None, compare: bool, replications: int | None,
    seed: int | None,
) -> float | dict[str, float] | None:
    """The options of ``evaluate --over-time`` that draw or compare, before any work."""
    if plot is not None:
        from sustain.report.plots import pyplot

        if plot.suffix.lower() not in PLOT_SUFFIXES:
            raise OptionError(
                f"--plot {plot}: unknown plot type {plot.suffix!r} (use .png, .svg or .pdf)")
        pyplot("--plot")
    elif target:
        raise OptionError("--target needs --plot (it draws the target line)")
    for name, given in (("--replications", replications), ("--seed", seed)):
        if given is not None and not compare:
            raise OptionError(f"{name} needs --compare")
    if replications is not None:
        check_whole("--replications", replications, low=2, high=MAX_REPLICATIONS)
    if seed is not None:
        check_whole("--seed", seed, low=0, high=MAX_SEED)
    return parse_targets(target or [])


def _fleet_targets(ot: OverTime, targets: float | dict[str, float] | None) -> FloatArray:
    """Per fleet of ``ot``: its target (NaN: none)."""
    # Imported here, not at the top: the optimiser's modules slow the start of evaluate.
    from sustain.optimize.api import fleet_targets

    return fleet_targets(ot.arrays, targets)


def _compare_over_time(
    scenario: sustain.Scenario, ot: OverTime, replications: int, seed: int, quiet: bool
) -> dict[str, Any]:
    """The simulator's band for ``evaluate --over-time --compare``, with a progress bar."""
    from sustain.crosscheck import over_time_comparison

    bar = Progress("simulating", BarColumn(), MofNCompleteColumn(), TimeElapsedColumn(),
                   console=err, transient=True, disable=quiet)
    task = bar.add_task("simulating", total=replications)
    with bar:
        return over_time_comparison(
            scenario, ot, replications=replications, seed=seed,
            progress=lambda done, total: bar.update(task, completed=done))


def _over_time_plot(doc: dict[str, Any], scenario: sustain.Scenario, plot: Path,
                    goals: FloatArray) -> Render:
    from sustain.report.plots import save_over_time_plot

    def render(path: Path) -> None:
        save_over_time_plot(doc, scenario, path, plot.suffix.lower()[1:], targets=goals)

    return render


#: File types of ``optimize --curve``.
CURVE_SUFFIXES = (".csv", ".json", *PLOT_SUFFIXES)


def _check_suffix(option: str, path: Path, allowed: tuple[str, ...]) -> str:
    suffix = path.suffix.lower()
    if suffix not in allowed:
        raise OptionError(
            f"{option} {path}: unknown output type {path.suffix!r} "
            f"(use {', '.join(allowed[:-1])} or {allowed[-1]})"
        )
    return suffix


@app.command()
@command
def optimize(
    scenario: Annotated[Path, typer.Argument(help="Scenario file (YAML or JSON).")],
    target: Annotated[
        list[str] | None,
        typer.Option(
            "--target", "-t",
            help="Availability target: 0.9 (every fleet), SYSTEM=0.95, SYSTEM@SITE=0.9; "
            "repeat for several.",
        ),
    ] = None,
    budget: Annotated[
        float | None, typer.Option("--budget", "-b", help="Money for purchases.")
    ] = None,
    method: Annotated[
        MethodChoice, typer.Option("--method", "-m", help="Pipeline model.")
    ] = MethodChoice.VARI_METRIC,
    json_out: Annotated[
        bool, typer.Option("--json", help="Print the JSON document to stdout.")
    ] = False,
    output: Annotated[
        list[Path] | None, output_option("stock plan (held, buy and resulting stock per item "
                                         "and site)")
    ] = None,
    curve: Annotated[
        Path | None,
        typer.Option("--curve", help="Write the efficient curve: .png/.svg plot, .csv or .json."),
    ] = None,
    top: Annotated[int, typer.Option(help="Purchases to list (>= 1).")] = 20,
    quiet: Annotated[
        bool, typer.Option("--quiet", "-q", help="No progress bar and no tables.")
    ] = False,
    allow_outside_tables: AllowOutsideTables = False,
    max_memory: Annotated[
        str | None,
        typer.Option("--max-memory", help="Memory the run may use, e.g. 4G (default: half "
                     "the RAM); larger runs are refused before they start."),
    ] = None,
    stock: Annotated[
        Path | None,
        typer.Option("--stock", help="Start from this stock plan CSV (item,site,qty): what "
                     "is held already; see --stock-mode."),
    ] = None,
    stock_mode: StockModeOption = StockModeChoice.OVERLAY,
    refine_seconds: Annotated[
        float | None,
        typer.Option("--refine-seconds", help="Processor seconds for the extra searches run "
                     "on small cases after the first greedy (0: none, inf: no limit; "
                     "default 5)."),
    ] = None,
    over_time: Annotated[
        bool, typer.Option("--over-time", help="The cheapest purchases meeting the targets "
                           "on every day 0, K, 2K, … D through the scenario's deliveries, "
                           "tempo and losses, with need-by and order-by days.")
    ] = False,
    days: OverTimeDays = None,
    step: OverTimeStep = None,
    average: Annotated[
        bool, typer.Option("--average", help="With --over-time: targets on each fleet's "
                           "mean availability over the days instead of on every day.")
    ] = False,
    allow_shortfall: Annotated[
        bool, typer.Option("--allow-shortfall", help="With --over-time: exit 0 when some "
                           "days cannot be reached in time (they are still reported).")
    ] = False,
    exponential: Exponential = False,
    lead_days: Annotated[
        float | None, typer.Option("--lead-days", help="With --over-time: procurement lead "
                                   "time of items without procurement_days (default: the "
                                   "longest procurement_days in the scenario).")
    ] = None,
    redistribute: Annotated[
        bool, typer.Option("--redistribute", help="Also move spares already held between "
                           "sites (the scenario's moves, or every pair of sites at 5 % of "
                           "the unit cost) where a move beats buying.")
    ] = False,
    fill_rate: Annotated[
        list[str] | None,
        typer.Option("--fill-rate", help="Fill-rate target (share of demands met from the "
                     "shelf): 0.8 (every site with demand), SITE=0.85, SYSTEM=0.9, "
                     "SYSTEM@SITE=0.9; repeat for several; mixes with --target and "
                     "--max-wait."),
    ] = None,
    max_wait: Annotated[
        list[str] | None,
        typer.Option("--max-wait", help="Mean-waiting-time target in days (a demand's "
                     "average wait for a spare): 3 (every fleet), SYSTEM@SITE=2.5, "
                     "SYSTEM=3, SITE=3; repeat for several."),
    ] = None,
    measures: Annotated[
        bool, typer.Option("--measures", help="Also print each fleet's and site's fill rate "
                           "and mean wait (always with --fill-rate or --max-wait).")
    ] = False,
    holes: HolesOption = None,
    search: Annotated[
        SearchChoice, typer.Option("--search", help="With --target: the greedy, the "
                                   "Lagrangian decomposition (spreads over --workers or "
                                   "--dask), or auto (the decomposition on large scenarios).")
    ] = SearchChoice.AUTO,
    confidence: Confidence = None,
    samples: RobustSamples = None,
    seed: RobustSeed = None,
    check_samples: CheckSamples = None,
    workers: Annotated[
        int | None, typer.Option("--workers", help="Worker processes: for the Lagrangian "
                                 "search, or for the draws of --confidence (default 1).")
    ] = None,
    dask: Annotated[
        str | None, typer.Option("--dask", help="Dask scheduler address (tcp://host:8786) "
                                 "for the Lagrangian search or the draws of --confidence.")
    ] = None,
) -> None:
    """The cheapest spares to reach a readiness target, or the most readiness for a budget."""
    if confidence is not None:
        refused = [name for name, given in (
            ("--budget", budget is not None), ("--over-time", over_time),
            ("--days", days is not None), ("--step", step is not None),
            ("--average", average), ("--allow-shortfall", allow_shortfall),
            ("--exponential", exponential), ("--lead-days", lead_days is not None),
            ("--redistribute", redistribute), ("--fill-rate", bool(fill_rate)),
            ("--max-wait", bool(max_wait)), ("--curve", curve is not None),
            ("--max-memory", max_memory is not None), ("--measures", measures),
            ("--holes", holes is not None), ("--method exact", method is MethodChoice.EXACT),
            ("--search", search is not SearchChoice.AUTO),
        ) if given]
        optimize_robust(
            scenario, target=target, confidence=confidence, samples=samples, seed=seed,
            check_samples=check_samples, workers=workers, dask=dask, method=method.value,
            refine_seconds=refine_seconds, json_out=json_out, output=output, top=top,
            quiet=quiet, allow_outside_tables=allow_outside_tables, stock=stock,
            stock_mode=stock_mode, refused=refused)
        return
    refuse_robust_options(samples, seed, check_samples)
    workers = 1 if workers is None else workers
    if (fill_rate or max_wait) and over_time:
        raise fail(OptionError("--fill-rate and --max-wait are not available with "
                               "--over-time: give --target"))
    if over_time or average or allow_shortfall or exponential or days is not None or (
            step is not None or lead_days is not None):
        if redistribute:
            raise fail(OptionError("--redistribute is not available with --over-time"))
        _optimize_over_time(
            scenario, target=target, budget=budget, method=method, json_out=json_out,
            output=output, curve=curve, top=top, quiet=quiet,
            allow_outside_tables=allow_outside_tables, stock=stock, stock_mode=stock_mode,
            over_time=over_time, days=days, step=step, average=average,
            allow_shortfall=allow_shortfall, exponential=exponential, lead_days=lead_days,
        )
        return
    # Imported here, not at the top: numba and SciPy slow the start of other commands.
    from sustain.optimize import TargetUnreachable
    from sustain.optimize.api import REFINE_SECONDS
    from sustain.optimize.work import parse_memory
    from sustain.report.before_after import print_before_after
    from sustain.report.builders import optimization_report
    from sustain.report.documents import json_text, plan_csv, plan_table
    from sustain.report.idle import idle_warnings
    from sustain.report.plots import pyplot
    from sustain.report.run_documents import optimization_document
    from sustain.report.shops import print_repair_shops, shop_warnings
    from sustain.report.tables import print_evaluation, print_moves, print_purchases

    if refine_seconds is None:
        refine_seconds = REFINE_SECONDS
    if method is MethodChoice.EXACT:
        raise fail(SustainError(EXACT_NOT_FOR_OPTIMIZE))
    outputs: list[Output] = []
    try:
        fills = parse_service(fill_rate or [], "--fill-rate")
        waits = parse_service(max_wait or [], "--max-wait")
        targets = check_optimize_options(target, budget, refine_seconds,
                                         service=fills is not None or waits is not None)
        if redistribute and (fills is not None or waits is not None):
            raise OptionError("--redistribute is not available with --fill-rate or "
                              "--max-wait")
        check_whole("--top", top, low=1)
        check_whole("--workers", workers, low=1, high=MAX_WORKERS)
        dask = check_dask_address("--dask", dask)
        if search is SearchChoice.LAGRANGE and targets is None:
            raise OptionError("--search lagrange needs --target")
        memory = None if max_memory is None else parse_memory(max_memory)
        outputs += output_files(output)
        if curve is not None:
            if _check_suffix("--curve", curve, CURVE_SUFFIXES) in PLOT_SUFFIXES:
                pyplot("--curve")
            outputs.append(Output("--curve", curve))
        sc, change = load_for_outputs(scenario, outputs, allow_outside_tables, stock=stock,
                                      stock_mode=stock_mode, quiet=quiet)
        sc = with_holes(sc, holes)
        with _progress(quiet) as progress:
            opt = sustain.optimize(sc, target=targets, budget=budget, method=method.value,
                                   progress=progress.step, max_memory=memory,
                                   refine_seconds=refine_seconds,
                                   refine_progress=progress.refine,
                                   redistribute=redistribute, fill_rate=fills,
                                   max_wait=waits, search=search.value, workers=workers,
                                   dask_address=dask)
        if opt.refinement_stopped:
            err.print(
                f"note: the search for a cheaper plan stopped after {refine_seconds:g} s of "
                "processor time (--refine-seconds); the plan meets the targets, but a longer "
                "search might find a cheaper one"
            )
        doc = optimization_document(opt, change)
        text = json_text(doc) if json_out else ""
        files = report_files([o for o in outputs if o.option == "--output"],
                             lambda: optimization_report(sc, doc), lambda: json_text(doc),
                             csv=lambda: plan_csv(opt), table=lambda: plan_table(opt),
                             doc=lambda: doc)
        files += [(o, _curve_output(o, opt, sc.currency)) for o in outputs
                  if o.option == "--curve"]
        write_outputs(files)
    except TargetUnreachable as exc:
        raise fail(exc, code=3) from None
    except SustainError as exc:
        raise fail(exc) from None
    shops = doc.get("repair_shops", [])
    idle = idle_warnings(doc.get("idle_stock", []), sc.currency, moved="moves" in doc)
    for line in shop_warnings(shops) + idle:
        sys.stderr.write(line + "\n")
    if json_out:
        sys.stdout.write(text)
        return
    if not quiet:
        print_evaluation(out, sc.name or str(scenario), doc, 10, None, sc.currency,
                         measures=measures or "service_targets" in doc)
        print_purchases(out, doc, top, sc.currency)
        if "moves" in doc:
            print_moves(out, doc, top, sc.currency)
        print_before_after(out, doc, sc.currency)
        if shops:
            print_repair_shops(out, shops)
        wrote(outputs)


def _curve_output(o: Output, opt: sustain.Optimization, currency: str) -> Render:
    """How to render ``--curve``, by suffix."""
    # Imported here, not at the top: NumPy slows the start of --help.
    from sustain.report.documents import curve_csv, json_text
    from sustain.report.plots import save_curve_plot

    suffix = o.path.suffix.lower()
    if suffix == ".json":
        return text_file(json_text(opt.curve(), what="the efficient curve"))
    if suffix == ".csv":
        return text_file(curve_csv(opt.curve()))

    def plot(path: Path) -> None:
        save_curve_plot(opt, path, suffix[1:], currency=currency)

    return plot


def _optimize_over_time(
    scenario: Path, *, target: list[str] | None, budget: float | None, method: MethodChoice,
    json_out: bool, output: list[Path] | None, curve: Path | None, top: int, quiet: bool,
    allow_outside_tables: bool, stock: Path | None, stock_mode: StockModeChoice,
    over_time: bool, days: int | None, step: int | None, average: bool,
    allow_shortfall: bool, exponential: bool, lead_days: float | None,
) -> None:
    """``sustain optimize --over-time``: checks, the plan, its outputs; exit 3 when some
    days cannot be reached in time (unless ``--allow-shortfall``)."""
    from sustain.optimize.over_time import optimize_over_time
    from sustain.report.builders import over_time_plan_report
    from sustain.report.documents import json_text, over_time_plan_csv
    from sustain.report.tables import print_over_time_plan

    outputs: list[Output] = []
    try:
        if not over_time:
            given = [n for n, g in (("--days", days is not None), ("--step", step is not None),
                                    ("--average", average), ("--allow-shortfall", allow_shortfall),
                                    ("--exponential", exponential),
                                    ("--lead-days", lead_days is not None)) if g]
            raise OptionError(f"{given[0]} needs --over-time")
        if method is MethodChoice.EXACT:
            raise OptionError("--over-time uses --method vari-metric or metric, not exact")
        if budget is not None:
            raise OptionError("--budget is not available with --over-time: give --target")
        if curve is not None:
            raise OptionError("--curve is not available with --over-time")
        targets = parse_targets(target or [])
        if targets is None:
            raise OptionError("give --target (e.g. --target 0.9)")
        horizon = check_whole("--days", 365 if days is None else days, low=1, high=MAX_DAYS)
        every = check_whole("--step", 7 if step is None else step, low=1)
        check_whole("--top", top, low=1)
        if lead_days is not None:
            check_number("--lead-days", lead_days, low=0, what="a number of days")
        outputs += output_files(output)
        sc, _ = load_for_outputs(scenario, outputs, allow_outside_tables, stock=stock,
                                 stock_mode=stock_mode, quiet=quiet)
        note_no_laterals(sc, "optimize --over-time")
        plan = optimize_over_time(sc, target=targets, days=horizon, step=every,
                                  method=method.value, average=average,
                                  exponential=exponential, lead_days=lead_days)
        doc = plan.to_dict()
        _check_shortfalls(doc, allow_shortfall)
        text = json_text(doc) if json_out else ""
        write_outputs(report_files(outputs, lambda: over_time_plan_report(sc, doc),
                                   lambda: json_text(doc), csv=lambda: over_time_plan_csv(doc)))
    except _Shortfall as exc:
        raise fail(exc, code=3) from None
    except SustainError as exc:
        raise fail(exc) from None
    if json_out:
        sys.stdout.write(text)
    elif not quiet:
        print_over_time_plan(out, sc.name or str(scenario), doc, top, sc.currency)
        wrote(outputs)


class _Shortfall(SustainError):
    """Some days of an over-time plan cannot be reached in time (exit 3)."""


#: Longest list of days a message spells out; longer ones are given as a range.
SHOWN_DAYS = 6


def _days_text(days: list[int]) -> str:
    """``days 0, 7, 14`` or, for many, ``42 days from day 0 to day 294``."""
    if len(days) <= SHOWN_DAYS:
        return "day" + ("s " if len(days) > 1 else " ") + ", ".join(str(d) for d in days)
    return f"{len(days)} days from day {days[0]} to day {days[-1]}"


def _best_text(best: list[float]) -> str:
    if len(best) <= SHOWN_DAYS:
        return ", ".join(f"{b:.4g}" for b in best)
    return f"{min(best):.4g} to {max(best):.4g}"


def _check_shortfalls(doc: dict[str, Any], allow: bool) -> None:
    """Raise :class:`_Shortfall` naming each fleet's unreachable days, unless ``allow``."""
    if not doc["shortfalls"] or allow:
        return
    parts = [
        f"fleet {s['system']} at {s['site']}: target {s['target']:.4g} cannot be reached "
        f"in time on {_days_text(s['days'])} (best reachable {_best_text(s['best'])})"
        for s in doc["shortfalls"]
    ]
    raise _Shortfall("; ".join(parts) + " (purchases arrive after their lead times; "
                     "--allow-shortfall accepts these days and writes the plan)")


class _progress:
    """A Rich progress line on stderr: steps, money spent, worst gap to target."""

    def __init__(self, quiet: bool) -> None:
        self.bar = Progress(
            SpinnerColumn(), TextColumn("{task.description}"), TimeElapsedColumn(),
            console=err, transient=True, disable=quiet,
        )
        self.task = self.bar.add_task("optimising", total=None)

    def __enter__(self) -> _progress:
        self.bar.start()
        return self

    def step(self, step: int, cost: float, gap: float) -> None:
        """The greedy's progress."""
        self.bar.update(
            self.task,
            description=f"step {step:,}: bought {cost:,.0f}, worst gap to target "
            f"{100 * max(gap, 0):.2f} pts",
        )

    def refine(self, stage: str, seconds: float, budget: float, cost: float) -> None:
        """The small-case searches' progress (``cost``: the cheapest plan so far)."""
        best = f", cheapest plan {cost:,.0f}" if math.isfinite(cost) else ""
        limit = f" of {budget:g}" if math.isfinite(budget) else ""
        self.bar.update(
            self.task,
            description=f"looking for a cheaper plan: {stage}{best} ({seconds:.1f}{limit} s)",
        )

    def __exit__(self, *exc: object) -> None:
        self.bar.stop()


app.command("stockpile")(stockpile)
app.command("simulate")(simulate)
app.command("oryx")(oryx)
app.command("next")(next_)
app.command("sweep")(sweep)
app.command("serve")(serve)


def main() -> None:
    """Entry point of the ``sustain`` script."""
    install_interrupt_handlers()
    if not sys.stdout.isatty():
        # Help in a file or pipe: wide, so no option or word is cut (typer reads this).
        os.environ.setdefault("TERMINAL_WIDTH", str(HELP_FILE_WIDTH))
    app()


if __name__ == "__main__":
    main()
