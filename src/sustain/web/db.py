"""Run history in a database (SQLAlchemy): SQLite by default, PostgreSQL by URL.

Three tables: ``scenarios`` (keyed by the SHA-256 of what was uploaded),
``scenario_files`` (the uploaded bytes, file by file) and ``runs`` (one per request:
kind, parameters, seed, software version, timing, status and the result document as
the exact JSON text the API returned).  The schema is created and upgraded by the
Alembic migrations in ``sustain/web/migrations``; the tables here must match them (a
test compares the two).  Only portable column types are used, so the same code runs on
SQLite and PostgreSQL.

A run's status moves ``queued -> running -> done | failed | cancelled``.  ``done`` and
its result are written in one transaction: a run that failed never holds a result.
"""

from __future__ import annotations

import json
import threading
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from datetime import UTC, datetime
from enum import StrEnum
from pathlib import Path
from typing import Any

from sqlalchemy import (
    JSON,
    BigInteger,
    DateTime,
    Float,
    ForeignKey,
    Integer,
    LargeBinary,
    String,
    Text,
    UniqueConstraint,
    create_engine,
    event,
    select,
    update,
)
from sqlalchemy.engine import URL, Engine, make_url
from sqlalchemy.exc import ArgumentError, NoSuchModuleError, SQLAlchemyError
from sqlalchemy.orm import DeclarativeBase, Mapped, Session, mapped_column

from sustain.errors import SustainError

#: Folder of the Alembic migrations (``env.py`` and ``versions/``).
MIGRATIONS = Path(__file__).resolve().parent / "migrations"


class Status(StrEnum):
    """Where a run is: waiting for a worker, running, or finished one of three ways."""

    QUEUED = "queued"
    RUNNING = "running"
    DONE = "done"
    FAILED = "failed"
    CANCELLED = "cancelled"


FINISHED = (Status.DONE, Status.FAILED, Status.CANCELLED)


class Base(DeclarativeBase):
    """The tables of the run history."""


class ScenarioRow(Base):
    """One uploaded scenario (its files), stored once however many runs use it."""

    __tablename__ = "scenarios"
    sha256: Mapped[str] = mapped_column(String(64), primary_key=True)
    name: Mapped[str] = mapped_column(String(255))
    size_bytes: Mapped[int] = mapped_column(BigInteger)
    created_at: Mapped[datetime] = mapped_column(DateTime(timezone=True))


class ScenarioFileRow(Base):
    """One file of an uploaded scenario: its path inside the upload and its bytes."""

    __tablename__ = "scenario_files"
    __table_args__ = (UniqueConstraint("scenario_sha256", "path"),)
    id: Mapped[int] = mapped_column(Integer, primary_key=True, autoincrement=True)
    scenario_sha256: Mapped[str] = mapped_column(
        String(64), ForeignKey("scenarios.sha256"), index=True)
    path: Mapped[str] = mapped_column(String(1024))
    content: Mapped[bytes] = mapped_column(LargeBinary)


class RunRow(Base):
    """One run: what was asked, on which scenario, by which version, and how it ended."""

    __tablename__ = "runs"
    id: Mapped[str] = mapped_column(String(32), primary_key=True)
    kind: Mapped[str] = mapped_column(String(16), index=True)
    status: Mapped[str] = mapped_column(String(16), index=True)
    scenario_sha256: Mapped[str] = mapped_column(
        String(64), ForeignKey("scenarios.sha256"), index=True)
    parameters: Mapped[dict[str, Any]] = mapped_column(JSON)
    seed: Mapped[int | None] = mapped_column(BigInteger, nullable=True)
    sustain_version: Mapped[str] = mapped_column(String(64))
    background: Mapped[bool] = mapped_column()
    created_at: Mapped[datetime] = mapped_column(DateTime(timezone=True), index=True)
    started_at: Mapped[datetime | None] = mapped_column(DateTime(timezone=True), nullable=True)
    finished_at: Mapped[datetime | None] = mapped_column(DateTime(timezone=True), nullable=True)
    seconds: Mapped[float | None] = mapped_column(Float, nullable=True)
    result: Mapped[str | None] = mapped_column(Text, nullable=True)
    error: Mapped[dict[str, Any] | None] = mapped_column(JSON, nullable=True)


