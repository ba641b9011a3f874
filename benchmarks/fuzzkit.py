"""Mutation fuzzing of Sustain's inputs: cases, mutators, a worker pool, a classifier.

Plain Python (no pytest): ``benchmarks/fuzz.py`` runs it at scale and
``tests/fuzz/test_fuzz.py`` runs a seeded few hundred cases per format.

A *case* is a set of files (a scenario, its tables) plus what to run on them.  It is
generated from ``(seed, format, index)`` alone, so any case can be rebuilt, and it is
stored as JSON so a failing one can be replayed.  Formats:

yaml       the scenario document: values, keys, structure, bytes; YAML or JSON
table      the CSV tables (items, demand), sometimes written as XLSX instead
stockpile  the ``stockpile`` section of a scenario
timeline   ``deliveries``, ``tempo``, ``attrition``, ``battle_damage``, ``simulation``
cli        option values of ``sustain evaluate|optimize|simulate|stockpile``

Each case runs in a worker process through the public entry points (load_scenario,
evaluate, optimize with a small target, simulate with few days and replications,
plan_stockpile) or the CLI (typer's CliRunner), and ends in one :class:`Outcome`:

ok     an answer whose numbers are valid
clean  a SustainError, or exit code 2/3 with a message
crash  any other exception (type, message, last frame), or another exit code
wrong  an answer with invalid numbers: NaN/Infinity, availability or fill rate
       outside [0, 1], negative counts, costs or backorders
hang   the worker did not answer within the timeout (it is killed)
"""

from __future__ import annotations

import base64
import contextlib
import copy
import io
import json
import math
import multiprocessing as mp
import os
import random
import re
import resource
import tempfile
import time
import traceback
from collections.abc import Callable, Iterable, Iterator
from dataclasses import asdict, dataclass, field
from multiprocessing.connection import Connection, wait
from pathlib import Path
from typing import Any

import yaml

FORMATS = ("yaml", "table", "stockpile", "timeline", "cli")
KINDS = ("ok", "clean", "crash", "wrong", "hang")
EXAMPLES = Path(__file__).resolve().parent.parent / "examples"
AIR = "coalition-air-defence.yaml"
MUNITIONS = "coalition-munitions.yaml"
#: Address space a worker may use; more is a crash (MemoryError), never a swapped machine.
WORKER_MEMORY = 4 * 2**30
#: Scenarios with at most this many item rows are also optimised (bigger ones take seconds).
OPTIMIZE_MAX_ITEMS = 8
#: ``simulate(max_events=)`` of the cases: a run the default budget accepts may take
#: minutes by design, so the cases check the refusal at a budget of a few seconds.
SIM_EVENTS = 1e7

# ---- cases and outcomes ----------------------------------------------------------------


@dataclass
class Case:
    """One fuzz input: files by name (text or bytes), the file to load, and the run."""

    format: str
    seed: int
    index: int
    mutation: str
    main: str
    files: dict[str, str | bytes]
    run: dict[str, Any]

    def to_json(self) -> str:
        """The case as JSON (bytes files in base64), for the replay folder."""
        files = {
            name: {"b64": base64.b64encode(v).decode()} if isinstance(v, bytes) else {"text": v}
            for name, v in self.files.items()
        }
        return json.dumps({**asdict(self), "files": files}, indent=1, ensure_ascii=True)

    @classmethod
    def from_json(cls, text: str) -> Case:
        """Inverse of :meth:`to_json`."""
        d = json.loads(text)
        d["files"] = {
            k: base64.b64decode(v["b64"]) if "b64" in v else v["text"]
            for k, v in d["files"].items()
        }
        return cls(**d)


@dataclass
class Outcome:
    """How one case ended: ``kind`` in :data:`KINDS`, a one-line ``detail``, a traceback."""

    kind: str
    detail: str = ""
    trace: str = ""
    seconds: float = 0.0

    def signature(self) -> str:
        """The fault class: the detail with numbers and quoted values blanked out."""
        first = self.detail.split("; ")[0]
        return re.sub(r"'[^']*'|\"[^\"]*\"|-?\d[\d.e+-]*", "_", first)[:200]


# ---- validity of answers -----------------------------------------------------------------

#: Keys of result documents whose numbers are shares: in [0, 1].
SHARE_KEYS = frozenset({"availability", "availability_ci95", "fill_rate", "target", "lo",
                        "hi", "mean"})
#: Keys whose numbers are counts, costs, backorders or rates: >= 0.
NONNEG_KEYS = frozenset({
    "ebo", "vbo", "backorders_mean", "pipeline_mean", "pipeline_var", "demand_per_day",
    "cost", "purchase_cost", "stock_cost", "unit_cost", "qty", "count", "stock",
    "expected_available", "in_repair_mean", "lost_mean", "present_mean", "up_mean",
    "battle_repair_mean", "up", "present", "lost", "battle_repair", "delivered", "shortfall",
    "floor_breach", "made", "sent", "surge", "used", "arrivals", "demand", "partner_stock",
    "pledged", "events", "months_of_supply", "surge_cost", "floor", "start_stock",
})
TOL = 1e-9


