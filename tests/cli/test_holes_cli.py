"""``--holes`` on ``sustain evaluate`` and ``sustain optimize``, and the FMC column."""

from __future__ import annotations

import dataclasses
import json

from typer.testing import CliRunner

import sustain
from sustain.cli.main import app
from tests.conftest import EXAMPLES

RUNNER = CliRunner()
EXAMPLE = EXAMPLES / "coalition-air-defence.yaml"


def _fleets(args: list[str]) -> list[dict[str, object]]:
    r = RUNNER.invoke(app, [*args, "--json"])
    assert r.exit_code == 0, r.output
    return json.loads(r.stdout)["fleets"]


def test_holes_option_overrides_the_scenario() -> None:
    sc = sustain.load_scenario(EXAMPLE)
    want = sustain.evaluate(dataclasses.replace(sc, holes="consolidated"))
    got = _fleets(["evaluate", str(EXAMPLE), "--holes", "consolidated"])
    assert [f["availability"] for f in got] == [
        None if a != a else float(a) for a in want.availability]
    spread = _fleets(["evaluate", str(EXAMPLE)])
    samx = [n for n, f in enumerate(got) if f["system"] == "SAMX"]
    assert all(got[n]["availability"] != spread[n]["availability"] for n in samx)


def test_holes_option_rejects_other_values() -> None:
    r = RUNNER.invoke(app, ["evaluate", str(EXAMPLE), "--holes", "random"])
    assert r.exit_code == 2


def test_fmc_column_only_with_redundancy(tmp_path) -> None:  # type: ignore[no-untyped-def]
    plain = tmp_path / "plain.yaml"
    plain.write_text(
        "sites: [{id: D}]\nsystems: [{id: S}]\n"
        "fleets: [{system: S, site: D, count: 3, hours_per_day: 10}]\n"
        "items: [{id: I, mtbf_hours: 300, depot_repair_days: 20, installed_in: 'S:2'}]\n",
        encoding="utf-8")
    r = RUNNER.invoke(app, ["evaluate", str(plain), "-o", str(tmp_path / "a.md")])
    assert r.exit_code == 0, r.output
    assert "FMC" not in r.output
    assert "| FMC |" not in (tmp_path / "a.md").read_text(encoding="utf-8")
    red = tmp_path / "red.yaml"
    red.write_text(plain.read_text(encoding="utf-8").replace("'S:2'", "'S:2/1'"),
                   encoding="utf-8")
    r = RUNNER.invoke(app, ["evaluate", str(red), "-o", str(tmp_path / "b.md")])
    assert r.exit_code == 0, r.output
    assert "FMC" in r.output
    assert "| FMC |" in (tmp_path / "b.md").read_text(encoding="utf-8")
