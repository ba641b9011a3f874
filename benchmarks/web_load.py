"""Benchmark: the web API under load, on loopback.

    python benchmarks/web_load.py [--clients 50] [--seconds 30] [--max-jobs 2] [--db URL]

Starts ``sustain serve`` (uvicorn) in a process of its own on a free loopback port
with a fresh data folder (and ``--db`` when given, such as a PostgreSQL URL), then
runs ``--clients`` clients at once for ``--seconds``.  Each client, in turn, submits
an evaluation of ``examples/rail-two-echelon.yaml`` answered directly (200 and the
document) or in the background (202, then ``GET /api/jobs/{id}`` every
:data:`POLL_SECONDS` until it is over), and reads the run's document back from
``/api/jobs/{id}/result``.  When the time is up the clients finish the run they are
in, and every run submitted is looked up in the history (``/api/runs``): a run missing,
not done, or whose stored document differs from the one the client received is *lost*.

One run before the clients start, not counted, starts the server's job fork server.
Prints the runs finished per second, the median and 95th percentile latency of each
kind of request and of a whole run (submit to document), the errors (any answer other
than the expected one; must be 0) and the lost runs (must be 0).  The baseline, in the
same run: the same evaluation by the library in this process, one after another; the
ratio says how much of it the server delivers with its worker processes, queue,
database and HTTP around it.  Exits 1 if there were errors or lost runs.
"""

from __future__ import annotations

import argparse
import http.client
import json
import os
import socket
import statistics
import subprocess
import sys
import tempfile
import threading
import time
from collections import defaultdict
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
SCENARIO = ROOT / "examples" / "rail-two-echelon.yaml"
#: How often a client asks for the status of its background run (seconds).
POLL_SECONDS = 0.1
#: Longest wait for the server to start, and for one answer (seconds).
START_SECONDS = 120.0
ANSWER_SECONDS = 300.0


def free_port() -> int:
    """A TCP port free on loopback now."""
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


@contextmanager
def server(*, db: str | None = None, max_jobs: int = 2,
           data_dir: Path | None = None) -> Iterator[tuple[str, int]]:
    """``sustain serve`` in a process of its own: yields ``(host, port)`` once it
    answers; stopped (SIGTERM, then SIGKILL) on leaving."""
    port = free_port()
    with tempfile.TemporaryDirectory(prefix="sustain-load-") as tmp:
        data = data_dir or Path(tmp) / "data"
        script = Path(sys.executable).parent / "sustain"  # what a user types
        sustain = [str(script)] if script.is_file() else [sys.executable, "-m",
                                                           "sustain.cli.main"]
        command = [*sustain, "serve", "--port", str(port), "--data-dir", str(data),
                   "--max-jobs", str(max_jobs)]
        if db is not None:
            command += ["--db", db]
        log = Path(tmp) / "server.log"
        with log.open("wb") as out:
            process = subprocess.Popen(command, stdout=out, stderr=subprocess.STDOUT,
                                       env={**os.environ, "PYTHONUNBUFFERED": "1"})
        try:
            _wait_until_up(port, process, log)
            yield "127.0.0.1", port
        finally:
            process.terminate()
            try:
                process.wait(timeout=30)
            except subprocess.TimeoutExpired:
                process.kill()
                process.wait()


def _wait_until_up(port: int, process: subprocess.Popen[bytes], log: Path) -> None:
    end = time.monotonic() + START_SECONDS
    while time.monotonic() < end:
        if process.poll() is not None:
            raise RuntimeError(f"the server ended (exit {process.returncode}):\n"
                               f"{log.read_text(errors='replace')}")
        try:
            c = http.client.HTTPConnection("127.0.0.1", port, timeout=5)
            c.request("GET", "/api/runs?limit=1")
            if c.getresponse().status == 200:
                c.close()
                return
        except OSError:
            pass
        time.sleep(0.1)
    raise RuntimeError(f"the server did not answer within {START_SECONDS:g} s:\n"
                       f"{log.read_text(errors='replace')}")


