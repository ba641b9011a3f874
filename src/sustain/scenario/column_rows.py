"""Check a table held as columns (a large CSV or Parquet file) without a model per row.

The rule of :func:`~sustain.scenario.rows.validate_rows` is kept exactly: a row passes
when its model accepts it, and a row that fails is reported in the same words, at the
same file, row and key.  The work is done per column and per distinct value:

1. each distinct value of a column is checked once against its field: text, whole
   numbers and numbers in their range are recognised with NumPy on the column's
   distinct values; any other value is given to a model of that one field (the same
   pydantic field, so the same rule);
2. a row all of whose cells passed (and whose required cells are all given) passes,
   with the values the fields made of its cells;
3. every other row is checked alone by :func:`~sustain.scenario.rows.check_row`, which
   reports it as any row of any table.

A table of two million stock rows that repeat 100,000 item ids, 21 site ids and a few
quantities costs about 100,000 checks of a value instead of two million of a row.
"""

from __future__ import annotations

import functools
import re
from dataclasses import dataclass
from typing import Any

import numpy as np
from annotated_types import Ge, Gt, Le, Lt, MinLen
from pydantic import ValidationError, create_model

from sustain._types import IntArray
from sustain.scenario.columns import ColumnTable
from sustain.scenario.issues import Collector
from sustain.scenario.raw import table_key
from sustain.scenario.rows import check_header, check_row, number_fields, table_id_key
from sustain.scenario.schema import Row, field_names

#: Text read as a whole number without pydantic (what ``int("…")`` and pydantic agree on).
_INT_TEXT = re.compile(r"[0-9]{1,18}")
#: Text read as a number without pydantic (``float("…")`` and pydantic agree on it).
_FLOAT_TEXT = re.compile(r"-?[0-9]{1,300}(?:\.[0-9]{1,300})?(?:[eE][-+]?[0-9]{1,3})?")


@dataclass(frozen=True, slots=True)
class CheckedColumns:
    """The rows of a column table that passed: their indices, and each field's values.

    ``values[key]`` is, for the field written ``key``, the distinct values its field
    made of the column's cells (or its default, for an empty cell) and, per passed
    row, the code of its value in that list.
    """

    model: type[Row]
    index: IntArray
    values: dict[str, tuple[list[Any], IntArray]]


@functools.cache
def _field_model(model: type[Row], key: str) -> type[Row]:
    """A model of the one field written ``key`` of ``model`` (same type, range, rules)."""
    for name, info in model.model_fields.items():
        if (info.alias or name) == key:
            return create_model(  # type: ignore[call-overload]
                f"{model.__name__}_{name}", __base__=Row, **{name: (info.annotation, info)}
            )
    raise KeyError(key)


def _bounds(model: type[Row], key: str) -> tuple[float, float, bool, bool, int]:
    """``(low, high, low_open, high_open, min_length)`` of the field ``key``."""
    low, high, low_open, high_open, min_len = -np.inf, np.inf, False, False, 0
    for name, info in model.model_fields.items():
        if (info.alias or name) != key:
            continue
        for m in info.metadata:
            if isinstance(m, Ge):
                low = float(m.ge)  # type: ignore[arg-type]
            elif isinstance(m, Gt):
                low, low_open = float(m.gt), True  # type: ignore[arg-type]
            elif isinstance(m, Le):
                high = float(m.le)  # type: ignore[arg-type]
            elif isinstance(m, Lt):
                high, high_open = float(m.lt), True  # type: ignore[arg-type]
            elif isinstance(m, MinLen):
                min_len = m.min_length
    return low, high, low_open, high_open, min_len


def _kind(model: type[Row], key: str) -> str:
    """``str``, ``int``, ``float`` or ``other`` (checked by the field's model alone)."""
    for name, info in model.model_fields.items():
        if (info.alias or name) == key:
            ann = info.annotation
            for kind, types in (("str", (str, str | None)), ("int", (int, int | None)),
                                ("float", (float, float | None))):
                if ann in types:
                    return kind
    return "other"