def invalid_numbers(doc: Any, path: str = "") -> list[str]:
    """Where a result document holds a number it must not (empty when all are valid)."""
    bad: list[str] = []
    stack: list[tuple[Any, str, str]] = [(doc, path, "")]
    while stack:
        obj, where, key = stack.pop()
        if isinstance(obj, dict):
            stack.extend((v, f"{where}.{k}", str(k)) for k, v in obj.items())
        elif isinstance(obj, list | tuple):
            stack.extend((v, f"{where}[{i}]", key) for i, v in enumerate(obj))
        elif isinstance(obj, bool) or not isinstance(obj, int | float):
            continue
        elif not math.isfinite(obj):
            bad.append(f"{where} = {obj}")
        elif key in SHARE_KEYS and not -TOL <= obj <= 1 + TOL:
            bad.append(f"{where} = {obj} outside [0, 1]")
        elif key in NONNEG_KEYS and obj < -TOL * max(1.0, abs(obj)):
            bad.append(f"{where} = {obj} < 0")
    return bad[:5]


def _strict_json(text: str) -> Any:
    """``json.loads`` that refuses NaN and Infinity (not JSON)."""

    def refuse(const: str) -> Any:
        raise ValueError(f"{const} in the JSON output")

    return json.loads(text, parse_constant=refuse)


# ---- running one case (in a worker) ------------------------------------------------------


def _last_frame(exc: BaseException) -> str:
    frames = traceback.extract_tb(exc.__traceback__)
    if not frames:
        return "?"
    f = frames[-1]
    return f"{Path(f.filename).name}:{f.lineno} in {f.name}"


def _crash(exc: BaseException) -> Outcome:
    msg = str(exc).splitlines()[0][:160] if str(exc) else ""
    trace = "".join(traceback.format_exception(exc))
    return Outcome("crash", f"{type(exc).__name__}: {msg} @ {_last_frame(exc)}", trace)


def _check(doc: dict[str, Any], what: str) -> None:
    bad = invalid_numbers(doc)
    if bad:
        raise _Wrong(f"{what}: " + "; ".join(bad))


class _Wrong(Exception):
    """An answer with invalid numbers."""


def _run_api(case: Case, path: Path) -> None:
    import sustain

    run = case.run
    time.sleep(run.get("sleep", 0))  # a stand-in for a hang, to test the timeout
    scenario = sustain.load_scenario(path)
    if run.get("stockpile"):
        plan = sustain.plan_stockpile(scenario, usage_from_fleets=run.get("usage", False))
        _check(plan.to_dict(), "plan_stockpile")
        return
    _check(sustain.evaluate(scenario, method=run.get("method", "vari-metric")).to_dict(),
           "evaluate")
    if run.get("optimize") is not None and len(scenario.items) <= OPTIMIZE_MAX_ITEMS:
        try:
            # The worker's address space is capped: the estimate must know it.
            opt = sustain.optimize(scenario, max_memory=WORKER_MEMORY / 4, **run["optimize"])
        except sustain.TargetUnreachable:
            pass
        else:
            _check(opt.to_dict(), "optimize")
    if run.get("simulate") is not None:
        _check(sustain.simulate(scenario, **run["simulate"]).to_dict(), "simulate")


def _run_cli(case: Case, path: Path) -> Outcome:
    from typer.testing import CliRunner

    from sustain.cli.main import app

    argv = [str(path) if a == "{scenario}" else a for a in case.run["argv"]]
    result = CliRunner().invoke(app, argv)
    exc = result.exception
    if exc is not None and not isinstance(exc, SystemExit):
        return _crash(exc)
    code = result.exit_code
    err = result.stderr if result.stderr_bytes is not None else ""
    if code in (2, 3):
        if not err.strip() or "Traceback" in err:
            return Outcome("crash", f"exit {code} without one clear message: {err[-160:]!r}")
        return Outcome("clean", err.strip().splitlines()[0][:160])
    if code != 0:
        return Outcome("crash", f"exit code {code}: {err[-160:]!r}")
    if "--json" in argv:
        try:
            bad = invalid_numbers(_strict_json(result.stdout))
        except ValueError as e:
            return Outcome("wrong", f"{argv[0]} --json: {e}")
        if bad:
            return Outcome("wrong", f"{argv[0]} --json: " + "; ".join(bad))
    return Outcome("ok")


def run_case(case: Case) -> Outcome:
    """Write the case's files to a fresh folder and run it there; never raises."""
    from sustain.errors import SustainError

    start = time.perf_counter()
    cwd = os.getcwd()
    with tempfile.TemporaryDirectory(prefix="sustain-fuzz-") as tmp:
        try:
            for name, content in case.files.items():
                target = Path(tmp, name)
                if isinstance(content, bytes):
                    target.write_bytes(content)
                else:
                    target.write_text(content, encoding="utf-8", errors="surrogatepass")
            os.chdir(tmp)
            path = Path(tmp, case.main)
            if case.format == "cli":
                out = _run_cli(case, path)
            else:
                _run_api(case, path)
                out = Outcome("ok")
        except SustainError as exc:
            out = Outcome("clean", str(exc).splitlines()[0][:160] if str(exc) else "")
        except _Wrong as exc:
            out = Outcome("wrong", str(exc)[:300])
        except BaseException as exc:  # everything else is the finding
            out = _crash(exc)
        finally:
            os.chdir(cwd)
    out.seconds = time.perf_counter() - start
    return out


