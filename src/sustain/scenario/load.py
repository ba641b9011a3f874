"""Read a scenario file and its table files into a raw mapping, with where each row came from.

YAML (or JSON) at the top; any table, and any list of the ``stockpile:`` section, may
instead be ``{file: path.csv}`` (also ``.parquet``, and ``.xlsx`` with ``sheet:``),
read relative to the scenario file.  Nothing is checked here beyond "can it be read":
:mod:`sustain.scenario.validate` checks meaning.  Every row keeps a ``where`` string
(``"air.yaml line 40"``, ``"items.csv row 7"``) for the messages, and every key of an
inline row its own line.  Only a scenario file that cannot be read at all raises here;
problems that leave the rest readable (a duplicate key, a table file that is missing,
malformed, outside the scenario's folder or not a file) go to
:attr:`RawScenario.issues`, to be reported with everything else in one pass.

A file from an untrusted source costs at most a message and time linear in its size:
nesting stops at :data:`MAX_DEPTH` levels; aliases (``*name``) may add at most
:data:`MAX_ALIAS_VALUES` values; ``!!binary``, ``!!set``, ``!!omap`` and ``!!pairs``
are refused; an integer longer than :data:`MAX_NUMBER_CHARS` characters stays text
(no range accepts it); a table file must lie in the scenario's folder after resolving
symbolic links (unless ``allow_outside_tables``) and be a regular file: a directory,
named pipe or device is reported as what it is and never read.
"""

from __future__ import annotations

import csv
import errno
import io
import json
import math
import os
import re
import stat
import zipfile
from collections.abc import Iterator, Sequence
from pathlib import Path
from typing import Any, BinaryIO

import yaml
from yaml.nodes import MappingNode, Node, ScalarNode

from sustain._paths import kind_of
from sustain.errors import Issue, MissingExtraError, ScenarioError
from sustain.scenario.columns import Column, ColumnTable, RowWhere, arrow_column, encode
from sustain.scenario.columns import empty as _empty
from sustain.scenario.messages import closest, describe, quote, shorten
from sustain.scenario.raw import RawScenario, TableSource, hashable, table_key
from sustain.scenario.schema import COLUMN_TABLES, DONOR_TABLES, SECTION, STOCKPILE_TABLES

#: Keys allowed in a ``{file: …}`` table reference.
FILE_REF_KEYS = ("file", "sheet")
TABLE_SUFFIXES = (".csv", ".parquet", ".xlsx")
#: Deepest nesting of lists and mappings accepted in a scenario file (a scenario needs 7).
MAX_DEPTH = 50
#: Most values that aliases (``*name``) may add to a YAML document when expanded.
MAX_ALIAS_VALUES = 100_000
#: Longest integer read as a number; a longer one stays text (no range accepts it).
MAX_NUMBER_CHARS = 100
TOO_DEEP = (
    f"nested more than {MAX_DEPTH} levels deep (lists and mappings inside each other); "
    "a scenario needs far fewer"
)
#: Most bytes read from a scenario "file" that is a pipe or device (it may never end).
MAX_STREAM_BYTES = 64 * 2**20
#: Most bytes an XLSX table may unpack to (it is a zip: a small file can expand to
#: gigabytes); a sheet of 2 million rows of a few columns unpacks to about 150 MiB.
MAX_XLSX_UNPACKED = 512 * 2**20
#: Most cells read from one sheet (rows × cells per row as stored).
MAX_XLSX_CELLS = 20_000_000

_CONTROL = re.compile(r"[\x00-\x08\x0b\x0c\x0e-\x1f\x7f]")


# ---------------------------------------------------------------------------------------
# YAML


class _Refused(yaml.YAMLError):
    """A YAML document beyond the limits of a scenario (its line and what is wrong)."""

    def __init__(self, mark: Any, message: str) -> None:
        super().__init__(message)
        self.mark = mark
        self.message = message


