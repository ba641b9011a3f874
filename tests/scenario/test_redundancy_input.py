"""The ``needed`` and ``essential`` keys of ``installed_in``, inline and in table cells."""

from __future__ import annotations

from pathlib import Path

import pytest

from sustain.scenario import load_scenario
from tests.scenario.test_tables import FORMATS, HEADER, ROWS, _issues, _scenario


def _with_cell(value: str) -> list[list[object]]:
    rows = [list(r) for r in ROWS]
    rows[0][HEADER.index("installed_in")] = value
    return rows


@pytest.mark.parametrize("fmt", list(FORMATS))
@pytest.mark.parametrize(("cell", "qty", "needed", "essential"), [
    ("SAMX:2/1", 2, 1, True), ("SAMX:1?", 1, None, False), ("SAMX:3/2?", 3, 2, False),
    ("SAMX", 1, None, True), ("SAMX:2", 2, None, True),
])
def test_cell_forms(tmp_path: Path, fmt: str, cell: str, qty: int, needed: int | None,
                    essential: bool) -> None:
    sc = load_scenario(_scenario(tmp_path, fmt, HEADER, _with_cell(cell)))
    (inst,) = next(i for i in sc.items if i.id == "TX").installed_in
    assert (inst.qty, inst.needed, inst.essential, inst.k) == (qty, needed, essential,
                                                               needed or qty)


@pytest.mark.parametrize(("cell", "message"), [
    ("SAMX:2/3", "{r0}: installed_in[0].needed: must be at most qty (2): got 3"),
    ("SAMX:2/", "{r0}: installed_in: must read 'SYSTEM:QTY;SYSTEM:QTY' (e.g. 'SAMX:1;IFV:2'; "
     "'SAMX:2/1' for 2 installed of which 1 is needed, 'SAMX:1?' for an item that is not "
     "essential): got 'SAMX:2/'"),
    ("SAMX:2/0", "{r0}: installed_in[0].needed: must be >= 1: got 0"),
])
def test_cell_mistakes(tmp_path: Path, cell: str, message: str) -> None:
    _, _, at, first = FORMATS["csv"]
    path = _scenario(tmp_path, "csv", HEADER, _with_cell(cell))
    assert _issues(path) == [message.format(r0=f"{at} row {first}")]


def test_inline_needed_above_qty_and_bad_holes(tmp_path: Path) -> None:
    from tests.scenario.test_bad_input import GOOD

    text = GOOD.replace("{system: SAMX, qty: 1}", "{system: SAMX, qty: 1, needed: 2}")
    assert text != GOOD
    path = tmp_path / "air.yaml"
    path.write_text(text + "holes: spreed\n", encoding="utf-8")
    issues = _issues(path)
    assert len(issues) == 2
    assert issues[0].endswith("items[0].installed_in[0].needed: must be at most qty (1): got 2")
    assert issues[1].endswith("holes: must be one of spread, consolidated: got 'spreed' "
                              "(did you mean 'spread'?)")
