"""What every command shares: error messages and exit codes, option checks, loading,
the inputs an output must not replace, and interrupts.

Exit codes: 0 ok; 2 a scenario, input file, option or output path error (also a
result that is not a finite number, which inputs outside the computed range give, and
a solver that stops without an answer); 3 an infeasible plan or unreachable target;
130 interrupted (SIGINT, Ctrl-C); 143 stopped by SIGTERM.
"""

from __future__ import annotations

import dataclasses
import functools
import math
import os
import re
import signal
import sys
from collections.abc import Callable
from enum import StrEnum
from pathlib import Path
from types import FrameType
from typing import TYPE_CHECKING, Annotated, Any, ParamSpec, TypeVar

import typer
from rich.console import Console

from sustain import _signals
from sustain.errors import ScenarioError, SustainError
from sustain.report.files import Input, Output, Render, check_not_inputs, check_outputs
from sustain.report.model import Report
from sustain.report.outputs import main_table, renderer, table_csv
from sustain.report.tabular import ChunkedTable

if TYPE_CHECKING:
    from sustain.scenario import Scenario
    from sustain.scenario.stock_plan import StockChange, StockMode

#: Width of the consoles when they write to a file or pipe rather than a terminal: as
#: wide as a table needs, so no column is cut to fit (Rich's default there is 80).
FILE_WIDTH = 10_000
#: Width of ``--help`` written to a file or pipe (its panels fill the width).
HELP_FILE_WIDTH = 160


def console(stderr: bool = False) -> Console:
    """A Rich console on stdout (or stderr): the terminal's width on a terminal,
    else :data:`FILE_WIDTH`."""
    stream = sys.stderr if stderr else sys.stdout
    return Console(stderr=stderr, width=None if stream.isatty() else FILE_WIDTH)


out = console()
err = console(stderr=True)

P = ParamSpec("P")
R = TypeVar("R")

#: Longest period in days an option may give (100 years).
MAX_DAYS = 36_500
#: Most replications a simulation may ask for on the command line.
MAX_REPLICATIONS = 1_000_000
#: Most worker processes an option may ask for.
MAX_WORKERS = 1_024
#: Largest seed: numpy takes any whole number >= 0; this keeps the seed that the JSON
#: document records a 64-bit signed integer, which typed JSON readers hold.
MAX_SEED = 2**63 - 1

AllowOutsideTables = Annotated[
    bool,
    typer.Option(
        "--allow-outside-tables",
        help="Read table files ({file: …}) from outside the scenario's folder too.",
    ),
]


def output_option(csv: str) -> typer.models.OptionInfo:
    """The ``-o/--output`` option; ``csv`` says what a ``.csv`` file holds."""
    return typer.Option(
        "--output", "-o",
        help="Write the results to this file, by its extension: .md report, .json "
        f"document (as --json), .csv {csv}, .xlsx workbook (a sheet per table), .html "
        "page, .parquet (the .csv table as Parquet); repeat for several files.",
    )


def report_files(
    outputs: list[Output], report: Callable[[], Report], doc_json: Callable[[], str], *,
    main: str = "", csv: Callable[[], str] | None = None,
    table: Callable[[], ChunkedTable] | None = None, doc: Callable[[], Any] | None = None,
) -> list[tuple[Output, Render]]:
    """What writes each of ``outputs``: the report (built once, when a file needs it),
    the JSON document, and as CSV or Parquet ``table()`` (written in blocks), else
    ``csv()``, else the report's table ``main``; with ``doc`` the JSON is written in
    pieces from the document."""
    built = functools.cache(report)

    def csv_text() -> str:
        return csv() if csv is not None else table_csv(main_table(built(), main))

    return [(o, renderer(o, built, doc_json, csv_text, table=table, doc=doc))
            for o in outputs]


def wrote(outputs: list[Output]) -> None:
    """One line on stderr per file written."""
    for o in outputs:
        err.print(f"written: {o.path}", markup=False, highlight=False, soft_wrap=True)


#: ``--workers``, ``--dask`` and ``--stock`` of the commands that run many evaluations or
#: simulations (simulate, sweep).
Workers = Annotated[int, typer.Option("--workers", help="Worker processes.")]
DaskAddress = Annotated[
    str | None, typer.Option("--dask", help="Dask scheduler address (tcp://host:8786).")
]
StockPlan = Annotated[
    Path | None,
    typer.Option("--stock", help="Stock plan CSV (item,site,qty), e.g. from `sustain "
                 "optimize -o plan.csv`; see --stock-mode."),
]