class _LineLoader(yaml.SafeLoader):
    """A safe YAML loader that records the line of each key and list element, notes
    duplicate keys (with the line of their first occurrence), and refuses documents
    nested too deep or grown too large by aliases."""

    def __init__(self, stream: str) -> None:
        super().__init__(stream)
        self.key_lines: dict[tuple[int, Any], int] = {}
        self.duplicates: list[tuple[int, str, int, int]] = []  # (id(map), key, line, first)
        self.keep: list[object] = []  # keeps every container alive so ids stay unique
        self.depth = 0
        self.alias_values = 0
        self.sizes: dict[int, int] = {}  # id(node) -> values of the node when expanded

    def compose_node(self, parent: Node | None, index: int) -> Node | None:
        if self.check_event(yaml.AliasEvent):
            event = self.peek_event()
            node = self.anchors.get(event.anchor)
            if node is not None:  # an undefined alias is the composer's own error
                self._count_alias(event, node)
            return super().compose_node(parent, index)
        self.depth += 1
        if self.depth > MAX_DEPTH:
            raise _Refused(self.peek_event().start_mark, TOO_DEEP)
        try:
            return super().compose_node(parent, index)
        finally:
            self.depth -= 1

    def _count_alias(self, event: yaml.AliasEvent, node: Node) -> None:
        anchor_line = node.start_mark.line + 1
        anchor = shorten(str(event.anchor))
        if node.end_mark is None:  # still being composed: the alias is inside its anchor
            raise _Refused(
                event.start_mark,
                f"alias *{anchor} is inside the value it stands for "
                f"(&{anchor} at line {anchor_line})",
            )
        self.alias_values += self._size(node)
        if self.alias_values > MAX_ALIAS_VALUES:
            raise _Refused(
                event.start_mark,
                f"aliases expand the file to more than {MAX_ALIAS_VALUES:,} values "
                f"(here *{anchor}, of &{anchor} at line "
                f"{anchor_line}); "
                "write the values out instead",
            )

    def _size(self, node: Node) -> int:
        """Values in ``node`` with every alias in it expanded (each node counted once)."""
        sizes = self.sizes
        stack: list[tuple[Node, bool]] = [(node, False)]
        while stack:
            n, children_done = stack.pop()
            if id(n) in sizes:
                continue
            if isinstance(n, ScalarNode):
                sizes[id(n)] = 1
                continue
            children = [c for pair in n.value for c in pair] if isinstance(
                n, MappingNode) else list(n.value)
            if children_done:
                sizes[id(n)] = 1 + sum(sizes[id(c)] for c in children)
            else:
                stack.append((n, True))
                stack.extend((c, False) for c in children if id(c) not in sizes)
        return sizes[id(node)]


def _construct_map(loader: _LineLoader, node: yaml.MappingNode) -> Iterator[dict[Any, Any]]:
    data: dict[Any, Any] = {}
    loader.keep.append(data)
    yield data
    first: dict[Any, int] = {}
    for key_node, _ in node.value:
        key = loader.construct_object(key_node, deep=True)
        if not hashable(key):
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


def _construct_int(loader: _LineLoader, node: yaml.ScalarNode) -> object:
    text = loader.construct_scalar(node)
    if len(text) > MAX_NUMBER_CHARS:
        return text
    return loader.construct_yaml_int(node)


def _construct_float(loader: _LineLoader, node: yaml.ScalarNode) -> object:
    value = loader.construct_yaml_float(node)
    if math.isinf(value) and "inf" not in node.value.lower():
        return node.value  # digits beyond a float's range: the range check says so
    return value


def _refuse_tag(loader: _LineLoader, node: yaml.Node) -> object:
    tag = node.tag.replace("tag:yaml.org,2002:", "!!")
    raise _Refused(
        node.start_mark,
        f"{tag} values are not supported in a scenario "
        "(use text, numbers, true/false, lists and mappings)",
    )


_LineLoader.add_constructor("tag:yaml.org,2002:map", _construct_map)
_LineLoader.add_constructor("tag:yaml.org,2002:seq", _construct_seq)
_LineLoader.add_constructor("tag:yaml.org,2002:int", _construct_int)
_LineLoader.add_constructor("tag:yaml.org,2002:float", _construct_float)
for _tag in ("binary", "set", "omap", "pairs"):
    _LineLoader.add_constructor(f"tag:yaml.org,2002:{_tag}", _refuse_tag)


