"""``sustain`` command line: thin wrappers over the public API.

Exit codes: 0 ok, 2 scenario or usage error, 3 infeasible plan or unreachable target.
Diagnostics go to stderr; ``--json`` writes one document to stdout.
"""

from __future__ import annotations

import json
import math
import sys
from enum import StrEnum
from pathlib import Path
from typing import Annotated, Any

import typer
from rich.console import Console
from rich.table import Table

from sustain.errors import ScenarioError, SustainError

app = typer.Typer(
    add_completion=False,
    no_args_is_help=True,
    pretty_exceptions_enable=False,
    help="Sustain: keep delivered systems operational (readiness, sparing, simulation).",
)
out = Console()
err = Console(stderr=True)


class MethodChoice(StrEnum):
    """Evaluation methods offered on the command line."""

    VARI_METRIC = "vari-metric"
    METRIC = "metric"
    EXACT = "exact"


def _fail(exc: SustainError, code: int = 2) -> typer.Exit:
    # Plain stderr, not rich: messages must not be wrapped or re-marked up.
    text = str(exc) if isinstance(exc, ScenarioError) else f"error: {exc}"
    sys.stderr.write(text + "\n")
    sys.stderr.flush()
    return typer.Exit(code)


def _pct(x: float | None) -> str:
    return "n/a" if x is None or (isinstance(x, float) and math.isnan(x)) else f"{100 * x:.1f} %"


@app.callback()
def _root() -> None:
    """Sustain: keep delivered systems operational."""


@app.command()
def evaluate(
    scenario: Annotated[Path, typer.Argument(help="Scenario file (YAML or JSON).")],
    json_out: Annotated[
        bool, typer.Option("--json", help="Print the JSON document (shared/spec) to stdout.")
    ] = False,
    method: Annotated[
        MethodChoice, typer.Option("--method", "-m", help="Pipeline model.")
    ] = MethodChoice.VARI_METRIC,
    output: Annotated[
        Path | None, typer.Option("--output", "-o", help="Write a markdown report to this file.")
    ] = None,
    top: Annotated[int, typer.Option(help="Items to list by backorders.", min=1)] = 15,
    quiet: Annotated[bool, typer.Option("--quiet", "-q", help="No tables on the console.")] = False,
) -> None:
    """Readiness of every fleet at every site with the stock held now."""
    from sustain.readiness.compare import approximation_errors
    from sustain.readiness.evaluate import evaluate as run_evaluate
    from sustain.report.markdown import evaluation_report, write_atomic
    from sustain.scenario import load_scenario

    try:
        sc = load_scenario(scenario)
        ev = run_evaluate(sc, method=method.value)
    except SustainError as exc:
        raise _fail(exc) from None
    comparison = approximation_errors(ev) if method is MethodChoice.EXACT else None
    doc: dict[str, Any] = ev.to_dict()
    if comparison is not None:
        doc["approximation"] = comparison
    if output is not None:
        text = evaluation_report(sc, ev, top=top, comparison=_comparison_md(comparison))
        try:
            write_atomic(output, text)
        except OSError as exc:
            sys.stderr.write(f"error: {output}: cannot write the report: {exc.strerror}\n")
            raise typer.Exit(2) from None
    if json_out:
        sys.stdout.write(json.dumps(doc, indent=1) + "\n")
        return
    if not quiet:
        _print_tables(sc.name or str(scenario), doc, top, comparison)
    if output is not None and not quiet:
        err.print(f"report written to {output}")


def _parse_targets(values: list[str]) -> float | dict[str, float] | None:
    """``0.9`` (every fleet), ``SAMX=0.95`` (a system), ``SAMX@WEST=0.9`` (one fleet)."""
    if not values:
        return None
    out: dict[str, float] = {}
    for v in values:
        key, eq, num = v.rpartition("=")
        key = key.strip() if eq else "*"
        try:
            x = float(num)
        except ValueError:
            raise SustainError(
                f"--target {v!r}: expected a number like 0.9, or SYSTEM=0.95, or "
                "SYSTEM@SITE=0.9"
            ) from None
        if x > 1 and x <= 100:
            raise SustainError(f"--target {v!r}: give a fraction (0.9), not a percentage")
        out[key] = x
    return out["*"] if list(out) == ["*"] else out


