"""Accepted values: every number of a scenario has a range, the rest is refused.

Extreme but valid-looking values (a repair time of 1e300 days, an MTBF of 1e-9 hours,
a stock of 2^53) are beyond what the engines can compute with; the field tables refuse
each with the usual message (key, bound, value).  NaN and infinities are refused everywhere, and
:func:`~sustain.scenario.compile.compile_scenario` stays finite at every extreme accepted.
"""

from __future__ import annotations

import copy
import re
import types
import typing
from pathlib import Path
from typing import Any

import numpy as np
import pytest
import yaml
from pydantic import BaseModel

from sustain.errors import ScenarioError
from sustain.scenario import load_scenario, scenario_from_dict, schema
from sustain.scenario.compile import compile_scenario
from tests.scenario.test_bad_input import GOOD, GOOD_WITH_CSV, ITEMS_CSV
from tests.stockpile.test_section import BASE as STOCKPILE

CORE: dict[str, Any] = yaml.safe_load(GOOD)
SECTION: dict[str, Any] = yaml.safe_load(STOCKPILE)["stockpile"]
TIMELINE: dict[str, Any] = {
    "deliveries": [{"day": 10, "system": "SAMX", "site": "WEST", "count": 1,
                    "stock": [{"item": "TX", "qty": 1}]}],
    "tempo": [{"from_day": 0, "to_day": 10, "factor": 2}],
    "attrition": [{"system": "SAMX", "site": "WEST", "losses_per_day": 0.01}],
    "battle_damage": [{"system": "SAMX", "site": "WEST", "damaged_per_day": 0.01,
                       "repair_days": 10}],
    "simulation": {"warmup_days": 10},
}
DOCS = Path(__file__).resolve().parents[2] / "docs" / "scenario.md"


def _messages(data: dict[str, Any]) -> list[str]:
    with pytest.raises(ScenarioError) as info:
        scenario_from_dict(data, name="s.yaml")
    return [str(i) for i in info.value.issues]


def _set(data: dict[str, Any], path: tuple[Any, ...], value: object) -> dict[str, Any]:
    out = copy.deepcopy(data)
    target: Any = out
    for part in path[:-1]:
        target = target[part]
    target[path[-1]] = value
    return out


# (key path, value, message) — the bound named is the one the value passes.
CASES: list[tuple[tuple[Any, ...], object, str]] = [
    (("items", 0, "mtbf_hours"), 1e-9, "must be >= 0.01: got 1e-09"),
    (("items", 0, "mtbf_hours"), 1e300, "must be <= 1,000,000,000: got 1e+300"),
    (("items", 0, "depot_repair_days"), 1e300, "must be <= 3650: got 1e+300"),
    (("items", 0, "base_repair_days"), 3650.5, "must be <= 3650: got 3650.5"),
    (("items", 0, "procurement_days"), 1e160, "must be <= 3650: got 1e+160"),
    (("sites", 1, "order_ship_days"), 1e160, "must be <= 3650: got 1e+160"),
    (("sites", 0, "repair_channels"), 2_000_000, "must be <= 1,000,000: got 2000000"),
    (("fleets", 0, "count"), 1_000_001, "must be <= 1,000,000: got 1000001"),
    (("fleets", 0, "weight"), 1e7, "must be <= 1,000,000: got 10000000"),
    (("items", 0, "installed_in", 0, "qty"), 10_001, "must be <= 10,000: got 10001"),
    (("stock", 0, "qty"), 2**53, "must be <= 1,000,000,000: got 9007199254740992"),
    (("items", 0, "unit_cost"), 1e13, "must be <= 1,000,000,000,000: got 10000000000000"),
    (("systems", 0, "unit_cost"), 1e308, "must be <= 1,000,000,000,000: got 1e+308"),
    (("items", 0, "weibull_shape"), 51, "must be <= 50: got 51"),
    (("items", 0, "weibull_shape"), 0.05, "must be >= 0.1: got 0.05"),
    (("items", 0, "condemnation_fraction"), 2, "must be <= 1: got 2"),
]
TIMELINE_CASES: list[tuple[tuple[Any, ...], object, str]] = [
    (("deliveries", 0, "day"), 1e9, "must be <= 36,500: got 1000000000"),
    (("deliveries", 0, "count"), 10**9, "must be <= 1,000,000: got 1000000000"),
    (("deliveries", 0, "stock", 0, "qty"), 2**53, "must be <= 1,000,000,000: got "
     "9007199254740992"),
    (("tempo", 0, "to_day"), 40_000, "must be <= 36,500: got 40000"),
    (("tempo", 0, "factor"), 1e6, "must be <= 100: got 1000000"),
    (("attrition", 0, "losses_per_day"), 1e9, "must be <= 1,000,000: got 1000000000"),
    (("battle_damage", 0, "damaged_per_day"), 1e9, "must be <= 1,000,000: got 1000000000"),
    (("battle_damage", 0, "repair_days"), 1e5, "must be <= 3650: got 100000"),
]
SECTION_CASES: list[tuple[tuple[Any, ...], object, str]] = [
    (("donors", 0, "lead_months"), 10**9, "must be <= 1200: got 1000000000"),
    (("consumables", 1, "priority"), 1e15, "must be <= 1,000,000,000,000: got "
     "1000000000000000"),
    (("consumables", 0, "unit_cost"), 1e15, "must be <= 1,000,000,000,000: got "
     "1000000000000000"),
    (("demand", 0, "per_month"), 1e20, "must be <= 1,000,000,000,000: got 1e+20"),
    (("donors", 0, "floor", "SHELL155"), 1e20, "must be <= 1,000,000,000,000: got 1e+20"),
    (("donors", 0, "surge", 0, "unit_cost"), 1e20, "must be <= 1,000,000,000,000: got "
     "1e+20"),
    (("pledges", 0, "qty"), 1e20, "must be <= 1,000,000,000,000: got 1e+20"),
]