def _fail(where: str, message: str, path: str = "") -> ScenarioError:
    return ScenarioError([Issue(where=where, path=path, message=message)])


def _parse_yaml(text: str, name: str) -> tuple[Any, _LineLoader]:
    """Parse ``text``; raises :class:`_Refused` (limits) or :class:`ScenarioError`."""
    try:
        loader = _LineLoader(text)
    except yaml.reader.ReaderError as exc:
        line = text.count("\n", 0, exc.position) + 1
        char = exc.character if isinstance(exc.character, int) else ord(exc.character)
        raise _fail(
            f"{name} line {line}",
            f"invalid YAML: control character #x{char:02x} (control characters and NUL "
            "cannot be written in YAML; remove it, or write it as an escape in double quotes)",
        ) from None
    try:
        return loader.get_single_data(), loader
    except _Refused:
        raise
    except yaml.MarkedYAMLError as exc:
        mark = exc.problem_mark or exc.context_mark
        at = f"{name} line {mark.line + 1}" if mark is not None else name
        problem = _cut(exc.problem or exc.context or "malformed")
        ctx = exc.context_mark
        if exc.context and exc.problem and ctx is not None and (
            mark is None or ctx.line != mark.line
        ):
            problem += f" ({exc.context} started at line {ctx.line + 1})"
        raise _fail(at, f"invalid YAML: {problem}") from None
    except yaml.YAMLError as exc:
        raise _fail(name, f"invalid YAML: {_cut(str(exc))}") from None
    finally:
        loader.dispose()


def _cut(text: str, limit: int = 200) -> str:
    """A parser's message cut to ``limit`` characters (it may quote a long token)."""
    return text if len(text) <= limit else text[:limit] + "…"


def _refusal(exc: _Refused, name: str) -> ScenarioError:
    at = f"{name} line {exc.mark.line + 1}" if exc.mark is not None else name
    return _fail(at, exc.message)


def _json_int(text: str) -> int | str:
    return int(text) if len(text) <= MAX_NUMBER_CHARS else text


def _json_float(text: str) -> float | str:
    value = float(text)
    return text if math.isinf(value) else value


def _too_deep(data: Any) -> bool:
    """Are lists and mappings in ``data`` nested more than :data:`MAX_DEPTH` levels?"""
    stack: list[tuple[Any, int]] = [(data, 1)]
    while stack:
        obj, depth = stack.pop()
        if depth > MAX_DEPTH:
            return True
        if isinstance(obj, dict):
            stack.extend((v, depth + 1) for v in obj.values())
        elif isinstance(obj, list):
            stack.extend((v, depth + 1) for v in obj)
    return False


# ---------------------------------------------------------------------------------------
# The scenario file


def _read_scenario_text(path: Path) -> str:
    """The text of the scenario file (a pipe or device is read up to a limit)."""
    name = path.name
    try:
        with open(path, "rb") as fh:
            mode = os.fstat(fh.fileno()).st_mode
            if stat.S_ISREG(mode):
                data = fh.read()
            else:
                data = fh.read(MAX_STREAM_BYTES + 1)
                if len(data) > MAX_STREAM_BYTES:
                    raise _fail(
                        str(path),
                        f"is {kind_of(mode)} that gives more than "
                        f"{MAX_STREAM_BYTES // 2**20} MiB: not a scenario file",
                    )
    except FileNotFoundError:
        raise _fail(str(path), "file not found") from None
    except IsADirectoryError:
        raise _fail(str(path), "is a directory, not a scenario file") from None
    except ValueError:  # a NUL character in the name
        raise _fail(repr(str(path)), "a file name cannot contain a NUL character") from None
    except OSError as exc:
        raise _fail(str(path), f"cannot be read: {exc.strerror}") from None
    try:
        text = data.decode("utf-8-sig")
    except UnicodeDecodeError as exc:
        raise _fail(name, f"not a text file (UTF-8 expected): {exc.reason}") from None
    return text.replace("\r\n", "\n").replace("\r", "\n")