@app.command()
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
        bool, typer.Option("--json", help="Print the JSON document (shared/spec) to stdout.")
    ] = False,
    output: Annotated[
        Path | None,
        typer.Option(
            "--output", "-o",
            help="Write the plan: .csv (purchases and resulting stock), .json, or .md report.",
        ),
    ] = None,
    curve: Annotated[
        Path | None,
        typer.Option("--curve", help="Write the efficient curve: .png/.svg plot, .csv or .json."),
    ] = None,
    top: Annotated[int, typer.Option(help="Purchases to list.", min=1)] = 20,
    quiet: Annotated[
        bool, typer.Option("--quiet", "-q", help="No progress bar and no tables.")
    ] = False,
    max_memory: Annotated[
        str | None,
        typer.Option("--max-memory", help="Memory the run may use, e.g. 4G (default: half "
                     "the RAM); larger runs are refused before they start."),
    ] = None,
) -> None:
    """The cheapest spares to reach a readiness target, or the most readiness for a budget."""
    from sustain.optimize import TargetUnreachable
    from sustain.optimize import optimize as run_optimize
    from sustain.optimize.work import parse_memory
    from sustain.report.outputs import write_curve, write_plan
    from sustain.scenario import load_scenario

    if method is MethodChoice.EXACT:
        raise _fail(SustainError("optimize uses --method vari-metric or metric"))
    try:
        targets = _parse_targets(target or [])
        if targets is None and budget is None:
            raise SustainError("give --target (e.g. --target 0.9) or --budget")
        for path in (output, curve):
            if path is not None:
                _check_suffix(path)
        sc = load_scenario(scenario)
        with _progress(quiet) as progress:
            opt = run_optimize(sc, target=targets, budget=budget, method=method.value,
                               progress=progress, max_memory=None if max_memory is None
                               else parse_memory(max_memory))
    except TargetUnreachable as exc:
        raise _fail(exc, code=3) from None
    except SustainError as exc:
        raise _fail(exc) from None
    doc = opt.to_dict()
    try:
        if output is not None:
            write_plan(output, sc, opt)
        if curve is not None:
            write_curve(curve, opt)
    except SustainError as exc:
        raise _fail(exc) from None
    except OSError as exc:
        sys.stderr.write(f"error: cannot write: {exc}\n")
        raise typer.Exit(2) from None
    if json_out:
        sys.stdout.write(json.dumps(doc, indent=1) + "\n")
        return
    if not quiet:
        _print_tables(sc.name or str(scenario), doc, 10, None)
        t = Table(title=f"Purchases (top {top} by cost)")
        for col in ("item", "site", "qty", "unit cost", "cost"):
            t.add_column(col, justify="left" if col in ("item", "site") else "right")
        for r in sorted(doc["purchases"], key=lambda r: -r["cost"])[:top]:
            t.add_row(r["item"], r["site"], str(r["qty"]), f"{r['unit_cost']:,.0f}",
                      f"{r['cost']:,.0f}")
        out.print(t)
        out.print(f"Purchases: {doc['purchase_cost']:,.0f} {sc.currency} in "
                  f"{len(doc['purchases'])} lines; {len(doc['curve'])} curve points.")
        for path in (output, curve):
            if path is not None:
                err.print(f"written: {path}")


_SUFFIXES = {".csv", ".json", ".md", ".png", ".svg", ".pdf"}


def _check_suffix(path: Path) -> None:
    if path.suffix.lower() not in _SUFFIXES:
        raise SustainError(
            f"{path}: unknown output type {path.suffix!r} (use .csv, .json, .md, .png, .svg)"
        )


