"""Hostile scenario files: each costs one clear message, exit code 2, and bounded time.

YAML that would expand without end (aliases), nest without end, or carry characters
and tags a scenario has no use for; table references to things that are not table
files (directories, pipes, devices, loops of links, impossible names) or that lie
outside the scenario's folder; cells whose values must not be echoed.  Each case
asserts the exact message from :func:`~sustain.scenario.load_scenario` and the clean
failure of ``sustain evaluate``.
"""

from __future__ import annotations

import os
import time
from pathlib import Path

import pytest

from sustain.errors import ScenarioError
from sustain.scenario import load as load_module
from sustain.scenario import load_scenario
from sustain.scenario.load import MAX_ALIAS_VALUES, MAX_DEPTH
from tests.scenario.test_bad_input import (
    GOOD,
    GOOD_WITH_CSV,
    ITEMS_CSV,
    _assert_clean_failure,
    _edit,
    _invoke,
)

# GOOD_WITH_CSV names ``{file: items.csv}`` on line 18.
REF_LINE = 18


def _issues(path: Path, **options: bool) -> list[str]:
    with pytest.raises(ScenarioError) as info:
        load_scenario(path, **options)
    return [str(i) for i in info.value.issues]


def _check(path: Path, expected: list[str]) -> None:
    """The exact messages from the library, and a clean exit 2 from the CLI."""
    assert _issues(path) == expected
    _assert_clean_failure(_invoke("evaluate", path, "--json"), expected)


def _with_ref(tmp_path: Path, ref: str) -> Path:
    path = tmp_path / "s.yaml"
    path.write_text(_edit(GOOD_WITH_CSV, (("{file: items.csv}", ref),)), encoding="utf-8")
    return path


# ---- YAML ------------------------------------------------------------------------------


def _alias_bomb(levels: int) -> str:
    """``levels`` nested aliases, ten per level, under keys no scenario has."""
    lines = ["a0: &a0 [x, x, x, x, x, x, x, x, x, x]"]
    for k in range(1, levels):
        lines.append(f"a{k}: &a{k} [{', '.join([f'*a{k - 1}'] * 10)}]")
    return "\n".join(lines) + "\n"


@pytest.mark.parametrize("levels", [7, 9])
def test_alias_bomb_is_refused_at_the_alias_that_passes_the_budget(
    tmp_path: Path, levels: int
) -> None:
    """Expanded, 7 levels hold 11,111,111 values and 9 levels 1,111,111,111 (a list of
    ten per level), from a file of a few hundred bytes.  Counting as the document is
    read, the 8th ``*a3`` of line 5 passes the budget: 12,330 values added before it
    (10·11 + 10·111 + 10·1,111 by lines 2-4) plus 8 · 11,111 = 101,218 > 100,000."""
    path = tmp_path / "bomb.yaml"
    path.write_text(_alias_bomb(levels), encoding="utf-8")
    assert len(_alias_bomb(7)) < 450
    assert MAX_ALIAS_VALUES == 100_000
    start = time.perf_counter()
    _check(path, [
        "bomb.yaml line 5: aliases expand the file to more than 100,000 values (here *a3, "
        "of &a3 at line 4); write the values out instead",
    ])
    assert time.perf_counter() - start < 30  # loosely: expanding 9 levels takes many minutes


def test_a_few_aliases_are_fine(tmp_path: Path) -> None:
    """The control: an anchor reused within the budget loads as if written out."""
    text = _edit(GOOD, (
        ("      - {system: SAMX, qty: 1}\n", "      - &samx {system: SAMX, qty: 1}\n"),
        ("stock:\n", "  - {id: RX, mtbf_hours: 900, installed_in: [*samx], "
                     "depot_repair_days: 5}\nstock:\n"),
    ))
    path = tmp_path / "s.yaml"
    path.write_text(text, encoding="utf-8")
    items = {i.id: i for i in load_scenario(path).items}
    assert items["RX"].installed_in == items["TX"].installed_in
    assert items["RX"].installed_in[0].system == "SAMX"