def load_raw(path: str | Path, *, allow_outside_tables: bool = False) -> RawScenario:
    """Read ``path`` (YAML or JSON) and every table file it names.

    Parameters
    ----------
    path : str or Path
        The scenario file.
    allow_outside_tables : bool
        Read table files outside the scenario's folder too (their values are never
        echoed in messages).  By default a reference that leaves the folder, after
        resolving symbolic links, is reported and not read.

    Raises
    ------
    ScenarioError
        The scenario file is missing, empty, not parseable, not a mapping or beyond
        the limits (nesting, aliases, tags); the message names the file and, where
        the parser knows it, the line.  Problems with table files and duplicate keys
        do not raise: they are kept in :attr:`RawScenario.issues`.
    """
    path = Path(path)
    name = path.name
    text = _read_scenario_text(path)
    if not text.strip():
        raise _fail(name, "the file is empty")

    loader: _LineLoader | None
    if path.suffix.lower() == ".json":
        try:  # JSON is (nearly) YAML: parse it as YAML too, to learn the lines
            shadow, loader = _parse_yaml(text, name)
        except _Refused as exc:
            raise _refusal(exc, name) from None
        except ScenarioError:
            shadow, loader = None, None
        try:
            data = json.loads(text, parse_int=_json_int, parse_float=_json_float)
        except json.JSONDecodeError as exc:
            raise _fail(
                f"{name} line {exc.lineno}", f"invalid JSON: {exc.msg} (column {exc.colno})"
            ) from None
        except RecursionError:  # nested deeper than the parser can go
            raise _fail(name, TOO_DEEP) from None
        if _too_deep(data):
            raise _fail(name, TOO_DEEP)
    else:
        try:
            data, loader = _parse_yaml(text, name)
        except _Refused as exc:
            raise _refusal(exc, name) from None
        shadow = data
    if data is None:
        raise _fail(name, "the file is empty")
    if not isinstance(data, dict):
        raise _fail(
            name, f"expected a mapping of keys (name, sites, …) at the top: got {_kind(data)}"
        )

    raw = RawScenario(path=path, data=data, where=name)
    raw.source_files.append(Path(os.path.realpath(path)))
    if loader is not None:
        _take_lines(raw, loader, shadow)
    reader = _TableReader(raw, allow_outside=allow_outside_tables)
    for key, value in list(data.items()):
        if isinstance(value, list):
            raw.tables[key] = TableSource(where=raw.locate((key,)), from_file=False)
            raw.row_where[key] = [raw.locate((key, i)) for i in range(len(value))]
        elif _is_table_ref(value):
            reader.load(str(key), value, columnar=key in COLUMN_TABLES)
    section = data.get(SECTION)
    if isinstance(section, dict):  # lists nested in the stockpile section
        for key in STOCKPILE_TABLES:
            reader.note((SECTION, key), section)
        donors = section.get("donors")
        if isinstance(donors, list):
            for i, donor in enumerate(donors):
                if isinstance(donor, dict):
                    for key in DONOR_TABLES:
                        reader.note((SECTION, "donors", i, key), donor)
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
                path=f"{prefix}.{shorten(key)}" if prefix else shorten(key),
                message=f"duplicate key (first given at line {first}; give each key once)",
            )
        )


def _pair(obj: Any, shadow: Any, out: dict[int, Any]) -> None:
    """Map ``id()`` of the containers of ``shadow`` to those of ``obj`` where the shapes
    agree (each container once: aliases share them)."""
    stack = [(obj, shadow)]
    while stack:
        a, b = stack.pop()
        if id(b) in out:
            continue
        if isinstance(a, dict) and isinstance(b, dict):
            if set(map(str, a)) != set(map(str, b)):
                continue
            out[id(b)] = a
            by_str = {str(k): k for k in b}
            stack.extend((v, b[by_str[str(k)]]) for k, v in a.items())
        elif isinstance(a, list) and isinstance(b, list) and len(a) == len(b):
            out[id(b)] = a
            stack.extend(zip(a, b, strict=True))


