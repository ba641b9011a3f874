"""``benchmarks/optimize.py`` runs with the runtime dependencies only.

``make run`` installs the package without the test tools, and ``make bench`` must work
after it: the benchmark (and the cases it shares with the tests) may not import
``tests``, pytest or Hypothesis.  Checked by starting it in a fresh interpreter in which
those cannot be imported.
"""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

BENCHMARKS = Path(__file__).resolve().parents[2] / "benchmarks"

BLOCK = """
import runpy, sys
for name in ("pytest", "_pytest", "hypothesis", "tests"):
    sys.modules[name] = None
sys.path.insert(0, sys.argv[1])
sys.argv = [sys.argv[2], "--help"]
runpy.run_path(sys.argv[0], run_name="__main__")
"""


def test_optimize_benchmark_starts_without_test_tools() -> None:
    script = BENCHMARKS / "optimize.py"
    done = subprocess.run(
        [sys.executable, "-c", BLOCK, str(BENCHMARKS), str(script)],
        capture_output=True, text=True, timeout=120, check=False,
    )
    assert done.returncode == 0, done.stderr
    assert "--instances" in done.stdout