def test_an_alias_inside_its_own_anchor_is_refused(tmp_path: Path) -> None:
    path = tmp_path / "bad.yaml"
    path.write_text("name: x\nloop: &x [a, *x]\n", encoding="utf-8")
    _check(path, ["bad.yaml line 2: alias *x is inside the value it stands for "
                  "(&x at line 2)"])


@pytest.mark.parametrize(
    ("char", "code"), [("\x12", "12"), ("\x00", "00"), ("\x7f", "7f")],
    ids=["dc2", "nul", "del"],
)
def test_control_characters_in_yaml(tmp_path: Path, char: str, code: str) -> None:
    path = tmp_path / "bad.yaml"
    path.write_text(_edit(GOOD, (("    kind: base\n", f"    kind: ba{char}se\n"),)),
                    encoding="utf-8")
    _check(path, [
        f"bad.yaml line 7: invalid YAML: control character #x{code} (control characters "
        "and NUL cannot be written in YAML; remove it, or write it as an escape in double "
        "quotes)",
    ])


def test_malformed_utf8_exits_2(tmp_path: Path) -> None:
    path = tmp_path / "bad.yaml"
    path.write_bytes(GOOD.encode().replace(b"Test scenario", b"Test \xff\xfe scenario"))
    _check(path, ["bad.yaml: not a text file (UTF-8 expected): invalid start byte"])


@pytest.mark.parametrize(
    ("value", "tag"),
    [("!!binary gIGC", "!!binary"), ("!!set {a, b}", "!!set"),
     ("!!omap [{a: 1}]", "!!omap"), ("!!pairs [{a: 1}]", "!!pairs")],
)
def test_yaml_tags_of_non_json_values(tmp_path: Path, value: str, tag: str) -> None:
    path = tmp_path / "bad.yaml"
    path.write_text(_edit(GOOD, (("    kind: base\n", f"    kind: {value}\n"),)),
                    encoding="utf-8")
    _check(path, [
        f"bad.yaml line 7: {tag} values are not supported in a scenario (use text, "
        "numbers, true/false, lists and mappings)",
    ])


def test_a_date_where_text_is_expected_reads_plainly(tmp_path: Path) -> None:
    path = tmp_path / "bad.yaml"
    path.write_text(_edit(GOOD, (("name: Test scenario", "name: 2024-01-01"),)),
                    encoding="utf-8")
    _check(path, ["bad.yaml line 1: name: must be text: got 2024-01-01"])


@pytest.mark.parametrize("style", ["flow", "block"])
def test_yaml_nested_thousands_of_levels(tmp_path: Path, style: str) -> None:
    path = tmp_path / "bad.yaml"
    if style == "flow":
        path.write_text("name: " + "[" * 5000 + "]" * 5000 + "\n", encoding="utf-8")
        line = 1
    else:
        path.write_text("name:\n" + "".join("  " * k + "-\n" for k in range(1, 3000)),
                        encoding="utf-8")
        line = MAX_DEPTH + 1  # the list that passes the limit starts on this line
    _check(path, [
        f"bad.yaml line {line}: nested more than 50 levels deep (lists and mappings inside "
        "each other); a scenario needs far fewer",
    ])


@pytest.mark.parametrize("levels", [3000, 200_000])
def test_json_nested_thousands_of_levels(tmp_path: Path, levels: int) -> None:
    path = tmp_path / "bad.json"
    path.write_text('{"name": ' + "[" * levels + "]" * levels + "}", encoding="utf-8")
    _check(path, [
        "bad.json line 1: nested more than 50 levels deep (lists and mappings inside each "
        "other); a scenario needs far fewer",
    ])