# ---- worker pool with per-case timeouts --------------------------------------------------


def warm_up() -> None:
    """Run every entry point once in this process, so that forked workers start warm.

    Imports, numba's compiled (cached) functions and the plotting backend are then
    inherited by each worker instead of loaded again by each one.  Once per process.
    """
    if _WARM:
        return
    for fmt, run in (("yaml", {"method": "vari-metric", "optimize": {"budget": 1e4},
                               "simulate": {"days": 5, "replications": 2, "seed": 1}}),
                     ("timeline", {"simulate": {"days": 10, "replications": 2, "seed": 1}}),
                     ("stockpile", {"stockpile": True}),
                     ("cli", {"argv": ["simulate", "{scenario}", "--days", "5", "--reps", "2",
                                       "--plot", "a.png", "--quiet"]})):
        rng = random.Random(0)
        doc = _small_stockpile(rng) if fmt == "stockpile" else _small_scenario(rng)
        if fmt == "timeline":
            doc = _small_timeline(rng, doc)
        files: dict[str, str | bytes] = {"s.yaml": yaml.safe_dump(doc)}
        out = run_case(Case(fmt, 0, 0, "none", "s.yaml", files, run))
        if out.kind not in ("ok", "wrong"):  # a wrong answer is a finding, not a set-up fault
            raise RuntimeError(f"the unmutated {fmt} case fails: {out.detail}\n{out.trace}")
    _WARM.append(True)


_WARM: list[bool] = []


def _worker(conn: Connection, parent: int) -> None:
    resource.setrlimit(resource.RLIMIT_AS, (WORKER_MEMORY, WORKER_MEMORY))
    while True:
        # Forked siblings hold copies of each other's pipes, so a killed parent may
        # never show as end-of-file: a worker whose parent is gone ends by itself.
        while not conn.poll(1.0):
            if os.getppid() != parent:
                return
        try:
            text = conn.recv()
        except EOFError:
            return
        if text is None:
            return
        out = run_case(Case.from_json(text))
        conn.send(asdict(out))


@dataclass
class _Slot:
    proc: Any
    conn: Connection
    case: Case | None = None
    started: float = 0.0


def _start(ctx: Any) -> _Slot:
    parent, child = ctx.Pipe()
    # Not a daemon: a case may start processes of its own (simulate --workers).
    proc = ctx.Process(target=_worker, args=(child, os.getpid()))
    proc.start()
    child.close()
    return _Slot(proc, parent)


def run_cases(
    cases: Iterable[Case], *, workers: int = 2, timeout: float = 20.0
) -> Iterator[tuple[Case, Outcome]]:
    """Run cases in ``workers`` processes, yielding each case with its outcome.

    A worker that takes longer than ``timeout`` seconds is killed (a hang) and a new
    one started; a worker that dies is a crash.
    """
    warm_up()
    ctx = mp.get_context("fork")
    slots = [_start(ctx) for _ in range(max(1, workers))]
    todo = iter(cases)
    pending = True
    try:
        while True:
            for i, slot in enumerate(slots):
                if slot.case is None and pending:
                    nxt = next(todo, None)
                    if nxt is None:
                        pending = False
                        continue
                    slot.case, slot.started = nxt, time.perf_counter()
                    try:
                        slot.conn.send(nxt.to_json())
                    except (BrokenPipeError, OSError):
                        slots[i] = _start(ctx)
                        slots[i].case, slots[i].started = nxt, time.perf_counter()
                        slots[i].conn.send(nxt.to_json())
            busy = [s for s in slots if s.case is not None]
            if not busy:
                return
            ready = wait([s.conn for s in busy], timeout=0.2)
            now = time.perf_counter()
            for i, slot in enumerate(slots):
                if slot.case is None:
                    continue
                case = slot.case
                if slot.conn in ready:
                    try:
                        out = Outcome(**slot.conn.recv())
                    except (EOFError, OSError):
                        slot.proc.join(1)
                        out = Outcome("crash", f"worker died (exit code {slot.proc.exitcode})")
                        slots[i] = _start(ctx)
                    else:
                        slot.case = None
                    yield case, out
                elif now - slot.started > timeout:
                    slot.proc.kill()
                    slot.proc.join()
                    slots[i] = _start(ctx)
                    yield case, Outcome("hang", f"no answer within {timeout:g} s",
                                        seconds=now - slot.started)
    finally:
        for slot in slots:
            if slot.proc.is_alive():
                with contextlib.suppress(OSError):
                    slot.conn.send(None)
                slot.proc.join(2)
                if slot.proc.is_alive():
                    slot.proc.kill()
                    slot.proc.join()


