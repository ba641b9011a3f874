"""Rejection stays bounded: a few problems of each kind shown, then their count, and work
linear in the size of the scenario (hints looked for only where they are shown)."""

from __future__ import annotations

import time
from pathlib import Path
from typing import Any

import pytest

from sustain.errors import ScenarioError
from sustain.scenario import issues as issues_module
from sustain.scenario import load_scenario, scenario_from_dict
from sustain.scenario.issues import MAX_SHOWN
from sustain.scenario.messages import did_you_mean
from tests.scenario.test_bad_input import GOOD_WITH_CSV, _edit, _invoke

HEADER = "id,unit_cost,mtbf_hours,installed_in,depot_repair_days\n"


def _sites_with_misspelt_parents(n: int) -> dict[str, Any]:
    sites = [{"id": "ROOT"}] + [{"id": f"SITE{k:05d}", "parent": f"SITX{k:05d}"}
                                for k in range(n)]
    return {
        "sites": sites,
        "systems": [{"id": "S"}],
        "fleets": [{"system": "S", "site": "ROOT", "count": 1, "hours_per_day": 1}],
        "items": [{"id": "I", "mtbf_hours": 100, "installed_in": [{"system": "S"}],
                   "depot_repair_days": 1}],
    }


def test_two_thousand_misspelt_parents(monkeypatch: pytest.MonkeyPatch) -> None:
    """A hint for every miss would compare each with 2,001 ids (4 M comparisons); hints
    are looked for in the 20 problems shown only, and the rest are counted."""
    calls = []

    def counted(word: str, choices: Any) -> str:
        calls.append(word)
        return did_you_mean(word, choices)

    monkeypatch.setattr(issues_module, "did_you_mean", counted)
    with pytest.raises(ScenarioError) as info:
        scenario_from_dict(_sites_with_misspelt_parents(2000), name="s.yaml")
    lines = [str(i) for i in info.value.issues]
    assert len(calls) == MAX_SHOWN == 20
    assert info.value.total == 2000
    assert str(info.value).startswith("2,000 problems in the scenario:\n")
    assert lines[0] == "s.yaml: sites[1].parent: 'SITX00000' is not a site id (did you mean " \
        "'SITE00000'?)"
    assert lines[20:] == ["s.yaml: sites[…].parent: … and 1,980 more problems like this"]


def test_thousands_of_bad_rows_in_a_table_file(tmp_path: Path) -> None:
    """Two bad cells in each of 5,000 rows: 10,000 problems, 20 of each kind shown."""
    rows = "".join(f"I{k},x{k},y{k},SAMX:1,1\n" for k in range(5000)).replace("I0,", "TX,")
    (tmp_path / "items.csv").write_text(HEADER + rows, encoding="utf-8")
    path = tmp_path / "s.yaml"
    path.write_text(GOOD_WITH_CSV, encoding="utf-8")
    with pytest.raises(ScenarioError) as info:
        load_scenario(path)
    lines = [str(i) for i in info.value.issues]
    assert info.value.total == 10_000
    assert len(lines) == 2 * MAX_SHOWN + 2
    assert lines[:2] == ["items.csv row 2: unit_cost: must be a number: got 'x0'",
                         "items.csv row 2: mtbf_hours: must be a number: got 'y0'"]
    assert lines[-3:] == [
        "items.csv: unit_cost: … and 4,980 more problems like this",
        "items.csv row 21: mtbf_hours: must be a number: got 'y19'",
        "items.csv: mtbf_hours: … and 4,980 more problems like this",
    ]
    assert len(str(info.value)) < 5000
    result = _invoke("evaluate", path, "--json")
    assert result.exit_code == 2
    assert result.stdout == ""
    assert result.stderr == "\n".join(["10,000 problems in the scenario:",
                                       *(f"  {x}" for x in lines)]) + "\n"


def test_few_problems_are_all_shown() -> None:
    """The control: 20 problems of a kind are listed whole, with no count line."""
    with pytest.raises(ScenarioError) as info:
        scenario_from_dict(_sites_with_misspelt_parents(20), name="s.yaml")
    assert info.value.total == len(info.value.issues) == 20
    assert all("did you mean" in i.message for i in info.value.issues)


def test_problems_of_other_kinds_are_shown_beside_a_flood(tmp_path: Path) -> None:
    """A flood of one kind does not hide a problem of another kind after it."""
    rows = "".join(f"I{k},x,100,SAMX:1,1\n" for k in range(100)).replace("I0,", "TX,")
    (tmp_path / "items.csv").write_text(HEADER + rows, encoding="utf-8")
    path = tmp_path / "s.yaml"
    path.write_text(_edit(GOOD_WITH_CSV, (("count: 2", "count: -1"),)), encoding="utf-8")
    with pytest.raises(ScenarioError) as info:
        load_scenario(path)
    lines = [str(i) for i in info.value.issues]
    assert "s.yaml line 16: fleets[0].count: must be >= 0: got -1" in lines
    assert "items.csv: unit_cost: … and 80 more problems like this" in lines
    assert info.value.total == 101


def test_a_deep_site_and_item_tree_is_checked_in_linear_time() -> None:
    """Chains of 2,000 sites and 2,000 sub-items: walking every start's path to its root
    in search of a cycle would take ~n·depth² steps; each node is walked once."""
    n = 2000
    data = {
        "sites": [{"id": "S0"}] + [{"id": f"S{k}", "parent": f"S{k - 1}"} for k in range(1, n)],
        "systems": [{"id": "SYS"}],
        "fleets": [{"system": "SYS", "site": f"S{n - 1}", "count": 1, "hours_per_day": 1}],
        "items": [{"id": "I0", "mtbf_hours": 100, "installed_in": [{"system": "SYS"}],
                   "depot_repair_days": 1}]
        + [{"id": f"I{k}", "parent": f"I{k - 1}", "replace_fraction": 0.5,
            "depot_repair_days": 1} for k in range(1, n)],
    }
    start = time.perf_counter()
    scenario = scenario_from_dict(data)
    assert time.perf_counter() - start < 20  # loosely: ~0.5 s; the quadratic walk, minutes
    assert len(scenario.sites) == len(scenario.items) == n


def test_a_cycle_in_a_long_chain_is_found_once() -> None:
    n = 500
    sites = [{"id": "ROOT"}, {"id": "S0", "parent": f"S{n - 1}"}]
    sites += [{"id": f"S{k}", "parent": f"S{k - 1}"} for k in range(1, n)]
    data = _sites_with_misspelt_parents(0) | {"sites": sites}
    with pytest.raises(ScenarioError) as info:
        scenario_from_dict(data, name="s.yaml")
    (issue,) = info.value.issues
    assert issue.path == "sites[1].parent"
    assert issue.message.startswith("the site tree has a cycle: S0 -> S499 -> S498 -> ")
    assert issue.message.endswith(" -> S1 -> S0")