def _check_values(model: type[Row], key: str, values: list[Any]) -> tuple[
        np.ndarray, list[Any]]:
    """Which distinct ``values`` of the column ``key`` pass (``None``, an empty cell,
    does not), and what their field makes of them."""
    n = len(values)
    ok = np.zeros(n, dtype=bool)
    out: list[Any] = [None] * n
    kind = _kind(model, key)
    low, high, low_open, high_open, min_len = _bounds(model, key)
    if kind == "str":
        for k, v in enumerate(values):
            if type(v) is str:
                text = v.strip()
                if len(text) >= min_len:
                    ok[k], out[k] = True, text
    elif kind in ("int", "float"):
        pattern = _INT_TEXT if kind == "int" else _FLOAT_TEXT
        number = int if kind == "int" else float
        plain = int if kind == "int" else (int, float)
        cand = [k for k, v in enumerate(values)
                if (type(v) in (plain if isinstance(plain, tuple) else (plain,)))
                or (type(v) is str and pattern.fullmatch(v))]
        if cand:
            nums = [number(values[k]) for k in cand]
            arr = np.array(nums, dtype=np.float64)
            with np.errstate(invalid="ignore"):
                good = np.isfinite(arr)
                good &= (arr > low) if low_open else (arr >= low)
                good &= (arr < high) if high_open else (arr <= high)
            for k, num, g in zip(cand, nums, good.tolist(), strict=True):
                if g:
                    ok[k], out[k] = True, num
    sub = _field_model(model, key)
    attr = next(iter(sub.model_fields))
    for k, v in enumerate(values):  # what the quick checks did not settle: the field says
        if ok[k] or v is None or (isinstance(v, bool) and kind in ("int", "float")):
            continue
        try:
            out[k] = getattr(sub.model_validate({key: v}), attr)
            ok[k] = True
        except ValidationError:
            pass
    return ok, out


def validate_columns(
    c: Collector,
    loc: tuple[Any, ...],
    model: type[Row],
    table: ColumnTable,
    *,
    id_key: str | None = None,
) -> CheckedColumns:
    """Check the column table at ``loc`` (see the module doc); every failed row is
    reported, and recorded in ``c``, as :func:`validate_rows` does."""
    name = table_key(loc)
    id_key = table_id_key(model, id_key)
    source = c.raw.tables.get(name)
    none = CheckedColumns(model, np.zeros(0, dtype=np.int64), {})
    if source is not None and not source.readable:
        c.uncertain.add(name)
        return none
    if source is not None and not source.complete:
        c.uncertain.add(name)
    numbers = number_fields(model)
    drop = check_header(c, name, model)
    skip_missing = c.absent[name]
    fields = field_names(model)
    defaults = {f.alias or n: f.get_default(call_default_factory=True)
                for n, f in model.model_fields.items() if not f.is_required()}
    required = [f.alias or n for n, f in model.model_fields.items() if f.is_required()]
    passed = np.ones(table.n_rows, dtype=bool)
    if any(k not in table.columns for k in required):
        passed[:] = False
    made: dict[str, tuple[np.ndarray, list[Any], IntArray]] = {}
    for key, col in table.columns.items():
        if key in drop or key not in fields:
            continue
        ok, out = _check_values(model, key, col.values)
        empty = np.array([v is None for v in col.values], dtype=bool)
        allowed = ok | (empty & (key not in required))
        passed &= allowed[col.codes]
        made[key] = (empty, out, col.codes)
    index = np.flatnonzero(passed)
    values: dict[str, tuple[list[Any], IntArray]] = {}
    for key, (empty, out, codes) in made.items():
        if key in defaults and empty.any():
            out = [defaults[key] if e else v for e, v in zip(empty.tolist(), out, strict=True)]
        values[key] = (out, codes[index])
    for key in fields:  # a column not in the file: its default (no row passed without it
        if key not in values:  # if it is required)
            values[key] = ([defaults.get(key)], np.zeros(index.size, dtype=np.int64))
    result = CheckedColumns(model, index, values)
    failed = np.flatnonzero(~passed)
    if failed.size == 0:
        return result
    good: list[tuple[int, Any]] = []
    for i in failed.tolist():
        check_row(c, loc, model, i, table.row(i), good, drop=drop, numbers=numbers,
                  id_key=id_key, skip_missing=skip_missing)
    return _merged(result, good)


def _merged(result: CheckedColumns, good: list[tuple[int, Any]]) -> CheckedColumns:
    """``result`` with the rows ``good`` (that passed when checked alone) in row order."""
    if not good:
        return result
    attrs = {f.alias or n: n for n, f in result.model.model_fields.items()}
    index = np.concatenate([result.index, np.array([i for i, _ in good], dtype=np.int64)])
    order = np.argsort(index, kind="stable")
    values = {}
    for key, (made, codes) in result.values.items():
        extra = [getattr(r, attrs[key]) for _, r in good]
        more = np.arange(len(made), len(made) + len(extra), dtype=np.int64)
        values[key] = (made + extra, np.concatenate([codes, more])[order])
    return CheckedColumns(result.model, index[order], values)