# ---- base inputs ----------------------------------------------------------------------------


def _read(name: str) -> str:
    return (EXAMPLES / name).read_text(encoding="utf-8")


def _small_scenario(rng: random.Random) -> dict[str, Any]:
    """A small valid scenario: a depot, 1-3 bases, 1-2 systems, 1-4 items, maybe a sub-item."""
    bases = [f"B{k}" for k in range(rng.randint(1, 3))]
    sites: list[dict[str, Any]] = [{"id": "HUB", "kind": "depot"}]
    sites += [{"id": b, "kind": "base", "parent": "HUB", "order_ship_days": rng.randint(0, 6)}
              for b in bases]
    systems = [{"id": f"S{k}", "unit_cost": rng.choice([1e5, 3e6])}
               for k in range(rng.randint(1, 2))]
    fleets = [{"system": s["id"], "site": b, "count": rng.randint(1, 6),
               "hours_per_day": rng.choice([4, 12, 24])} for s in systems for b in bases]
    items: list[dict[str, Any]] = []
    for k in range(rng.randint(1, 4)):
        items.append({
            "id": f"I{k}", "unit_cost": rng.choice([500, 20000, 1e6]),
            "mtbf_hours": rng.choice([300, 2000, 9000]),
            "installed_in": [{"system": rng.choice(systems)["id"], "qty": rng.randint(1, 2)}],
            "base_repair_fraction": rng.choice([0, 0.3]), "base_repair_days": 3,
            "depot_repair_days": rng.randint(5, 40), "condemnation_fraction": 0.02,
            "procurement_days": 90,
        })
    if rng.random() < 0.5:
        items.append({"id": "SUB", "unit_cost": 800, "parent": "I0", "replace_fraction": 0.4,
                      "depot_repair_days": 10})
    stock = [{"item": it["id"], "site": rng.choice(["HUB", *bases]), "qty": rng.randint(0, 3)}
             for it in items]
    doc = {"name": "fuzz", "currency": "EUR", "sites": sites, "systems": systems,
           "fleets": fleets, "items": items, "stock": stock}
    if rng.random() < 0.3:  # the keys Sustain adds to the format
        items[0]["weibull_shape"] = rng.choice((0.5, 2.0))
        sites[0]["repair_channels"] = rng.randint(1, 4)
        doc["stock_limits"] = [{"item": items[0]["id"], "site": bases[0], "max": 4},
                               {"item": items[-1]["id"], "min": 1}]
    return doc


def _small_timeline(rng: random.Random, doc: dict[str, Any]) -> dict[str, Any]:
    fleet = rng.choice(doc["fleets"])
    key = {"system": fleet["system"], "site": fleet["site"]}
    doc["deliveries"] = [{"day": 20, **key, "count": 2,
                          "stock": [{"item": doc["items"][0]["id"], "qty": 1}]}]
    doc["tempo"] = [{"from_day": 10, "to_day": 40, "factor": 1.5, "site": fleet["site"]}]
    doc["attrition"] = [{**key, "losses_per_day": 0.01}]
    doc["battle_damage"] = [{**key, "damaged_per_day": 0.01, "repair_days": 15}]
    doc["simulation"] = {"warmup_days": 5, "cannibalisation": rng.random() < 0.5}
    return doc


def _small_stockpile(rng: random.Random) -> dict[str, Any]:
    cons = [{"id": f"C{k}", "unit_cost": 1000, "priority": 1.0}
            for k in range(rng.randint(1, 2))]
    donors = [{
        "id": f"D{k}", "stock": {c["id"]: 5000 for c in cons},
        "floor": {c["id"]: 1000 for c in cons}, "own_use_per_month": {c["id"]: 100 for c in cons},
        "lead_months": rng.randint(0, 2),
        "production": [{"consumable": c["id"], "from": "2024-01", "per_month": 300}
                       for c in cons],
        "surge": [{"consumable": cons[0]["id"], "from": "2024-03", "per_month": 200,
                   "unit_cost": 1500}],
    } for k in range(rng.randint(1, 2))]
    return {"name": "fuzz stockpile", "stockpile": {
        "start_month": "2024-01", "months": rng.randint(3, 12), "consumables": cons,
        "demand": [{"consumable": c["id"], "from": "2024-01", "per_month": 900} for c in cons],
        "partner_stock": {c["id"]: 500 for c in cons}, "donors": donors,
        "pledges": [{"donor": "D0", "consumable": cons[0]["id"], "month": "2024-02",
                     "qty": 400}],
    }}


def _csv_text(rows: list[dict[str, Any]]) -> str:
    cols: list[str] = []
    for r in rows:
        cols += [c for c in r if c not in cols]
    out = [",".join(cols)]
    for r in rows:
        cells = []
        for c in cols:
            v = r.get(c, "")
            if isinstance(v, list):  # installed_in
                v = ";".join(f"{x['system']}:{x['qty']}" for x in v)
            cells.append(str(v))
        out.append(",".join(cells))
    return "\n".join(out) + "\n"