#: ``--days``, ``--step`` and ``--exponential`` of the commands with ``--over-time``.
OverTimeDays = Annotated[
    int | None, typer.Option("--days", help="With --over-time: horizon D (default 365).")
]
OverTimeStep = Annotated[
    int | None, typer.Option("--step", help="With --over-time: days between points K "
                             "(default 7).")
]
class HolesChoice(StrEnum):
    """``--holes`` (the scenario's ``holes``, docs/scenario.md)."""

    SPREAD = "spread"
    CONSOLIDATED = "consolidated"


HolesOption = Annotated[
    HolesChoice | None,
    typer.Option("--holes", help="Where missing units sit in the analytic availability: "
                 "spread (at random) or consolidated (onto as few systems as possible); "
                 "default: the scenario's holes (spread)."),
]


def with_holes(sc: Scenario, holes: HolesChoice | None) -> Scenario:
    """``sc`` with ``--holes`` in place of its own ``holes`` setting, when given."""
    return sc if holes is None else dataclasses.replace(sc, holes=holes.value)


Exponential = Annotated[
    bool, typer.Option("--exponential", help="With --over-time: exponential repair and "
                       "transit times of the same means (default deterministic).")
]


def fail(exc: SustainError | str, code: int = 2) -> typer.Exit:
    """Write one message on stderr and return the exit to raise.

    A :class:`~sustain.errors.ScenarioError` is written as it is (it lists its
    problems under a heading); anything else as ``error: …``.
    """
    # Plain stderr, not rich: messages must not be wrapped or re-marked up.
    text = str(exc) if isinstance(exc, ScenarioError) else f"error: {exc}"
    sys.stderr.write(text + "\n")
    sys.stderr.flush()
    return typer.Exit(code)


class OptionError(SustainError):
    """A command-line option has a value it cannot take."""


def _shown(value: object) -> str:
    text = str(value)
    return text if len(text) <= 24 else text[:24] + "…"


def check_number(
    option: str, value: float, *, low: float, high: float = math.inf,
    low_open: bool = False, what: str = "a number",
) -> float:
    """``value`` if it is finite and within [low, high] (``(low, high]`` with ``low_open``).

    Raises
    ------
    OptionError
        Naming the option, the value and the range.
    """
    inside = math.isfinite(value) and (value > low if low_open else value >= low) and value <= high
    if not inside:
        rule = f"> {low:g}" if low_open else f">= {low:g}"
        bound = f" and at most {high:,g}" if math.isfinite(high) else ""
        raise OptionError(f"{option} {_shown(value)}: must be {what} {rule}{bound}")
    return value


def check_whole(option: str, value: int, *, low: int, high: int | None = None) -> int:
    """``value`` if ``low <= value`` (and ``value <= high``).

    Raises
    ------
    OptionError
        Naming the option, the value and the range.
    """
    if value < low or (high is not None and value > high):
        rule = f">= {low:,}" if high is None else f"from {low:,} to {high:,}"
        raise OptionError(f"{option} {_shown(value)}: must be a whole number {rule}")
    return value


def _keyed_numbers(
    values: list[str], option: str, example: str, check: Callable[[str, float], None]
) -> float | dict[str, float] | None:
    """``NUMBER`` (key ``*``) or ``KEY=NUMBER`` options, each number passed to
    ``check(value, number)``: the number alone when only ``*`` is given, else by key."""
    if not values:
        return None
    found: dict[str, float] = {}
    for v in values:
        key, eq, num = v.rpartition("=")
        key = key.strip() if eq else "*"
        try:
            x = float(num)
        except ValueError:
            raise OptionError(f"{option} {v!r}: expected a number like {example}") from None
        check(v, x)
        found[key] = x
    return found["*"] if list(found) == ["*"] else found


def parse_targets(values: list[str]) -> float | dict[str, float] | None:
    """``0.9`` (every fleet), ``SAMX=0.95`` (a system), ``SAMX@WEST=0.9`` (one fleet)."""

    def check(v: str, x: float) -> None:
        if x > 1 and x <= 100:
            raise OptionError(f"--target {v!r}: give a fraction (0.9), not a percentage")
        if not 0 < x <= 1:  # also NaN
            raise OptionError(f"--target {v!r}: must be a fraction above 0 and at most 1, "
                              "like 0.9")

    return _keyed_numbers(values, "--target", "0.9, or SYSTEM=0.95, or SYSTEM@SITE=0.9",
                          check)


#: What ``optimize`` says to ``--method exact``.
EXACT_NOT_FOR_OPTIMIZE = "optimize uses --method vari-metric or metric"