def _path(path: tuple[Any, ...]) -> str:
    out = ""
    for p in path:
        out += f"[{p}]" if isinstance(p, int) else (f".{p}" if out else p)
    return out


@pytest.mark.parametrize(("path", "value", "message"), CASES, ids=[_path(c[0]) for c in CASES])
def test_core_value_out_of_range(path: tuple[Any, ...], value: object, message: str) -> None:
    assert _messages(_set(CORE, path, value)) == [f"s.yaml: {_path(path)}: {message}"]


@pytest.mark.parametrize(
    ("path", "value", "message"), TIMELINE_CASES, ids=[_path(c[0]) for c in TIMELINE_CASES]
)
def test_time_phased_value_out_of_range(path: tuple[Any, ...], value: object, message: str) -> None:
    data = CORE | TIMELINE
    assert scenario_from_dict(data).deliveries  # the control: the timeline is valid
    assert _messages(_set(data, path, value)) == [f"s.yaml: {_path(path)}: {message}"]


@pytest.mark.parametrize(
    ("path", "value", "message"), SECTION_CASES, ids=[_path(c[0]) for c in SECTION_CASES]
)
def test_stockpile_value_out_of_range(path: tuple[Any, ...], value: object, message: str) -> None:
    data = {"name": "munitions", "stockpile": SECTION}
    assert scenario_from_dict(data).stockpile is not None  # the control
    out = _set(data, ("stockpile", *path), value)
    assert _messages(out) == [f"s.yaml: {_path(('stockpile', *path))}: {message}"]


def test_the_simulation_warmup_out_of_range() -> None:
    data = _set(CORE | TIMELINE, ("simulation", "warmup_days"), 1e12)
    assert _messages(data) == [
        "s.yaml: simulation.warmup_days: must be <= 36,500: got 1000000000000"
    ]


@pytest.mark.parametrize(
    ("cell", "got"),
    [("nan", "'nan'"), ("NaN", "'NaN'"), ("inf", "'inf'"), ("-inf", "'-inf'"),
     ("Infinity", "'Infinity'")],
)
def test_nan_and_infinity_in_a_table_cell(tmp_path: Path, cell: str, got: str) -> None:
    (tmp_path / "items.csv").write_text(ITEMS_CSV.replace("90000", cell), encoding="utf-8")
    path = tmp_path / "s.yaml"
    path.write_text(GOOD_WITH_CSV, encoding="utf-8")
    with pytest.raises(ScenarioError) as info:
        load_scenario(path)
    assert [str(i) for i in info.value.issues] == [
        f"items.csv row 3: unit_cost: must be a finite number: got {got}"
    ]


@pytest.mark.parametrize(("text", "message"), [
    ("1e400", "must be <= 1,000,000,000,000: got 1e400"),
    ("-1e400", "must be >= 0: got -1e400"),
])
def test_digits_beyond_a_float_name_the_bound(tmp_path: Path, text: str, message: str) -> None:
    """``1e400`` reads as infinity: it is reported as the bound it passes, in a table cell
    and in YAML alike."""
    (tmp_path / "items.csv").write_text(ITEMS_CSV.replace("90000", text), encoding="utf-8")
    (tmp_path / "s.yaml").write_text(GOOD_WITH_CSV, encoding="utf-8")
    (tmp_path / "inline.yaml").write_text(GOOD.replace("unit_cost: 90000", f"unit_cost: {text}"),
                                          encoding="utf-8")
    for name, where in (("s.yaml", "items.csv row 3: unit_cost"),
                        ("inline.yaml", "inline.yaml line 30: items[1].unit_cost")):
        with pytest.raises(ScenarioError) as info:
            load_scenario(tmp_path / name)
        assert [str(i) for i in info.value.issues] == [f"{where}: {message}"]


@pytest.mark.parametrize("value", [".nan", ".inf", "-.inf"])
def test_nan_and_infinity_in_the_stockpile_section(tmp_path: Path, value: str) -> None:
    path = tmp_path / "s.yaml"
    path.write_text(STOCKPILE.replace("floor: {SHELL155: 600}", f"floor: {{SHELL155: {value}}}"),
                    encoding="utf-8")
    with pytest.raises(ScenarioError) as info:
        load_scenario(path)
    got = {".nan": "nan", ".inf": "inf", "-.inf": "-inf"}[value]
    assert [str(i) for i in info.value.issues] == [
        f"s.yaml line 15: stockpile.donors[0].floor.SHELL155: must be a finite number: got {got}"
    ]