# ---- mutators ---------------------------------------------------------------------------------

EXTREMES: tuple[Any, ...] = (
    0, -1, 1, 0.5, 1e-300, -1e-300, 1e300, -1e300, float("nan"), float("inf"), float("-inf"),
    2**53, 2**53 + 1, 2**63, -(2**63), 10**30, 10**400, 1.0000000000000002, 0.9999999999999999,
    366, 36500, 36501, 1e9, "", " ", "x" * 5000, "ünïcødé ✈", "\u202e", "\x00", "a\x00b",
    "NaN", "inf", "-0", "1e999", "0x10", "1_000", "2024-13", "1999-01", "9999-12", "null",
    True, False, None, [], {}, [1, 2], {"a": 1}, {"file": "nope.csv"}, {"file": "../x.csv"},
)


#: Numbers for numbers: inputs of the right type that reach the engines' guards.
NUMBERS: tuple[float, ...] = (0, 0.0, 1, -1, 1e-300, 5e-324, 1e-9, 0.999999, 1e300, 1e18,
                              2**53, 10**12, 36500, 365.25, 1e6, 3.0, 0.5)


def _extreme(rng: random.Random, like: Any = None) -> Any:
    if isinstance(like, int | float) and not isinstance(like, bool) and rng.random() < 0.6:
        return rng.choice(NUMBERS)
    return copy.deepcopy(rng.choice(EXTREMES))


def _paths(obj: Any, prefix: tuple[Any, ...] = ()) -> list[tuple[Any, ...]]:
    """Paths to every node (dict key or list index chains) below ``obj``."""
    out: list[tuple[Any, ...]] = []
    stack = [(obj, prefix)]
    while stack:
        node, p = stack.pop()
        if p:
            out.append(p)
        if isinstance(node, dict):
            stack.extend((v, (*p, k)) for k, v in node.items())
        elif isinstance(node, list):
            stack.extend((v, (*p, i)) for i, v in enumerate(node))
    return sorted(out, key=repr)


def _get(obj: Any, path: tuple[Any, ...]) -> Any:
    for k in path:
        obj = obj[k]
    return obj


def _misspell(rng: random.Random, key: str) -> str:
    if not key:
        return "x"
    i = rng.randrange(len(key))
    return rng.choice([key[:i] + key[i + 1:], key[:i] + "x" + key[i:], key.upper(),
                       key + "s", key.replace("_", "-")]) or "x"


def mutate_tree(rng: random.Random, doc: Any, within: tuple[Any, ...] = ()) -> tuple[Any, str]:
    """One to three mutations of values, keys or structure below ``within``."""
    doc = copy.deepcopy(doc)
    notes = []
    for _ in range(rng.choice((1, 1, 1, 1, 2, 3))):
        paths = [p for p in _paths(doc) if p[: len(within)] == within]
        if not paths:
            break
        path = rng.choice(paths)
        parent = _get(doc, path[:-1])
        key = path[-1]
        node = parent[key]
        op = rng.choice(("value", "value", "value", "drop", "dup", "misspell", "unknown",
                         "swap", "list_dict", "nest", "scale"))
        if op == "value":
            parent[key] = _extreme(rng, node)
        elif op == "scale" and isinstance(node, int | float) and not isinstance(node, bool):
            parent[key] = node * rng.choice((-1, 0, 1e6, 1e-6, 1e12, 0.5)) + rng.choice((0, 1))
        elif op == "drop":
            del parent[key]
        elif op == "dup" and isinstance(parent, list):
            parent.insert(key, copy.deepcopy(node))
        elif op == "misspell" and isinstance(parent, dict) and isinstance(key, str):
            new = _misspell(rng, key)
            parent[new] = parent.pop(key)
        elif op == "unknown" and isinstance(node, dict):
            node[rng.choice(("extra", "id", "count", "qty", "file", "days"))] = _extreme(rng)
        elif op == "swap" and isinstance(parent, list) and len(parent) > 1:
            j = rng.randrange(len(parent))
            parent[key], parent[j] = parent[j], parent[key]
        elif op == "list_dict":
            if isinstance(node, list):
                parent[key] = {str(i): v for i, v in enumerate(node)}
            elif isinstance(node, dict):
                parent[key] = list(node.values()) if rng.random() < 0.5 else [node]
            else:
                parent[key] = [node]
        elif op == "nest":
            parent[key] = rng.choice(([node], {"value": node}, [[node]], {str(key): node}))
        else:
            parent[key] = _extreme(rng)
            op = "value"
        notes.append(f"{op} {'.'.join(map(str, path))}")
    return doc, "; ".join(notes)


