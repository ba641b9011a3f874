"""``sustain sweep``: the JSON document, outputs, exit codes, and the same numbers
whatever the number of workers."""

from __future__ import annotations

import json
import signal
import subprocess
import sys
import time
from pathlib import Path

import pytest
import yaml
from typer.testing import CliRunner

from sustain.cli.main import app
from sustain.scenario import scenario_from_dict
from sustain.sweep import sensitivity
from tests.sweep.cases import small

RUNNER = CliRunner()
VARY = ["--vary", "mtbf=0.8:1.2", "--vary", "repair_days=0.8:1.5",
        "--vary", "order_ship_days=1:2", "--vary", "tempo=1:2"]


@pytest.fixture()
def scenario(tmp_path: Path) -> Path:
    path = tmp_path / "case.yaml"
    path.write_text(yaml.safe_dump(small()), encoding="utf-8")
    return path


def run(*args: str | Path) -> object:
    return RUNNER.invoke(app, [str(a) for a in args])


def test_json_document_and_files(scenario: Path, tmp_path: Path) -> None:
    res = run("sweep", scenario, *VARY, "--json", "-o", tmp_path / "s.csv",
              "-o", tmp_path / "s.html", "-o", tmp_path / "s.md")
    assert res.exit_code == 0, res.output
    doc = json.loads(res.stdout)
    want = sensitivity(scenario_from_dict(small()),
                       ["mtbf=0.8:1.2", "repair_days=0.8:1.5", "order_ship_days=1:2",
                        "tempo=1:2"]).to_dict()
    assert doc == want
    assert list(doc) == ["measure", "factors"]
    assert list(doc["factors"][0]) == ["name", "low", "high", "fleets"]
    csv_lines = (tmp_path / "s.csv").read_text().splitlines()
    assert csv_lines[0] == "factor,low (×),high (×),fleet,as given,at low,at high"
    assert len(csv_lines) == 1 + 4 * 4  # per factor: all systems and three fleets
    assert "data-chart=\"tornado\"" in (tmp_path / "s.html").read_text()
    assert "| tempo |" in (tmp_path / "s.md").read_text()


def test_cost_measure(scenario: Path) -> None:
    res = run("sweep", scenario, "--vary", "mtbf=0.8:1.2", "--measure", "cost", "-t", "0.9",
              "--json")
    assert res.exit_code == 0, res.output
    doc = json.loads(res.stdout)
    assert doc["measure"] == "cost" and doc["target"] == 0.9
    cost = doc["factors"][0]["cost"]
    assert cost["at_low"] > cost["base"] > cost["at_high"]


def test_the_tornado_plot(scenario: Path, tmp_path: Path) -> None:
    pytest.importorskip("matplotlib")
    res = run("sweep", scenario, *VARY, "--plot", tmp_path / "t.png", "-q")
    assert res.exit_code == 0, res.output
    assert (tmp_path / "t.png").read_bytes()[:4] == b"\x89PNG"


@pytest.mark.parametrize(
    ("args", "message"),
    [(["--vary", "mtbf=0:1"], "error: --vary 'mtbf=0:1': a multiplier must be a finite "
      "number above 0: got 0\n"),
     (["--vary", "speed=1:2"], "unknown factor 'speed'"),
     ([], "give at least one factor"),
     (["--vary", "mtbf=1:2", "--measure", "cost"], "--measure cost needs --target"),
     (["--vary", "mtbf=1:2", "--select", "sites=B1"], "does not apply to factor mtbf"),
     (["--vary", "tempo=1:2", "--select", "sites=b1"], "(did you mean 'B1'?)"),
     (["--vary", "tempo=1:2", "--select", "sites=X"], "(sites: B1, B2, DEPOT)"),
     (["--vary", "tempo=1:2", "--workers", "0"], "--workers 0"),
     (["--vary", "tempo=1:2", "--plot", "t.gif"], "unknown plot type")],
)
def test_bad_options_exit_2_with_one_message(scenario: Path, args: list[str],
                                             message: str) -> None:
    res = run("sweep", scenario, *args)
    assert res.exit_code == 2
    assert message in res.stderr
    assert len(res.stderr.strip().splitlines()) == 1
    assert "Traceback" not in res.output


def test_same_numbers_on_worker_processes(scenario: Path) -> None:
    one = run("sweep", scenario, *VARY, "--json")
    two = run("sweep", scenario, *VARY, "--json", "--workers", "2")
    assert one.exit_code == two.exit_code == 0
    assert one.stdout == two.stdout


def test_same_numbers_on_a_dask_local_cluster() -> None:
    distributed = pytest.importorskip("dask.distributed")
    sc = scenario_from_dict(small())
    factors = ["mtbf=0.8:1.2", "tempo=1:2"]
    with (
        distributed.LocalCluster(n_workers=2, threads_per_worker=1, processes=False,
                                 dashboard_address=":0") as cluster,
        distributed.Client(cluster) as client,
    ):
        on_dask = sensitivity(sc, factors, dask_address=client).to_dict()
        cost = sensitivity(sc, ["repair_days=0.8:1.2"], measure="cost", target=0.85,
                           dask_address=cluster.scheduler_address).to_dict()
    assert on_dask == sensitivity(sc, factors).to_dict()
    assert cost == sensitivity(sc, ["repair_days=0.8:1.2"], measure="cost",
                               target=0.85).to_dict()


@pytest.mark.skipif(not Path("/proc/self/status").exists(), reason="needs Linux /proc")
def test_ctrl_c_stops_the_workers_and_leaves_the_output_alone(tmp_path: Path) -> None:
    """SIGINT while draws run on two worker processes: one line, exit 130, the output
    file as it was, and no worker left behind."""
    from tests.cli.test_interrupts import EXAMPLE, _handles_sigterm

    out = tmp_path / "out.json"
    out.write_text("precious\n")
    proc = subprocess.Popen(
        [sys.executable, "-c", "from sustain.cli.main import main; main()", "sweep",
         str(EXAMPLE), "--samples", "20000", "--workers", "2", "-o", str(out), "-q"],
        cwd=tmp_path, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True,
    )
    try:
        deadline = time.monotonic() + 60
        while not _handles_sigterm(proc.pid):  # main() has started
            assert proc.poll() is None and time.monotonic() < deadline
            time.sleep(0.05)
        time.sleep(1.5)  # into the draws or their evaluation
        proc.send_signal(signal.SIGINT)
        stdout, stderr = proc.communicate(timeout=60)
    finally:
        proc.kill()
        proc.wait()
    assert (proc.returncode, stdout, stderr) == (130, "", "interrupted\n")
    assert out.read_text() == "precious\n"
    assert sorted(p.name for p in tmp_path.iterdir()) == ["out.json"]
    time.sleep(1.0)  # a worker whose parent is gone ends within half a second
    left = []
    for cmdline in Path("/proc").glob("[0-9]*/cmdline"):
        try:
            if str(out).encode() in cmdline.read_bytes():
                left.append(cmdline.parent.name)
        except OSError:
            continue  # a process that ended meanwhile
    assert left == []
