"""What a worker process does: load the uploaded scenario, run one engine, send back the
document (or the message the command line would have written).

A run is a :class:`Task`: its kind, the scenario file written by
:mod:`sustain.web.uploads` and the options, already checked.  The document is built by
:mod:`sustain.report.run_documents` and written by
:func:`sustain.report.documents.json_text`, as ``sustain … --json`` does.  A failure is
sent as a :class:`Failure`: the CLI's message, its exit code (2 bad input, 3 no answer
exists) and the problems one per line.

The server's job manager starts one process per run from a fork server that has
imported this module (and through it the engines) once.
"""

from __future__ import annotations

import os
from dataclasses import dataclass, field, replace
from enum import StrEnum
from multiprocessing.connection import Connection
from pathlib import Path
from typing import Any

from sustain.errors import ScenarioError, Severity, SustainError

#: What the command line says when a run runs out of memory (cli/common.py).
OUT_OF_MEMORY = ("error: out of memory: this run needs more memory than the process may "
                 "use; lower the replications or days (simulate), or cap the stock with "
                 "stock_limits")



def memory_failure(memory_bytes: int) -> Failure:
    """The failure of a run stopped at the server's memory limit per run."""
    text = (f"out of memory: the run needed more than the server's limit of "
            f"{memory_bytes / 2**20:g} MB per run and was stopped (sustain serve "
            "--max-memory-mb); lower the replications or days (simulate), or cap the "
            "stock with stock_limits")
    return Failure(message=f"error: {text}", problems=(text,))


#: Modules the fork server imports once, so that each run starts with the engines loaded.
PRELOAD = ("sustain.web.worker", "sustain.cli.common", "sustain.crosscheck",
           "sustain.optimize.api", "sustain.readiness.evaluate", "sustain.report.documents",
           "sustain.report.run_documents", "sustain.scenario", "sustain.stockpile",
           "sustain.readiness.over_time", "sustain.deliver", "sustain.sweep")


class Kind(StrEnum):
    """The runs the API offers, one per command."""

    EVALUATE = "evaluate"
    OPTIMIZE = "optimize"
    SIMULATE = "simulate"
    STOCKPILE = "stockpile"
    NEXT = "next"
    SWEEP = "sweep"


@dataclass(frozen=True, slots=True, kw_only=True)
class Task:
    """One run: its kind, the scenario file and the options (checked)."""

    kind: Kind
    scenario: Path
    options: dict[str, Any] = field(default_factory=dict)


@dataclass(frozen=True, slots=True, kw_only=True)
class Failure:
    """Why a run gave no document: the CLI's message and exit code, the problems."""

    message: str
    exit_code: int = 2
    problems: tuple[str, ...] = ()

    def within(self, folder: Path) -> Failure:
        """The failure with the upload ``folder``'s path left out of its messages: a
        file of the upload is named as the client named it, and the server's data
        directory is not shown."""
        prefix = f"{folder}{os.sep}"
        return replace(self, message=self.message.replace(prefix, ""),
                       problems=tuple(p.replace(prefix, "") for p in self.problems))

    def to_dict(self) -> dict[str, Any]:
        """The error body of the API (HTTP 422) and of a failed job."""
        return {"message": self.message, "problems": list(self.problems),
                "exit_code": self.exit_code}


def failure(exc: BaseException, *, code: int = 2, prefix: str = "") -> Failure:
    """The failure for ``exc``, worded as the command line words it."""
    if isinstance(exc, ScenarioError):
        problems = tuple(str(i) for i in exc.issues if i.severity is Severity.ERROR)
        return Failure(message=str(exc), exit_code=code, problems=problems)
    text = f"{prefix}{exc}"
    return Failure(message=text if prefix else f"error: {text}", exit_code=code,
                   problems=(text,))


def run(task: Task, progress: Any = None) -> dict[str, Any]:
    """The document of ``task``; engine errors propagate (see :func:`outcome`)."""
    # Imported here, not at the top: the fork server imports them once (PRELOAD).
    from sustain.cli.common import parse_targets
    from sustain.crosscheck import simulate
    from sustain.optimize.api import optimize
    from sustain.readiness.evaluate import evaluate
    from sustain.report import run_documents as docs
    from sustain.scenario import load_scenario
    from sustain.stockpile import plan_stockpile

    sc = load_scenario(task.scenario)
    o = task.options
    if task.kind is Kind.EVALUATE and o.get("over_time"):
        from sustain.readiness.over_time import evaluate_over_time

        return evaluate_over_time(sc, days=o["days"], step=o["step"], method=o["method"],
                                  exponential=o["exponential"]).to_dict()
    if task.kind is Kind.EVALUATE:
        return docs.evaluation_document(evaluate(sc, method=o["method"]))
    if task.kind is Kind.NEXT:
        from sustain.deliver import Measure, choose

        if not sc.offers:
            raise _NoSection(f"error: {task.scenario.name}: the scenario has no offers "
                               "(see docs/next.md)")
        return choose(Measure(sc, days=o["days"], step=o["step"]),
                      budget=o["budget"]).to_dict()
    if task.kind is Kind.SWEEP:
        return _sweep(sc, o, progress)
    if task.kind is Kind.OPTIMIZE:
        opt = optimize(sc, target=parse_targets(o["target"]), budget=o["budget"],
                       method=o["method"], refine_seconds=o["refine_seconds"])
        return docs.optimization_document(opt)
    if task.kind is Kind.SIMULATE:
        res = simulate(sc, days=o["days"], replications=o["reps"], seed=o["seed"],
                       warmup_days=o["warmup"], failures_while_down=o["failures_while_down"],
                       cannibalisation=o["cannibalisation"],
                       delays="exponential" if o["exponential"] else "deterministic",
                       compare=o["compare"], progress=progress)
        return docs.simulation_document(res)
    if sc.stockpile is None:
        raise _NoSection(docs.no_stockpile_message(task.scenario.name))
    plan = plan_stockpile(sc, usage_from_fleets=o["usage_from_fleets"],
                          availability=o["availability"], workers=1)
    return docs.stockpile_document(plan)


