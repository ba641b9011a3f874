"""Benchmark: start-up time of the ``sustain`` command against a bare Python.

    python benchmarks/startup.py [--runs 11] [--sustain PATH]

Times, as separate processes: ``python -c pass`` (the baseline: the interpreter
alone), ``sustain --help``, ``sustain evaluate`` of a small scenario (8 items, one
depot and two bases, written to a temporary folder) and ``sustain evaluate`` of the
worked example (``examples/coalition-air-defence.yaml``, 68 items).  The commands run
in turns, one run of each per round, so that a change in the machine's load touches
all of them alike; one round before the timed ones fills Python's byte-code cache
(``PYTHONDONTWRITEBYTECODE`` is cleared for the commands: an installed package has
its byte code) and numba's cache.  Prints each command's median wall time over
``--runs`` rounds, its ratio to the baseline's median, and its median CPU time (user
+ system), which a busy machine changes less than the wall time.

To compare two versions, run the benchmark with ``PYTHONPATH=A/src`` and then with
``PYTHONPATH=B/src`` (the ``sustain`` script imports the package from the path).
"""

from __future__ import annotations

import argparse
import os
import resource
import shutil
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

EXAMPLE = Path(__file__).resolve().parents[1] / "examples" / "coalition-air-defence.yaml"

#: A small two-echelon scenario: two system types at two bases, 8 items (one of them a
#: sub-item), some stock.  Illustrative numbers.
SMALL = """\
name: Small start-up scenario (8 items)
sites:
  - {id: HUB}
  - {id: WEST, parent: HUB, order_ship_days: 4}
  - {id: EAST, parent: HUB, order_ship_days: 6}
systems:
  - {id: SAMX}
  - {id: TRUCK}
fleets:
  - {system: SAMX, site: WEST, count: 2, hours_per_day: 20}
  - {system: SAMX, site: EAST, count: 3, hours_per_day: 16}
  - {system: TRUCK, site: WEST, count: 12, hours_per_day: 6}
  - {system: TRUCK, site: EAST, count: 9, hours_per_day: 8}
items:
  - {id: TX, unit_cost: 1200000, mtbf_hours: 1500, installed_in: [{system: SAMX, qty: 1}],
     base_repair_fraction: 0.2, base_repair_days: 3, depot_repair_days: 25}
  - {id: TX-AMP, unit_cost: 150000, parent: TX, replace_fraction: 0.4,
     depot_repair_days: 20}
  - {id: PSU, unit_cost: 90000, mtbf_hours: 800, installed_in: [{system: SAMX, qty: 2}],
     depot_repair_days: 12}
  - {id: ANT, unit_cost: 400000, mtbf_hours: 3000, installed_in: [{system: SAMX, qty: 1}],
     depot_repair_days: 30}
  - {id: RADIO, unit_cost: 15000, mtbf_hours: 2500,
     installed_in: [{system: SAMX, qty: 2}, {system: TRUCK, qty: 1}],
     base_repair_fraction: 0.5, base_repair_days: 2, depot_repair_days: 10}
  - {id: ENGINE, unit_cost: 60000, mtbf_hours: 4000, installed_in: [{system: TRUCK, qty: 1}],
     depot_repair_days: 40}
  - {id: GEARBOX, unit_cost: 25000, mtbf_hours: 3500, installed_in: [{system: TRUCK, qty: 1}],
     base_repair_fraction: 0.3, base_repair_days: 5, depot_repair_days: 20}
  - {id: SHOCK, unit_cost: 1500, mtbf_hours: 900, installed_in: [{system: TRUCK, qty: 4}],
     base_repair_fraction: 0.8, base_repair_days: 1, depot_repair_days: 8}
stock:
  - {item: TX, site: WEST, qty: 1}
  - {item: TX, site: HUB, qty: 2}
  - {item: PSU, site: EAST, qty: 1}
  - {item: RADIO, site: HUB, qty: 2}
  - {item: ENGINE, site: HUB, qty: 1}
  - {item: SHOCK, site: WEST, qty: 4}
  - {item: SHOCK, site: EAST, qty: 3}
"""


def _sustain_script() -> list[str]:
    """The ``sustain`` script of this interpreter's environment (else ``python -m``)."""
    script = Path(sys.executable).parent / "sustain"
    if script.exists():
        return [str(script)]
    found = shutil.which("sustain")
    return [found] if found else [sys.executable, "-m", "sustain.cli.main"]


def _cpu() -> float:
    use = resource.getrusage(resource.RUSAGE_CHILDREN)
    return use.ru_utime + use.ru_stime


def _run(cmd: list[str], env: dict[str, str]) -> tuple[float, float]:
    """Wall time and CPU time (user + system) of one run of ``cmd``."""
    cpu, start = _cpu(), time.perf_counter()
    done = subprocess.run(cmd, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE,
                          stdin=subprocess.DEVNULL, env=env, check=False)
    wall = time.perf_counter() - start
    if done.returncode != 0:
        raise SystemExit(f"{' '.join(cmd)} failed ({done.returncode}):\n"
                         f"{done.stderr.decode(errors='replace')}")
    return wall, _cpu() - cpu


def main() -> None:
    """Parse the options, time the commands in turns, print the table."""
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--runs", type=int, default=11, help="timed rounds (default 11)")
    ap.add_argument("--sustain", help="the sustain command (default: next to this Python)")
    args = ap.parse_args()
    sustain = [args.sustain] if args.sustain else _sustain_script()
    env = {k: v for k, v in os.environ.items() if k != "PYTHONDONTWRITEBYTECODE"}
    with tempfile.TemporaryDirectory() as tmp:
        small = Path(tmp) / "small.yaml"
        small.write_text(SMALL, encoding="utf-8")
        commands = {
            "python -c pass": [sys.executable, "-c", "pass"],
            "sustain --help": [*sustain, "--help"],
            "sustain evaluate small.yaml (8 items)": [*sustain, "evaluate", str(small)],
            "sustain evaluate worked example (68 items)": [*sustain, "evaluate", str(EXAMPLE)],
        }
        for cmd in commands.values():  # byte-code and numba caches
            _run(cmd, env)
        times: dict[str, list[tuple[float, float]]] = {name: [] for name in commands}
        for _ in range(args.runs):
            for name, cmd in commands.items():
                times[name].append(_run(cmd, env))
    base = statistics.median(wall for wall, _ in times["python -c pass"])
    width = max(map(len, commands))
    print(f"{'command':<{width}}  {'median s':>9}  {'min s':>7}  {'÷ python -c pass':>16}"
          f"  {'CPU s':>6}")
    for name, runs in times.items():
        med = statistics.median(wall for wall, _ in runs)
        cpu = statistics.median(c for _, c in runs)
        print(f"{name:<{width}}  {med:9.3f}  {min(w for w, _ in runs):7.3f}  "
              f"{med / base:16.1f}  {cpu:6.3f}")
    print(f"({args.runs} runs each, in turns; {sys.executable})")


if __name__ == "__main__":
    main()
