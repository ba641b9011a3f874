"""Ctrl-C (SIGINT) and SIGTERM: one line, exit 130 / 143, no output written or clobbered."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import time
from pathlib import Path

import pytest

from sustain.cli.main import app
from sustain.report.files import Output, text_file, write_outputs
from tests.conftest import EXAMPLES

EXAMPLE = EXAMPLES / "coalition-air-defence.yaml"


def _handles_sigterm(pid: int) -> bool:
    """Whether ``pid`` has installed a handler for SIGTERM (set in ``main()``)."""
    try:
        status = Path(f"/proc/{pid}/status").read_text()
    except OSError:
        return False
    caught = next(line for line in status.splitlines() if line.startswith("SigCgt:"))
    return bool(int(caught.split()[1], 16) >> (signal.SIGTERM - 1) & 1)


@pytest.mark.skipif(not Path("/proc/self/status").exists(), reason="needs Linux /proc")
@pytest.mark.parametrize(("signum", "code"), [(signal.SIGINT, 130), (signal.SIGTERM, 143)])
def test_a_signal_mid_run_leaves_the_output_alone(
    tmp_path: Path, signum: int, code: int
) -> None:
    """A long simulation is stopped by a real signal while it runs."""
    out = tmp_path / "out.json"
    out.write_text("precious\n")
    # The simulator's compiled loop is cached on disk by its first run; the signal must
    # land in the simulation, not in that first compilation (see docs/simulate.md).
    subprocess.run([sys.executable, "-c", "from sustain.cli.main import main; main()",
                    "simulate", str(EXAMPLE), "--days", "5", "--reps", "1", "-q"],
                   cwd=tmp_path, capture_output=True, check=True, timeout=300)
    proc = subprocess.Popen(
        [sys.executable, "-c", "from sustain.cli.main import main; main()",
         "simulate", str(EXAMPLE), "--days", "36500", "--reps", "2000", "-o", str(out), "-q"],
        cwd=tmp_path, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True,
    )
    try:
        deadline = time.monotonic() + 60
        while not _handles_sigterm(proc.pid):  # main() has started
            assert proc.poll() is None and time.monotonic() < deadline
            time.sleep(0.05)
        time.sleep(1.0)  # into the scenario and the simulation
        proc.send_signal(signum)
        stdout, stderr = proc.communicate(timeout=60)
    finally:
        proc.kill()
        proc.wait()
    assert (proc.returncode, stdout, stderr) == (code, "", "interrupted\n")
    assert out.read_text() == "precious\n"
    assert sorted(p.name for p in tmp_path.iterdir()) == ["out.json"]


def test_every_command_handles_interrupts() -> None:
    """Each command is wrapped by ``sustain.cli.common.command``."""
    names = []
    for info in app.registered_commands:
        callback = info.callback
        assert callback is not None
        assert callback.__code__.co_name == "run", callback.__name__
        names.append(callback.__name__)
    assert sorted(names) == ["evaluate", "next_", "optimize", "oryx", "serve", "simulate",
                            "stockpile", "sweep"]


def test_an_interrupt_while_rendering_leaves_no_file(tmp_path: Path) -> None:
    """SIGINT while the second file renders: the first stays as it was, no temporary left."""
    first, second = tmp_path / "a.md", tmp_path / "b.png"
    first.write_text("old a\n")

    def interrupted_render(path: Path) -> None:
        path.write_text("half")
        os.kill(os.getpid(), signal.SIGINT)
        time.sleep(5)  # the KeyboardInterrupt arrives first

    with pytest.raises(KeyboardInterrupt):
        write_outputs([(Output("--output", first), text_file("new a\n")),
                       (Output("--curve", second), interrupted_render)])
    assert first.read_text() == "old a\n"
    assert sorted(p.name for p in tmp_path.iterdir()) == ["a.md"]


def test_an_interrupt_while_renaming_waits_for_every_rename(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """SIGINT between the renames is held back until both files are in place."""
    first, second = tmp_path / "a.md", tmp_path / "b.md"
    first.write_text("old a\n")
    second.write_text("old b\n")
    real_replace = os.replace
    calls = []

    def replace_then_signal(src: str, dst: str) -> None:
        calls.append(dst)
        real_replace(src, dst)
        if len(calls) == 1:
            os.kill(os.getpid(), signal.SIGINT)

    monkeypatch.setattr(os, "replace", replace_then_signal)
    with pytest.raises(KeyboardInterrupt):
        write_outputs([(Output("--output", first), text_file("new a\n")),
                       (Output("--curve", second), text_file("new b\n"))])
    assert (first.read_text(), second.read_text()) == ("new a\n", "new b\n")
    assert sorted(p.name for p in tmp_path.iterdir()) == ["a.md", "b.md"]


def test_a_forked_worker_dies_of_sigterm_as_without_the_handler() -> None:
    """Worker pools stop their processes with SIGTERM: a child forked after main() set
    the handlers must still die of it, not raise in the parent's name."""
    script = (
        "import os, signal, time\n"
        "from sustain.cli.common import install_interrupt_handlers\n"
        "install_interrupt_handlers()\n"
        "pid = os.fork()\n"
        "if pid == 0:\n"
        "    time.sleep(30)\n"
        "    os._exit(0)\n"
        "time.sleep(0.5)\n"
        "os.kill(pid, signal.SIGTERM)\n"
        "_, status = os.waitpid(pid, 0)\n"
        "print(os.WIFSIGNALED(status) and os.WTERMSIG(status))\n"
    )
    proc = subprocess.run([sys.executable, "-c", script], capture_output=True, text=True,
                          timeout=120, check=False)
    assert (proc.returncode, proc.stdout, proc.stderr) == (0, f"{int(signal.SIGTERM)}\n", "")