def mutate_bytes(rng: random.Random, data: bytes) -> tuple[bytes, str]:
    """Truncate, flip, insert or delete bytes."""
    if not data:
        return b"\xff", "bytes from empty"
    op = rng.choice(("truncate", "flip", "insert", "delete", "dup_line", "bom"))
    i = rng.randrange(len(data))
    if op == "truncate":
        return data[:i], f"truncate at {i}"
    if op == "flip":
        b = bytearray(data)
        for _ in range(rng.randint(1, 4)):
            j = rng.randrange(len(b))
            b[j] ^= 1 << rng.randrange(8)
        return bytes(b), "flip bits"
    if op == "insert":
        junk = rng.choice((b"\x00", b"\xff\xfe", b"\r", b"\n", b":", b"- ", b"{", b"&a *a",
                           b"!!python/object ", b"\t", b'"', b",", b"\xe2\x80\xae"))
        return data[:i] + junk + data[i:], f"insert {junk!r} at {i}"
    if op == "delete":
        return data[:i] + data[i + rng.randint(1, 40):], f"delete at {i}"
    if op == "dup_line":
        lines = data.split(b"\n")
        j = rng.randrange(len(lines))
        lines.insert(j, lines[j])
        return b"\n".join(lines), f"duplicate line {j + 1}"
    return b"\xef\xbb\xbf" + data, "byte order mark"


def _dump(rng: random.Random, doc: Any) -> tuple[str, str]:
    """``doc`` as YAML or JSON text, and the file suffix."""
    if rng.random() < 0.2:
        try:
            return json.dumps(doc, indent=1), ".json"
        except (TypeError, ValueError):
            pass
    return yaml.safe_dump(doc, allow_unicode=True, sort_keys=False, width=10**6), ".yaml"


# ---- generators per format ---------------------------------------------------------------


#: What a generator returns: the file to load, the files, the run, the mutation made.
Generated = tuple[str, dict[str, str | bytes], dict[str, Any], str]


def _api_run(rng: random.Random, small: bool, targets: bool) -> dict[str, Any]:
    run: dict[str, Any] = {"method": rng.choice(("vari-metric", "vari-metric", "metric", "exact"))}
    if small and rng.random() < 0.5:
        goals = ({"target": 0.5}, {"target": 0.8}, {"budget": 2e5}) if targets else (
            {"budget": 2e5}, {"budget": 1e7})
        run["optimize"] = rng.choice(goals)
    if rng.random() < 0.5:
        run["simulate"] = {"days": rng.choice((10, 60)), "replications": 2, "seed": 1,
                           "max_events": SIM_EVENTS,
                           "cannibalisation": rng.random() < 0.3,
                           "delays": rng.choice(("deterministic", "exponential"))}
    return run


def _base_scenario(
    rng: random.Random,
) -> tuple[dict[str, Any], dict[str, str | bytes], bool]:
    """A scenario document, its table files, and whether it is small."""
    if rng.random() < 0.25:
        doc = yaml.safe_load(_read(AIR))
        items = "coalition-air-defence-items.csv"
        return doc, {items: _read(items)}, False
    doc = _small_scenario(rng)
    if rng.random() < 0.3:
        doc = _small_timeline(rng, doc)
    return doc, {}, True


def _case_yaml(rng: random.Random, targets: bool) -> Generated:
    doc, files, small = _base_scenario(rng)
    run = _api_run(rng, small, targets)
    if rng.random() < 0.2:
        text = yaml.safe_dump(doc, sort_keys=False, width=10**6)
        data, note = mutate_bytes(rng, text.encode())
        return "s.yaml", {**files, "s.yaml": data}, run, note
    mutated, note = mutate_tree(rng, doc)
    text, suffix = _dump(rng, mutated)
    return "s" + suffix, {**files, "s" + suffix: text}, run, note


def _mutate_csv(rng: random.Random, text: str) -> tuple[str | bytes, str]:
    if rng.random() < 0.2:
        return mutate_bytes(rng, text.encode())
    lines = text.rstrip("\n").split("\n")
    rows = [ln.split(",") for ln in lines]
    op = rng.choice(("cell", "cell", "cell", "header", "drop_col", "dup_col", "drop_row",
                     "dup_row", "short_row", "long_row", "empty", "header_only"))
    r = rng.randrange(1, len(rows)) if len(rows) > 1 else 0
    c = rng.randrange(len(rows[0]))
    if op == "cell":
        v = _extreme(rng)
        rows[r][c] = str(v).replace(",", ";").replace("\n", " ") if c < len(rows[r]) else ""
        note = f"cell row {r} col {rows[0][c]} = {str(v)[:30]!r}"
    elif op == "header":
        rows[0][c] = _misspell(rng, rows[0][c])
        note = f"header {c}"
    elif op in ("drop_col", "dup_col"):
        for row in rows:
            if c < len(row):
                if op == "drop_col":
                    del row[c]
                else:
                    row.insert(c, row[c])
        note = f"{op} {c}"
    elif op == "drop_row" and len(rows) > 1:
        del rows[r]
        note = f"drop row {r}"
    elif op == "dup_row":
        rows.insert(r, list(rows[r]))
        note = f"duplicate row {r}"
    elif op == "short_row":
        rows[r] = rows[r][: rng.randrange(len(rows[r]) + 1)]
        note = f"short row {r}"
    elif op == "long_row":
        rows[r] = [*rows[r], "x", "1"]
        note = f"long row {r}"
    elif op == "empty":
        return "", "empty file"
    else:
        rows = rows[:1]
        note = "header only"
    return "\n".join(",".join(row) for row in rows) + "\n", note