@pytest.mark.parametrize("name", ["bad.yaml", "bad.json"])
def test_an_integer_of_thousands_of_digits(tmp_path: Path, name: str) -> None:
    """Python refuses to read an integer of more than 4,300 digits (a ValueError): such a
    number stays the text written, and its range check refuses it."""
    path = tmp_path / name
    if name.endswith(".yaml"):
        path.write_text(_edit(GOOD, (("count: 2", "count: " + "9" * 5000),)), encoding="utf-8")
        where = "bad.yaml line 16: fleets[0].count"
    else:
        path.write_text('{"name": "x", "simulation": {"warmup_days": ' + "9" * 5000 + "}}",
                        encoding="utf-8")
        where = "bad.json line 1: simulation.warmup_days"
    expected = (f"{where}: must be <= 1,000,000: got {'9' * 24}…" if name.endswith(".yaml")
                else f"{where}: must be <= 36,500: got {'9' * 24}…")
    assert expected in _issues(path)
    assert "Traceback" not in _invoke("evaluate", path, "--json").stderr


# ---- Table file references --------------------------------------------------------------


def _ref_message(message: str) -> list[str]:
    return [f"s.yaml line {REF_LINE}: items.file: {message}"]


def test_a_table_file_name_too_long(tmp_path: Path) -> None:
    name = "x" * 296 + ".csv"
    _check(_with_ref(tmp_path, f"{{file: {name}}}"),
           _ref_message(f"table file name '{'x' * 24}…' is too long for the file system"))


def test_a_table_file_that_is_a_loop_of_links(tmp_path: Path) -> None:
    (tmp_path / "items.csv").symlink_to("items.csv")
    _check(_with_ref(tmp_path, "{file: items.csv}"),
           _ref_message("table file 'items.csv' is a loop of symbolic links"))


def test_a_table_file_name_with_a_nul(tmp_path: Path) -> None:
    _check(_with_ref(tmp_path, '{file: "it\\0ems.csv"}'),
           _ref_message("table file 'it\\x00ems.csv': a file name cannot contain a NUL "
                        "character"))


def test_a_table_file_that_is_a_directory(tmp_path: Path) -> None:
    (tmp_path / "items.csv").mkdir()
    _check(_with_ref(tmp_path, "{file: items.csv}"),
           _ref_message("table file 'items.csv' is a directory, not a file"))


def test_a_table_file_that_is_a_named_pipe(tmp_path: Path) -> None:
    os.mkfifo(tmp_path / "items.csv")
    _check(_with_ref(tmp_path, "{file: items.csv}"),
           _ref_message("table file 'items.csv' is a named pipe (FIFO), not a file"))


def test_a_table_file_that_is_a_device(tmp_path: Path) -> None:
    """``/dev/zero`` would be read forever: it is reported as what it is.  A link to it
    leads outside the folder, so it needs ``allow_outside_tables`` to get this far."""
    (tmp_path / "items.csv").symlink_to("/dev/zero")
    path = _with_ref(tmp_path, "{file: items.csv}")
    assert _issues(path, allow_outside_tables=True) == _ref_message(
        "table file 'items.csv' is a character device, not a file"
    )
    _check(path, _ref_message(
        f"table file 'items.csv' is outside the scenario's folder ({tmp_path.resolve()}): "
        "move it into the folder, or allow tables outside it (--allow-outside-tables)"
    ))


def test_an_xlsx_that_is_not_one(tmp_path: Path) -> None:
    (tmp_path / "items.xlsx").write_text(ITEMS_CSV, encoding="utf-8")
    _check(_with_ref(tmp_path, "{file: items.xlsx}"),
           ["items.xlsx: not a readable XLSX file: File is not a zip file"])


def test_a_csv_that_is_binary(tmp_path: Path) -> None:
    (tmp_path / "items.csv").write_text(ITEMS_CSV.replace("TX-PSU", "TX\x00PSU"),
                                        encoding="utf-8")
    _check(_with_ref(tmp_path, "{file: items.csv}"),
           ["items.csv: not a text file: control character #x00 on line 3 (a CSV table is "
            "UTF-8 text)"])


# ---- Table files outside the scenario's folder --------------------------------------------


