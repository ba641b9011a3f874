"""``sustain optimize --confidence``: the robust plan, compared with the nominal one."""

from __future__ import annotations

import math
import sys
from pathlib import Path
from typing import Annotated

import typer
from rich.progress import BarColumn, MofNCompleteColumn, Progress, TimeElapsedColumn

from sustain.cli.common import (
    MAX_SEED,
    MAX_WORKERS,
    OptionError,
    StockModeChoice,
    check_dask_address,
    check_whole,
    err,
    fail,
    load_for_outputs,
    out,
    parse_targets,
    report_files,
    wrote,
)
from sustain.errors import SustainError
from sustain.report.files import Output, write_outputs
from sustain.report.outputs import output_files

#: Most draws ``--samples`` and ``--check-samples`` may ask for.
MAX_SAMPLES = 1_000_000
#: Default ``--samples`` and ``--check-samples`` of a robust plan
#: (:func:`sustain.sweep.robust.robust_optimize`).
ROBUST_SAMPLES = 200
CHECK_SAMPLES = 500

Confidence = Annotated[
    float | None,
    typer.Option("--confidence", help="A robust plan: the cheapest stock found that meets "
                 "--target in at least this share of the scenarios drawn from the "
                 "uncertainty: section (above 0, below 1, e.g. 0.9); see docs/sweep.md."),
]
RobustSamples = Annotated[
    int | None,
    typer.Option("--samples", help=f"With --confidence: scenarios drawn to build the plan "
                 f"(default {ROBUST_SAMPLES})."),
]
RobustSeed = Annotated[
    int | None, typer.Option("--seed", help="With --confidence: seed of the draws (default "
                             "7; 0 is a seed).")
]
CheckSamples = Annotated[
    int | None,
    typer.Option("--check-samples", help="With --confidence: fresh draws (another seed "
                 f"stream) both plans are checked on (default {CHECK_SAMPLES})."),
]


def refuse_robust_options(samples: int | None, seed: int | None,
                          check_samples: int | None) -> None:
    """Without ``--confidence``: the options that only it uses are an error."""
    for name, given in (("--samples", samples), ("--seed", seed),
                        ("--check-samples", check_samples)):
        if given is not None:
            raise fail(OptionError(f"{name} is for a robust plan: give --confidence too "
                                   "(e.g. --target 0.9 --confidence 0.9)"))


def optimize_robust(
    scenario: Path, *, target: list[str] | None, confidence: float, samples: int | None,
    seed: int | None, check_samples: int | None, workers: int | None, dask: str | None,
    method: str, refine_seconds: float | None, json_out: bool, output: list[Path] | None,
    top: int, quiet: bool, allow_outside_tables: bool, stock: Path | None,
    stock_mode: StockModeChoice, refused: list[str],
) -> None:
    """``sustain optimize --confidence``: checks, the plan, its outputs.

    ``refused`` names the options given that a robust plan does not take."""
    # Imported here, not at the top: the engines slow the start of other commands.
    from sustain.optimize import TargetUnreachable
    from sustain.optimize.api import REFINE_SECONDS
    from sustain.report.documents import json_text, plan_csv
    from sustain.report.robust import ROBUST_TABLE, print_robust, robust_report
    from sustain.sweep.robust import robust_optimize

    outputs: list[Output] = []
    try:
        if refused:
            raise OptionError(f"{refused[0]} is not available with --confidence (a robust "
                              "plan takes --target, --samples, --seed, --check-samples, "
                              "--workers, --dask, --method, --refine-seconds, --stock, -o)")
        if not (math.isfinite(confidence) and 0 < confidence < 1):
            raise OptionError(f"--confidence {confidence:g}: must be above 0 and below 1, "
                              "like 0.9")
        targets = parse_targets(target or [])
        if targets is None:
            raise OptionError("--confidence needs --target (e.g. --target 0.9 "
                              "--confidence 0.9)")
        n = check_whole("--samples", ROBUST_SAMPLES if samples is None else samples, low=1,
                        high=MAX_SAMPLES)
        m = check_whole("--check-samples", CHECK_SAMPLES if check_samples is None
                        else check_samples, low=1, high=MAX_SAMPLES)
        k = check_whole("--seed", 7 if seed is None else seed, low=0, high=MAX_SEED)
        w = check_whole("--workers", 1 if workers is None else workers, low=1,
                        high=MAX_WORKERS)
        address = check_dask_address("--dask", dask)
        check_whole("--top", top, low=1)
        seconds = REFINE_SECONDS if refine_seconds is None else refine_seconds
        if not seconds >= 0:
            raise OptionError(f"--refine-seconds {seconds}: must be a number of seconds "
                              ">= 0 (or inf)")
        outputs += output_files(output)
        sc, _ = load_for_outputs(scenario, outputs, allow_outside_tables, stock=stock,
                                 stock_mode=stock_mode, quiet=quiet)
        if sc.uncertainty is None:
            raise OptionError(f"{scenario}: --confidence needs an uncertainty: section in "
                              "the scenario (how far the inputs may be off, e.g. "
                              "uncertainty: {mtbf_hours: {dist: lognormal, cv: 0.3}}; "
                              "docs/scenario.md)")
        bar = Progress("drawing", BarColumn(), MofNCompleteColumn(), TimeElapsedColumn(),
                       console=err, transient=True, disable=quiet)
        task = bar.add_task("drawing", total=n + m)

        def moved(done: int, total: int) -> None:
            bar.update(task, completed=done, total=total)

        with bar:
            plan = robust_optimize(sc, target=targets, confidence=confidence, samples=n,
                                   seed=k, check_samples=m, method=method,
                                   refine_seconds=seconds, workers=w, dask_address=address,
                                   progress=moved)
        doc = plan.to_dict()
        text = json_text(doc) if json_out else ""
        title = sc.name or str(scenario)
        files = report_files(outputs, lambda: robust_report(title, str(scenario), plan,
                                                            sc.currency),
                             lambda: json_text(doc), main=ROBUST_TABLE,
                             csv=lambda: plan_csv(plan.robust))
        write_outputs(files)
    except TargetUnreachable as exc:
        raise fail(exc, code=3) from None
    except SustainError as exc:
        raise fail(exc) from None
    if json_out:
        sys.stdout.write(text)
        return
    if not quiet:
        print_robust(out, plan, top, sc.currency)
        wrote(outputs)
