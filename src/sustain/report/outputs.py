"""``-o/--output FILE``: one convention for every command, chosen by the file's extension.

========  =================================================================
``.md``   the report as Markdown (:func:`~sustain.report.model.to_markdown`)
``.json`` the command's JSON document, the same as ``--json`` prints
``.csv``  the command's main table (optimize: the stock plan)
``.xlsx`` one sheet per table of the report (:mod:`sustain.report.xlsx`)
``.html`` one self-contained page (:func:`sustain.report.html.to_html`)
``.parquet`` the ``.csv`` table as Parquet (:mod:`sustain.report.tabular`)
========  =================================================================

:func:`output_files` checks the extensions (and that openpyxl is there for ``.xlsx``)
before any work; :func:`renderer` returns what writes one file once the results are
ready, for :func:`sustain.report.files.write_outputs`.
"""

from __future__ import annotations

import csv
import io
from collections.abc import Callable, Sequence
from pathlib import Path
from typing import Any

from sustain.report.files import Output, OutputError, Render, text_file
from sustain.report.model import Cell, Kind, Report, Table, to_markdown
from sustain.report.tabular import (
    ChunkedTable,
    csv_table,
    has_non_finite,
    require_pyarrow,
    write_csv,
    write_json,
    write_parquet,
)

#: The file types of ``-o/--output``, in the order messages list them.
OUTPUT_SUFFIXES = (".md", ".json", ".csv", ".xlsx", ".html", ".parquet")


def output_files(paths: Sequence[Path] | None, option: str = "--output") -> list[Output]:
    """One :class:`Output` per path given, after checking each path's extension.

    Raises
    ------
    OutputError
        An extension that is not one of :data:`OUTPUT_SUFFIXES` (naming the option, the
        file and the allowed types).
    MissingExtraError
        A ``.xlsx`` output without openpyxl installed.
    """
    found = []
    for path in paths or []:
        suffix = path.suffix.lower()
        if suffix not in OUTPUT_SUFFIXES:
            shown = repr(path.suffix) if path.suffix else "none"
            raise OutputError(
                f"{option} {path}: unknown output type {shown} (use "
                f"{', '.join(OUTPUT_SUFFIXES[:-1])} or {OUTPUT_SUFFIXES[-1]})"
            )
        if suffix == ".xlsx":
            from sustain.report.xlsx import require_openpyxl  # openpyxl only when asked

            require_openpyxl(f"{option} {path}")
        if suffix == ".parquet":
            require_pyarrow(f"{option} {path}")
        found.append(Output(option, path))
    return found


def table_csv(table: Table) -> str:
    """``table`` as CSV: its column headings, then the values as numbers (shares stay
    shares in [0, 1]; nothing written for an unknown value), not as shown in reports."""
    buf = io.StringIO()
    w = csv.writer(buf, lineterminator="\n")
    w.writerow([c.heading for c in table.columns])
    for row in table.data_rows():
        w.writerow([_csv_cell(v, c.kind) for v, c in zip(row, table.columns, strict=True)])
    return buf.getvalue()


def _csv_cell(value: Cell, kind: Kind) -> Cell:
    if value is None or (isinstance(value, float) and value != value):
        return ""
    if kind is Kind.INT and isinstance(value, float) and value.is_integer():
        return int(value)
    return value


def main_table(report: Report, name: str) -> Table:
    """The table called ``name`` in ``report`` (the one a ``.csv`` output holds)."""
    for table in report.tables():
        if table.name == name:
            return table
    raise OutputError(f"the report has no table {name!r}")


def renderer(out: Output, report: Callable[[], Report], json_text: Callable[[], str],
             csv_text: Callable[[], str], *, table: Callable[[], ChunkedTable] | None = None,
             doc: Callable[[], Any] | None = None) -> Render:
    """What writes ``out``, by its extension: ``report``, ``json_text`` and ``csv_text``
    give the content (called only for the types asked for).

    With ``table`` (the ``.csv`` table read in blocks), ``.csv`` and ``.parquet`` files
    are written a block at a time; with ``doc`` (the JSON document), ``.json`` is
    written in pieces (``json_text`` then only words the error of a NaN in it)."""
    suffix = out.path.suffix.lower()
    if suffix == ".json":
        if doc is None:
            return text_file(json_text())
        document = doc()
        if has_non_finite(document):
            json_text()  # raises the error that names the number

        def render_json(path: Path) -> None:
            write_json(document, path)

        return render_json
    if suffix in (".csv", ".parquet"):
        made = table() if table is not None else None
        if made is None:
            if suffix == ".csv":
                return text_file(csv_text())
            made = csv_table(csv_text())
        write = write_csv if suffix == ".csv" else write_parquet

        def render_table(path: Path) -> None:
            write(made, path)

        return render_table
    if suffix == ".md":
        return text_file(to_markdown(report()))
    if suffix == ".html":
        from sustain.report.html import to_html

        return text_file(to_html(report()))
    from sustain.report.xlsx import write_xlsx

    built = report()

    def render(path: Path) -> None:
        write_xlsx(built, path)

    return render
