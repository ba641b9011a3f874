"""Interrupting a parallel stockpile solve with real signals, in a subprocess.

A terminal's Ctrl-C sends SIGINT to the whole foreground process group: the workers
must ignore it, the parent must terminate them within a second and raise
``KeyboardInterrupt`` once, no traceback may be printed and no process may be left,
whether the signal comes while the workers start or while they solve.  ``kill PID``
sends SIGTERM to the parent alone: it dies at once, and its workers must end by
themselves soon after.
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

import pytest

from tests.conftest import ROOT

pytestmark = pytest.mark.skipif(not Path("/proc/self/stat").exists(),
                                reason="reads the process table from /proc")

#: A plan whose six consumables each take about a second to solve, in two processes.
SCRIPT = """
import sys
import threading
import numpy as np
from sustain.stockpile.api import plan_from_data
from tests.stockpile.helpers import plan_arrays

rng = np.random.default_rng(1)
D, C, T = 30, 6, 300
d = plan_arrays(
    demand=rng.uniform(20_000, 60_000, (C, T)), stock=rng.uniform(1e4, 5e4, (D, C)),
    floor=rng.uniform(0, 1e4, (D, C)), made=rng.uniform(0, 1_000, (D, C, T)),
    surge_cap=rng.uniform(0, 300, (D, C, T)), surge_cost=rng.uniform(1, 9, (D, C, T)),
    lead=rng.integers(0, 3, D), n_donors=D,
)
print("solving", flush=True)
try:
    plan_from_data(d, workers=2)
except KeyboardInterrupt:
    import time
    print(f"interrupted {time.time()}", flush=True)
    sys.exit(130)
print("finished", flush=True)
"""


def _table() -> list[tuple[int, int, int, str]]:
    """``(pid, parent pid, process group, state)`` of every process."""
    out = []
    for entry in Path("/proc").iterdir():
        if not entry.name.isdigit():
            continue
        try:
            stat = (entry / "stat").read_text()
        except OSError:
            continue
        fields = stat[stat.rindex(")") + 2:].split()  # after "pid (command) "
        out.append((int(entry.name), int(fields[1]), int(fields[2]), fields[0]))
    return out


def _workers(parent: int, n: int, timeout: float) -> list[int]:
    """Wait until ``parent`` has ``n`` live children; return their pids."""
    end = time.monotonic() + timeout
    while time.monotonic() < end:
        kids = [pid for pid, ppid, _, state in _table() if ppid == parent and state != "Z"]
        if len(kids) >= n:
            return kids
        time.sleep(0.05)
    raise AssertionError(f"no {n} worker processes within {timeout} s")


def _group_gone(group: int, timeout: float) -> bool:
    """Whether every process of ``group`` has ended (zombies count as ended) in time."""
    end = time.monotonic() + timeout
    while time.monotonic() < end:
        if not any(g == group and state != "Z" for _, _, g, state in _table()):
            return True
        time.sleep(0.1)
    return False


def _start() -> subprocess.Popen[str]:
    proc = subprocess.Popen(
        [sys.executable, "-c", SCRIPT], cwd=ROOT, stdout=subprocess.PIPE,
        stderr=subprocess.PIPE, text=True, start_new_session=True,
    )
    assert proc.stdout is not None
    assert proc.stdout.readline() == "solving\n"
    return proc


@pytest.mark.parametrize("delay", [0.0, 0.5], ids=["starting", "solving"])
def test_ctrl_c_stops_the_workers_without_a_traceback(delay: float) -> None:
    with _start() as proc:  # on leaving: pipes closed, the process waited for
        try:
            _workers(proc.pid, 2, timeout=60)
            time.sleep(delay)
            sent = time.time()
            os.killpg(proc.pid, signal.SIGINT)  # as a terminal does: the whole group
            out, err = proc.communicate(timeout=60)
        finally:
            if proc.poll() is None:
                os.killpg(proc.pid, signal.SIGKILL)
    word, when = out.split()
    assert (proc.returncode, word, err) == (130, "interrupted", "")
    assert float(when) - sent < 1.0
    assert _group_gone(proc.pid, timeout=5)


def test_workers_end_when_the_parent_is_killed() -> None:
    with _start() as proc:
        try:
            workers = _workers(proc.pid, 2, timeout=60)
            time.sleep(0.5)
            proc.send_signal(signal.SIGTERM)  # the parent alone, as `kill PID` does
            proc.communicate(timeout=60)
            assert proc.returncode == -signal.SIGTERM
            # Each worker ends after the solve it is in (about a second) and a check.
            assert _group_gone(proc.pid, timeout=30), f"workers {workers} still running"
        finally:
            with contextlib.suppress(ProcessLookupError):
                os.killpg(proc.pid, signal.SIGKILL)


def test_ctrl_c_while_held_is_raised_once_when_the_hold_ends() -> None:
    """A SIGINT during the workers' start is raised after it, even when another thread
    (a BLAS pool, say) that does not block SIGINT is the one the kernel hands it to."""
    from sustain._procs import HeldInterrupt as _HeldInterrupt

    other = threading.Thread(target=time.sleep, args=(0.5,))
    other.start()
    reached = False
    with pytest.raises(KeyboardInterrupt), _HeldInterrupt():
        os.kill(os.getpid(), signal.SIGINT)
        time.sleep(0.1)  # without the hold, KeyboardInterrupt would come here
        reached = True
    other.join()
    assert reached
    assert signal.getsignal(signal.SIGINT) is signal.default_int_handler
