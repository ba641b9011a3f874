"""Read a scenario file into a raw mapping, remembering where each row came from.

YAML (or JSON) at the top; any table may instead be ``{file: path.csv}`` (also
``.parquet``, and ``.xlsx`` with ``sheet:``), read relative to the scenario file.
Nothing is checked here beyond "can it be read": ``validate.py`` checks meaning.
Every row keeps a ``where`` string (``"air.yaml line 40"``, ``"items.csv row 7"``)
for the messages, and every key of an inline row its own line.

Only a scenario file that cannot be read at all (missing, empty, not YAML/JSON, not a
mapping) raises here.  Problems that leave the rest of the file readable (a duplicate
key, a table file that is missing or malformed) are recorded in
:attr:`RawScenario.issues` so that :func:`~sustain.scenario.validate.validate` reports
them together with everything else, in one pass.
"""

from __future__ import annotations

import csv
import difflib
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
    readable: bool = True  # False: the table file could not be read (see RawScenario.issues)


@dataclass(slots=True)
class RawScenario:
    """The scenario as read: plain Python values plus source locations.

    ``key_lines`` maps ``(id(mapping), key)`` and ``(id(list), index)`` of the
    containers in ``data`` to the line of that key or element; it is empty for JSON
    that cannot be mapped back to lines and for scenarios built in memory.  ``issues``
    holds problems found while reading.
    """

    path: Path
    data: dict[str, Any]
    where: str  # the scenario file's name, for messages
    tables: dict[str, TableSource] = field(default_factory=dict)
    row_where: dict[str, list[str]] = field(default_factory=dict)
    key_lines: dict[tuple[int, Any], int] = field(default_factory=dict)
    issues: list[Issue] = field(default_factory=list)
    files: list[Path] = field(default_factory=list)  # read, resolved: scenario, then tables

    def at(self, table: str, row: int, loc: tuple[Any, ...] = ()) -> str:
        """Where row ``row`` of ``table`` (or key ``loc`` inside it) was written."""
        source = self.tables.get(table)
        rows = self.row_where.get(table, [])
        fallback = rows[row] if 0 <= row < len(rows) else self.where
        if source is not None and source.from_file:
            return fallback
        line = self._line_of((table, row, *loc))
        return f"{self.where} line {line}" if line is not None else fallback

    def locate(self, loc: tuple[Any, ...]) -> str:
        """Where the key path ``loc`` (``("items", 3, "mtbf_hours")``) was written."""
        line = self._line_of(loc)
        return f"{self.where} line {line}" if line is not None else self.where

    def _line_of(self, loc: tuple[Any, ...]) -> int | None:
        """The line of the deepest part of ``loc`` that can be found."""
        obj: Any = self.data
        found = None  # the top mapping's own line says nothing
        for part in loc:
            in_dict = isinstance(obj, dict) and _hashable(part) and part in obj
            in_list = isinstance(obj, list) and isinstance(part, int) and 0 <= part < len(obj)
            if not (in_dict or in_list):
                break
            found = self.key_lines.get((id(obj), part), found)
            obj = obj[part]
        return found


def _hashable(value: object) -> bool:
    return isinstance(value, str | int | float | bool) or value is None


class _LineLoader(yaml.SafeLoader):
    """A safe YAML loader that records the line of each key and list element, and
    notes duplicate keys (with the line of their first occurrence)."""

    def __init__(self, stream: str) -> None:
        super().__init__(stream)
        self.key_lines: dict[tuple[int, Any], int] = {}
        self.duplicates: list[tuple[int, str, int, int]] = []  # (id(map), key, line, first)
        self.keep: list[object] = []  # keeps every container alive so ids stay unique


def _construct_map(loader: _LineLoader, node: yaml.MappingNode) -> Iterator[dict[Any, Any]]:
    data: dict[Any, Any] = {}
    loader.keep.append(data)
    yield data
    first: dict[Any, int] = {}
    for key_node, _ in node.value:
        key = loader.construct_object(key_node, deep=True)
        if not _hashable(key):
            continue
        line = key_node.start_mark.line + 1
        if key in first:
            loader.duplicates.append((id(data), str(key), line, first[key]))
        else:
            first[key] = line
        loader.key_lines[(id(data), key)] = line
    data.update(loader.construct_mapping(node, deep=True))


def _construct_seq(loader: _LineLoader, node: yaml.SequenceNode) -> Iterator[list[Any]]:
    data: list[Any] = []
    loader.keep.append(data)
    yield data
    for index, child in enumerate(node.value):
        loader.key_lines[(id(data), index)] = child.start_mark.line + 1
    data.extend(loader.construct_sequence(node, deep=True))


_LineLoader.add_constructor("tag:yaml.org,2002:map", _construct_map)
_LineLoader.add_constructor("tag:yaml.org,2002:seq", _construct_seq)


def _fail(where: str, message: str, path: str = "") -> ScenarioError:
    return ScenarioError([Issue(where=where, path=path, message=message)])


