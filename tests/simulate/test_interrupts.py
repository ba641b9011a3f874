"""Interrupts stop all the work at once and leave nothing behind.

``sustain simulate --workers 2`` is sent SIGINT, SIGTERM or SIGKILL mid-run (the three
runs at once, to keep this file fast): it exits within seconds, no worker process
survives, nothing is written, no traceback.  In this process, Ctrl-C stops the replication that is
running (its compiled loop checks a stop flag) and ``simulate`` raises
``SimulationInterrupted``.
"""

from __future__ import annotations

import contextlib
import os
import signal
import subprocess
import sys
import threading
import time
from pathlib import Path

import numpy as np
import pytest

from sustain.scenario import scenario_from_dict
from sustain.simulate import SimulationInterrupted, simulate
from sustain.simulate.kernel import run
from sustain.simulate.model import build_model
from tests.conftest import EXAMPLES
from tests.simulate.helpers import single_site

psutil = pytest.importorskip("psutil")
SUSTAIN = Path(sys.executable).with_name("sustain")


def _start(out: Path) -> subprocess.Popen[str]:
    """A run of a few minutes on two workers, its document to ``out``."""
    return subprocess.Popen(
        [str(SUSTAIN), "simulate", str(EXAMPLES / "coalition-air-defence.yaml"), "--days",
         "36500", "--reps", "2000", "--workers", "2", "--quiet", "-o", str(out)],
        stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True,
    )


EXIT = {signal.SIGINT: (130,), signal.SIGTERM: (130, 143), signal.SIGKILL: (-9,)}


def test_signals_stop_the_workers_and_write_nothing(tmp_path: Path) -> None:
    """SIGINT and SIGTERM: the parent stops its workers and exits (130, 143); SIGKILL
    (no chance to clean up): the workers notice their parent is gone and end."""
    runs = {sig: (_start(tmp_path / f"{sig.name}.json"), tmp_path / f"{sig.name}.json")
            for sig in EXIT}
    try:
        _stop_each(runs)
    finally:  # a failed check leaves no process behind for the next test
        for p, _ in runs.values():
            if p.poll() is None:
                with contextlib.suppress(psutil.NoSuchProcess):
                    for kid in psutil.Process(p.pid).children(recursive=True):
                        kid.kill()
                p.kill()
            p.communicate()


def _stop_each(runs: dict[signal.Signals, tuple[subprocess.Popen[str], Path]]) -> None:
    kids: dict[signal.Signals, list[psutil.Process]] = {}
    deadline = time.monotonic() + 60
    while len(kids) < len(runs) and time.monotonic() < deadline:  # wait for the workers
        for sig, (p, _) in runs.items():
            found = psutil.Process(p.pid).children(recursive=True)
            if sig not in kids and len(found) >= 2:
                kids[sig] = found
        time.sleep(0.1)
    assert len(kids) == len(runs), "the workers never started"
    time.sleep(1.0)  # they are simulating now
    for sig, (p, out) in runs.items():
        assert p.poll() is None, p.communicate()
        t0 = time.monotonic()
        p.send_signal(sig)
        _, err = p.communicate(timeout=30)
        took = time.monotonic() - t0
        gone = psutil.wait_procs(kids[sig], timeout=2)[1] == []
        assert p.returncode in EXIT[sig], (sig, p.returncode, err)
        assert took < 5.0, (sig, took)  # measured: 0.7-1.4 s, mostly Python's exit
        assert gone, (sig, [k.pid for k in kids[sig] if k.is_running()])
        assert "Traceback" not in err, err
        assert not out.exists()


def test_ctrl_c_in_this_process_stops_the_running_replication() -> None:
    """Ctrl-C (SIGINT to the main thread) half a second into a run of minutes in this
    process: SimulationInterrupted within a second, the helper thread gone."""
    sc = scenario_from_dict({
        "sites": [{"id": "S"}], "systems": [{"id": "K"}],
        "fleets": [{"system": "K", "site": "S", "count": 50, "hours_per_day": 24}],
        "items": [{"id": "X", "mtbf_hours": 24, "installed_in": [{"system": "K"}],
                   "depot_repair_days": 5}],
    })
    main = threading.main_thread().ident
    assert main is not None
    timer = threading.Timer(0.5, signal.pthread_kill, (main, signal.SIGINT))
    t0 = time.monotonic()
    timer.start()
    with pytest.raises(SimulationInterrupted) as err:
        simulate(sc, days=1_000_000, replications=4, seed=1)
    assert err.value.signum == signal.SIGINT
    assert time.monotonic() - t0 < 1.5
    assert not [t for t in threading.enumerate() if t.name.startswith("sustain-simulate")]


def test_stop_flag_checked_by_the_loop() -> None:
    """A set stop flag ends a replication before its first event."""
    a = single_site(n=3, mtbf_hours=100.0, repair_days=5.0)
    with pytest.raises(SimulationInterrupted):
        run(build_model(a, a.stock), np.random.default_rng(1), days=1e5, warmup_days=0.0,
            series_days=np.arange(10.0), failures_while_down=False,
            exponential_delays=False, halt=np.ones(1, dtype=np.int64))


@pytest.mark.skipif(os.name != "posix", reason="POSIX signals")
def test_sigterm_handler_only_while_running() -> None:
    """simulate() leaves SIGTERM's handler as it found it."""
    before = signal.getsignal(signal.SIGTERM)
    simulate(single_site(n=2, mtbf_hours=100.0, repair_days=5.0), days=10, replications=1,
             seed=1)
    assert signal.getsignal(signal.SIGTERM) is before
