"""The scenario library of the browser pages: named scenarios, each a list of versions.

A saved scenario (``saved_scenarios``) has versions (``scenario_versions``), numbered
1, 2, … in the order they were saved; each version points to its files in the run
history's ``scenarios`` table (by their SHA-256, so the same files are stored once).
Saving an edit makes a new version; no version is ever changed.  ``version_runs``
says which version a run from the pages was made on.

A scenario is deleted only when no run was made on any of its versions
(:class:`InUse` otherwise): runs are never deleted with it, silently or not.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from typing import Any

from sqlalchemy import (
    DateTime,
    ForeignKey,
    Integer,
    String,
    UniqueConstraint,
    delete,
    func,
    select,
)
from sqlalchemy.orm import Mapped, Session, mapped_column

from sustain.errors import SustainError
from sustain.web.db import (
    Base,
    RunRow,
    ScenarioFileRow,
    ScenarioRow,
    Store,
    _iso,
    now,
)
from sustain.web.uploads import Upload

#: Longest scenario name kept (longer names are cut).
MAX_NAME_CHARS = 200


class InUse(SustainError):
    """A scenario with runs cannot be deleted."""


class SavedScenarioRow(Base):
    """A named scenario of the library."""

    __tablename__ = "saved_scenarios"
    id: Mapped[int] = mapped_column(Integer, primary_key=True, autoincrement=True)
    name: Mapped[str] = mapped_column(String(MAX_NAME_CHARS))
    created_at: Mapped[datetime] = mapped_column(DateTime(timezone=True))


class VersionRow(Base):
    """One saved version of a scenario: its number and its files (by hash)."""

    __tablename__ = "scenario_versions"
    __table_args__ = (UniqueConstraint("saved_id", "number"),)
    id: Mapped[int] = mapped_column(Integer, primary_key=True, autoincrement=True)
    saved_id: Mapped[int] = mapped_column(ForeignKey("saved_scenarios.id"), index=True)
    number: Mapped[int] = mapped_column(Integer)
    scenario_sha256: Mapped[str] = mapped_column(String(64), ForeignKey("scenarios.sha256"))
    note: Mapped[str] = mapped_column(String(255))
    created_at: Mapped[datetime] = mapped_column(DateTime(timezone=True))


class VersionRunRow(Base):
    """A run made from the pages on a version of a saved scenario."""

    __tablename__ = "version_runs"
    run_id: Mapped[str] = mapped_column(String(32), ForeignKey("runs.id"), primary_key=True)
    version_id: Mapped[int] = mapped_column(ForeignKey("scenario_versions.id"), index=True)


@dataclass(frozen=True, slots=True, kw_only=True)
class Version:
    """A version as the pages show it."""

    id: int
    saved_id: int
    name: str
    number: int
    latest: int
    sha256: str
    note: str
    created_at: str | None
    files: tuple[tuple[str, bytes], ...]

    @property
    def scenario(self) -> str:
        """The scenario file's name (the first file)."""
        return self.files[0][0]