def _xlsx(text: str) -> bytes:
    """The CSV ``text`` as an XLSX workbook, numbers as numbers."""
    from openpyxl import Workbook

    wb = Workbook()
    ws = wb.active
    for line in text.rstrip("\n").split("\n"):
        row: list[Any] = []
        for cell in line.split(","):
            try:
                row.append(float(cell) if cell.strip() else None)
            except ValueError:
                row.append(re.sub(r"[\x00-\x08\x0b\x0c\x0e-\x1f]", "?", cell))
        ws.append(row)
    buf = io.BytesIO()
    wb.save(buf)
    return buf.getvalue()


def _case_table(rng: random.Random, targets: bool) -> Generated:
    pick = rng.random()
    if pick < 0.3:
        doc: dict[str, Any] = yaml.safe_load(_read(MUNITIONS))
        doc["stockpile"]["months"] = 12
        table, key = "demand", ("stockpile", "demand")
        text = _read("coalition-munitions-demand.csv")
        run: dict[str, Any] = {"stockpile": True}
    elif pick < 0.5:
        doc = yaml.safe_load(_read(AIR))
        table, key, text = "items", ("items",), _read("coalition-air-defence-items.csv")
        run = _api_run(rng, small=False, targets=targets)
    else:
        doc = _small_scenario(rng)
        name = rng.choice(("items", "sites", "fleets", "stock", "systems"))
        table, key, text = name, (name,), _csv_text(doc[name])
        run = _api_run(rng, small=True, targets=targets)
    data, note = _mutate_csv(rng, text)
    fname = f"{table}.csv"
    if rng.random() < 0.25 and isinstance(data, str):
        try:
            data, fname = _xlsx(data), f"{table}.xlsx"
        except (ValueError, TypeError) as exc:  # an XLSX that openpyxl cannot write
            note += f" (kept CSV: {type(exc).__name__})"
    _get(doc, key[:-1])[key[-1]] = {"file": fname}
    return "s.yaml", {"s.yaml": yaml.safe_dump(doc, sort_keys=False), fname: data}, run, note


def _case_stockpile(rng: random.Random, targets: bool) -> Generated:
    files: dict[str, str | bytes] = {}
    if rng.random() < 0.35:
        doc = yaml.safe_load(_read(MUNITIONS))
        doc["stockpile"]["months"] = rng.choice((6, 12, 36))
        files["coalition-munitions-demand.csv"] = _read("coalition-munitions-demand.csv")
    else:
        doc = _small_stockpile(rng)
    usage = False
    if rng.random() < 0.2:  # usage from fleets: a small fleet scenario around it
        fleet_doc = _small_scenario(rng)
        doc = {**fleet_doc, "stockpile": doc["stockpile"]}
        cid = doc["stockpile"]["consumables"][0]["id"]
        doc["stockpile"]["usage"] = [{"consumable": cid, "system": fleet_doc["systems"][0]["id"],
                                      "per_system_day": 2.0}]
        usage = rng.random() < 0.7
    mutated, note = mutate_tree(rng, doc, within=("stockpile",))
    text, suffix = _dump(rng, mutated)
    files["s" + suffix] = text
    return "s" + suffix, files, {"stockpile": True, "usage": usage}, note


def _case_timeline(rng: random.Random, targets: bool) -> Generated:
    files: dict[str, str | bytes] = {}
    if rng.random() < 0.3:
        doc = yaml.safe_load(_read(AIR))
        files["coalition-air-defence-items.csv"] = _read("coalition-air-defence-items.csv")
        doc["simulation"] = {"warmup_days": 10}
    else:
        doc = _small_timeline(rng, _small_scenario(rng))
    section = rng.choice(("deliveries", "tempo", "attrition", "battle_damage", "simulation"))
    mutated, note = mutate_tree(rng, doc, within=(section,))
    text, suffix = _dump(rng, mutated)
    files["s" + suffix] = text
    run = {"method": "vari-metric",
           "simulate": {"days": rng.choice((30, 120)), "replications": 2, "seed": 3,
                        "max_events": SIM_EVENTS,
                        "delays": rng.choice(("deterministic", "exponential"))}}
    return "s" + suffix, files, run, note


CLI_VALUES = ("0", "-1", "1", "0.5", "1e-300", "1e300", "nan", "inf", "-inf", "9007199254740992",
              "1e309", "", " ", "x", "ünï", "\x00", "0x10", "1_000", "2", "365", "36501",
              "1000001", "3G", "0G", "-1G", "1e30G", "10", "0.9", "S0=0.9", "S0@B0=1.5",
              "NOPE=0.5", "*=0.7", "=", "S0=", "@=1")