def _parse_yaml(text: str, name: str) -> tuple[Any, _LineLoader]:
    loader = _LineLoader(text)
    try:
        return loader.get_single_data(), loader
    except yaml.MarkedYAMLError as exc:
        mark = exc.problem_mark or exc.context_mark
        at = f"{name} line {mark.line + 1}" if mark is not None else name
        problem = exc.problem or exc.context or "malformed"
        ctx = exc.context_mark
        if exc.context and exc.problem and ctx is not None and (
            mark is None or ctx.line != mark.line
        ):
            problem += f" ({exc.context} started at line {ctx.line + 1})"
        raise _fail(at, f"invalid YAML: {problem}") from None
    except yaml.YAMLError as exc:
        raise _fail(name, f"invalid YAML: {exc}") from None
    finally:
        loader.dispose()


def load_raw(path: str | Path) -> RawScenario:
    """Read ``path`` (YAML or JSON) and every table file it names.

    Raises
    ------
    ScenarioError
        The scenario file is missing, empty, not parseable or not a mapping; the
        message names the file and, where the parser knows it, the line.  Problems
        with table files and duplicate keys do not raise: they are kept in
        :attr:`RawScenario.issues` for :func:`~sustain.scenario.validate.validate`.
    """
    path = Path(path)
    name = path.name
    try:
        text = path.read_text(encoding="utf-8-sig")
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

    loader: _LineLoader | None
    if path.suffix.lower() == ".json":
        try:
            data = json.loads(text)
        except json.JSONDecodeError as exc:
            raise _fail(
                f"{name} line {exc.lineno}", f"invalid JSON: {exc.msg} (column {exc.colno})"
            ) from None
        try:  # JSON is (nearly) YAML: parse it again only to learn the lines
            shadow, loader = _parse_yaml(text, name)
        except ScenarioError:
            shadow, loader = None, None
    else:
        data, loader = _parse_yaml(text, name)
        shadow = data
    if data is None:
        raise _fail(name, "the file is empty")
    if not isinstance(data, dict):
        raise _fail(
            name, f"expected a mapping of keys (name, sites, …) at the top: got {_kind(data)}"
        )

    raw = RawScenario(path=path, data=data, where=name, files=[path.resolve()])
    if loader is not None:
        _take_lines(raw, loader, shadow)
    for key, value in list(data.items()):
        if isinstance(value, list):
            raw.tables[key] = TableSource(where=raw.locate((key,)), from_file=False)
            raw.row_where[key] = [raw.locate((key, i)) for i in range(len(value))]
        elif _is_table_ref(value):
            _load_table(raw, str(key), value)
    if isinstance(data.get("stockpile"), dict):  # lists nested in the stockpile section
        from sustain.scenario.stockpile import load_section_tables

        load_section_tables(raw)
    return raw


def _take_lines(raw: RawScenario, loader: _LineLoader, shadow: Any) -> None:
    """Copy line numbers from the YAML parse onto ``raw.data`` (the same tree, or the
    tree ``json`` built from the same text), and record duplicate keys as issues."""
    pairs: dict[int, Any] = {}
    _pair(raw.data, shadow, pairs)
    for (yid, key), line in loader.key_lines.items():
        if yid in pairs:
            raw.key_lines[(id(pairs[yid]), key)] = line
    paths: dict[int, str] = {}
    _paths(raw.data, "", paths)
    for yid, key, line, first in loader.duplicates:
        prefix = paths.get(id(pairs[yid]), "") if yid in pairs else ""
        raw.issues.append(
            Issue(
                where=f"{raw.where} line {line}",
                path=f"{prefix}.{key}" if prefix else key,
                message=f"duplicate key (first given at line {first}; give each key once)",
            )
        )


def _pair(obj: Any, shadow: Any, out: dict[int, Any]) -> None:
    """Map ``id()`` of the containers of ``shadow`` to those of ``obj`` where the shapes agree."""
    if isinstance(obj, dict) and isinstance(shadow, dict):
        if set(map(str, obj)) != set(map(str, shadow)):
            return
        out[id(shadow)] = obj
        by_str = {str(k): k for k in shadow}
        for k, v in obj.items():
            _pair(v, shadow[by_str[str(k)]], out)
    elif isinstance(obj, list) and isinstance(shadow, list) and len(obj) == len(shadow):
        out[id(shadow)] = obj
        for a, b in zip(obj, shadow, strict=True):
            _pair(a, b, out)


def _paths(obj: Any, prefix: str, out: dict[int, str]) -> None:
    if id(obj) in out or not isinstance(obj, dict | list):
        return
    out[id(obj)] = prefix
    if isinstance(obj, dict):
        for k, v in obj.items():
            _paths(v, f"{prefix}.{k}" if prefix else str(k), out)
    else:
        for i, v in enumerate(obj):
            _paths(v, f"{prefix}[{i}]", out)


def _is_table_ref(value: object) -> bool:
    """``{file: …}``, or a mapping whose keys are all misspellings of file/sheet."""
    if not isinstance(value, dict) or not value:
        return False
    if "file" in value:
        return True
    return all(
        isinstance(k, str) and difflib.get_close_matches(k.lower(), FILE_REF_KEYS, n=1)
        for k in value
    )