def _outside(tmp_path: Path, csv_text: str = ITEMS_CSV) -> tuple[Path, Path]:
    """A scenario in ``tmp_path/scenario`` and a table in ``tmp_path/outside``."""
    (tmp_path / "scenario").mkdir()
    (tmp_path / "outside").mkdir()
    table = tmp_path / "outside" / "items.csv"
    table.write_text(csv_text, encoding="utf-8")
    return tmp_path / "scenario", table


@pytest.mark.parametrize("how", ["parent", "absolute", "link"])
def test_a_table_outside_the_folder_is_refused(tmp_path: Path, how: str) -> None:
    folder, table = _outside(tmp_path)
    if how == "parent":
        ref = "../outside/items.csv"
    elif how == "absolute":
        ref = str(table)
    else:
        ref = "items.csv"
        (folder / "items.csv").symlink_to(table)
    path = _with_ref(folder, f"{{file: '{ref}'}}")
    shown = ref if len(ref) <= 24 else ref[:24] + "…"
    _check(path, _ref_message(
        f"table file '{shown}' is outside the scenario's folder ({folder.resolve()}): move "
        "it into the folder, or allow tables outside it (--allow-outside-tables)"
    ))
    scenario = load_scenario(path, allow_outside_tables=True)
    assert [i.id for i in scenario.items] == ["TX", "TX-PSU"]


def test_a_link_inside_the_folder_is_fine(tmp_path: Path) -> None:
    """The control: a link that stays inside the folder (after resolving) is read."""
    (tmp_path / "tables").mkdir()
    (tmp_path / "tables" / "items.csv").write_text(ITEMS_CSV, encoding="utf-8")
    (tmp_path / "items.csv").symlink_to(tmp_path / "tables" / "items.csv")
    scenario = load_scenario(_with_ref(tmp_path, "{file: items.csv}"))
    assert [i.id for i in scenario.items] == ["TX", "TX-PSU"]


def test_values_from_outside_the_folder_are_never_echoed(tmp_path: Path) -> None:
    folder, _ = _outside(tmp_path, ITEMS_CSV.replace("90000", "swordfish").replace(
        ",TX,0.5", ",TXX,0.5"))
    path = _with_ref(folder, "{file: ../outside/items.csv}")
    hidden = "<hidden: outside the scenario folder>"
    messages = _issues(path, allow_outside_tables=True)
    assert messages == [
        f"../outside/items.csv row 3: unit_cost: must be a number: got {hidden}",
        f"../outside/items.csv row 3: parent: {hidden} is not an item id",
    ]
    assert not any("swordfish" in m or "TXX" in m for m in messages)


def test_a_reference_from_outside_the_folder_is_not_echoed(tmp_path: Path) -> None:
    folder, _ = _outside(tmp_path, ITEMS_CSV.replace(",TX,0.5", ",TXX,0.5"))
    path = _with_ref(folder, "{file: ../outside/items.csv}")
    assert _issues(path, allow_outside_tables=True) == [
        "../outside/items.csv row 3: parent: <hidden: outside the scenario folder> is not "
        "an item id",
    ]


def test_a_long_cell_is_echoed_cut(tmp_path: Path) -> None:
    (tmp_path / "items.csv").write_text(
        ITEMS_CSV.replace("90000", "abcdefghijklmnopqrstuvwxyz0123456789"), encoding="utf-8")
    _check(_with_ref(tmp_path, "{file: items.csv}"),
           ["items.csv row 3: unit_cost: must be a number: got 'abcdefghijklmnopqrstuvwx…'"])


# ---- The files a load read ------------------------------------------------------------------


def test_source_files_are_the_resolved_paths_read(tmp_path: Path) -> None:
    (tmp_path / "items.csv").write_text(ITEMS_CSV, encoding="utf-8")
    (tmp_path / "s.yaml").write_text(GOOD_WITH_CSV, encoding="utf-8")
    (tmp_path / "link.yaml").symlink_to(tmp_path / "s.yaml")
    (tmp_path / "inline.yaml").write_text(GOOD, encoding="utf-8")
    scenario = load_scenario(tmp_path / "link.yaml")
    assert scenario.source_files == (
        (tmp_path / "s.yaml").resolve(), (tmp_path / "items.csv").resolve()
    )
    assert load_scenario(tmp_path / "inline.yaml").source_files == (
        (tmp_path / "inline.yaml").resolve(),
    )


