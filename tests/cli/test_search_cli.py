"""``optimize --search``, ``--workers`` and ``--dask``: checked options, and a run."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
from typer.testing import CliRunner

from sustain.cli.main import app
from tests.cli.test_evaluate_cli import SMALL
from tests.cli.test_options import refused

RUNNER = CliRunner()


@pytest.fixture
def small(tmp_path: Path) -> Path:
    path = tmp_path / "small.yaml"
    path.write_text(SMALL)
    return path


@pytest.mark.parametrize(
    ("args", "message"),
    [
        (["--budget", "1000", "--search", "lagrange"], "--search lagrange needs --target"),
        (["-t", "0.9", "--workers", "0"], "--workers 0: must be a whole number from 1 to 1,024"),
    ],
)
def test_refused(small: Path, args: list[str], message: str) -> None:
    refused(["optimize", str(small), *args], message)


def test_lagrange_on_two_workers_meets_the_target(small: Path) -> None:
    """The decomposition on two processes: exit 0, every fleet at 0.9 or more, and the
    same purchases as on one."""
    docs = []
    for workers in ("1", "2"):
        result = RUNNER.invoke(app, ["optimize", str(small), "-t", "0.9", "--search",
                                     "lagrange", "--workers", workers, "--json", "-q"])
        assert result.exit_code == 0, result.output
        docs.append(json.loads(result.stdout))
    assert all(f["availability"] >= 0.9 - 1e-9 for f in docs[0]["fleets"]
               if f["availability"] is not None)
    assert docs[0]["purchases"] == docs[1]["purchases"]