@dataclass
class Tally:
    """What the clients saw (shared; guarded by ``lock``)."""

    latencies: dict[str, list[float]] = field(default_factory=lambda: defaultdict(list))
    documents: dict[str, str] = field(default_factory=dict)  # run id -> document text
    errors: list[str] = field(default_factory=list)
    submitted: list[str] = field(default_factory=list)
    lock: threading.Lock = field(default_factory=threading.Lock)

    def time(self, kind: str, seconds: float) -> None:
        with self.lock:
            self.latencies[kind].append(seconds)

    def error(self, text: str) -> None:
        with self.lock:
            self.errors.append(text)


class Client:
    """One client: one keep-alive connection, one run at a time."""

    def __init__(self, host: str, port: int, body: bytes, tally: Tally) -> None:
        self.connection = http.client.HTTPConnection(host, port, timeout=ANSWER_SECONDS)
        self.body = body
        self.tally = tally

    def request(self, kind: str, method: str, url: str,
                body: bytes | None = None) -> tuple[int, dict[str, str], bytes]:
        start = time.perf_counter()
        headers = {"content-type": "application/x-yaml"} if body is not None else {}
        try:
            self.connection.request(method, url, body=body, headers=headers)
            answer = self.connection.getresponse()
            data = answer.read()
        except (OSError, http.client.HTTPException):
            self.connection.close()  # reconnects at the next request
            raise
        self.tally.time(kind, time.perf_counter() - start)
        return answer.status, {k.lower(): v for k, v in answer.getheaders()}, data

    def one_run(self, background: bool) -> None:
        start = time.perf_counter()
        if background:
            status, _, data = self.request("submit (background)", "POST",
                                           "/api/evaluate?background=1", self.body)
            if status != 202:
                self.tally.error(f"background submit: {status} {data[:200]!r}")
                return
            run_id = json.loads(data)["id"]
            with self.tally.lock:
                self.tally.submitted.append(run_id)
            while True:
                status, _, data = self.request("status", "GET", f"/api/jobs/{run_id}")
                job = json.loads(data) if status == 200 else {}
                if status != 200 or job.get("status") not in ("queued", "running"):
                    break
                time.sleep(POLL_SECONDS)
            if status != 200 or job.get("status") != "done" or job.get("result") is None:
                self.tally.error(f"run {run_id}: {status} {str(job)[:200]}")
                return
        else:
            status, headers, data = self.request("submit (direct)", "POST", "/api/evaluate",
                                                 self.body)
            run_id = headers.get("x-sustain-run", "")
            if run_id:
                with self.tally.lock:
                    self.tally.submitted.append(run_id)
            if status != 200 or not run_id:
                self.tally.error(f"direct submit: {status} {data[:200]!r}")
                return
        status, _, data = self.request("result", "GET", f"/api/jobs/{run_id}/result")
        if status != 200:
            self.tally.error(f"result of {run_id}: {status} {data[:200]!r}")
            return
        self.tally.time("whole run", time.perf_counter() - start)
        with self.tally.lock:
            self.tally.documents[run_id] = data.decode()

    def loop(self, n: int, deadline: float) -> None:
        k = 0
        while time.monotonic() < deadline:
            try:
                self.one_run(background=(n + k) % 2 == 1)
            except (OSError, http.client.HTTPException, ValueError) as exc:
                self.tally.error(f"client {n}: {type(exc).__name__}: {exc}")
            k += 1
        self.connection.close()


@dataclass(frozen=True)
class LoadResult:
    """What a load run measured."""

    clients: int
    seconds: float
    runs: int
    errors: list[str]
    lost: list[str]
    latencies: dict[str, list[float]]
    documents: dict[str, str]

    @property
    def throughput(self) -> float:
        """Runs finished (document read back) per second."""
        return self.runs / self.seconds


def lost_runs(host: str, port: int, tally: Tally) -> list[str]:
    """Runs submitted that the history does not hold, done, with the document the
    client received (one line each)."""
    c = http.client.HTTPConnection(host, port, timeout=ANSWER_SECONDS)
    seen: dict[str, str] = {}
    offset = 0
    while True:
        c.request("GET", f"/api/runs?limit=1000&offset={offset}")
        page = json.loads(c.getresponse().read())
        seen |= {r["id"]: r["status"] for r in page}
        if len(page) < 1000:
            break
        offset += 1000
    lost = []
    for run_id in tally.submitted:
        if seen.get(run_id) != "done":
            lost.append(f"{run_id}: {seen.get(run_id, 'not in the history')}")
            continue
        c.request("GET", f"/api/runs/{run_id}")
        stored = json.loads(c.getresponse().read())["result"]
        received = tally.documents.get(run_id)
        if received is not None and stored != json.loads(received):
            lost.append(f"{run_id}: the stored document differs from the one received")
    c.close()
    return lost


