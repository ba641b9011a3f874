"""The server's limits per run: memory (``--max-memory-mb``), and what a stopped run
leaves behind (no result, the server still serving)."""

from __future__ import annotations

import json
import re

from typer.testing import CliRunner

from sustain.cli.main import app
from tests.web.conftest import Client, example, finished, wait_for

RAIL = "rail-two-echelon.yaml"
#: Messages of a run stopped at the memory limit (the engine's arrays for 600,000
#: systems need far more than 20 MB; the worked rail example far less).
OUT_OF_MEMORY = re.compile(
    r"^error: out of memory: the run needed more than the server's limit of 20 MB per run "
    r"and was stopped \(sustain serve --max-memory-mb\)")


def huge_fleet() -> bytes:
    """The rail example with 300,000 trains at each depot."""
    text = example(RAIL).decode()
    for n in ("24", "16"):
        assert f"count: {n}," in text
        text = text.replace(f"count: {n},", "count: 300000,")
    return text.encode()


def test_a_run_past_the_memory_limit_is_stopped_and_the_server_goes_on(
        make_client: Client) -> None:
    client = make_client(max_memory_mb=20)
    answer = client.post("/api/simulate?days=1&reps=1", content=huge_fleet())
    assert answer.status_code == 422, answer.text[:300]
    body = answer.json()
    assert OUT_OF_MEMORY.match(body["message"]), body["message"]
    assert body["exit_code"] == 2 and "Traceback" not in answer.text
    # The failed run keeps no result, and nothing of it reads as complete.
    run = client.get(f"/api/runs/{body['run']}").json()
    assert (run["status"], run["result"]) == ("failed", None)
    assert run["error"]["message"] == body["message"]
    assert client.get(f"/api/jobs/{body['run']}/result").status_code == 409
    # The same server goes on: a small run fits in the limit, in the background too.
    small = client.post("/api/evaluate", content=example(RAIL))
    assert small.status_code == 200
    assert json.loads(small.text)["fleets"]
    started = client.post("/api/simulate?days=1&reps=1&background=1", content=huge_fleet())
    status = wait_for(client, started.json()["id"], finished)
    assert (status["status"], status["result"]) == ("failed", None)
    assert OUT_OF_MEMORY.match(status["error"]["message"])


def test_the_same_run_passes_under_a_larger_limit(make_client: Client) -> None:
    """What stopped the run above was the limit, not the run itself."""
    client = make_client(max_memory_mb=2048)
    answer = client.post("/api/simulate?days=1&reps=1", content=huge_fleet())
    assert answer.status_code == 200, answer.text[:300]
    assert json.loads(answer.text)["fleets"][0]["count"] == 300_000


def test_a_limit_that_is_not_positive_is_refused_by_serve() -> None:
    result = CliRunner().invoke(app, ["serve", "--max-memory-mb", "0"])
    assert result.exit_code == 2
    assert result.stderr.startswith("error: --max-memory-mb")

