"""The stock plan CSV written from the optimisation's JSON document (what the web app
keeps) is the file ``sustain optimize -o plan.csv`` writes from the result object."""

from __future__ import annotations

from pathlib import Path

import pytest

import sustain
from sustain.report.documents import plan_csv, plan_csv_of_document
from sustain.report.run_documents import optimization_document
from sustain.scenario.compile import compile_scenario

EXAMPLES = Path(__file__).resolve().parents[2] / "examples"


@pytest.mark.parametrize(("name", "options"), [
    ("rail-two-echelon.yaml", {"target": 0.9}),
    ("rail-two-echelon.yaml", {"budget": 20_000.0}),
    ("rail-redistribute.yaml", {"target": 0.9, "redistribute": True}),
])
def test_the_plan_of_the_document_is_the_plan_of_the_result(name: str,
                                                           options: dict) -> None:
    sc = sustain.load_scenario(EXAMPLES / name)
    opt = sustain.optimize(sc, refine_seconds=0.0, **options)
    doc = optimization_document(opt)
    expected = plan_csv(opt)
    assert expected.count("\n") > 2  # a plan with rows, not just a header
    if options.get("redistribute"):
        assert doc.get("moves"), "the case must move stock"
    assert plan_csv_of_document(compile_scenario(sc), doc) == expected