def _paths(obj: Any, prefix: str, out: dict[int, str]) -> None:
    """Key path of each container of ``obj`` (the first path that reaches it)."""
    stack = [(obj, prefix)]
    while stack:
        o, p = stack.pop()
        if id(o) in out or not isinstance(o, dict | list):
            continue
        out[id(o)] = p
        if isinstance(o, dict):
            stack.extend((v, f"{p}.{shorten(str(k))}" if p else shorten(str(k)))
                         for k, v in reversed(o.items()))
        else:
            stack.extend((v, f"{p}[{i}]") for i, v in reversed(list(enumerate(o))))


def _is_table_ref(value: object) -> bool:
    """``{file: …}``, or a mapping whose keys are all misspellings of file/sheet."""
    if not isinstance(value, dict) or not value:
        return False
    if "file" in value:
        return True
    return all(isinstance(k, str) and closest(k.lower(), FILE_REF_KEYS) for k in value)


def _kind(value: object) -> str:
    return {list: "a list", str: "a text", int: "a number", float: "a number"}.get(
        type(value), type(value).__name__
    )


# ---------------------------------------------------------------------------------------
# Table files




class _TableError(Exception):
    """Problems that make a table file unusable (its issues, not yet reported)."""

    def __init__(self, issues: list[Issue]) -> None:
        super().__init__(f"{len(issues)} problems")
        self.issues = issues


class _RowsLeftOut(_TableError):
    """Rows of a table file that cannot be read; the rest (``header``, ``body``) can."""

    def __init__(self, issues: list[Issue], header: list[str],
                 body: list[tuple[int, list[Any]]]) -> None:
        super().__init__(issues)
        self.header = header
        self.body = body


def _table_fail(where: str, message: str, path: str = "") -> _TableError:
    return _TableError([Issue(where=where, path=path, message=message)])