class _progress:
    """A Rich progress line on stderr: steps, money spent, worst gap to target."""

    def __init__(self, quiet: bool) -> None:
        from rich.progress import Progress, SpinnerColumn, TextColumn, TimeElapsedColumn

        self.bar = Progress(
            SpinnerColumn(), TextColumn("{task.description}"), TimeElapsedColumn(),
            console=err, transient=True, disable=quiet,
        )
        self.task = self.bar.add_task("optimising", total=None)

    def __enter__(self) -> Any:
        self.bar.start()

        def update(step: int, cost: float, gap: float) -> None:
            self.bar.update(
                self.task,
                description=f"step {step:,}: bought {cost:,.0f}, worst gap to target "
                f"{100 * max(gap, 0):.2f} pts",
            )

        return update

    def __exit__(self, *exc: object) -> None:
        self.bar.stop()


def _comparison_md(comparison: dict[str, Any] | None) -> str:
    if not comparison:
        return ""
    rows = ["| method | system | site | availability | error vs exact |", "|---|---|---|---:|---:|"]
    for name, block in comparison.items():
        for f in block["fleets"]:
            rows.append(
                f"| {name} | {f['system']} | {f['site']} | {_pct(f['availability'])} | "
                f"{100 * f['availability_error']:+.3f} pts |"
            )
    return "\n".join(rows)


def _print_tables(
    title: str, doc: dict[str, Any], top: int, comparison: dict[str, Any] | None
) -> None:
    t = Table(title=f"{title}: fleets ({doc['method']})")
    for col, just in (
        ("system", "left"),
        ("site", "left"),
        ("systems", "right"),
        ("availability", "right"),
        ("expected up", "right"),
    ):
        t.add_column(col, justify=just)  # type: ignore[arg-type]
    for f in doc["fleets"]:
        t.add_row(
            f["system"], f["site"], str(f["count"]), _pct(f["availability"]),
            f"{f['expected_available']:.2f}",
        )
    out.print(t)
    operating = {f["site"] for f in doc["fleets"]}
    at_bases = [r for r in doc["items"] if r["site"] in operating]
    items = sorted(at_bases, key=lambda r: -r["ebo"])[:top]
    t = Table(title=f"Most expected backorders at operating sites (top {len(items)})")
    for col in ("item", "site", "stock", "demand/day", "pipeline", "EBO", "fill rate"):
        t.add_column(col, justify="left" if col in ("item", "site") else "right")
    for r in items:
        t.add_row(
            r["item"], r["site"], str(r["stock"]), f"{r['demand_per_day']:.4f}",
            f"{r['pipeline_mean']:.3f}", f"{r['ebo']:.4f}", _pct(r["fill_rate"]),
        )
    out.print(t)
    out.print(f"Stock held: {doc['stock_cost']:,.0f}")
    if comparison:
        t = Table(title="Approximation error against the exact model (Graves 1985)")
        for col in ("method", "system", "site", "availability", "error", "max |ΔEBO|"):
            t.add_column(col, justify="left" if col in ("method", "system", "site") else "right")
        for name, block in comparison.items():
            for f in block["fleets"]:
                t.add_row(
                    name, f["system"], f["site"], _pct(f["availability"]),
                    f"{100 * f['availability_error']:+.3f} pts",
                    f"{block['max_abs_ebo_error']:.2e}",
                )
        out.print(t)


from sustain.cli.stockpile_cmd import stockpile as _stockpile  # noqa: E402

app.command("stockpile")(_stockpile)

from sustain.cli.simulate_cmd import simulate as _simulate  # noqa: E402

app.command("simulate")(_simulate)

from sustain.cli.oryx_cmd import oryx as _oryx  # noqa: E402

app.command("oryx")(_oryx)


def main() -> None:
    """Entry point of the ``sustain`` script."""
    app()


if __name__ == "__main__":
    main()