# A command that sorts with the C library's qsort, whose comparison is a Python function
# called from C through ctypes (as numba's compiler calls llvmlite's Python code): the
# first comparison sends SIGINT to the process; the command then writes an output.
_CALLBACK_RUN = '''
import ctypes, ctypes.util, signal, sys, time
import typer
from sustain.cli.common import command, install_interrupt_handlers
from sustain.report.files import Output, text_file, write_outputs

install_interrupt_handlers()
namespace = {"signal": signal}
exec(compile(
    "def compare(a, b):\\n"
    "    if not sent:\\n"
    "        sent.append(1)\\n"
    "        signal.raise_signal(signal.SIGINT)\\n"
    "    return a[0] - b[0]\\n",
    sys.argv[1], "exec"), namespace)
namespace["sent"] = []
libc = ctypes.CDLL(ctypes.util.find_library("c"))
Compare = ctypes.CFUNCTYPE(ctypes.c_int, ctypes.POINTER(ctypes.c_int),
                           ctypes.POINTER(ctypes.c_int))
compare = Compare(namespace["compare"])


@command
def run() -> None:
    values = (ctypes.c_int * 64)(*range(64, 0, -1))
    libc.qsort(values, 64, ctypes.sizeof(ctypes.c_int), compare)
    time.sleep(float(sys.argv[3]))
    write_outputs([(Output("-o", __import__("pathlib").Path(sys.argv[2])),
                    text_file("new\\n"))])

try:
    run()
except typer.Exit as exc:
    sys.exit(exc.exit_code)
'''


def _run_callback(tmp_path: Path, code_file: str, wait: float) -> tuple[int, str]:
    out = tmp_path / "out.txt"
    out.write_text("precious\n")
    proc = subprocess.run([sys.executable, "-c", _CALLBACK_RUN, code_file, str(out),
                           str(wait)], capture_output=True, text=True, timeout=120,
                          check=False)
    assert out.read_text() == "precious\n"
    assert sorted(p.name for p in tmp_path.iterdir()) == ["out.txt"]
    return proc.returncode, proc.stderr


def test_a_signal_inside_llvmlite_code_waits_until_it_returns(tmp_path: Path) -> None:
    """Inside llvmlite's Python code called from C the exception would be lost: the
    handler sends the signal again a moment later, and it stops the run cleanly."""
    code, stderr = _run_callback(tmp_path, "/lib/llvmlite/binding/fake.py", 5.0)
    assert (code, stderr) == (130, "interrupted\n")


def test_a_signal_whose_exception_was_lost_stops_the_outputs(tmp_path: Path) -> None:
    """A signal raised in a C callback elsewhere is lost by Python ("Exception ignored"):
    the run still stops before any output is renamed into place, with exit 130."""
    code, stderr = _run_callback(tmp_path, "/elsewhere/fake.py", 0.0)
    assert "Exception ignored" in stderr  # the case this guards against did happen
    assert code == 130
    assert stderr.endswith("interrupted\n")
