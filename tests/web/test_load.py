"""``sustain serve`` as a user starts it (uvicorn in a process of its own, on loopback),
under a short load: once its first run has started the job fork server, five clients
submitting evaluations, directly and in the background, and reading the documents
back, for a second — no errors, no run lost (``benchmarks/web_load.py`` is the long
version: 50 clients for 30 s).  Once with the
default SQLite database, once with ``--db postgresql://…`` (the migrations run on a
new, empty PostgreSQL database when the server starts)."""

from __future__ import annotations

import json

from benchmarks.web_load import Tally, first_run_seconds, lost_runs, run_load, server
from sqlalchemy import create_engine, text
from typer.testing import CliRunner

from sustain.cli.main import app
from sustain.web.db import database_url


def test_a_short_load_loses_no_run(database: str | None) -> None:
    with server(db=database) as (host, port):
        first_run_seconds(host, port)  # as the benchmark does: the engines loaded once
        res = run_load(host, port, clients=5, seconds=1.0)
        # The check finds a run missing from the history, and a document changed.
        some_run = next(iter(res.documents))
        made_up = Tally(submitted=["0" * 32, some_run],
                        documents={some_run: json.dumps({"fleets": []})})
        assert lost_runs(host, port, made_up) == [
            f"{'0' * 32}: not in the history",
            f"{some_run}: the stored document differs from the one received"]
    assert res.errors == []
    assert res.lost == []
    assert res.runs >= 5  # every client finished a run at least
    assert len(res.latencies["whole run"]) == res.runs
    if database is not None:
        # The history is in the PostgreSQL database, migrated to the newest revision.
        engine = create_engine(database_url(database))
        with engine.connect() as c:
            done = c.execute(text("SELECT count(*) FROM runs WHERE status = 'done'"))
            assert done.scalar_one() >= res.runs
            version = c.execute(text("SELECT version_num FROM alembic_version")).all()
            assert len(version) == 1
            docs = c.execute(text("SELECT result FROM runs WHERE status = 'done'")).all()
            assert all(json.loads(d[0])["fleets"] for d in docs)
        engine.dispose()


def test_serve_names_a_database_it_cannot_reach_or_read() -> None:
    """A wrong --db stops ``sustain serve`` at once with one line, exit 2."""
    for url, message in [
        ("postgresql://planner@/none?host=/nonexistent-socket-dir",
         "error: --db postgresql://planner@/none?host=/nonexistent-socket-dir: cannot "
         "connect: "),
        ("postgresql://planner:s3cret@/none?host=/nonexistent-socket-dir",
         "error: --db postgresql://planner:***@/none?host=%2Fnonexistent-socket-dir: "
         "cannot connect: "),
        ("not a url", "error: --db 'not a url': not a database URL (such as "),
        ("oracle+nodriver://x@y/z", "error: --db oracle+nodriver://x@y/z: the driver "
         "'oracle+nodriver' is not installed"),
    ]:
        result = CliRunner().invoke(app, ["serve", "--db", url])
        assert result.exit_code == 2, result.output
        assert result.stderr.startswith(message), result.stderr
        assert result.stderr.count("\n") == 1
        assert "s3cret" not in result.stderr