def check_optimize_options(
    target: list[str] | None, budget: float | None, refine_seconds: float, *,
    service: bool = False,
) -> float | dict[str, float] | None:
    """The targets of ``optimize`` (``--target``, see :func:`parse_targets`), after
    checking ``--budget`` and ``--refine-seconds``; one of target and budget is needed
    (or ``service``: fill-rate or waiting-time targets)."""
    targets = parse_targets(target or [])
    if budget is not None:
        check_number("--budget", budget, low=0, what="an amount of money")
    if targets is None and budget is None and not service:
        raise OptionError("give --target (e.g. --target 0.9) or --budget")
    if refine_seconds != math.inf:
        check_number("--refine-seconds", refine_seconds, low=0,
                     what="a number of seconds (or inf)")
    return targets
def parse_service(values: list[str], option: str) -> float | dict[str, float] | None:
    """``--fill-rate`` (a fraction) or ``--max-wait`` (days): ``0.8`` alone, or keyed by
    ``SITE``, ``SYSTEM`` or ``SYSTEM@SITE`` (``EAST=0.85``, ``SAMX@EAST=2.5``)."""
    days = option == "--max-wait"
    example = "3, or SITE=3, SYSTEM=3, SYSTEM@SITE=2.5" if days else (
        "0.8, or SITE=0.85, SYSTEM=0.9, SYSTEM@SITE=0.9")

    def check(v: str, x: float) -> None:
        if days and not (math.isfinite(x) and x > 0):
            raise OptionError(f"{option} {v!r}: must be a number of days above 0")
        if not days:
            if 1 < x <= 100:
                raise OptionError(f"{option} {v!r}: give a fraction (0.9), not a percentage")
            if not 0 < x < 1:  # also NaN
                raise OptionError(f"{option} {v!r}: must be a fraction above 0 and below 1, "
                                  "like 0.9 (a fill rate of 1 needs unlimited stock)")

    return _keyed_numbers(values, option, example, check)


#: A Dask scheduler address: an optional protocol, a host and an optional port.
_DASK_ADDRESS = re.compile(
    r"(?:(?:tcp|tls|ucx|ws|wss|inproc)://)?(?:\[[0-9A-Fa-f:.]+\]|[A-Za-z0-9._-]+)"
    r"(?::(?P<port>\d{1,5}))?(?:/[A-Za-z0-9._-]+)*"
)


def check_dask_address(option: str, value: str | None) -> str | None:
    """``value`` if it looks like a Dask scheduler address (``tcp://host:8786``).

    Raises
    ------
    OptionError
        The text cannot be an address.
    """
    if value is None:
        return None
    match = _DASK_ADDRESS.fullmatch(value.strip())
    if match is None or (match["port"] is not None and not 0 < int(match["port"]) < 65536):
        raise OptionError(
            f"{option} {_shown(value)!r}: expected a scheduler address such as "
            "tcp://host:8786"
        )
    return value.strip()


class StockModeChoice(StrEnum):
    """``--stock-mode`` values (:class:`sustain.scenario.stock_plan.StockMode`, kept here
    so that ``--help`` does not load the scenario package)."""

    OVERLAY = "overlay"
    REPLACE = "replace"
    ADD = "add"


StockModeOption = Annotated[
    StockModeChoice,
    typer.Option(
        "--stock-mode",
        help="How --stock changes the scenario's stock: overlay (the file's rows replace "
        "the rows for the (item, site) pairs it names, others kept), replace (the file is "
        "the whole stock), add (the file's buy column, else qty, comes on top).",
    ),
]


def with_stock_plan(
    scenario: Scenario, path: Path, mode: StockModeChoice | StockMode, *, quiet: bool = False
) -> tuple[Scenario, StockChange]:
    """``scenario`` with the plan file ``path`` put in by ``mode``; unless ``quiet``,
    one line on stderr says what was done."""
    # Imported here, not at the top: the scenario package slows the start of --help.
    from sustain.scenario.stock_plan import StockMode, apply_stock_plan, load_stock_plan

    how = StockMode(mode.value)
    changed, change = apply_stock_plan(scenario, load_stock_plan(path, scenario, how), how)
    if not quiet:
        err.print(change.message, markup=False, highlight=False, soft_wrap=True)
    return changed, change


def load(path: Path, allow_outside_tables: bool) -> Scenario:
    """Load and check the scenario; table files outside its folder only when allowed."""
    # Imported here, not at the top: YAML and pydantic slow the start of --help.
    from sustain.scenario import load_scenario

    sc = load_scenario(path, allow_outside_tables=allow_outside_tables)
    for issue in sc.warnings:
        sys.stderr.write(f"{issue}\n")
    return sc