# ---- Every number has a range, and the reference page lists it ---------------------------


def _rows() -> list[type[BaseModel]]:
    return [m for m in vars(schema).values()
            if isinstance(m, type) and issubclass(m, schema.Row) and m is not schema.Row]


def _numbers(model: type[BaseModel]) -> dict[str, tuple[float, float]]:
    """Numeric fields of ``model`` and their (lower, upper) bounds (-inf/inf if none)."""
    out: dict[str, tuple[float, float]] = {}
    for name, f in model.model_fields.items():
        ann = f.annotation
        args = set(typing.get_args(ann)) if typing.get_origin(ann) in (
            typing.Union, types.UnionType) else {ann}
        if not args & {int, float}:
            continue
        low, high = -np.inf, np.inf
        for meta in f.metadata:
            for key in ("ge", "gt"):
                if getattr(meta, key, None) is not None:
                    low = getattr(meta, key)
            for key in ("le", "lt"):
                if getattr(meta, key, None) is not None:
                    high = getattr(meta, key)
        out[f.alias or name] = (low, high)
    return out


def test_every_number_of_every_row_has_a_finite_range() -> None:
    unbounded = [
        f"{model.__name__}.{name} {bounds}"
        for model in _rows()
        for name, bounds in _numbers(model).items()
        if not (np.isfinite(bounds[0]) and np.isfinite(bounds[1]) and bounds[0] >= 0)
    ]
    assert unbounded == []
    assert len([n for m in _rows() for n in _numbers(m)]) > 40  # the check sees them


def test_the_quantity_maps_have_a_range() -> None:
    data = {"name": "m", "stockpile": _set(SECTION, ("partner_stock", "SHELL155"), 1e13)}
    assert _messages(data) == [
        "s.yaml: stockpile.partner_stock.SHELL155: must be <= 1,000,000,000,000: got "
        "10000000000000"
    ]


def test_the_reference_page_gives_every_range() -> None:
    """docs/scenario.md has one table of accepted values: a row per numeric key with its
    bounds as the field tables hold them."""
    text = DOCS.read_text(encoding="utf-8")
    section = text[text.index("## Accepted values"):]
    section = section[:section.index("\n## ", 4)]
    keys = {
        key.rsplit(".", 1)[-1]
        for cell in re.findall(r"^\| ([^|]+) \|", section, flags=re.M)
        for key in re.findall(r"`([^`]+)`", cell)
    }
    missing = [f"{model.__name__}.{name}" for model in _rows() for name in _numbers(model)
               if name not in keys]
    assert missing == []
    assert {"stock", "floor", "own_use_per_month", "partner_stock"} <= keys  # quantity maps


# ---- compile stays finite at every extreme accepted -----------------------------------------


@pytest.mark.parametrize("extreme", ["largest", "smallest"])
def test_compile_is_finite_at_the_extremes(extreme: str) -> None:
    big = extreme == "largest"
    data = copy.deepcopy(CORE)
    item = data["items"][0]
    item.update(mtbf_hours=0.01 if big else 1e9, unit_cost=1e12 if big else 0,
                depot_repair_days=3650 if big else 1e-9, base_repair_days=3650 if big else 1e-9,
                procurement_days=3650 if big else 1e-9, base_repair_fraction=1.0 if big else 0)
    item["installed_in"][0]["qty"] = 10_000 if big else 1
    data["items"][1].update(depot_repair_days=3650 if big else 1e-9, unit_cost=1e12)
    data["fleets"][0].update(count=1_000_000 if big else 0, hours_per_day=24 if big else 1e-9)
    data["sites"][1]["order_ship_days"] = 3650 if big else 0
    data["stock"] = [{"item": "TX", "site": "WEST", "qty": 10**9 if big else 0},
                     {"item": "TX-PSU", "site": "HUB", "qty": 10**9 if big else 0}]
    arrays = compile_scenario(scenario_from_dict(data))
    for name in ("order_ship_days", "failures_per_hour", "qty_per_system", "unit_cost",
                 "fleet_count", "fleet_hours_per_day", "stock", "depot_repair_days"):
        assert np.all(np.isfinite(getattr(arrays, name))), name
    op = np.zeros((len(arrays.system_ids), len(arrays.site_ids)))
    op[arrays.fleet_system, arrays.fleet_site] = arrays.fleet_count * arrays.fleet_hours_per_day
    demand = arrays.installations.per_system_rate(arrays.failures_per_hour, op)
    assert np.all(np.isfinite(demand))
    # qty · count · hours / MTBF, failures per day of the item at the site
    expected = 10_000 * 1_000_000 * 24 / 0.01 if big else 0.0
    assert demand.max() == pytest.approx(expected)