def _load_table(
    raw: RawScenario, key: str, ref: dict[Any, Any], loc: tuple[Any, ...] | None = None
) -> None:
    """Read the table file ``ref`` names into ``raw.data[key]``, or record why not.

    ``loc`` is the key path of a nested table (``("stockpile", "demand")``, known as
    ``key`` = ``"stockpile.demand"``); the rows replace ``ref`` in its container.
    """
    loc = (key,) if loc is None else loc
    ref_where = raw.locate(loc)
    issues: list[Issue] = []

    def problem(sub: str, message: str) -> None:
        where = raw.locate((*loc, sub)) if sub in ref else ref_where
        issues.append(Issue(where=where, path=f"{key}.{sub}" if sub else key, message=message))

    for k in ref:
        if k not in FILE_REF_KEYS:
            match = difflib.get_close_matches(str(k).lower(), FILE_REF_KEYS, n=1)
            hint = f"did you mean '{match[0]}'? " if match else ""
            problem(str(k), f"unknown key in a table reference ({hint}allowed: file, sheet)")
    file = ref.get("file")
    sheet = ref.get("sheet")
    if "file" not in ref:
        if not issues:
            problem("", "a table reference needs 'file: path'")
    elif not isinstance(file, str) or not file.strip():
        problem("file", f"must be the path of a table file: got {file!r}")
    else:
        suffix = Path(file).suffix.lower()
        target = raw.path.parent / file
        if suffix not in TABLE_SUFFIXES:
            fmt = f"'{suffix}'" if suffix else "(no suffix)"
            problem(
                "file",
                f"table file '{file}' has an unsupported format {fmt} "
                "(use .csv, .parquet or .xlsx)",
            )
        elif not target.is_file():
            problem("file", f"table file '{file}' not found (looked for {target.resolve()})")
        if sheet is not None and suffix in TABLE_SUFFIXES and suffix != ".xlsx":
            problem("sheet", f"only .xlsx tables have sheets: '{file}' is {suffix}")
    if not issues:
        assert isinstance(file, str)
        try:
            rows, columns, row_numbers, shown = _read_table(
                raw.path.parent, file, sheet, raw.locate((*loc, "sheet")), key
            )
        except ScenarioError as exc:
            issues.extend(exc.issues)
        else:
            container: Any = raw.data
            for part in loc[:-1]:
                container = container[part]
            container[loc[-1]] = rows
            raw.files.append((raw.path.parent / file).resolve())
            raw.tables[key] = TableSource(where=shown, from_file=True, columns=columns)
            raw.row_where[key] = [f"{shown} row {n}" for n in row_numbers]
            return
    raw.issues.extend(issues)
    raw.tables[key] = TableSource(where=ref_where, from_file=True, readable=False)


def _kind(value: object) -> str:
    return {list: "a list", str: "a text", int: "a number", float: "a number"}.get(
        type(value), type(value).__name__
    )


def _read_table(
    base: Path, file: str, sheet: object, sheet_where: str, key: str
) -> tuple[list[dict[str, Any]], tuple[str, ...], list[int], str]:
    """Read one table file; rows as dicts without empty cells, plus row numbers."""
    target = base / file
    shown = file
    suffix = target.suffix.lower()
    if suffix == ".csv":
        header, body, numbers = _read_csv(target, shown)
    elif suffix == ".parquet":
        header, body, numbers = _read_parquet(target, shown)
    else:
        header, body, numbers, shown = _read_xlsx(target, shown, sheet, sheet_where, key)
    issues: list[Issue] = []
    seen: set[str] = set()
    for col, h in enumerate(header, start=1):
        if h and h in seen:
            issues.append(Issue(where=shown, path=h, message="column given twice in the header"))
        seen.add(h)
        if not h and any(len(r) >= col and not _empty(r[col - 1]) for r in body):
            issues.append(
                Issue(where=shown, path="", message=f"column {col} has values but no header")
            )
    if issues:
        raise ScenarioError(issues)
    rows = [
        {col: val for col, val in zip(header, values, strict=False) if col and not _empty(val)}
        for values in body
    ]
    return rows, tuple(h for h in header if h), numbers, shown


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
    path: Path, shown: str, sheet: object, sheet_where: str, key: str
) -> tuple[list[str], list[list[Any]], list[int], str]:
    try:
        import openpyxl
    except ImportError:
        raise MissingExtraError(f"{shown}: reading XLSX", "tables") from None
    try:
        book = openpyxl.load_workbook(path, read_only=True, data_only=True)
    except Exception as exc:  # openpyxl raises several types for a bad file
        raise _fail(shown, f"not a readable XLSX file: {exc}") from None
    try:
        names = list(book.sheetnames)
        if sheet is None:
            ws = book.worksheets[0]
        elif str(sheet) in names:
            ws = book[str(sheet)]
        else:
            match = difflib.get_close_matches(str(sheet), names, n=1)
            hint = f"did you mean '{match[0]}'? " if match else ""
            raise _fail(
                sheet_where,
                f"no sheet '{sheet}' in '{shown}' ({hint}sheets: {', '.join(names)})",
                path=f"{key}.sheet",
            )
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
    return header, [r for _, r in body], [n for n, _ in body], shown
