"""Readiness over time, ``next`` and ``sweep`` through the API: the CLI's ``--json``
document byte for byte, and its messages for bad options (as test_same_documents.py
does for the other commands)."""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import pytest
from fastapi.testclient import TestClient

from tests.deliver.cases import small_case
from tests.web.conftest import EXAMPLES, example, finished, wait_for
from tests.web.test_same_documents import cli

RAIL = "rail-two-echelon.yaml"


@pytest.fixture(scope="module")
def offers_scenario(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """A small scenario with offers (a depot, two bases, three offers)."""
    path = tmp_path_factory.mktemp("next") / "offers.json"
    path.write_text(json.dumps(small_case(np.random.default_rng(3), n_offers=3)))
    return path


@pytest.mark.parametrize(("url", "args"), [
    ("/api/evaluate?over_time=1&days=120&step=14",
     ["evaluate", "--over-time", "--days", "120", "--step", "14"]),
    ("/api/evaluate?over_time=true&days=60&method=metric&exponential=1",
     ["evaluate", "--over-time", "--days", "60", "--method", "metric", "--exponential"]),
    ("/api/sweep?vary=mtbf=0.8:1.2&vary=repair_days=0.9:1.5",
     ["sweep", "--vary", "mtbf=0.8:1.2", "--vary", "repair_days=0.9:1.5"]),
    ("/api/sweep?vary=mtbf=0.5:2&measure=cost&target=0.9&select=items=PANTO,HVAC",
     ["sweep", "--vary", "mtbf=0.5:2", "--measure", "cost", "--target", "0.9", "--select",
      "items=PANTO,HVAC"]),
], ids=["over-time", "over-time-metric", "sweep", "sweep-cost"])
def test_the_api_answers_with_the_cli_document(
        client: TestClient, url: str, args: list[str]) -> None:
    code, stdout, stderr = cli(args, EXAMPLES / RAIL)
    assert code == 0, stderr
    answer = client.post(url, content=example(RAIL))
    assert answer.status_code == 200, answer.text
    assert answer.text == stdout
    assert json.loads(answer.text)


def test_next_answers_with_the_cli_document(client: TestClient, offers_scenario: Path) -> None:
    options = ["--budget", "12", "--days", "120", "--step", "14"]
    code, stdout, stderr = cli(["next", *options], offers_scenario)
    assert code == 0, stderr
    doc = json.loads(stdout)
    assert doc["picks"], "the case should buy something"
    answer = client.post("/api/next?budget=12&days=120&step=14",
                         content=offers_scenario.read_bytes(),
                         headers={"content-type": "application/json"})
    assert answer.status_code == 200, answer.text
    assert answer.text == stdout
    # In the background: the same document, kept in the history as a run of kind next.
    started = client.post("/api/next?budget=12&days=120&step=14&background=1",
                          content=offers_scenario.read_bytes(),
                          headers={"content-type": "application/json"})
    status = wait_for(client, started.json()["id"], finished)
    assert status["status"] == "done" and status["kind"] == "next"
    assert status["result"] == doc
    assert status["parameters"] == {"budget": 12.0, "days": 120, "step": 14}


@pytest.mark.parametrize(("url", "args"), [
    ("/api/evaluate?over_time=1&method=exact", ["evaluate", "--over-time", "--method",
                                                "exact"]),
    ("/api/evaluate?days=30", ["evaluate", "--days", "30"]),
    ("/api/evaluate?exponential=1", ["evaluate", "--exponential"]),
    ("/api/evaluate?over_time=1&days=0", ["evaluate", "--over-time", "--days", "0"]),
    ("/api/evaluate?over_time=1&step=0", ["evaluate", "--over-time", "--step", "0"]),
    ("/api/next?budget=-1", ["next", "--budget", "-1"]),
    ("/api/next?budget=10&days=99999", ["next", "--budget", "10", "--days", "99999"]),
    ("/api/sweep", ["sweep"]),
    ("/api/sweep?vary=mtfb=0.8:1.2", ["sweep", "--vary", "mtfb=0.8:1.2"]),
    ("/api/sweep?vary=mtbf=0.8:1.2&measure=cost", ["sweep", "--vary", "mtbf=0.8:1.2",
                                                   "--measure", "cost"]),
    ("/api/sweep?samples=4&vary=mtbf=0.8:1.2", ["sweep", "--samples", "4", "--vary",
                                                "mtbf=0.8:1.2"]),
    # Checked by the worker against the scenario's ids, as the command line does.
    ("/api/sweep?vary=mtbf=0.8:1.2&select=items=PANTOO", ["sweep", "--vary", "mtbf=0.8:1.2",
                                                         "--select", "items=PANTOO"]),
], ids=lambda v: v if isinstance(v, str) else None)
def test_a_bad_option_gets_the_cli_message(
        client: TestClient, url: str, args: list[str]) -> None:
    code, _, stderr = cli(args, EXAMPLES / RAIL)
    assert code == 2
    answer = client.post(url, content=example(RAIL))
    assert answer.status_code == 422, answer.text
    assert answer.json()["message"] == stderr.strip()
    assert answer.json()["exit_code"] == 2


def test_next_without_offers_says_so_as_the_cli_does(
        client: TestClient, tmp_path: Path) -> None:
    path = tmp_path / RAIL
    path.write_bytes(example(RAIL))
    code, _, stderr = cli(["next", "--budget", "10"], path)
    assert code == 2
    answer = client.post("/api/next?budget=10", files={"scenario": (RAIL, example(RAIL))})
    assert answer.status_code == 422
    assert answer.json()["message"] == stderr.replace(str(path), RAIL).strip()
