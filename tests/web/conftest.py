"""The web app under FastAPI's TestClient, with a fresh data folder per test.

``database`` gives the history tests their database, once SQLite (a file in the data
folder) and once PostgreSQL (a new database on a server the session starts itself,
:mod:`tests.web.postgres`; skipped, saying why, where the server's binaries are
absent).
"""

from __future__ import annotations

import time
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import pytest
from fastapi.testclient import TestClient

from sustain.web.app import Settings, create_app
from tests.web.postgres import Cluster, find_bindir

ROOT = Path(__file__).resolve().parents[2]
EXAMPLES = ROOT / "examples"
#: Longest wait for a background run in a test (seconds).
WAIT = 60.0
Client = Callable[..., TestClient]


@pytest.fixture
def make_client(tmp_path: Path) -> Iterator[Client]:
    """``make_client(**settings)``: a started app (lifespan run) on a fresh data folder."""
    opened: list[Any] = []

    def make(**settings: Any) -> TestClient:
        data = tmp_path / f"data{len(opened)}"
        client = TestClient(create_app(Settings(data_dir=data, **settings)))
        client.__enter__()
        opened.append(client)
        return client

    yield make
    for client in reversed(opened):
        client.__exit__(None, None, None)


@pytest.fixture(scope="session")
def postgres() -> Iterator[Cluster]:
    """A PostgreSQL server for the session (skips when its binaries are absent)."""
    bindir = find_bindir()
    if bindir is None:
        pytest.skip("PostgreSQL's server binaries (initdb, pg_ctl) are absent: Debian package "
                    "postgresql; `make test` installs it")
    pytest.importorskip("psycopg", reason="psycopg (extra web) is missing")
    cluster = Cluster(bindir)
    try:
        cluster.start()
        yield cluster
    finally:
        cluster.stop()


@pytest.fixture(params=["sqlite", "postgresql"])
def database(request: pytest.FixtureRequest) -> str | None:
    """The ``db_url`` of a test's app: None (SQLite in the data folder) or a new database
    on the session's PostgreSQL server."""
    if request.param == "sqlite":
        return None
    cluster: Cluster = request.getfixturevalue("postgres")
    return cluster.new_database()


@pytest.fixture
def client(make_client: Client) -> TestClient:
    """An app with the default settings."""
    return make_client()


def example(name: str) -> bytes:
    """A shipped example file's bytes."""
    return (EXAMPLES / name).read_bytes()


def wait_for(client: TestClient, run_id: str, until: Callable[[dict[str, Any]], bool],
             timeout: float = WAIT) -> dict[str, Any]:
    """Poll ``/api/jobs/{id}`` until ``until(status)``; the last status."""
    end = time.monotonic() + timeout
    while True:
        status = client.get(f"/api/jobs/{run_id}").json()
        if until(status) or time.monotonic() > end:
            return status
        time.sleep(0.05)


def finished(status: dict[str, Any]) -> bool:
    """The run is over (done, failed or cancelled)."""
    return status["status"] not in ("queued", "running")