@dataclass(frozen=True, slots=True, kw_only=True)
class NewRun:
    """What is known of a run when it is asked for."""

    id: str
    kind: str
    scenario_sha256: str
    scenario_name: str
    files: tuple[tuple[str, bytes], ...]
    parameters: dict[str, Any]
    seed: int | None
    sustain_version: str
    background: bool


def now() -> datetime:
    """The time in UTC (stored with its zone)."""
    return datetime.now(UTC)


def _iso(t: datetime | None) -> str | None:
    if t is None:
        return None
    return (t if t.tzinfo is not None else t.replace(tzinfo=UTC)).isoformat()


def sqlite_url(data_dir: Path) -> str:
    """The default database: ``sustain.db`` in ``data_dir``."""
    return f"sqlite:///{(data_dir / 'sustain.db').as_posix()}"


class DatabaseError(SustainError):
    """The database URL is malformed, its driver is missing, or it cannot be reached."""


#: The driver a ``postgresql://`` URL without one gets: psycopg 3 (in the extra ``web``).
POSTGRES_DRIVER = "postgresql+psycopg"


def database_url(url: str) -> URL:
    """``url`` parsed; ``postgresql://`` and ``postgres://`` get the driver psycopg 3.

    Raises
    ------
    DatabaseError
        ``url`` is not a database URL.
    """
    try:
        parsed = make_url(url)
    except ArgumentError:
        raise DatabaseError(f"--db {url!r}: not a database URL (such as "
                            "postgresql://user@host/sustain or sqlite:///path/sustain.db)"
                            ) from None
    if parsed.drivername in ("postgresql", "postgres"):
        parsed = parsed.set(drivername=POSTGRES_DRIVER)
    return parsed


def _shown(url: str) -> str:
    """``url`` as given, its password (if any) hidden."""
    parsed = make_url(url)
    return url if parsed.password is None else parsed.render_as_string(hide_password=True)


def make_engine(url: str) -> Engine:
    """An engine for ``url``; SQLite gets foreign keys on and a wait on a locked file.

    Raises
    ------
    DatabaseError
        A malformed URL, or one whose driver is not installed.
    """
    parsed = database_url(url)
    if parsed.get_backend_name() != "sqlite":
        try:
            return create_engine(parsed, pool_pre_ping=True)
        except (ImportError, NoSuchModuleError) as exc:
            raise DatabaseError(
                f"--db {_shown(url)}: the driver "
                f"{parsed.drivername!r} is not installed ({exc}); PostgreSQL's, psycopg, "
                "comes with pip install 'sustain[web]'") from None
    engine = create_engine(parsed, connect_args={"check_same_thread": False, "timeout": 30})

    @event.listens_for(engine, "connect")
    def _pragmas(dbapi_connection: Any, _record: Any) -> None:
        cursor = dbapi_connection.cursor()
        cursor.execute("PRAGMA foreign_keys=ON")
        cursor.close()

    return engine


def check_database(url: str) -> None:
    """Connect to ``url`` once, so that a server that cannot reach its database says so
    before it starts.

    Raises
    ------
    DatabaseError
        A malformed URL, a missing driver, or a database that refuses the connection.
    """
    engine = make_engine(url)
    try:
        with engine.connect():
            pass
    except SQLAlchemyError as exc:
        reason = str(getattr(exc, "orig", None) or exc).strip().splitlines()[0]
        raise DatabaseError(f"--db {_shown(url)}: cannot connect: {reason}") from None
    finally:
        engine.dispose()


def upgrade(engine: Engine) -> None:
    """Create or upgrade the schema to the newest migration (Alembic)."""
    # Imported here, not at the top: Alembic is needed once, when the server starts.
    from alembic import command
    from alembic.config import Config

    config = Config()
    config.set_main_option("script_location", str(MIGRATIONS))
    with engine.begin() as connection:
        config.attributes["connection"] = connection
        command.upgrade(config, "head")


