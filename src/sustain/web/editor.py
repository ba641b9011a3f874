"""A scenario as editable tables, and the scenario check's messages placed on its cells.

The scenario is read by the command line's reader (:func:`sustain.scenario.load.load_raw`)
from a folder holding its files, so table files (``{file: items.csv}``) come in as rows
like inline tables.  Every list of rows is a :class:`Sheet`: the core tables (``sites``,
``systems``, ``fleets``, ``items``, ``stock``, …), the time-phased tables and the lists
of the ``stockpile:`` section (``stockpile.consumables``, …).  What is not a table (the
name, the currency, ``uncertainty``, the stockpile section's months and stocks) is edited
as YAML text.

A saved edit is one YAML file with every table inline (:func:`scenario_yaml`); it is
checked by :func:`check`, the command line's own loader and validator, and each message
(file, row, key) is placed on the cell it names (:func:`place_issues`): by the key path
(``items[3].mtbf_hours``) for inline tables, by the file row (``items.csv row 5``) for
table files.
"""

from __future__ import annotations

import io
import os
import re
import shutil
import tempfile
import zipfile
import zlib
from collections.abc import Mapping
from dataclasses import dataclass, field, replace
from pathlib import Path, PurePosixPath
from typing import Any

import yaml

from sustain.errors import Issue, ScenarioError, Severity, SustainError
from sustain.scenario import load_scenario
from sustain.scenario.load import load_raw
from sustain.scenario.raw import RawScenario
from sustain.scenario.schema import SECTION, STOCKPILE_TABLES, TABLES
from sustain.web.uploads import MAX_FILES, Upload, UploadError, form_upload, write_upload

#: Suffixes of a scenario file (the first such file of a zip is the scenario).
SCENARIO_SUFFIXES = (".yaml", ".yml", ".json")

_PATH = re.compile(
    r"^(?P<table>[A-Za-z_]+(?:\.[A-Za-z_]+)?)\[(?P<row>\d+)\](?:\.(?P<key>[A-Za-z_]+))?")
_FILE_ROW = re.compile(r"^(?P<file>.+) row (?P<row>\d+)$")
_NUMBER = re.compile(r"^[-+]?(?:\d+\.?\d*|\.\d+)(?:[eE][-+]?\d+)?$")


@dataclass(slots=True, kw_only=True)
class Sheet:
    """One table of the scenario: its key, columns and rows (values as read)."""

    key: str  # "items", "stockpile.consumables"
    columns: list[str]
    rows: list[dict[str, Any]]
    source: str = ""  # "items.csv" for a table file, "" inline


@dataclass(slots=True, kw_only=True)
class Placed:
    """The check's messages: per cell, per row, and those that name no cell."""

    cells: dict[tuple[str, int, str], list[Issue]] = field(default_factory=dict)
    rows: dict[tuple[str, int], list[Issue]] = field(default_factory=dict)
    other: list[Issue] = field(default_factory=list)

    @property
    def errors(self) -> int:
        """How many errors (not warnings) were placed."""
        every = [*self.other, *(i for v in self.cells.values() for i in v),
                 *(i for v in self.rows.values() for i in v)]
        return sum(i.severity is Severity.ERROR for i in every)


@dataclass(slots=True, kw_only=True)
class Opened:
    """A version as the editor shows it: its tables, the rest as YAML, the raw read."""

    sheets: list[Sheet]
    rest: dict[str, Any]
    order: list[str]  # top-level keys in the order written
    raw: RawScenario | None
    read_error: ScenarioError | None = None


class EditError(SustainError):
    """An edit that cannot be turned into a scenario (the YAML text of the settings)."""


def folder_of(files: tuple[tuple[str, bytes], ...], parent: Path) -> Path:
    """The files written to a new folder under ``parent`` (the caller removes it)."""
    return write_upload(Upload(files=files), parent)


def _table_keys(data: Mapping[str, Any]) -> list[str]:
    keys = [k for k, v in data.items() if isinstance(v, list) and k in TABLES]
    section = data.get(SECTION)
    if isinstance(section, dict):
        keys += [f"{SECTION}.{k}" for k, v in section.items()
                 if isinstance(v, list) and k in STOCKPILE_TABLES]
    return keys


def _get(data: Mapping[str, Any], key: str) -> Any:
    head, _, tail = key.partition(".")
    return data[head][tail] if tail else data[head]


