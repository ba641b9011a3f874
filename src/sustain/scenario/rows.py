"""The one row validator: a table's rows against their field table, every problem placed.

The core tables, the time-phased tables and the lists of the ``stockpile:`` section
are all checked here, row by row, against their model in
:mod:`sustain.scenario.schema`; pydantic's errors are turned into our wording
(:func:`pydantic_message`) and reported into a
:class:`~sustain.scenario.issues.Collector`.
"""

from __future__ import annotations

import functools
import re
import types
import typing
from collections.abc import Iterable, Mapping
from typing import Any

from pydantic import BaseModel, ValidationError

from sustain.scenario.issues import Collector
from sustain.scenario.messages import (
    HIDDEN,
    bound,
    closest,
    describe,
    did_you_mean,
    hint_for,
    is_number_text,
    shorten,
)
from sustain.scenario.raw import table_key
from sustain.scenario.schema import Row, field_names

_BOUNDS = {
    "greater_than_equal": (">=", "ge"),
    "greater_than": (">", "gt"),
    "less_than_equal": ("<=", "le"),
    "less_than": ("<", "lt"),
}


def _limit(model: type[BaseModel], loc: tuple[Any, ...], name: str) -> object | None:
    """The bound ``name`` (``"le"``, ``"ge"``) of the field ``loc`` points to, if any."""
    sub = sub_model(model, loc)
    names = {f.alias or n: f for n, f in sub.model_fields.items()}
    fields = [p for p in loc if isinstance(p, str)]
    info = names.get(fields[-1]) if fields else None
    for meta in info.metadata if info is not None else ():
        if getattr(meta, name, None) is not None:
            return getattr(meta, name)
    return None


def _out_of_range(model: type[BaseModel], loc: tuple[Any, ...], got: str, low: bool) -> str:
    """A number too large (or too low) to read: the bound it passes, if the field has one."""
    if low:
        lower = _limit(model, loc, "ge")
        return f"must be >= {bound(lower)}: got {got}" if lower is not None else (
            f"is too low: got {got}")
    upper = _limit(model, loc, "le")
    return f"must be <= {bound(upper)}: got {got}" if upper is not None else (
        f"is too large: got {got}")


def pydantic_message(err: Mapping[str, Any], fields: Iterable[str], model: type[BaseModel]) -> str:
    """Turn one pydantic error (of a row of ``model``) into our wording."""
    kind = err["type"]
    ctx = err.get("ctx") or {}
    got = describe(err.get("input"))
    if kind == "missing":
        return "required key is missing"
    if kind == "extra_forbidden":
        key = str(err["loc"][-1])
        return f"unknown key{did_you_mean(key, fields)}"
    if kind in _BOUNDS:
        op, name = _BOUNDS[kind]
        return f"must be {op} {bound(ctx.get(name))}: got {got}"
    if kind in ("float_parsing", "float_type"):
        return f"must be a number: got {got}"
    if kind == "finite_number":
        value = err.get("input")
        if isinstance(value, str) and is_number_text(value):  # digits beyond a float's range
            return _out_of_range(model, tuple(err["loc"]), got, value.strip().startswith("-"))
        return f"must be a finite number: got {got}"
    if kind in ("int_parsing", "int_type", "int_from_float"):
        return f"must be a whole number: got {got}"
    if kind == "int_parsing_size":  # digits beyond 64 bits
        value = str(err.get("input"))
        return _out_of_range(model, tuple(err["loc"]), got, value.strip().startswith("-"))
    if kind in ("bool_parsing", "bool_type"):
        return f"must be true or false: got {got}"
    if kind in ("string_type", "string_unicode"):
        return f"must be text: got {got}"
    if kind == "string_too_short":
        return "must not be empty"
    if kind == "list_type":
        return f"must be a list: got {got}"
    if kind in ("model_type", "dict_type", "model_attributes_type"):
        return f"must be a mapping of keys: got {got}"
    if kind == "enum":
        choices = re.findall(r"'([^']*)'", str(ctx.get("expected", "")))
        hint = did_you_mean(str(err.get("input")), choices)
        return f"must be one of {ctx.get('expected')}: got {got}{hint}"
    msg = str(err.get("msg", "invalid")).replace("Input should be ", "must be ", 1)
    return f"{msg}: got {got}"