def test_a_parquet_column_of_binary_values(tmp_path: Path) -> None:
    import pyarrow as pa
    import pyarrow.parquet as pq

    pq.write_table(pa.table({"id": pa.array([b"\x80\x81", b"TX"])}), tmp_path / "items.parquet")
    _check(_with_ref(tmp_path, "{file: items.parquet}"),
           ["items.parquet: column 'id' holds binary values: use text or numbers"])


def test_a_scenario_that_is_a_device_is_read_up_to_a_limit(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """``/dev/zero`` named as the scenario itself is read up to a limit, then refused
    (the limit is 64 MiB; lowered here to keep the test quick)."""
    monkeypatch.setattr(load_module, "MAX_STREAM_BYTES", 2**20)
    assert _issues(Path("/dev/zero")) == [
        "/dev/zero: is a character device that gives more than 1 MiB: not a scenario file"
    ]


def _xlsx(path: Path, rows: list[list[object]]) -> None:
    openpyxl = pytest.importorskip("openpyxl")
    book = openpyxl.Workbook()
    for row in rows:
        book.active.append(row)
    book.save(path)


def test_an_xlsx_that_unpacks_too_large(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    """The size is read from the zip's directory before anything is unpacked: the same
    file loads under a higher limit."""
    _xlsx(tmp_path / "items.xlsx", [line.split(",") for line in ITEMS_CSV.splitlines()])
    path = _with_ref(tmp_path, "{file: items.xlsx}")
    monkeypatch.setattr(load_module, "MAX_XLSX_UNPACKED", 1000)
    (message,) = _issues(path)
    assert message.startswith("items.xlsx: unpacks to ") and "more than 0 MiB" in message
    monkeypatch.setattr(load_module, "MAX_XLSX_UNPACKED", 10 * 2**20)
    assert load_scenario(path).items


def test_an_xlsx_sheet_with_too_many_cells(tmp_path: Path,
                                           monkeypatch: pytest.MonkeyPatch) -> None:
    rows = [line.split(",") for line in ITEMS_CSV.splitlines()]
    _xlsx(tmp_path / "items.xlsx", rows)
    path = _with_ref(tmp_path, "{file: items.xlsx}")
    width = len(rows[0])
    monkeypatch.setattr(load_module, "MAX_XLSX_CELLS", 2 * width)  # header and one row
    assert _issues(path) == [f"items.xlsx[Sheet] row 3: more than {2 * width:,} cells: too "
                             "large for a table (use CSV or Parquet for very large tables)"]


def test_an_xlsx_that_claims_a_huge_sheet(tmp_path: Path,
                                         monkeypatch: pytest.MonkeyPatch) -> None:
    """A sheet whose stored dimension claims A1:XFD1048576 is read as stored: its rows
    are not padded to 16,384 cells each (which would pass a limit of 1,000 cells at the
    first row)."""
    import zipfile

    plain = tmp_path / "plain.xlsx"
    _xlsx(plain, [line.split(",") for line in ITEMS_CSV.splitlines()])
    with zipfile.ZipFile(plain) as src, zipfile.ZipFile(tmp_path / "items.xlsx", "w") as dst:
        for info in src.infolist():
            data = src.read(info)
            if info.filename == "xl/worksheets/sheet1.xml":
                text = data.decode()
                start = text.index('<dimension ref="') + len('<dimension ref="')
                end = text.index('"', start)
                data = (text[:start] + "A1:XFD1048576" + text[end:]).encode()
            dst.writestr(info, data)
    monkeypatch.setattr(load_module, "MAX_XLSX_CELLS", 1000)
    assert load_scenario(_with_ref(tmp_path, "{file: items.xlsx}")).items