def open_version(files: tuple[tuple[str, bytes], ...], parent: Path) -> Opened:
    """The tables of the scenario in ``files`` (the scenario file first)."""
    folder = folder_of(files, parent)
    try:
        try:
            raw = load_raw(folder / files[0][0])
        except SustainError as exc:
            return Opened(sheets=[], rest={}, order=[], raw=None,
                          read_error=as_scenario_error(exc, files[0][0]))
        sheets = []
        for key in _table_keys(raw.data):
            rows = [r if isinstance(r, dict) else {"value": r} for r in _get(raw.data, key)]
            columns: list[str] = []
            source = raw.tables.get(key)
            if source is not None and source.from_file:
                columns += list(source.columns)
            for r in rows:
                columns += [str(c) for c in r if str(c) not in columns]
            sheets.append(Sheet(key=key, columns=columns, rows=rows,
                                source=source.where if source is not None and source.from_file
                                else ""))
        rest = {k: v for k, v in raw.data.items() if k not in TABLES}
        section = rest.get(SECTION)
        if isinstance(section, dict):
            rest[SECTION] = {k: v for k, v in section.items()
                             if not (isinstance(v, list) and k in STOCKPILE_TABLES)}
        return Opened(sheets=sheets, rest=rest, order=list(raw.data), raw=raw)
    finally:
        shutil.rmtree(folder, ignore_errors=True)


def cell_text(value: Any) -> str:
    """A value as a cell shows it: text as is, lists and mappings as YAML flow."""
    if value is None:
        return ""
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, str | int | float):
        return str(value)
    return yaml.safe_dump(value, default_flow_style=True, width=10_000,
                          allow_unicode=True).strip()


def cell_value(text: str, original: Any) -> Any:
    """The value of an edited cell: ``None`` (left out) when empty; YAML for a list or
    mapping; a number or true/false where the cell held one; text otherwise (the check
    reads numbers from text as it reads a CSV cell)."""
    text = text.strip()
    if not text:
        return None
    if text[0] in "[{" or isinstance(original, list | dict):
        try:
            return yaml.safe_load(text)
        except yaml.YAMLError:
            return text
    if isinstance(original, bool) and text.lower() in ("true", "false"):
        return text.lower() == "true"
    if isinstance(original, int | float) and not isinstance(original, bool) and \
            _NUMBER.match(text):
        number = float(text)
        return int(number) if re.fullmatch(r"[-+]?\d+", text) else number
    return text


def scenario_yaml(opened: Opened, sheets: list[Sheet], rest_text: str) -> str:
    """The scenario with ``sheets`` inline and the settings of ``rest_text`` (YAML)."""
    try:
        rest = yaml.safe_load(rest_text) if rest_text.strip() else {}
    except yaml.YAMLError as exc:
        raise EditError(f"settings (YAML): {exc}") from None
    if not isinstance(rest, dict):
        raise EditError("settings (YAML): a mapping of keys to values is needed")
    tables = {s.key: [{k: v for k, v in r.items() if v is not None} for r in s.rows]
              for s in sheets}
    out: dict[str, Any] = {}
    order = [*opened.order, *(k for k in rest if k not in opened.order),
             *(k.split(".")[0] for k in tables if k.split(".")[0] not in opened.order)]
    for key in order:
        if key in out:
            continue
        if key in tables:
            out[key] = tables[key]
        elif key in rest:
            out[key] = rest[key]
    if SECTION in out and isinstance(out[SECTION], dict):
        section = dict(out[SECTION])
        for k, rows in tables.items():
            if k.startswith(SECTION + "."):
                section[k.split(".", 1)[1]] = rows
        out[SECTION] = section
    return yaml.safe_dump(out, sort_keys=False, allow_unicode=True, width=100)


def as_scenario_error(exc: SustainError, name: str) -> ScenarioError:
    """``exc`` as a :class:`ScenarioError` (a missing extra, say, as one issue)."""
    if isinstance(exc, ScenarioError):
        return exc
    return ScenarioError([Issue(where=name, path="", message=str(exc))])


def check(files: tuple[tuple[str, bytes], ...], parent: Path) -> ScenarioError | None:
    """The command line's check of the scenario in ``files``; its error, if any."""
    return check_all(files, parent)[0]


