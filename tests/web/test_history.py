"""The run history: every run kept with its scenario, parameters, seed, version, timing;
the Alembic migrations build exactly the tables the code uses.  Each test runs on
SQLite and on PostgreSQL (the fixture ``database``)."""

from __future__ import annotations

import hashlib
import json
from pathlib import Path

import pytest
from alembic.autogenerate import compare_metadata
from alembic.migration import MigrationContext
from fastapi.testclient import TestClient
from sqlalchemy import inspect
from sqlalchemy.engine import Engine

import sustain
from sustain.web.db import Base, NewRun, Status, Store, make_engine, sqlite_url, upgrade
from tests.web.conftest import Client, example

RAIL = "rail-two-echelon.yaml"


@pytest.fixture
def client(make_client: Client, database: str | None) -> TestClient:
    """An app with the default settings on the test's database."""
    return make_client(db_url=database)


def engine_for(database: str | None, tmp_path: Path) -> Engine:
    """An engine on the test's database (SQLite: a file in ``tmp_path``)."""
    return make_engine(database or sqlite_url(tmp_path))


def test_a_run_is_kept_with_its_scenario_parameters_and_result(client: TestClient) -> None:
    body = example(RAIL)
    answer = client.post("/api/simulate?days=100&reps=3&seed=0", content=body)
    assert answer.status_code == 200
    run_id = answer.headers["x-sustain-run"]
    run = client.get(f"/api/runs/{run_id}").json()
    assert run["kind"] == "simulate" and run["status"] == "done"
    assert run["seed"] == 0  # 0 is a seed
    assert run["parameters"]["reps"] == 3 and run["parameters"]["days"] == 100
    assert run["sustain_version"] == sustain.__version__
    assert run["result"] == json.loads(answer.text)
    assert run["scenario"]["files"] == [{"path": "scenario.yaml", "bytes": len(body)}]
    name = b"scenario.yaml"
    digest = hashlib.sha256(len(name).to_bytes(8, "big") + name
                            + len(body).to_bytes(8, "big") + body).hexdigest()
    assert run["scenario"]["sha256"] == digest
    assert run["seconds"] >= 0 and run["started_at"] <= run["finished_at"]
    assert run["created_at"] <= run["started_at"]


def test_the_list_is_newest_first_and_pages(client: TestClient) -> None:
    ids = []
    for method in ("metric", "vari-metric", "exact"):
        answer = client.post(f"/api/evaluate?method={method}", content=example(RAIL))
        ids.append(answer.headers["x-sustain-run"])
    runs = client.get("/api/runs").json()
    assert [r["id"] for r in runs] == ids[::-1]
    assert "result" not in runs[0]
    assert [r["parameters"]["method"] for r in runs] == ["exact", "vari-metric", "metric"]
    # One scenario stored once for three runs.
    assert len({r["scenario"]["sha256"] for r in runs}) == 1
    assert [r["id"] for r in client.get("/api/runs?limit=1&offset=1").json()] == [ids[1]]
    assert client.get("/api/runs?limit=0").status_code == 422


def test_a_failed_run_is_kept_without_a_result(client: TestClient) -> None:
    answer = client.post("/api/evaluate", content=b"sites: 3\n")
    run = client.get(f"/api/runs/{answer.json()['run']}").json()
    assert (run["status"], run["result"], run["exit_code"]) == ("failed", None, 2)
    assert run["error"]["message"] == answer.json()["message"]


def test_the_migrations_build_the_tables_of_the_code(
        tmp_path: Path, database: str | None) -> None:
    engine = engine_for(database, tmp_path)
    upgrade(engine)
    upgrade(engine)  # a second time changes nothing
    with engine.connect() as connection:
        assert compare_metadata(MigrationContext.configure(connection), Base.metadata) == []
    tables = set(inspect(engine).get_table_names())
    assert tables == {"alembic_version", "runs", "scenarios", "scenario_files"}
    engine.dispose()


def test_runs_left_unfinished_by_a_stopped_server_are_marked_failed(
    make_client: Client, tmp_path: Path, database: str | None
) -> None:
    (tmp_path / "data0").mkdir()
    engine = engine_for(database, tmp_path / "data0")
    upgrade(engine)
    store = Store(engine)
    store.add_run(NewRun(id="a" * 32, kind="evaluate", scenario_sha256="0" * 64,
                         scenario_name="s.yaml", files=(("s.yaml", b"x"),), parameters={},
                         seed=None, sustain_version="0", background=True))
    assert store.started("a" * 32)
    engine.dispose()
    client = make_client(db_url=database)  # the same database (SQLite: folder data0)
    run = client.get(f"/api/runs/{'a' * 32}").json()
    assert run["status"] == "failed" and run["result"] is None
    assert run["error"]["message"] == "error: the server stopped before the run finished"


def test_only_done_keeps_a_result(tmp_path: Path, database: str | None) -> None:
    engine = engine_for(database, tmp_path)
    upgrade(engine)
    store = Store(engine)
    for bad in ((Status.FAILED, "{}"), (Status.DONE, None)):
        try:
            store.finish("x", bad[0], result=bad[1])
        except ValueError:
            continue
        raise AssertionError(f"{bad} was accepted")
    engine.dispose()