def _case_cli(rng: random.Random, targets: bool) -> Generated:
    command = rng.choice(("evaluate", "optimize", "optimize", "simulate", "simulate", "stockpile"))
    if command == "stockpile":
        doc = _small_stockpile(rng)
        options = {"--top": "3", "--workers": "1", "--plot": "p.png"}
        flags = ["--json", "--usage-from-fleets", "--no-availability", "--no-monthly"]
    else:
        doc = _small_scenario(rng)
        if rng.random() < 0.4:
            doc = _small_timeline(rng, doc)
        options = {"evaluate": {"--method": "metric", "--top": "5", "-o": "r.md"},
                   "optimize": {"--target": "0.6", "--budget": "1e5", "--method": "metric",
                                "--top": "5", "-o": "plan.csv", "--curve": "c.csv",
                                "--max-memory": "1G"},
                   "simulate": {"--days": "30", "--reps": "2", "--seed": "1", "--warmup": "5",
                                "--workers": "1", "--stock": "stock.csv", "-o": "s.json",
                                "--plot": "a.png"}}[command]
        flags = {"evaluate": ["--json", "--quiet"],
                 "optimize": ["--json", "--quiet"],
                 "simulate": ["--json", "--quiet", "--compare", "--failures-while-down",
                              "--cannibalisation", "--no-cannibalisation", "--exponential"]}[
            command]
    if not targets:
        options.pop("--target", None)
    files: dict[str, str | bytes] = {"s.yaml": yaml.safe_dump(doc, sort_keys=False)}
    chosen = dict(rng.sample(sorted(options.items()), rng.randint(0, len(options))))
    if command == "optimize" and "--target" not in chosen and "--budget" not in chosen:
        chosen["--target" if targets else "--budget"] = "0.6" if targets else "1e5"
    if command == "simulate":
        chosen.setdefault("--days", "30")
        chosen.setdefault("--reps", "2")
    notes = []
    for _ in range(rng.randint(1, 3)):
        opt = rng.choice(sorted(options))
        value = rng.choice(CLI_VALUES + (options[opt],) * 3)
        if opt == "--reps" and value == "36501":
            value = "365"  # accepted, and minutes long by design (docs/simulate.md, Limits)
        if opt in ("-o", "--curve", "--plot") and rng.random() < 0.5:
            value = rng.choice(("out.txt", "out", "dir/x.csv", ".", "x.png", "x.svg", "x.json",
                                "x.md", "x.xlsx", "s.yaml", "/dev/null", "x.pdf"))
        chosen[opt] = value
        notes.append(f"{opt}={value[:20]!r}")
    if "--stock" in chosen:
        plan = "item,site,qty\n" + "".join(f"{it['id']},HUB,1\n" for it in doc["items"])
        if rng.random() < 0.6:
            plan_data, note = _mutate_csv(rng, plan)
            notes.append(f"stock csv: {note}")
        else:
            plan_data = plan
        files["stock.csv"] = plan_data
    argv = [command, "{scenario}"]
    for opt, value in chosen.items():
        argv += [opt, value]
    argv += [f for f in flags if rng.random() < 0.3]
    if command == "simulate" and "--days" in chosen and "--json" not in argv:
        argv.append("--quiet")
    return "s.yaml", files, {"argv": argv}, "; ".join(notes)


GENERATORS: dict[str, Callable[[random.Random, bool], Generated]] = {
    "yaml": _case_yaml, "table": _case_table, "stockpile": _case_stockpile,
    "timeline": _case_timeline, "cli": _case_cli,
}


def make_case(fmt: str, seed: int, index: int, *, targets: bool = True) -> Case:
    """Case ``index`` of format ``fmt`` for ``seed``: the same inputs on every machine.

    ``targets=False`` optimises for budgets only (``--budget`` on the command line):
    a target also runs the small-case strategies and local search, which can take
    tens of seconds on some small scenarios, too slow for a test's timeout.
    """
    rng = random.Random(f"{seed}/{fmt}/{index}" + ("" if targets else "/budget"))
    main, files, run, note = GENERATORS[fmt](rng, targets)
    return Case(format=fmt, seed=seed, index=index, mutation=note, main=main, files=files,
                run=run)


def make_cases(
    fmt: str, seed: int, count: int, start: int = 0, *, targets: bool = True
) -> Iterator[Case]:
    """``count`` cases of ``fmt``, lazily."""
    for i in range(start, start + count):
        yield make_case(fmt, seed, i, targets=targets)


@dataclass
class Tally:
    """Counts per outcome kind and the distinct fault classes seen."""

    counts: dict[str, int] = field(default_factory=lambda: dict.fromkeys(KINDS, 0))
    classes: dict[str, list[tuple[Case, Outcome]]] = field(default_factory=dict)

    def add(self, case: Case, out: Outcome) -> None:
        """Count ``out``; keep up to three examples of each failing class."""
        self.counts[out.kind] += 1
        if out.kind in ("crash", "wrong", "hang"):
            seen = self.classes.setdefault(f"{out.kind}: {out.signature()}", [])
            if len(seen) < 3:
                seen.append((case, out))

    @property
    def failures(self) -> int:
        """Crashes, wrong answers and hangs."""
        return self.counts["crash"] + self.counts["wrong"] + self.counts["hang"]