def inputs_of(scenario_path: Path, scenario: Scenario | None = None) -> list[Input]:
    """The files a run reads: the scenario file and, once loaded, its table files."""
    found = [Input(scenario_path, "the scenario file")]
    if scenario is not None:
        found += [Input(p, f"a table file of the scenario ({p.name})")
                  for p in scenario.source_files[1:]]
    return found


# -- interrupts ---------------------------------------------------------------------


class Interrupted(KeyboardInterrupt):
    """SIGINT or SIGTERM arrived; ``signum`` says which."""

    def __init__(self, signum: int) -> None:
        super().__init__(signal.Signals(signum).name)
        self.signum = signum


_main_pid: int | None = None


def _on_signal(signum: int, frame: FrameType | None) -> None:
    if os.getpid() != _main_pid:
        # A worker process forked from this one: behave as without a handler.
        if signum == signal.SIGINT:
            raise KeyboardInterrupt
        signal.signal(signum, signal.SIG_DFL)
        os.kill(os.getpid(), signum)
        return
    _signals.arrived(signum)
    if _signals.in_callback(frame):
        # Raised here, the exception would be lost (sustain._signals): try again soon.
        _signals.redeliver_later(signum)
        return
    raise Interrupted(signum)


def install_interrupt_handlers() -> None:
    """Turn SIGINT and SIGTERM into :class:`Interrupted`, so that every ``finally``
    runs (temporary files are removed, worker pools stopped) before the exit."""
    global _main_pid
    _main_pid = os.getpid()
    for signum in (signal.SIGINT, signal.SIGTERM):
        signal.signal(signum, _on_signal)


def command(fn: Callable[P, R]) -> Callable[P, R]:
    """Run a command so that an interrupt ends it with one line and exit 130 or 143."""

    @functools.wraps(fn)
    def run(*args: P.args, **kwargs: P.kwargs) -> R:
        try:
            result = fn(*args, **kwargs)
            _signals.raise_missed()  # a signal whose exception was lost on the way
            return result
        except KeyboardInterrupt as exc:
            signum = getattr(exc, "signum", None) or _signals.pending() or signal.SIGINT
            _signals.handled()
            # On a terminal the ^C echo has no line end of its own.
            sys.stderr.write(("\n" if sys.stderr.isatty() else "") + "interrupted\n")
            sys.stderr.flush()
            raise typer.Exit(128 + signum) from None
        except MemoryError:
            # The estimates before a run cannot see every allocation (another process,
            # a lower ulimit): the run ends with one line, and outputs stay as they were.
            sys.stderr.write(
                "error: out of memory: this run needs more memory than the process may "
                "use; lower --max-memory (optimize), the replications or days (simulate), "
                "or cap the stock with stock_limits\n"
            )
            sys.stderr.flush()
            raise typer.Exit(2) from None

    return run


def load_for_outputs(
    scenario: Path, outputs: list[Output], allow_outside_tables: bool, *,
    stock: Path | None = None, stock_mode: StockModeChoice = StockModeChoice.OVERLAY,
    quiet: bool = False,
) -> tuple[Scenario, StockChange | None]:
    """Check the output files, that none replaces an input (the scenario, its table files,
    the stock plan), then load the scenario and put in the stock plan when one is given."""
    check_outputs(outputs)
    inputs = inputs_of(scenario)
    if stock is not None:
        inputs.append(Input(stock, "the stock plan"))
    check_not_inputs(outputs, inputs)
    sc = load(scenario, allow_outside_tables)
    check_not_inputs(outputs, inputs_of(scenario, sc))
    if stock is None:
        return sc, None
    return with_stock_plan(sc, stock, stock_mode, quiet=quiet)


def no_laterals_note(scenario: Scenario, what: str) -> str | None:
    """The note that ``what`` (an over-time run) leaves out the scenario's lateral links,
    when it has any (docs/method.md, *Lateral resupply*); None without links."""
    if not scenario.laterals:
        return None
    return (f"note: {what} leaves out the scenario's lateral links (laterals): each site "
            "waits for its own resupply, so linked sites may do better than shown")


def note_no_laterals(scenario: Scenario, what: str) -> None:
    """Say :func:`no_laterals_note` on stderr, when there is one."""
    note = no_laterals_note(scenario, what)
    if note is not None:
        err.print(note, markup=False, highlight=False, soft_wrap=True)