class _TableReader:
    """Reads the table files a scenario names, into its raw mapping."""

    def __init__(self, raw: RawScenario, *, allow_outside: bool) -> None:
        self.raw = raw
        self.allow_outside = allow_outside
        self.folder = Path(os.path.realpath(raw.path.parent))

    def note(self, loc: tuple[Any, ...], container: dict[str, Any]) -> None:
        """Note where an inline list of the stockpile section was written, or read its file."""
        raw = self.raw
        value = container.get(loc[-1])
        name = table_key(loc)
        if isinstance(value, list):
            raw.tables[name] = TableSource(where=raw.locate(loc), from_file=False)
            raw.row_where[name] = [raw.locate((*loc, i)) for i in range(len(value))]
        elif isinstance(value, dict) and _is_table_ref(value):
            self.load(name, value, loc=loc)

    def load(self, key: str, ref: dict[Any, Any], loc: tuple[Any, ...] | None = None, *,
             columnar: bool = False) -> None:
        """Read the table file ``ref`` names into ``raw.data[key]``, or record why not.

        ``loc`` is the key path of a nested table (``("stockpile", "demand")``, known as
        ``key`` = ``"stockpile.demand"``); the rows replace ``ref`` in its container.
        ``columnar``: a CSV or Parquet table is kept as a
        :class:`~sustain.scenario.columns.ColumnTable` (the tables of
        :data:`~sustain.scenario.schema.COLUMN_TABLES`, checked column by column).
        """
        raw = self.raw
        loc = (key,) if loc is None else loc
        ref_where = raw.locate(loc)
        issues: list[Issue] = []

        def problem(sub: str, message: str) -> None:
            where = raw.locate((*loc, sub)) if sub in ref else ref_where
            issues.append(
                Issue(where=where, path=f"{key}.{sub}" if sub else key, message=message)
            )

        for k in ref:
            if k not in FILE_REF_KEYS:
                match = closest(str(k).lower(), FILE_REF_KEYS)
                hint = f"did you mean '{match}'? " if match else ""
                problem(str(k), f"unknown key in a table reference ({hint}allowed: file, sheet)")
        file = ref.get("file")
        sheet = ref.get("sheet")
        target: Path | None = None
        if "file" not in ref:
            if not issues:
                problem("", "a table reference needs 'file: path'")
        elif not isinstance(file, str) or not file.strip():
            problem("file", f"must be the path of a table file: got {describe(file)}")
        elif "\x00" in file:
            problem("file", f"table file {quote(file)}: a file name cannot contain a NUL "
                    "character")
        else:
            suffix = Path(file).suffix.lower()
            if suffix not in TABLE_SUFFIXES:
                fmt = f"'{shorten(suffix)}'" if suffix else "(no suffix)"
                problem(
                    "file",
                    f"table file '{shorten(file)}' has an unsupported format {fmt} "
                    "(use .csv, .parquet or .xlsx)",
                )
            else:
                target = raw.path.parent / file
                message = self._place_problem(file, target)
                if message is not None:
                    problem("file", message)
                    target = None
            if sheet is not None and suffix in TABLE_SUFFIXES and suffix != ".xlsx":
                problem("sheet", f"only .xlsx tables have sheets: '{shorten(file)}' is {suffix}")
        if not issues and target is not None and isinstance(file, str):
            try:
                rows, columns, row_numbers, shown, left_out = self._read(
                    target, file, sheet, raw.locate((*loc, "sheet")), key, columnar=columnar
                )
            except _TableError as exc:
                issues.extend(exc.issues)
            else:
                container: Any = raw.data
                for part in loc[:-1]:
                    container = container[part]
                container[loc[-1]] = rows
                resolved = Path(os.path.realpath(target))
                raw.tables[key] = TableSource(
                    where=shown, from_file=True, columns=columns,
                    outside=not resolved.is_relative_to(self.folder),
                    complete=not left_out,
                )
                raw.issues.extend(left_out)
                raw.row_where[key] = RowWhere(shown, row_numbers)
                if resolved not in raw.source_files:
                    raw.source_files.append(resolved)
                return
        raw.issues.extend(issues)
        raw.tables[key] = TableSource(where=ref_where, from_file=True, readable=False)

    def _place_problem(self, file: str, target: Path) -> str | None:
        """Why ``target`` cannot be read as a table file, or None if it can."""
        shown = quote(file)
        resolved = Path(os.path.realpath(target))
        if not self.allow_outside and not resolved.is_relative_to(self.folder):
            return (
                f"table file {shown} is outside the scenario's folder ({self.folder}): "
                "move it into the folder, or allow tables outside it "
                "(--allow-outside-tables)"
            )
        try:
            mode = os.stat(target).st_mode
        except (FileNotFoundError, NotADirectoryError):
            return f"table file '{file}' not found (looked for {resolved})"
        except OSError as exc:
            if exc.errno == errno.ELOOP:
                return f"table file {shown} is a loop of symbolic links"
            if exc.errno == errno.ENAMETOOLONG:
                return f"table file name {shown} is too long for the file system"
            if exc.errno == errno.EACCES:
                return f"table file {shown} cannot be read: permission denied"
            return f"table file {shown} cannot be read: {exc.strerror}"
        if not stat.S_ISREG(mode):
            return f"table file {shown} is {kind_of(mode)}, not a file"
        return None

    def _read(
        self, target: Path, file: str, sheet: object, sheet_where: str, key: str, *,
        columnar: bool = False,
    ) -> tuple[list[dict[str, Any]] | ColumnTable, tuple[str, ...], Sequence[int], str,
               list[Issue]]:
        """Read one table file: its rows (as mappings without empty cells, or with
        ``columnar`` a CSV or Parquet table as columns), header, row numbers, the name
        shown in messages, and the problems of rows that could not be read (left out)."""
        shown = file
        suffix = target.suffix.lower()
        left_out: list[Issue] = []
        body: list[list[Any]] = []
        cols: list[Column] = []
        numbers: Sequence[int]
        with _open_regular(target, shown) as fh:
            if suffix == ".csv":
                try:
                    header, body, numbers = _read_csv(fh, shown)
                except _RowsLeftOut as exc:
                    left_out = exc.issues
                    header = exc.header
                    body, numbers = [r for _, r in exc.body], [n for n, _ in exc.body]
            elif suffix == ".parquet":
                header, cols = _read_parquet(fh, shown)
                n_rows = len(cols[0].codes) if cols else 0
                # Parquet has no header row: data row k is reported as row k (1-based).
                numbers = range(1, n_rows + 1)
            else:
                header, body, numbers, shown = _read_xlsx(fh, shown, sheet, sheet_where, key)
        if suffix == ".csv":
            cols = [encode([r[k] if k < len(r) else None for r in body])
                    for k in range(len(header))]
        if suffix != ".parquet":
            n_rows = len(body)
        issues: list[Issue] = []
        seen: set[str] = set()
        for col, h in enumerate(header, start=1):
            if h and h in seen:
                issues.append(
                    Issue(where=shown, path=h, message="column given twice in the header")
                )
            seen.add(h)
            if not h and (any(v is not None for v in cols[col - 1].values) if cols else any(
                    len(r) >= col and not _empty(r[col - 1]) for r in body)):
                issues.append(
                    Issue(where=shown, path="", message=f"column {col} has values but no header")
                )
        if issues:
            raise _TableError(left_out + issues)
        named = tuple(h for h in header if h)
        if suffix == ".xlsx":  # cells of one column may differ in type: read row by row
            rows = [{c: v for c, v in zip(header, values, strict=False) if c and not _empty(v)}
                    for values in body]
            return rows, named, numbers, shown, left_out
        table = ColumnTable({h: c for h, c in zip(header, cols, strict=True) if h}, n_rows)
        return (table if columnar else table.rows()), named, numbers, shown, left_out