class Library:
    """The saved scenarios, over the run history's database (see the module doc)."""

    def __init__(self, store: Store) -> None:
        self.store = store

    def _files(self, s: Session, upload: Upload) -> str:
        sha = upload.sha256
        if s.get(ScenarioRow, sha) is None:
            s.add(ScenarioRow(sha256=sha, name=upload.scenario,
                              size_bytes=sum(len(b) for _, b in upload.files),
                              created_at=now()))
            s.flush()
            s.add_all(ScenarioFileRow(scenario_sha256=sha, path=p, content=b)
                      for p, b in upload.files)
        return sha

    def create(self, name: str, upload: Upload, note: str) -> int:
        """A new saved scenario with ``upload`` as version 1; its id."""
        with self.store._writing() as s:
            saved = SavedScenarioRow(name=name.strip()[:MAX_NAME_CHARS] or upload.scenario,
                                     created_at=now())
            s.add(saved)
            s.flush()
            s.add(VersionRow(saved_id=saved.id, number=1, scenario_sha256=self._files(s, upload),
                             note=note[:255], created_at=now()))
            return int(saved.id)

    def add_version(self, saved_id: int, upload: Upload, note: str) -> int:
        """Save ``upload`` as the next version of ``saved_id``; the new version's number."""
        with self.store._writing() as s:
            last = s.execute(select(func.max(VersionRow.number))
                             .where(VersionRow.saved_id == saved_id)).scalar_one()
            number = int(last or 0) + 1
            s.add(VersionRow(saved_id=saved_id, number=number,
                             scenario_sha256=self._files(s, upload), note=note[:255],
                             created_at=now()))
            return number

    def link_run(self, run_id: str, version_id: int) -> None:
        """Record that ``run_id`` was made on ``version_id``."""
        with self.store._writing() as s:
            s.add(VersionRunRow(run_id=run_id, version_id=version_id))

    def saved(self) -> list[dict[str, Any]]:
        """Saved scenarios, newest first, with their latest version and run count."""
        with Session(self.store.engine) as s:
            latest = (select(VersionRow.saved_id, func.max(VersionRow.number).label("n"))
                      .group_by(VersionRow.saved_id).subquery())
            runs = (select(VersionRow.saved_id, func.count(VersionRunRow.run_id).label("r"))
                    .join(VersionRunRow, VersionRunRow.version_id == VersionRow.id)
                    .group_by(VersionRow.saved_id).subquery())
            rows = s.execute(
                select(SavedScenarioRow, latest.c.n, runs.c.r)
                .join(latest, latest.c.saved_id == SavedScenarioRow.id)
                .outerjoin(runs, runs.c.saved_id == SavedScenarioRow.id)
                .order_by(SavedScenarioRow.created_at.desc(), SavedScenarioRow.id.desc())).all()
            return [{"id": r.id, "name": r.name, "created_at": _iso(r.created_at),
                     "versions": int(n), "runs": int(k or 0)} for r, n, k in rows]

    def version(self, saved_id: int, number: int | None = None) -> Version | None:
        """Version ``number`` of ``saved_id`` (the latest by default), with its files."""
        with Session(self.store.engine) as s:
            saved = s.get(SavedScenarioRow, saved_id)
            if saved is None:
                return None
            latest = s.execute(select(func.max(VersionRow.number))
                               .where(VersionRow.saved_id == saved_id)).scalar_one()
            row = s.execute(select(VersionRow).where(
                VersionRow.saved_id == saved_id,
                VersionRow.number == (latest if number is None else number))).scalar()
            if row is None:
                return None
            files = s.execute(
                select(ScenarioFileRow.path, ScenarioFileRow.content)
                .where(ScenarioFileRow.scenario_sha256 == row.scenario_sha256)
                .order_by(ScenarioFileRow.id)).all()
            return Version(id=row.id, saved_id=saved_id, name=saved.name, number=row.number,
                           latest=int(latest), sha256=row.scenario_sha256, note=row.note,
                           created_at=_iso(row.created_at),
                           files=tuple((p, bytes(c)) for p, c in files))

    def versions(self, saved_id: int) -> list[dict[str, Any]]:
        """Every version of ``saved_id``, newest first, with its runs' ids."""
        with Session(self.store.engine) as s:
            rows = s.execute(select(VersionRow).where(VersionRow.saved_id == saved_id)
                             .order_by(VersionRow.number.desc())).scalars().all()
            out = []
            for v in rows:
                runs = s.execute(
                    select(RunRow.id, RunRow.kind, RunRow.status, RunRow.created_at)
                    .join(VersionRunRow, VersionRunRow.run_id == RunRow.id)
                    .where(VersionRunRow.version_id == v.id)
                    .order_by(RunRow.created_at.desc())).all()
                out.append({"number": v.number, "note": v.note,
                            "created_at": _iso(v.created_at),
                            "runs": [{"id": r.id, "kind": r.kind, "status": r.status,
                                      "created_at": _iso(r.created_at)} for r in runs]})
            return out

    def run_version(self, run_id: str) -> tuple[int, str, int] | None:
        """``(saved_id, name, number)`` of the version a run was made on, if any."""
        with Session(self.store.engine) as s:
            row = s.execute(
                select(SavedScenarioRow.id, SavedScenarioRow.name, VersionRow.number)
                .join(VersionRow, VersionRow.saved_id == SavedScenarioRow.id)
                .join(VersionRunRow, VersionRunRow.version_id == VersionRow.id)
                .where(VersionRunRow.run_id == run_id)).first()
            return None if row is None else (int(row[0]), str(row[1]), int(row[2]))

    def delete(self, saved_id: int) -> bool:
        """Delete ``saved_id`` and its versions; False if there is no such scenario.

        Raises
        ------
        InUse
            Runs were made on one of its versions (they are kept; so is the scenario).
        """
        with self.store._writing() as s:
            saved = s.get(SavedScenarioRow, saved_id)
            if saved is None:
                return False
            runs = s.execute(
                select(func.count(VersionRunRow.run_id))
                .join(VersionRow, VersionRunRow.version_id == VersionRow.id)
                .where(VersionRow.saved_id == saved_id)).scalar_one()
            if runs:
                raise InUse(
                    f"scenario {saved.name!r} has {runs} run{'s' if runs != 1 else ''} in "
                    "the history: it is kept with them (runs are never deleted with their "
                    "scenario)")
            s.execute(delete(VersionRow).where(VersionRow.saved_id == saved_id))
            s.delete(saved)
            return True