def check_all(files: tuple[tuple[str, bytes], ...],
              parent: Path) -> tuple[ScenarioError | None, list[Issue]]:
    """The command line's check of the scenario in ``files``: its error, if any, and
    the warnings of a scenario that passes (those the command line prints)."""
    folder = folder_of(files, parent)
    try:
        sc = load_scenario(folder / files[0][0])
    except SustainError as exc:
        error = as_scenario_error(exc, files[0][0])
        inside = f"{folder}{os.sep}"  # the files as the user named them, not our folder
        return ScenarioError([replace(i, message=i.message.replace(inside, ""))
                              for i in error.issues], total=error.total), []
    finally:
        shutil.rmtree(folder, ignore_errors=True)
    found = [*getattr(sc, "warnings", ()),
             *(sc.stockpile.warnings if sc.stockpile is not None else ())]
    return None, list(dict.fromkeys(found))  # each once


def place_issues(issues: list[Issue], opened: Opened) -> Placed:
    """Each issue on the cell (table, row, column) or row it names, else apart."""
    placed = Placed()
    sheets = {s.key: s for s in opened.sheets}
    by_file: dict[str, tuple[str, dict[str, int]]] = {}
    if opened.raw is not None:
        for s in opened.sheets:
            if s.source:
                wheres = opened.raw.row_where.get(s.key, [])
                by_file[s.source] = (s.key, {w: i for i, w in enumerate(wheres)})
    for issue in issues:
        table, row, key = None, -1, ""
        m = _PATH.match(issue.path)
        if m is not None and m["table"] in sheets:
            table, row, key = m["table"], int(m["row"]), m["key"] or ""
        else:
            f = _FILE_ROW.match(issue.where)
            if f is not None and f["file"] in by_file:
                table, index = by_file[f["file"]]
                row = index.get(issue.where, -1)
                key = re.split(r"[.\[]", issue.path, maxsplit=1)[0] if issue.path else ""
        if table is None or row < 0:
            placed.other.append(issue)
        elif key and key in sheets[table].columns:
            placed.cells.setdefault((table, row, key), []).append(issue)
        else:
            placed.rows.setdefault((table, row), []).append(issue)
    return placed


def zip_upload(data: bytes, max_bytes: int) -> Upload:
    """The scenario and table files of a zip: the scenario is its one YAML/JSON file
    nearest the top (folders inside the zip are kept as paths).

    Raises
    ------
    UploadError
        Not a zip, too many or too large files, a bad name, no scenario file or two at
        the same depth.
    """
    try:
        archive = zipfile.ZipFile(io.BytesIO(data))
    except zipfile.BadZipFile:
        raise UploadError("the file is not a zip archive") from None
    members = [m for m in archive.infolist() if not m.is_dir()]
    if len(members) > MAX_FILES:
        raise UploadError(f"the zip holds {len(members)} files: at most {MAX_FILES}")
    if sum(m.file_size for m in members) > max_bytes:
        raise UploadError(f"the zip unpacks to more than the server's limit of "
                          f"{max_bytes / 2**20:g} MB")
    files = []
    for m in members:
        if m.external_attr >> 28 == 0o12:  # a symbolic link
            raise UploadError(f"zip member {m.filename!r} is a symbolic link")
        try:
            files.append((m.filename, archive.read(m)))
        except (zipfile.BadZipFile, zlib.error, EOFError, OSError, NotImplementedError,
                RuntimeError) as exc:  # damaged, encrypted, an unknown compression
            raise UploadError(f"zip member {m.filename!r} cannot be read: {exc}") from None
    scenarios = [(len(PurePosixPath(n).parts), n) for n, _ in files
                 if n.lower().endswith(SCENARIO_SUFFIXES)]
    if not scenarios:
        raise UploadError("the zip holds no scenario file (.yaml, .yml or .json)")
    depth = min(d for d, _ in scenarios)
    top = sorted(n for d, n in scenarios if d == depth)
    if len(top) > 1:
        raise UploadError(f"the zip holds {len(top)} scenario files at the same level "
                          f"({', '.join(top[:3])}): keep one")
    prefix = str(PurePosixPath(top[0]).parent)
    prefix = "" if prefix == "." else prefix + "/"
    if prefix:  # the scenario's folder becomes the top of the upload
        files = [(n[len(prefix):], b) for n, b in files if n.startswith(prefix)]
        top = [top[0][len(prefix):]]
    scenario = next((n, b) for n, b in files if n == top[0])
    return form_upload(scenario, [(n, b) for n, b in files if n != top[0]])


def temp_parent(data_dir: Path) -> Path:
    """The folder for the editor's temporary copies of scenarios."""
    parent = data_dir / "pages"
    parent.mkdir(parents=True, exist_ok=True)
    return Path(tempfile.gettempdir()) if not parent.is_dir() else parent