def _sweep(sc: Any, o: dict[str, Any], progress: Any) -> dict[str, Any]:
    """``sustain sweep``'s document: one factor at a time, or samples drawn."""
    from sustain.cli.common import parse_targets
    from sustain.sweep import parse_factor, propagate, sensitivity
    from sustain.sweep.factors import check_selection, parse_selection

    factors = [parse_factor(v) for v in o["vary"]]
    selection = parse_selection(o["select"], sc)
    check_selection(factors, selection)
    targets = parse_targets(o["target"])
    if o["samples"] is not None:
        return propagate(sc, samples=o["samples"], seed=o["seed"], measure=o["measure"],
                         target=targets, method=o["method"],
                         refine_seconds=o["refine_seconds"], workers=1,
                         progress=progress).to_dict()
    return sensitivity(sc, factors, select=selection, measure=o["measure"], target=targets,
                       method=o["method"], refine_seconds=o["refine_seconds"], workers=1,
                       progress=progress).to_dict()


class _NoSection(SustainError):
    """The scenario has no ``stockpile:`` (or no ``offers:``) section; the message is
    complete."""


def outcome(task: Task, progress: Any = None) -> tuple[str, Failure | None]:
    """``(json_text, None)`` for a document, else ``("", failure)``: the exit codes and
    messages of the command line (exit 3: target unreachable, stockpile infeasible)."""
    from sustain.optimize import TargetUnreachable
    from sustain.report.documents import json_text
    from sustain.stockpile import PlanInfeasible

    try:
        return json_text(run(task, progress)), None
    except _NoSection as exc:
        return "", Failure(message=str(exc), problems=(str(exc).removeprefix("error: "),))
    except TargetUnreachable as exc:
        return "", failure(exc, code=3)
    except PlanInfeasible as exc:
        # sustain stockpile names the scenario; sustain next says the donor alone.
        prefix = f"{task.scenario.name}: " if task.kind is Kind.STOCKPILE else ""
        return "", failure(exc, code=3, prefix=prefix)
    except SustainError as exc:
        return "", failure(exc)
    except MemoryError:
        return "", Failure(message=OUT_OF_MEMORY, problems=(OUT_OF_MEMORY[7:],))
    except RecursionError as exc:  # pragma: no cover - a defect, reported without a traceback
        return "", Failure(message=f"error: internal error: {exc}", problems=(str(exc),))


def address_space_bytes() -> int | None:
    """The address space this process uses now (Linux: ``/proc/self/statm``), or None."""
    try:
        pages = int(Path("/proc/self/statm").read_text().split()[0])
    except (OSError, ValueError, IndexError):
        return None
    return pages * os.sysconf("SC_PAGE_SIZE")


def limit_memory(run_bytes: int) -> None:
    """Let this process take at most ``run_bytes`` more address space than it holds now
    (the loaded engines): past it, an allocation fails and the run ends with the
    command line's out-of-memory message (``RLIMIT_AS``, POSIX)."""
    import resource

    base = address_space_bytes() or 0
    _soft, hard = resource.getrlimit(resource.RLIMIT_AS)
    limit = base + run_bytes
    if hard != resource.RLIM_INFINITY:
        limit = min(limit, hard)
    resource.setrlimit(resource.RLIMIT_AS, (limit, hard))


def main(conn: Connection, task: Task, memory_bytes: int | None = None) -> None:
    """A worker process: run ``task``, sending progress and the outcome over ``conn``;
    with ``memory_bytes``, the run may take that much memory beyond the loaded engines
    (:func:`limit_memory`)."""

    def progress(done: int, total: int) -> None:
        conn.send(("progress", int(done), int(total)))

    if memory_bytes is not None:
        limit_memory(memory_bytes)
    try:
        text, failed = outcome(task, progress)
    except Exception as exc:  # a defect: reported as one line, never as a traceback
        text, failed = "", Failure(message=f"error: internal error ({type(exc).__name__}): "
                                   f"{exc}", problems=(f"{type(exc).__name__}: {exc}",))
    if failed is not None and failed.message == OUT_OF_MEMORY and memory_bytes is not None:
        failed = memory_failure(memory_bytes)
    conn.send(("failed", failed) if failed is not None else ("done", text))
    conn.close()