class Store:
    """The run history: writes are serialised (one writer at a time, as SQLite wants)."""

    def __init__(self, engine: Engine) -> None:
        self.engine = engine
        self._write = threading.Lock()

    @contextmanager
    def _writing(self) -> Iterator[Session]:
        with self._write, Session(self.engine) as session, session.begin():
            yield session

    def add_run(self, run: NewRun) -> None:
        """Record a new run (``queued``) and its scenario, unless that is stored already."""
        with self._writing() as s:
            if s.get(ScenarioRow, run.scenario_sha256) is None:
                s.add(ScenarioRow(sha256=run.scenario_sha256, name=run.scenario_name,
                                  size_bytes=sum(len(b) for _, b in run.files),
                                  created_at=now()))
                s.flush()
                s.add_all(ScenarioFileRow(scenario_sha256=run.scenario_sha256, path=p,
                                          content=b) for p, b in run.files)
            s.add(RunRow(id=run.id, kind=run.kind, status=Status.QUEUED.value,
                         scenario_sha256=run.scenario_sha256, parameters=run.parameters,
                         seed=run.seed, sustain_version=run.sustain_version,
                         background=run.background, created_at=now()))

    def started(self, run_id: str) -> bool:
        """Mark a queued run as running; False if it is no longer queued (cancelled)."""
        with self._writing() as s:
            done = s.execute(
                update(RunRow).where(RunRow.id == run_id, RunRow.status == Status.QUEUED.value)
                .values(status=Status.RUNNING.value, started_at=now()))
            return bool(done.rowcount)  # type: ignore[attr-defined]

    def finish(self, run_id: str, status: Status, *, result: str | None = None,
               error: dict[str, Any] | None = None) -> None:
        """Record how a run ended; only ``done`` keeps a result."""
        if (status is Status.DONE) != (result is not None):
            raise ValueError("a result is kept with status done only, and done needs one")
        with self._writing() as s:
            row = s.get(RunRow, run_id)
            if row is None or row.status in FINISHED:
                return
            end = now()
            row.status = status.value
            row.finished_at = end
            if row.started_at is not None:
                start = row.started_at
                if start.tzinfo is None:
                    start = start.replace(tzinfo=UTC)
                row.seconds = (end - start).total_seconds()
            row.result = result
            row.error = error

    def fail_unfinished(self, message: str) -> int:
        """Mark every queued or running run as failed (at start-up: the server that ran
        them stopped); how many there were."""
        with self._writing() as s:
            done = s.execute(
                update(RunRow)
                .where(RunRow.status.in_([Status.QUEUED.value, Status.RUNNING.value]))
                .values(status=Status.FAILED.value, finished_at=now(),
                        error={"message": f"error: {message}", "problems": [message],
                               "exit_code": 2}))
            return int(done.rowcount)  # type: ignore[attr-defined]

    def get(self, run_id: str) -> dict[str, Any] | None:
        """A run with its scenario's files (names and sizes), or None."""
        with Session(self.engine) as s:
            row = s.get(RunRow, run_id)
            if row is None:
                return None
            scenario = s.get(ScenarioRow, row.scenario_sha256)
            files = s.execute(
                select(ScenarioFileRow.path, ScenarioFileRow.content)
                .where(ScenarioFileRow.scenario_sha256 == row.scenario_sha256)
                .order_by(ScenarioFileRow.id)).all()
            out = _summary(row, scenario)
            out["scenario"]["files"] = [{"path": p, "bytes": len(c)} for p, c in files]
            out["result"] = None if row.result is None else json.loads(row.result)
            out["error"] = row.error
            return out

    def result_text(self, run_id: str) -> str | None:
        """The result document of a finished run, as the JSON text returned."""
        with Session(self.engine) as s:
            row = s.get(RunRow, run_id)
            return None if row is None else row.result

    def list(self, *, limit: int, offset: int) -> list[dict[str, Any]]:
        """Runs, newest first, without their results."""
        with Session(self.engine) as s:
            rows = s.execute(
                select(RunRow, ScenarioRow)
                .join(ScenarioRow, RunRow.scenario_sha256 == ScenarioRow.sha256)
                .order_by(RunRow.created_at.desc(), RunRow.id)
                .limit(limit).offset(offset)).all()
            return [_summary(r, sc) for r, sc in rows]


def _summary(row: RunRow, scenario: ScenarioRow | None) -> dict[str, Any]:
    return {
        "id": row.id,
        "kind": row.kind,
        "status": row.status,
        "scenario": {"sha256": row.scenario_sha256,
                     "name": None if scenario is None else scenario.name},
        "parameters": row.parameters,
        "seed": row.seed,
        "sustain_version": row.sustain_version,
        "background": row.background,
        "created_at": _iso(row.created_at),
        "started_at": _iso(row.started_at),
        "finished_at": _iso(row.finished_at),
        "seconds": row.seconds,
        "exit_code": None if row.error is None else row.error.get("exit_code"),
    }
