"""``sustain simulate``: the discrete-event simulator from the command line."""

from __future__ import annotations

import csv
import json
import sys
from pathlib import Path
from typing import Annotated, Any

import typer
from rich.console import Console

from sustain.errors import ScenarioError, SustainError

err = Console(stderr=True)


def _fail(exc: SustainError | str, code: int = 2) -> typer.Exit:
    text = str(exc) if isinstance(exc, ScenarioError) else f"error: {exc}"
    sys.stderr.write(text + "\n")
    sys.stderr.flush()
    return typer.Exit(code)


def read_plan(path: Path) -> dict[tuple[str, str], int]:
    """Stock from a plan CSV of ``sustain optimize -o plan.csv`` (columns item, site, qty).

    Raises
    ------
    SustainError
        The file cannot be read, lacks a column, or a quantity is not a whole number >= 0.
    """
    try:
        text = path.read_text(encoding="utf-8-sig")
    except OSError as exc:
        raise SustainError(f"{path}: cannot read the stock plan: {exc.strerror}") from None
    reader = csv.DictReader(text.splitlines())
    missing = [c for c in ("item", "site", "qty") if c not in (reader.fieldnames or [])]
    if missing:
        raise SustainError(
            f"{path}: missing column{'s' if len(missing) > 1 else ''} {', '.join(missing)} "
            "(expected the plan written by `sustain optimize -o plan.csv`: item,site,qty,…)"
        )
    out: dict[tuple[str, str], int] = {}
    for n, row in enumerate(reader, start=2):
        raw = (row.get("qty") or "").strip()
        try:
            q = float(raw)
        except ValueError:
            raise SustainError(f"{path} row {n}: qty must be a number: got {raw!r}") from None
        if q < 0 or q != int(q):
            raise SustainError(f"{path} row {n}: qty must be a whole number >= 0: got {raw!r}")
        key = ((row.get("item") or "").strip(), (row.get("site") or "").strip())
        out[key] = out.get(key, 0) + int(q)
    return out


def simulate(
    scenario: Annotated[Path, typer.Argument(help="Scenario file (YAML or JSON).")],
    days: Annotated[float, typer.Option("--days", help="Days per replication.")] = 730,
    reps: Annotated[int, typer.Option("--reps", help="Replications.")] = 200,
    seed: Annotated[int, typer.Option("--seed", help="Seed (0 is a seed).")] = 7,
    warmup: Annotated[
        float | None,
        typer.Option(
            "--warmup",
            help="Days left out of the statistics (default: simulation.warmup_days, else 0).",
        ),
    ] = None,
    json_out: Annotated[
        bool, typer.Option("--json", help="Print the JSON document (shared/spec) to stdout.")
    ] = False,
    workers: Annotated[int, typer.Option("--workers", help="Worker processes.")] = 1,
    dask: Annotated[
        str | None, typer.Option("--dask", help="Dask scheduler address (tcp://host:8786).")
    ] = None,
    plot: Annotated[
        Path | None, typer.Option("--plot", help="Write the availability over time (.png/.svg).")
    ] = None,
    stock: Annotated[
        Path | None,
        typer.Option("--stock", help="Stock plan CSV from `sustain optimize -o plan.csv` (qty)."),
    ] = None,
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
        Path | None, typer.Option("--output", "-o", help="Also write the JSON document here.")
    ] = None,
    quiet: Annotated[
        bool, typer.Option("--quiet", "-q", help="No progress bar, no table.")
    ] = False,
) -> None:
    """Simulate the support system over time (Monte Carlo with confidence intervals)."""
    from rich.progress import BarColumn, MofNCompleteColumn, Progress, TimeElapsedColumn

    from sustain.crosscheck import simulate as run_simulate
    from sustain.report.markdown import write_atomic
    from sustain.scenario import load_scenario

    try:
        if plot is not None and plot.suffix.lower() not in {".png", ".svg", ".pdf"}:
            raise SustainError(f"{plot}: unknown plot type {plot.suffix!r} (use .png, .svg, .pdf)")
        sc = load_scenario(scenario)
        plan = read_plan(stock) if stock is not None else None
        bar = Progress(
            "simulating", BarColumn(), MofNCompleteColumn(), TimeElapsedColumn(),
            console=err, transient=True, disable=quiet,
        )
        task = bar.add_task("simulating", total=reps)
        with bar:
            res = run_simulate(
                sc, days=days, replications=reps, seed=seed, warmup_days=warmup, stock=plan,
                failures_while_down=failures_while_down, cannibalisation=cannibalisation,
                delays="exponential" if exponential else "deterministic",
                workers=workers, dask_address=dask, compare=compare,
                progress=lambda done, total: bar.update(task, completed=done),
            )
        doc: dict[str, Any] = res.to_dict()
        text = json.dumps(doc, indent=1) + "\n"
        if output is not None:
            write_atomic(output, text)
        if plot is not None:
            from sustain.simulate.plot import plot_availability

            plot_availability(res, plot)
    except SustainError as exc:
        raise _fail(exc) from None
    except OSError as exc:
        raise _fail(f"cannot write: {exc}") from None
    if json_out:
        sys.stdout.write(text)
        return
    if not quiet:
        _print(sc.name or str(scenario), doc)
        for path in (output, plot):
            if path is not None:
                err.print(f"written: {path}")


def _print(title: str, doc: dict[str, Any]) -> None:
    from rich.table import Table

    out = Console()
    t = Table(title=f"{title}: simulated, {doc['replications']} replications × {doc['days']} "
              f"days (warm-up {doc['warmup_days']}), seed {doc['seed']}")
    cols = ["system", "site", "systems", "availability", "95 % CI"]
    phased = bool(doc["fleets"]) and "present_mean" in doc["fleets"][0]
    if phased:  # fleets change size: show how
        cols += ["added", "lost", "present", "up"]  # by the end; time averages
    if "analytic" in doc:
        cols += ["VARI-METRIC", "METRIC"]
    for c in cols:
        t.add_column(c, justify="left" if c in ("system", "site") else "right")
    for n, f in enumerate(doc["fleets"]):
        if f["availability"] is None:  # no system present at any time
            row = [f["system"], f["site"], str(f["count"]), "n/a", "n/a"]
        else:
            lo, hi = f["availability_ci95"]
            row = [f["system"], f["site"], str(f["count"]), f"{100 * f['availability']:.1f} %",
                   f"{100 * lo:.1f}–{100 * hi:.1f} %"]
        if phased:
            row += [str(f["delivered"]), f"{f['lost_mean']:.1f}", f"{f['present_mean']:.1f}",
                    f"{f['up_mean']:.1f}"]
        if "analytic" in doc:
            for m in ("vari-metric", "metric"):
                av = doc["analytic"][m]["fleets"][n]["availability"]
                row.append("n/a" if av is None else f"{100 * av:.1f} %")
        t.add_row(*row)
    out.print(t)
    if phased:
        out.print("added: systems delivered; lost: mean systems lost by the last day; "
                  "present, up: mean systems present and up (time averages after the warm-up)")