def run_load(host: str, port: int, *, clients: int, seconds: float,
             scenario: Path = SCENARIO) -> LoadResult:
    """``clients`` clients for ``seconds`` against the server at ``host:port``."""
    tally = Tally()
    body = scenario.read_bytes()
    start = time.monotonic()
    deadline = start + seconds
    threads = [threading.Thread(target=Client(host, port, body, tally).loop,
                                args=(n, deadline), daemon=True) for n in range(clients)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    elapsed = time.monotonic() - start
    return LoadResult(clients=clients, seconds=elapsed, runs=len(tally.documents),
                      errors=list(tally.errors), lost=lost_runs(host, port, tally),
                      latencies=dict(tally.latencies), documents=dict(tally.documents))


def first_run_seconds(host: str, port: int, scenario: Path = SCENARIO) -> float:
    """Seconds of one evaluation on the fresh server, which starts its job fork server
    (loading the engines); not counted in the load."""
    c = http.client.HTTPConnection(host, port, timeout=ANSWER_SECONDS)
    start = time.perf_counter()
    c.request("POST", "/api/evaluate", body=scenario.read_bytes(),
              headers={"content-type": "application/x-yaml"})
    answer = c.getresponse()
    answer.read()
    c.close()
    if answer.status != 200:
        raise RuntimeError(f"the first run failed: {answer.status}")
    return time.perf_counter() - start


def library_seconds(scenario: Path = SCENARIO, runs: int = 20) -> float:
    """Median seconds of the same evaluation by the library in this process (its
    document written as the API writes it)."""
    from sustain.web.worker import Kind, Task, outcome

    task = Task(kind=Kind.EVALUATE, scenario=scenario, options={"method": "vari-metric"})
    outcome(task)  # loads and compiles once
    times = []
    for _ in range(runs):
        start = time.perf_counter()
        outcome(task)
        times.append(time.perf_counter() - start)
    return statistics.median(times)


def percentile(values: list[float], q: float) -> float:
    """The ``q``-quantile of ``values`` (nearest rank)."""
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, max(0, round(q * len(ordered)) - 1))]


def main() -> int:
    """Run the benchmark; exit status 1 on errors or lost runs."""
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--clients", type=int, default=50)
    parser.add_argument("--seconds", type=float, default=30.0)
    parser.add_argument("--max-jobs", type=int, default=2)
    parser.add_argument("--db", default=None, help="database URL (default: SQLite)")
    args = parser.parse_args()
    base = library_seconds()
    with server(db=args.db, max_jobs=args.max_jobs) as (host, port):
        first = first_run_seconds(host, port)
        res = run_load(host, port, clients=args.clients, seconds=args.seconds)
    print(f"web load: {args.clients} clients for {args.seconds:g} s, evaluate of "
          f"{SCENARIO.name}, --max-jobs {args.max_jobs}, "
          f"database {'SQLite' if args.db is None else args.db.split(':')[0]}")
    print(f"  first run          {first:8.2f} s (starts the fork server; not counted)")
    print(f"  runs finished      {res.runs:8d}   ({res.throughput:.1f} runs/s)")
    print(f"  library alone      {1 / base:8.1f} runs/s in one process "
          f"({base * 1e3:.1f} ms a run)")
    print(f"  ratio server/library (throughput)  {res.throughput * base:.2f}")
    print(f"  {'latency (s)':24s} {'n':>6s} {'p50':>8s} {'p95':>8s} {'max':>8s}")
    for kind in ("submit (direct)", "submit (background)", "status", "result", "whole run"):
        values = res.latencies.get(kind, [])
        if values:
            print(f"  {kind:24s} {len(values):6d} {percentile(values, 0.5):8.3f} "
                  f"{percentile(values, 0.95):8.3f} {max(values):8.3f}")
    print(f"  errors             {len(res.errors):8d}")
    print(f"  lost runs          {len(res.lost):8d}")
    for line in (res.errors + res.lost)[:10]:
        print(f"    {line}")
    return 1 if res.errors or res.lost else 0


if __name__ == "__main__":
    sys.exit(main())
