"""Background runs: 202 and a job id, status and progress, cancel, time limit, limits."""

from __future__ import annotations

import json
import time
from typing import Any

import pytest
from fastapi.testclient import TestClient

from tests.web.conftest import Client, example, finished, wait_for

RAIL = "rail-two-echelon.yaml"
#: A simulation far longer than any test waits (100 years, 5,000 replications).
ENDLESS = "/api/simulate?days=36500&reps=5000&background=1"


def start(client: TestClient, url: str) -> str:
    answer = client.post(url, content=example(RAIL))
    assert answer.status_code == 202, answer.text
    body = answer.json()
    assert body["status"] == "queued"
    assert answer.headers["location"] == body["job"] == f"/api/jobs/{body['id']}"
    return str(body["id"])


def test_a_background_run_ends_with_the_document_of_a_direct_one(client: TestClient) -> None:
    direct = client.post("/api/evaluate", content=example(RAIL))
    run_id = start(client, "/api/evaluate?background=1")
    status = wait_for(client, run_id, finished)
    assert status["status"] == "done"
    assert status["result"] == json.loads(direct.text)
    assert status["error"] is None
    assert client.get(f"/api/jobs/{run_id}/result").text == direct.text


def test_a_simulation_reports_progress_and_can_be_cancelled(client: TestClient) -> None:
    run_id = start(client, ENDLESS)
    status = wait_for(client, run_id, lambda s: s["progress"] is not None or finished(s))
    assert status["status"] == "running"
    assert status["progress"]["total"] == 5_000
    assert 0 <= status["progress"]["done"] < 5_000
    answer = client.delete(f"/api/jobs/{run_id}")
    assert answer.status_code == 200
    assert answer.json() == {"id": run_id, "status": "cancelled"}
    status = client.get(f"/api/jobs/{run_id}").json()
    assert (status["status"], status["result"]) == ("cancelled", None)
    assert client.get(f"/api/jobs/{run_id}/result").status_code == 409
    again = client.delete(f"/api/jobs/{run_id}")
    assert again.status_code == 409
    assert "cancelled already" in again.json()["message"]


def test_a_runaway_run_is_stopped_at_the_time_limit(make_client: Client) -> None:
    client = make_client(time_limit_seconds=1.0)
    answer = client.post(ENDLESS.replace("&background=1", ""), content=example(RAIL))
    assert answer.status_code == 422
    body = answer.json()
    assert body["message"] == ("error: the run took longer than the server's time limit of "
                               "1 s and was stopped (sustain serve --time-limit)")
    run = client.get(f"/api/runs/{body['run']}").json()
    assert (run["status"], run["result"]) == ("failed", None)
    # The server goes on serving (a run would meet the same short limit on a busy machine).
    assert [r["status"] for r in client.get("/api/runs").json()] == ["failed"]


def test_runs_beyond_the_slots_wait_and_beyond_the_queue_get_429(make_client: Client) -> None:
    client = make_client(max_jobs=1, max_queued=1)
    first = start(client, ENDLESS)
    wait_for(client, first, lambda s: s["status"] != "queued")
    second = start(client, "/api/evaluate?background=1")
    assert client.get(f"/api/jobs/{second}").json()["status"] == "queued"
    third = client.post("/api/evaluate?background=1", content=example(RAIL))
    assert third.status_code == 429
    assert "1 runs are waiting already" in third.json()["message"]
    # A queued run cancelled never starts and frees its place in the queue; the
    # slot's run cancelled frees the slot.
    assert client.delete(f"/api/jobs/{second}").json()["status"] == "cancelled"
    replacement = start(client, "/api/evaluate?background=1")
    assert client.get(f"/api/jobs/{replacement}").json()["status"] == "queued"
    assert client.delete(f"/api/jobs/{replacement}").json()["status"] == "cancelled"
    assert client.delete(f"/api/jobs/{first}").json()["status"] == "cancelled"
    run = client.get(f"/api/runs/{second}").json()
    assert (run["status"], run["started_at"]) == ("cancelled", None)
    fourth = start(client, "/api/evaluate?background=1")
    assert wait_for(client, fourth, finished)["status"] == "done"


def test_concurrent_runs_all_finish_with_the_same_document(make_client: Client) -> None:
    client = make_client(max_jobs=2)
    ids = [start(client, "/api/evaluate?background=1") for _ in range(4)]
    results = [wait_for(client, i, finished) for i in ids]
    assert [r["status"] for r in results] == ["done"] * 4
    assert all(r["result"] == results[0]["result"] for r in results)


def test_a_failed_background_run_keeps_its_message_and_no_result(client: TestClient) -> None:
    answer = client.post("/api/evaluate?background=1", content=b"sites: 3\n")
    status = wait_for(client, answer.json()["id"], finished)
    assert status["status"] == "failed" and status["result"] is None
    assert status["error"]["exit_code"] == 2
    assert "sites: must be a list of rows" in status["error"]["message"]


def test_unknown_jobs_get_404(client: TestClient) -> None:
    for answer in (client.get("/api/jobs/nope"), client.delete("/api/jobs/nope"),
                   client.get("/api/jobs/nope/result"), client.get("/api/runs/nope")):
        assert answer.status_code == 404
        assert answer.json()["message"] == "error: no run 'nope'"


def test_a_run_is_never_seen_done_without_its_document(
        make_client: Client, monkeypatch: pytest.MonkeyPatch) -> None:
    """A status request that reads a run's row just before the run ends (reading and
    storing made slow here) never answers "done" without the document."""
    from sustain.web.db import Store

    slow_finish, slow_get = Store.finish, Store.get

    def finish(self: Store, *args: Any, **kwargs: Any) -> None:
        time.sleep(0.5)
        slow_finish(self, *args, **kwargs)

    def get(self: Store, *args: Any, **kwargs: Any) -> Any:
        row = slow_get(self, *args, **kwargs)
        time.sleep(0.2)  # the row read, the run may end before the answer is made
        return row

    monkeypatch.setattr(Store, "finish", finish)
    monkeypatch.setattr(Store, "get", get)
    client = make_client()
    run_id = start(client, "/api/evaluate?background=1")
    seen = []
    for _ in range(2000):
        status = client.get(f"/api/jobs/{run_id}").json()
        seen.append(status)
        if finished(status):
            break
        time.sleep(0.01)
    assert seen[-1]["status"] == "done"
    assert all(s["result"] is not None for s in seen if s["status"] == "done")