def _open_regular(target: Path, shown: str) -> BinaryIO:
    """Open ``target`` for reading without blocking, if it is (still) a regular file."""
    try:
        fd = os.open(target, os.O_RDONLY | os.O_NONBLOCK)
    except OSError as exc:
        raise _table_fail(shown, f"cannot be read: {exc.strerror}") from None
    mode = os.fstat(fd).st_mode
    if not stat.S_ISREG(mode):
        os.close(fd)
        raise _table_fail(shown, f"is {kind_of(mode)}, not a file")
    return os.fdopen(fd, "rb")


def _read_csv(fh: BinaryIO, shown: str) -> tuple[list[str], list[list[Any]], list[int]]:
    try:
        text = fh.read().decode("utf-8-sig")
    except UnicodeDecodeError as exc:
        raise _table_fail(shown, f"not a text file (UTF-8 expected): {exc.reason}") from None
    control = _CONTROL.search(text)
    if control is not None:
        line = text.count("\n", 0, control.start()) + 1
        raise _table_fail(
            shown,
            f"not a text file: control character #x{ord(control.group()):02x} on line {line} "
            "(a CSV table is UTF-8 text)",
        )
    reader = csv.reader(text.splitlines())
    try:
        all_rows = list(reader)
    except csv.Error as exc:
        raise _table_fail(f"{shown} row {reader.line_num}", f"malformed CSV: {exc}") from None
    numbered = [(n, r) for n, r in enumerate(all_rows, start=1) if any(c.strip() for c in r)]
    if not numbered:
        raise _table_fail(shown, "the table file is empty (a header row is needed)")
    (_, header), *body = numbered
    header = [h.strip() for h in header]
    # A row with more cells than the header cannot be read (which cell is which?): it is
    # reported and left out, and the other rows are still checked.
    issues = [
        Issue(where=f"{shown} row {n}", path="",
              message=f"{len(row)} cells but the header has {len(header)} columns")
        for n, row in body if len(row) > len(header)
    ]
    if issues:
        raise _RowsLeftOut(issues, header, [(n, r) for n, r in body if len(r) <= len(header)])
    return header, [r for _, r in body], [n for n, _ in body]


def _read_parquet(fh: BinaryIO, shown: str) -> tuple[list[str], list[Column]]:
    """The header and columns of a Parquet table (each column's distinct values coded by
    Arrow, in C: a column of two million ids costs one list of its distinct ids)."""
    # pyarrow is an optional extra (sustain[tables]) and takes ~0.1 s to import
    # (measured after sustain.scenario): only scenarios with Parquet tables pay for it.
    try:
        import pyarrow.parquet as pq
    except ImportError:
        raise MissingExtraError(f"{shown}: reading Parquet", "tables") from None
    try:
        table = pq.read_table(fh)
        header = [str(c) for c in table.column_names]
        for name, field in zip(header, table.schema, strict=True):
            if "binary" in str(field.type):  # binary, large_binary, a list of binary, …
                raise _table_fail(
                    shown, f"column '{shorten(name)}' holds binary values: use text or numbers"
                )
        cols = [arrow_column(table.column(k)) for k in range(table.num_columns)]
    except _TableError:
        raise
    except Exception as exc:  # pyarrow raises several types for a bad file
        raise _table_fail(shown, f"not a readable Parquet file: {exc}") from None
    return header, cols


