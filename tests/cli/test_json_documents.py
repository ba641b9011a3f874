"""``--json`` documents are strict JSON: a non-finite number is an error naming the field."""

from __future__ import annotations

import json
import math
from pathlib import Path
from typing import Any

import pytest
from typer.testing import CliRunner

import sustain
from sustain.cli.main import app
from sustain.report.documents import NonFiniteResultError, json_text
from tests.cli.test_evaluate_cli import SMALL

RUNNER = CliRunner()


def test_json_text_is_the_indented_document() -> None:
    doc = {"a": [1, 2.5], "b": {"c": None, "d": "x"}}
    assert json_text(doc) == json.dumps(doc, indent=1) + "\n"


@pytest.mark.parametrize(
    ("doc", "message"),
    [
        ({"items": [{"ebo": 1.0}, {"vbo": math.nan}]},
         "the result holds a number JSON cannot represent: items[1].vbo is nan; the inputs "
         "are outside the range the computation handles"),
        ({"stock_cost": math.inf, "fleets": [{"availability": -math.inf}]},
         "the result holds a number JSON cannot represent: stock_cost is inf (and 1 more); "
         "the inputs are outside the range the computation handles"),
    ],
)
def test_non_finite_numbers_are_named(doc: dict[str, Any], message: str) -> None:
    with pytest.raises(NonFiniteResultError) as info:
        json_text(doc)
    assert str(info.value) == message


class _Poisoned:
    """An evaluation whose document holds a NaN, as a broken engine would give."""

    def __init__(self, ev: sustain.Evaluation) -> None:
        self.ev = ev

    def to_dict(self) -> dict[str, Any]:
        doc = self.ev.to_dict()
        doc["items"][0]["pipeline_var"] = math.nan
        return doc

    def __getattr__(self, name: str) -> Any:
        return getattr(self.ev, name)


def test_evaluate_refuses_to_print_nan(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    """Exit 2 with the field named; no NaN on stdout and no report written."""
    path = tmp_path / "small.yaml"
    path.write_text(SMALL)
    real = sustain.evaluate
    monkeypatch.setattr(sustain, "evaluate", lambda *a, **k: _Poisoned(real(*a, **k)))
    report = tmp_path / "r.md"
    result = RUNNER.invoke(app, ["evaluate", str(path), "--json", "-o", str(report)])
    assert result.exit_code == 2
    assert result.stdout == ""
    assert result.stderr == (
        "error: the result holds a number JSON cannot represent: items[0].pipeline_var is "
        "nan; the inputs are outside the range the computation handles\n"
    )
    assert not report.exists()
