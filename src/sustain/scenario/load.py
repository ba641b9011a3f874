"""Read a scenario file into a raw mapping, remembering where each row came from.

YAML (or JSON) at the top; any table may instead be ``{file: path.csv}`` (also
``.parquet``, and ``.xlsx`` with ``sheet:``), read relative to the scenario file.
Nothing is checked here beyond "can it be read": ``validate.py`` checks meaning.
Every row keeps a ``where`` string (``"air.yaml line 40"``, ``"items.csv row 7"``)
for the messages.
"""

from __future__ import annotations

import csv
import json
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import yaml

from sustain.errors import Issue, MissingExtraError, ScenarioError

#: Keys allowed in a ``{file: …}`` table reference.
FILE_REF_KEYS = ("file", "sheet")
TABLE_SUFFIXES = (".csv", ".parquet", ".xlsx")


@dataclass(slots=True)
class TableSource:
    """Where a table came from: inline in the scenario, or a separate file."""

    where: str  # "air.yaml line 12" or "items.csv"
    from_file: bool
    columns: tuple[str, ...] = ()  # header of a file table


@dataclass(slots=True)
class RawScenario:
    """The scenario as read: plain Python values plus source locations."""

    path: Path
    data: dict[str, Any]
    where: str  # the scenario file's name, for messages
    tables: dict[str, TableSource] = field(default_factory=dict)
    row_where: dict[str, list[str]] = field(default_factory=dict)

    def at(self, table: str, row: int) -> str:
        """Where row ``row`` of ``table`` was written."""
        rows = self.row_where.get(table, [])
        return rows[row] if 0 <= row < len(rows) else self.where


class _LineLoader(yaml.SafeLoader):
    """A safe YAML loader that records the line of each mapping and rejects duplicate keys."""

    def __init__(self, stream: str) -> None:
        super().__init__(stream)
        self.lines: dict[int, int] = {}
        self.duplicates: list[tuple[int, str]] = []


def _construct_map(loader: _LineLoader, node: yaml.MappingNode) -> Iterator[dict[Any, Any]]:
    data: dict[Any, Any] = {}
    loader.lines[id(data)] = node.start_mark.line + 1
    yield data
    seen: set[Any] = set()
    for key_node, _ in node.value:
        key = loader.construct_object(key_node, deep=True)  # type: ignore[no-untyped-call]
        if isinstance(key, str | int | float) and key in seen:
            loader.duplicates.append((key_node.start_mark.line + 1, str(key)))
        seen.add(key)
    data.update(loader.construct_mapping(node, deep=True))


_LineLoader.add_constructor("tag:yaml.org,2002:map", _construct_map)  # type: ignore[arg-type]


def _fail(where: str, message: str) -> ScenarioError:
    return ScenarioError([Issue(where=where, path="", message=message)])


def load_raw(path: str | Path) -> RawScenario:
    """Read ``path`` (YAML or JSON) and every table file it names.

    Raises
    ------
    ScenarioError
        The file (or a table file) is missing, empty, or not parseable; the message
        names the file and, where the parser knows it, the line.
    """
    path = Path(path)
    name = path.name
    try:
        text = path.read_text(encoding="utf-8")
    except FileNotFoundError:
        raise _fail(str(path), "file not found") from None
    except IsADirectoryError:
        raise _fail(str(path), "is a directory, not a scenario file") from None
    except UnicodeDecodeError as exc:
        raise _fail(name, f"not a text file (UTF-8 expected): {exc.reason}") from None
    except OSError as exc:
        raise _fail(str(path), f"cannot be read: {exc.strerror}") from None
    if not text.strip():
        raise _fail(name, "the file is empty")

    lines: dict[int, int] = {}
    if path.suffix.lower() == ".json":
        try:
            data = json.loads(text)
        except json.JSONDecodeError as exc:
            raise _fail(f"{name} line {exc.lineno}", f"invalid JSON: {exc.msg}") from None
    else:
        loader = _LineLoader(text)
        try:
            data = loader.get_single_data()
        except yaml.MarkedYAMLError as exc:
            mark = exc.problem_mark or exc.context_mark
            at = f"{name} line {mark.line + 1}" if mark is not None else name
            problem = exc.problem or exc.context or "malformed"
            raise _fail(at, f"invalid YAML: {problem}") from None
        except yaml.YAMLError as exc:
            raise _fail(name, f"invalid YAML: {exc}") from None
        finally:
            loader.dispose()
        if loader.duplicates:
            raise ScenarioError(
                [
                    Issue(where=f"{name} line {line}", path=key, message="duplicate key")
                    for line, key in loader.duplicates
                ]
            )
        lines = loader.lines
    if data is None:
        raise _fail(name, "the file is empty")
    if not isinstance(data, dict):
        raise _fail(name, f"expected a mapping of keys (name, sites, …) at the top: got {_kind(data)}")

    raw = RawScenario(path=path, data=data, where=name)
    issues: list[Issue] = []
    for key, value in list(data.items()):
        if not isinstance(value, dict) or "file" not in value:
            if isinstance(value, list):
                raw.tables[key] = TableSource(where=_line(name, lines, value), from_file=False)
                raw.row_where[key] = [_line(name, lines, row) for row in value]
            continue
        ref_where = _line(name, lines, value)
        unknown = [k for k in value if k not in FILE_REF_KEYS]
        if unknown:
            issues.append(
                Issue(
                    where=ref_where,
                    path=f"{key}.{unknown[0]}",
                    message="unknown key in a table reference (allowed: file, sheet)",
                )
            )
            continue
        try:
            rows, columns, row_numbers, shown = _read_table(path.parent, value)
        except ScenarioError as exc:
            issues.extend(exc.issues)
            continue
        data[key] = rows
        raw.tables[key] = TableSource(where=shown, from_file=True, columns=columns)
        raw.row_where[key] = [f"{shown} row {n}" for n in row_numbers]
    if issues:
        raise ScenarioError(issues)
    return raw