def _row_model(annotation: object) -> type[Row] | None:
    """The row model inside ``list[Model] | None`` (or ``Model``), if any."""
    todo = [annotation]
    while todo:
        ann = todo.pop()
        if isinstance(ann, type) and issubclass(ann, Row):
            return ann
        if typing.get_origin(ann) in (list, typing.Union, types.UnionType):
            todo.extend(typing.get_args(ann))
    return None


def sub_model(model: type[BaseModel], loc: tuple[Any, ...]) -> type[BaseModel]:
    """The (nested) row model an error location points into."""
    return _sub_model(model, tuple(str(p) for p in loc[:-1] if not isinstance(p, int)))


@functools.lru_cache(maxsize=1024)
def _sub_model(model: type[BaseModel], keys: tuple[str, ...]) -> type[BaseModel]:
    current = model
    for part in keys:
        fields = {f.alias or n: f for n, f in current.model_fields.items()}
        info = fields.get(str(part))
        inner = _row_model(info.annotation) if info is not None else None
        if inner is None:
            break
        current = inner
    return current


def number_fields(model: type[BaseModel]) -> dict[str, str]:
    """Numeric fields of ``model`` (as written) and what their values must be."""
    out: dict[str, str] = {}
    for name, f in model.model_fields.items():
        ann = f.annotation
        if ann in (int, int | None):
            out[f.alias or name] = "a whole number"
        elif ann in (float, float | None):
            out[f.alias or name] = "a number"
    return out


def _row_id(row: Mapping[Any, Any], key: str) -> str | None:
    """The id a row that failed its checks was meant to have, if it can be told."""
    value = row.get(key)
    if isinstance(value, bool):
        return None
    if isinstance(value, str) and value.strip():
        return value.strip()
    if isinstance(value, int):
        return str(value)
    return None


def validate_rows(
    c: Collector,
    loc: tuple[Any, ...],
    model: type[Row],
    rows: object,
    *,
    id_key: str | None = None,
    nested: Iterable[str] = (),
) -> list[tuple[int, Any]]:
    """Check the table at ``loc`` row by row; return the rows that passed, with their index.

    Parameters
    ----------
    c : Collector
        Receives every problem; a failed row's id (``id_key``, default ``"id"`` if the
        model has one) goes to ``c.broken`` under the table's name, or the table to
        ``c.uncertain`` when that id cannot be told; its keys that passed go to
        ``c.failed`` (for the reference checks).
    loc : tuple
        Key path of the table (``("items",)``, ``("stockpile", "demand")``).
    model : type of Row
        The model of one row.
    rows : object
        The table as read (a list of mappings, if well formed).
    nested : iterable of str
        Keys of a row that hold tables read on their own (a donor's ``production``):
        a row whose nested table could not be read fails (its problem is reported).
    """
    name = table_key(loc)
    id_key = table_id_key(model, id_key)
    source = c.raw.tables.get(name)
    if source is not None and not source.readable:
        c.uncertain.add(name)  # its problem is already reported
        return []
    if source is not None and not source.complete:
        c.uncertain.add(name)  # rows left out while reading: their ids are not known
    if not isinstance(rows, list):
        c.add(loc, f"must be a list of rows (or {{file: table.csv}}): got {describe(rows)}")
        c.uncertain.add(name)
        return []
    numbers = number_fields(model)
    drop = check_header(c, name, model)
    skip_missing = c.absent[name]
    good: list[tuple[int, Any]] = []
    for i, row in enumerate(rows):
        check_row(c, loc, model, i, row, good, drop=drop, numbers=numbers, id_key=id_key,
                  nested=nested, skip_missing=skip_missing)
    return good


def table_id_key(model: type[Row], id_key: str | None) -> str | None:
    """The key that names a row of ``model`` (``id_key``, else ``"id"`` if it has one)."""
    return id_key if id_key is not None else ("id" if "id" in field_names(model) else None)