def _check_unpacked_size(data: io.BytesIO, shown: str) -> None:
    """Refuse an XLSX whose parts unpack to more than :data:`MAX_XLSX_UNPACKED` bytes
    (read from the zip's directory, before anything is unpacked)."""
    try:
        with zipfile.ZipFile(data) as archive:
            unpacked = sum(info.file_size for info in archive.infolist())
    except (zipfile.BadZipFile, OSError, ValueError) as exc:
        raise _table_fail(shown, f"not a readable XLSX file: {exc}") from None
    finally:
        data.seek(0)
    if unpacked > MAX_XLSX_UNPACKED:
        raise _table_fail(
            shown, f"unpacks to {unpacked / 2**20:,.0f} MiB, more than "
            f"{MAX_XLSX_UNPACKED // 2**20} MiB: too large for a table (use CSV or Parquet "
            "for very large tables)")


def _read_xlsx(
    fh: BinaryIO, shown: str, sheet: object, sheet_where: str, key: str
) -> tuple[list[str], list[list[Any]], list[int], str]:
    # openpyxl is an optional extra (sustain[tables]) and takes ~0.2 s to import
    # (measured after sustain.scenario): only scenarios with XLSX tables pay for it.
    try:
        import openpyxl
    except ImportError:
        raise MissingExtraError(f"{shown}: reading XLSX", "tables") from None
    data = io.BytesIO(fh.read())
    _check_unpacked_size(data, shown)
    try:
        book = openpyxl.load_workbook(data, read_only=True, data_only=True)
    except Exception as exc:  # openpyxl raises several types for a bad file
        raise _table_fail(shown, f"not a readable XLSX file: {exc}") from None
    try:
        names = list(book.sheetnames)
        if sheet is None:
            if not names:
                raise _table_fail(shown, "not a readable XLSX file: it has no sheets")
            ws = book.worksheets[0]
        elif str(sheet) in names:
            ws = book[str(sheet)]
        else:
            match = closest(str(sheet), names)
            hint = f"did you mean '{match}'? " if match else ""
            listed = ", ".join(shorten(n) for n in names[:20]) + (", …" if len(names) > 20 else "")
            raise _table_fail(
                sheet_where,
                f"no sheet '{shorten(str(sheet))}' in '{shown}' ({hint}sheets: {listed})",
                path=f"{key}.sheet",
            )
        shown = f"{shown}[{ws.title}]"
        # The sheet's declared size is not trusted: a claimed A1:XFD1048576 would pad
        # every row to 16,384 cells.  Rows come as stored, and their cells are counted.
        ws.reset_dimensions()
        numbered, cells = [], 0
        try:
            for n, r in enumerate(ws.iter_rows(values_only=True), start=1):
                cells += len(r)
                if cells > MAX_XLSX_CELLS:
                    raise _table_fail(
                        f"{shown} row {n}",
                        f"more than {MAX_XLSX_CELLS:,} cells: too large for a table "
                        "(use CSV or Parquet for very large tables)")
                if any(not _empty(c) for c in r):
                    numbered.append((n, list(r)))
        except _TableError:
            raise
        except Exception as exc:  # a malformed sheet fails while its rows are read
            raise _table_fail(shown, f"not a readable XLSX file: {exc}") from None
    finally:
        book.close()
    if not numbered:
        raise _table_fail(shown, "the sheet is empty (a header row is needed)")
    (_, header_cells), *body = numbered
    header = ["" if h is None else str(h).strip() for h in header_cells]
    return header, [r for _, r in body], [n for n, _ in body], shown