def _kind(value: object) -> str:
    return {list: "a list", str: "a text", int: "a number", float: "a number"}.get(
        type(value), type(value).__name__
    )


def _line(name: str, lines: dict[int, int], obj: object) -> str:
    line = lines.get(id(obj))
    return f"{name} line {line}" if line is not None else name


def _read_table(
    base: Path, ref: dict[str, Any]
) -> tuple[list[dict[str, Any]], tuple[str, ...], list[int], str]:
    """Read one table file; rows as dicts without empty cells, plus row numbers."""
    file = ref.get("file")
    if not isinstance(file, str) or not file.strip():
        raise _fail(str(base), "a table reference needs 'file: path'")
    target = (base / file).resolve()
    shown = file
    suffix = target.suffix.lower()
    if suffix not in TABLE_SUFFIXES:
        raise _fail(shown, f"unsupported table format '{suffix}' (use .csv, .parquet or .xlsx)")
    if not target.is_file():
        raise _fail(shown, f"table file not found (looked for {target})")
    if suffix == ".csv":
        header, body, numbers = _read_csv(target, shown)
    elif suffix == ".parquet":
        header, body, numbers = _read_parquet(target, shown)
    else:
        header, body, numbers = _read_xlsx(target, shown, ref.get("sheet"))
    rows = [
        {col: val for col, val in zip(header, values, strict=False) if not _empty(val)}
        for values in body
    ]
    return rows, tuple(header), numbers, shown


def _empty(value: object) -> bool:
    if value is None:
        return True
    if isinstance(value, str):
        return not value.strip()
    return isinstance(value, float) and value != value  # NaN from a spreadsheet


def _read_csv(path: Path, shown: str) -> tuple[list[str], list[list[Any]], list[int]]:
    try:
        text = path.read_text(encoding="utf-8-sig")
    except UnicodeDecodeError as exc:
        raise _fail(shown, f"not a text file (UTF-8 expected): {exc.reason}") from None
    reader = csv.reader(text.splitlines())
    try:
        all_rows = list(reader)
    except csv.Error as exc:
        raise _fail(f"{shown} row {reader.line_num}", f"malformed CSV: {exc}") from None
    numbered = [(n, r) for n, r in enumerate(all_rows, start=1) if any(c.strip() for c in r)]
    if not numbered:
        raise _fail(shown, "the table file is empty (a header row is needed)")
    (_, header), *body = numbered
    header = [h.strip() for h in header]
    issues = []
    for n, row in body:
        if len(row) > len(header):
            issues.append(
                Issue(
                    where=f"{shown} row {n}",
                    path="",
                    message=f"{len(row)} cells but the header has {len(header)} columns",
                )
            )
    if issues:
        raise ScenarioError(issues)
    return header, [r for _, r in body], [n for n, _ in body]


def _read_parquet(path: Path, shown: str) -> tuple[list[str], list[list[Any]], list[int]]:
    try:
        import pyarrow.parquet as pq
    except ImportError:
        raise MissingExtraError(f"{shown}: reading Parquet", "tables") from None
    try:
        table = pq.read_table(path)
    except Exception as exc:  # pyarrow raises several types for a bad file
        raise _fail(shown, f"not a readable Parquet file: {exc}") from None
    header = [str(c) for c in table.column_names]
    cols = [table.column(c).to_pylist() for c in table.column_names]
    body = [list(r) for r in zip(*cols, strict=True)] if cols else []
    # Parquet has no header row: data row k is reported as row k (1-based).
    return header, body, list(range(1, len(body) + 1))


def _read_xlsx(
    path: Path, shown: str, sheet: object
) -> tuple[list[str], list[list[Any]], list[int]]:
    try:
        import openpyxl
    except ImportError:
        raise MissingExtraError(f"{shown}: reading XLSX", "tables") from None
    try:
        book = openpyxl.load_workbook(path, read_only=True, data_only=True)
    except Exception as exc:  # openpyxl raises several types for a bad file
        raise _fail(shown, f"not a readable XLSX file: {exc}") from None
    try:
        if sheet is None:
            ws = book.worksheets[0]
        elif isinstance(sheet, str) and sheet in book.sheetnames:
            ws = book[sheet]
        else:
            raise _fail(shown, f"no sheet '{sheet}' (sheets: {', '.join(book.sheetnames)})")
        shown = f"{shown}[{ws.title}]"
        numbered = [
            (n, list(r))
            for n, r in enumerate(ws.iter_rows(values_only=True), start=1)
            if any(not _empty(c) for c in r)
        ]
    finally:
        book.close()
    if not numbered:
        raise _fail(shown, "the sheet is empty (a header row is needed)")
    (_, header_cells), *body = numbered
    header = ["" if h is None else str(h).strip() for h in header_cells]
    return header, [r for _, r in body], [n for n, _ in body]