def check_header(c: Collector, name: str, model: type[Row]) -> set[str]:
    """Report the unknown and missing columns of the file table ``name``; return the
    columns to leave out of its rows (the unknown ones)."""
    fields = field_names(model)
    source = c.raw.tables.get(name)
    drop: set[str] = set()
    skip_missing = c.absent[name]
    if source is not None and source.from_file:
        for col in source.columns:
            if col not in fields:
                shown = HIDDEN if source.outside else shorten(col)
                hint = None if source.outside else (lambda col=col: did_you_mean(col, fields))
                c.add_at(source.where, shown, "unknown column", hint=hint)
                drop.add(col)
                match = closest(col, fields)
                if match is not None:
                    skip_missing.add(match)
        for col, f in zip(fields, model.model_fields.values(), strict=True):
            if f.is_required() and col not in source.columns:
                if col not in skip_missing:
                    c.add_at(source.where, col, "required column is missing")
                skip_missing.add(col)
    return drop


def check_row(
    c: Collector,
    loc: tuple[Any, ...],
    model: type[Row],
    i: int,
    row: object,
    good: list[tuple[int, Any]],
    *,
    drop: set[str],
    numbers: Mapping[str, str],
    id_key: str | None,
    nested: Iterable[str] = (),
    skip_missing: set[str],
) -> None:
    """Check row ``i`` of the table at ``loc``: append it to ``good`` if it passes, else
    report its problems (see :func:`validate_rows`)."""
    name = table_key(loc)
    fields = field_names(model)
    here = (*loc, i)
    if not isinstance(row, dict):
        c.add(here, f"must be a mapping of keys: got {describe(row)}")
        c.uncertain.add(name)
        return
    if drop:
        row = {k: v for k, v in row.items() if k not in drop}
    ok = True
    for key, value in row.items():
        if isinstance(value, bool) and key in numbers:
            c.add((*here, key), f"must be {numbers[key]}: got {describe(value)}")
            ok = False
    for key in nested:
        inner = c.raw.tables.get(table_key((*here, key)))
        if inner is not None and not inner.readable:
            row = {k: v for k, v in row.items() if k != key}  # reported while loading
            ok = False
    bad_keys = {k for k, v in row.items() if isinstance(v, bool) and k in numbers}
    if ok:
        try:
            good.append((i, model.model_validate(row)))
            return
        except ValidationError as exc:
            _report(c, here, model, exc, skip_missing)
            bad_keys |= {str(e["loc"][0]) for e in exc.errors() if e["loc"]}
    # The keys that passed are still checked against other tables (references).
    c.failed[name].append((i, {
        k: v.strip() if isinstance(v, str) else v
        for k, v in row.items() if k in fields and k not in bad_keys
    }))
    # The row failed: remember what it was meant to be, to spare cascades.
    if id_key is not None:
        rid = _row_id(row, id_key)
        if rid is not None:
            c.broken[name].add(rid)
        else:
            c.uncertain.add(name)


def _report(
    c: Collector,
    here: tuple[Any, ...],
    model: type[Row],
    exc: ValidationError,
    skip_missing: set[str],
) -> None:
    """Report the errors of one row; a required key that a misspelt key most likely
    meant is not reported missing (the "did you mean" of the misspelt key says it)."""
    errors = exc.errors()
    meant = set()
    if any(e["type"] == "missing" for e in errors):
        for e in errors:
            if e["type"] == "extra_forbidden":
                eloc = tuple(e["loc"])
                meant.add((*eloc[:-1], closest(eloc[-1], field_names(sub_model(model, eloc)))))
    for err in errors:
        eloc = tuple(err["loc"])
        if err["type"] == "missing" and ((eloc and eloc[0] in skip_missing) or eloc in meant):
            continue
        fields = field_names(sub_model(model, eloc))
        if err["type"] == "extra_forbidden":  # the hint only for the problems shown
            c.add((*here, *eloc), "unknown key", hint=hint_for(str(eloc[-1]), fields))
        else:
            c.add((*here, *eloc), pydantic_message(err, fields, model))

