"""Oryx loss tables -> attrition and battle-damage rates (``sustain.scenario.oryx``).

Hand-made tables with counts worked by hand give exact rates; the real table
(``shared/data/oryx``, CC BY 4.0) is checked for properties that could fail: what each
pattern catches and what it must not, and the meaning of the count prefix.
"""

from __future__ import annotations

import csv
import datetime as dt
import json
import re
from collections import defaultdict
from pathlib import Path

import pytest
from typer.testing import CliRunner

from sustain.cli.main import app
from sustain.errors import ScenarioError
from sustain.scenario.oryx import (
    ORYX_ATTRIBUTION,
    LossTableError,
    loss_rates,
    system_name,
)

# ../shared/data/oryx next to the repository (the data's README gives licence and caveats).
REAL = Path(__file__).resolve().parents[3] / "shared/data/oryx/ukraine_equipment_losses.csv"
needs_real = pytest.mark.skipif(not REAL.exists(), reason="shared Oryx data not present")

HEADER = "country,origin,system,status,date_recorded,url\n"
# Counted by hand, period 2023-01-01 (inclusive) to 2024-01-01 (exclusive), 365 days:
#   M777A2: destroyed 2 (one with tally 10), captured 1, damaged 1; one more destroyed
#           on 2024-01-01 is outside the period.
#   M109A3GN: abandoned 1, damaged 1.
#   Decoys: '155 M113' (tally 155 before 'M113'), '9M113 Konkurs', a 105 mm howitzer,
#           the Finnish '23 ItK 61' with tally 3.
SMALL = HEADER + """\
Ukraine,United States,155mm M777A2 howitzer,destroyed,2023-01-10,u1
Ukraine,United States,10 155mm M777A2 howitzer,destroyed,2023-01-10,u2
Ukraine,United States,11 155mm M777A2 howitzer,damaged,2023-02-01,u3
Ukraine,United States,12 155mm M777A2 howitzer,captured,2023-03-01,u4
Ukraine,United States,13 155mm M777A2 howitzer,destroyed,2024-01-01,u5
Ukraine,Norway,155mm M109A3GN,abandoned,2023-04-01,u6
Ukraine,Norway,2 155mm M109A3GN,damaged,2023-05-01,u7
Ukraine,United States,155 M113,destroyed,2023-01-15,u8
Ukraine,Soviet Union,9M113 Konkurs,destroyed,2023-01-16,u9
Ukraine,United Kingdom,1 105mm L119 howitzer,destroyed,2023-01-20,u10
Ukraine,Finland,3 23 ItK 61 23mm,captured,2023-06-01,u11
"""
START, END = dt.date(2023, 1, 1), dt.date(2024, 1, 1)


@pytest.fixture
def small(tmp_path: Path) -> Path:
    path = tmp_path / "losses.csv"
    path.write_text(SMALL, encoding="utf-8")
    return path


def test_hand_counted_rates(small: Path) -> None:
    r = loss_rates(small, ["m777", "M109"], fleet_size=10, start=START, end=END)
    assert (r.destroyed, r.captured, r.abandoned, r.damaged) == (2, 1, 1, 2)
    assert r.attrition == 4 and r.days == 365 and r.rows_outside_period == 1
    assert r.attrition_per_system_day == pytest.approx(4 / (10 * 365), rel=1e-15)
    assert r.damage_per_system_day == pytest.approx(2 / (10 * 365), rel=1e-15)
    assert r.attrition_per_day == pytest.approx(4 / 365, rel=1e-15)
    assert r.damage_per_day == pytest.approx(2 / 365, rel=1e-15)
    assert [(s.name, s.attrition, s.damaged) for s in r.systems] == [
        ("155mm M777A2 howitzer", 3, 1),
        ("155mm M109A3GN", 1, 1),
    ]
    assert r.attribution == ORYX_ATTRIBUTION
    assert "CC BY 4.0" in r.attribution and "Oryx" in r.attribution


def test_abandoned_can_be_left_out(small: Path) -> None:
    r = loss_rates(small, "M109", fleet_size=2, start=START, end=END,
                   abandoned_as_loss=False)
    assert (r.attrition, r.abandoned, r.damaged) == (0, 1, 1)
    assert r.attrition_per_system_day == 0.0


def test_period_from_days_and_default_span(small: Path) -> None:
    by_days = loss_rates(small, "M777", fleet_size=5, start=START, days=365)
    assert by_days.end == END and by_days.attrition == 3
    back = loss_rates(small, "M777", fleet_size=5, end=END, days=365)
    assert back.start == START and back.attrition == 3
    # Default: first date_recorded to the day after the last, every row counted.
    span = loss_rates(small, "M777", fleet_size=5)
    assert (span.start, span.end) == (dt.date(2023, 1, 10), dt.date(2024, 1, 2))
    assert span.days == 357 and span.attrition == 4 and span.rows_outside_period == 0
    assert span.start_is_first_match and not by_days.start_is_first_match


def test_default_start_is_the_first_matching_row(small: Path) -> None:
    """M109 rows start on 2023-04-01, after the table's first row (2023-01-10): the period
    runs from there to the day after the table's last row (2024-01-02), 276 days, with one
    abandoned (attrition) and one damaged row: 1 / (2 * 276) each per system-day."""
    r = loss_rates(small, "M109", fleet_size=2)
    assert (r.start, r.end, r.days) == (dt.date(2023, 4, 1), dt.date(2024, 1, 2), 276)
    assert r.attrition_per_system_day == pytest.approx(1 / (2 * 276), rel=1e-15)
    assert r.damage_per_system_day == pytest.approx(1 / (2 * 276), rel=1e-15)
    assert r.start_is_first_match and r.to_dict()["start_is_first_match"] is True
    # With --to only, the start is still the first matching row.
    to = loss_rates(small, "M109", fleet_size=2, end=dt.date(2023, 7, 1))
    assert (to.start, to.days, to.attrition, to.damaged) == (dt.date(2023, 4, 1), 91, 1, 1)
    # An end before the first matching row names that row as the start it must follow.
    with pytest.raises(LossTableError) as info:
        loss_rates(small, "M109", fleet_size=2, end=dt.date(2023, 2, 1))
    assert _messages(info.value) == [
        "losses.csv: end: must be after the first matching row (2023-04-01): got 2023-02-01"]


@pytest.mark.parametrize(
    ("raw", "name"),
    [
        ("10 155mm M777A2 howitzer", "155mm M777A2 howitzer"),
        ("155mm M777A2 howitzer", "155mm M777A2 howitzer"),  # a calibre, not a tally
        ("382 M113", "M113"),
        ("3 23 ItK 61 23mm", "23 ItK 61 23mm"),  # one prefix only
        ("9M113 Konkurs", "9M113 Konkurs"),
        ("  1 2S1 Gvozdika ", "2S1 Gvozdika"),
        ("2S1 Gvozdika", "2S1 Gvozdika"),
    ],
)
def test_tally_prefix_is_removed_once(raw: str, name: str) -> None:
    assert system_name(raw) == name


def test_tally_prefix_is_not_a_count(small: Path) -> None:
    """Four M777A2 rows in the period with tallies none, 10, 11, 12: four systems."""
    r = loss_rates(small, "M777", fleet_size=1, start=START, end=END)
    assert r.attrition + r.damaged == 4


def test_patterns_match_names_without_the_tally(small: Path) -> None:
    # '155 M113' is 'M113' with tally 155: a 155 mm pattern must not catch it.
    r = loss_rates(small, r"^155", fleet_size=1, start=START, end=END)
    assert {s.name for s in r.systems} == {"155mm M777A2 howitzer", "155mm M109A3GN"}
    # A bare 'M113' also catches the Konkurs missile (9M113); a word boundary does not.
    loose = loss_rates(small, "M113", fleet_size=1, start=START, end=END)
    assert {s.name for s in loose.systems} == {"M113", "9M113 Konkurs"}
    strict = loss_rates(small, r"\bM113\b", fleet_size=1, start=START, end=END)
    assert {s.name for s in strict.systems} == {"M113"}


def test_case_and_several_patterns(small: Path) -> None:
    one = loss_rates(small, "m777|M109A3gn", fleet_size=3, start=START, end=END)
    two = loss_rates(small, ["M777", "m109"], fleet_size=3, start=START, end=END)
    assert one.attrition == two.attrition == 4
    assert {s.name for s in one.systems} == {s.name for s in two.systems}
    # Overlapping patterns do not count a row twice.
    both = loss_rates(small, ["M777", "155mm M777"], fleet_size=3, start=START, end=END)
    assert both.attrition == 3


def test_origin_filter(small: Path) -> None:
    r = loss_rates(small, "155mm", fleet_size=1, start=START, end=END, origins=["norway"])
    assert [s.name for s in r.systems] == ["155mm M109A3GN"]


def test_to_dict_is_json(small: Path) -> None:
    doc = loss_rates(small, "M777", fleet_size=4, start=START, end=END).to_dict()
    again = json.loads(json.dumps(doc))
    assert again["start"] == "2023-01-01" and again["attrition"] == 3
    assert again["systems"] == [{"name": "155mm M777A2 howitzer", "attrition": 3,
                                 "damaged": 1}]


# --------------------------------------------------------------------------- bad input


def _messages(exc: ScenarioError) -> list[str]:
    return [str(i) for i in exc.issues]


def test_missing_file(tmp_path: Path) -> None:
    missing = tmp_path / "nope.csv"
    with pytest.raises(LossTableError) as info:
        loss_rates(missing, "M777", fleet_size=1)
    assert _messages(info.value) == [f"{missing}: file not found"]
    assert str(info.value).startswith(f"1 problem with the loss table {missing}:")


def test_missing_columns(tmp_path: Path) -> None:
    path = tmp_path / "t.csv"
    path.write_text("country,origin,sytem,date_recorded\nUkraine,X,Y,2023-01-01\n")
    with pytest.raises(LossTableError) as info:
        loss_rates(path, "Y", fleet_size=1)
    assert _messages(info.value) == [
        "t.csv: system: missing column (the header has: country, origin, sytem, "
        "date_recorded) (did you mean 'sytem'?)",
        "t.csv: status: missing column (the header has: country, origin, sytem, "
        "date_recorded)",
    ]


def test_every_problem_in_one_pass(tmp_path: Path) -> None:
    path = tmp_path / "t.csv"
    path.write_text(HEADER + "Ukraine,US,155mm M777A2 howitzer,destroyd,2023-01-01,u\n"
                    "Ukraine,US,155mm M777A2 howitzer,destroyed,2023-02-30,u\n"
                    "Ukraine,US,155mm M777A2 howitzer,damaged,2023-03-01,u\n")
    with pytest.raises(LossTableError) as info:
        loss_rates(path, ["M777", "Bradly", "M2("], fleet_size=0, start=START, end=END)
    assert _messages(info.value) == [
        "t.csv: fleet_size: must be a number > 0: got 0",
        "t.csv: system: pattern 'M2(' is not a regular expression: missing ), "
        "unterminated subpattern at position 2",
        "t.csv row 2: status: must be one of destroyed, captured, abandoned, damaged: "
        "got 'destroyd' (did you mean 'destroyed'?)",
        "t.csv row 3: date_recorded: must be a date YYYY-MM-DD: got '2023-02-30'",
        "t.csv: system: pattern 'Bradly' matches no system name",
    ]


def test_typo_in_pattern_gets_a_hint(small: Path) -> None:
    with pytest.raises(LossTableError) as info:
        loss_rates(small, "Gvozdka", fleet_size=1)
    assert _messages(info.value) == ["losses.csv: system: pattern 'Gvozdka' matches no "
                                     "system name"]
    with pytest.raises(LossTableError) as info:
        loss_rates(small, "Konkurz", fleet_size=1, origins=["Soviet union", "Fnland"])
    assert _messages(info.value) == [
        "losses.csv: origin: no row has origin 'Fnland' (did you mean 'Finland'?)",
        "losses.csv: system: pattern 'Konkurz' matches no system name of the origins "
        "given (did you mean 'Konkurs'?)",
    ]


@pytest.mark.parametrize(
    ("kwargs", "message"),
    [
        ({"fleet_size": -3.0}, "losses.csv: fleet_size: must be a number > 0: got -3.0"),
        ({"fleet_size": float("nan")}, "losses.csv: fleet_size: must be a number > 0: got nan"),
        ({"fleet_size": 1, "start": START, "days": 0}, "losses.csv: days: must be > 0: got 0"),
        ({"fleet_size": 1, "start": END, "end": START},
         "losses.csv: end: must be after start (2024-01-01): got 2023-01-01"),
        ({"fleet_size": 1, "start": START, "end": END, "days": 3},
         "losses.csv: days: give at most two of start, end and days"),
    ],
)
def test_bad_fleet_or_period(small: Path, kwargs: dict[str, object], message: str) -> None:
    with pytest.raises(LossTableError) as info:
        loss_rates(small, "M777", **kwargs)  # type: ignore[arg-type]
    assert _messages(info.value) == [message]


def test_many_bad_rows_are_summed_up(tmp_path: Path) -> None:
    path = tmp_path / "t.csv"
    path.write_text(HEADER + "".join(f"Ukraine,US,M113,lost,2023-01-01,u{i}\n"
                                     for i in range(25)))
    with pytest.raises(LossTableError) as info:
        loss_rates(path, "M113", fleet_size=1)
    msgs = _messages(info.value)
    assert len(msgs) == 21 and msgs[-1] == "t.csv: and 5 more bad rows"
    assert msgs[0].startswith("t.csv row 2: status:")


# --------------------------------------------------------------------------- real data


@needs_real
def test_real_table_what_patterns_catch() -> None:
    names = {}
    for pattern in ("M777", "M109", "Bradley", "Marder"):
        r = loss_rates(REAL, pattern, fleet_size=100)
        assert r.attrition > 0 and r.damaged > 0, pattern
        names[pattern] = {s.name for s in r.systems}
        assert sum(s.attrition for s in r.systems) == r.attrition
    assert names["M777"] == {"155mm M777A2 howitzer"}
    assert names["M109"] and all(n.startswith("155mm M109") for n in names["M109"])
    assert names["Bradley"] == {"M2A2 Bradley ODS-SA"}
    assert names["Marder"] == {"Marder 1A3"}


@needs_real
def test_real_table_155mm_pattern_catches_no_other_calibre() -> None:
    r = loss_rates(REAL, r"155\s*mm", fleet_size=1)
    assert r.systems
    for s in r.systems:
        assert "155" in s.name
        assert not re.search(r"\b(105|122|152|203)\s*mm", s.name), s.name
    # 'M113' rows carry tallies up to 382, some of them 155: none is caught.
    assert not any("M113" in s.name for s in r.systems)


@needs_real
def test_real_table_tally_is_a_running_index() -> None:
    """The prefix rises with date_recorded for one system, and follows the number of its
    rows recorded so far: an index.  Read as counts the tallies would add up to more
    than ten times the rows."""
    with REAL.open(encoding="utf-8") as f:
        rows = list(csv.DictReader(f))
    tallies: dict[str, list[tuple[str, int]]] = defaultdict(list)
    for row in rows:
        m = re.match(r"(\d+)\s+\S", row["system"])
        if m:
            tallies[system_name(row["system"])].append((row["date_recorded"], int(m[1])))
    m777 = sorted(tallies["155mm M777A2 howitzer"])
    assert [t for _, t in m777] == sorted(t for _, t in m777)
    n_rows = sum(1 for row in rows if system_name(row["system"]) == "155mm M777A2 howitzer")
    assert m777[-1][1] <= n_rows < sum(t for _, t in m777) / 10
    # Only one name in the table itself starts with digits and a space (and it is tallied).
    assert {n for n in tallies if re.match(r"\d+\s", n)} == {"23 ItK 61 23mm"}


#: The worked example's fleets (docs/oryx.md): donated 155 mm SP howitzers and IFVs.
EXAMPLE_SETS = [
    ([r"M109", r"Panzerhaubitze 2000|PzH ?2000", r"AS-90", r"Krab", r"Caesar", r"Zuzana",
      r"Archer"], dt.date(2022, 6, 1)),
    ([r"Bradley", r"Marder", r"CV ?90"], dt.date(2023, 5, 1)),
]


@needs_real
@pytest.mark.parametrize(("patterns", "start"), EXAMPLE_SETS)
def test_real_table_example_counts_against_a_plain_count(
    patterns: list[str], start: dt.date
) -> None:
    """The docs' counts, recounted with nothing but csv and re on the raw rows (none of
    these names can be confused with a tally), and no towed or Ukrainian-made gun."""
    end = dt.date(2025, 7, 20)
    rx = re.compile("|".join(patterns), re.IGNORECASE)
    with REAL.open(encoding="utf-8") as f:
        raw = [row for row in csv.DictReader(f) if rx.search(row["system"])
               and start.isoformat() <= row["date_recorded"] < end.isoformat()]
    lost = sum(row["status"] in ("destroyed", "captured", "abandoned") for row in raw)
    damaged = sum(row["status"] == "damaged" for row in raw)
    r = loss_rates(REAL, patterns, fleet_size=100, start=start, end=end)
    assert (r.attrition, r.damaged) == (lost, damaged)
    assert r.attrition_per_system_day == pytest.approx(lost / (100 * r.days), rel=1e-15)
    for s in r.systems:
        assert not re.search(r"M777|FH-70|TRF1|Bohdana|BMP|M113", s.name), s.name


# --------------------------------------------------------------------------- CLI

RUNNER = CliRunner()


def test_cli_json_and_table(small: Path) -> None:
    args = ["oryx", str(small), "--pattern", "M777|M109", "--fleet-size", "10",
            "--from", "2023-01-01", "--to", "2024-01-01"]
    result = RUNNER.invoke(app, [*args, "--json"])
    assert result.exit_code == 0, result.output
    doc = json.loads(result.stdout)
    assert doc["attrition"] == 4 and doc["damaged"] == 2 and doc["days"] == 365
    assert doc["attrition_per_system_day"] == pytest.approx(4 / 3650, rel=1e-15)
    table = RUNNER.invoke(app, args)
    assert table.exit_code == 0, table.output
    for text in ("155mm M777A2 howitzer", "155mm M109A3GN", "0.001096", "CC BY 4.0"):
        assert text in table.stdout


def test_cli_output_files(small: Path, tmp_path: Path) -> None:
    """``-o``: the rates as CSV (counted by hand: 4 losses and 2 damaged over 10 systems
    and 365 days), the report with the systems matched, the JSON document as --json."""
    args = ["oryx", str(small), "--pattern", "M777|M109", "--fleet-size", "10",
            "--from", "2023-01-01", "--to", "2024-01-01"]
    files = [tmp_path / f"rates.{ext}" for ext in ("csv", "md", "json")]
    result = RUNNER.invoke(app, [*args, *[a for f in files for a in ("-o", str(f))]])
    assert result.exit_code == 0, result.output
    rows = list(csv.DictReader(files[0].read_text(encoding="utf-8").splitlines()))
    assert [r["count"] for r in rows] == ["4", "2"]
    assert float(rows[0]["per system per day"]) == pytest.approx(4 / 3650, rel=1e-12)
    assert float(rows[1]["per day (fleet)"]) == pytest.approx(2 / 365, rel=1e-12)
    report = files[1].read_text(encoding="utf-8")
    assert "| 155mm M777A2 howitzer | 3 | 1 |" in report and "CC BY 4.0" in report
    assert json.loads(files[2].read_text(encoding="utf-8"))["attrition"] == 4
    assert all(f"written: {f}" in result.stderr for f in files)


def test_cli_output_never_replaces_the_loss_table(small: Path) -> None:
    before = small.read_bytes()
    result = RUNNER.invoke(app, ["oryx", str(small), "-p", "M777", "--fleet-size", "3",
                                 "-o", str(small)])
    assert result.exit_code == 2 and "the loss table" in result.stderr
    assert small.read_bytes() == before


@pytest.mark.parametrize(
    ("extra", "stderr"),
    [
        (["--fleet-size", "0"], "fleet_size: must be a number > 0: got 0.0"),
        (["--fleet-size", "1", "--pattern", "Bradly"], "pattern 'Bradly' matches no system"),
        (["--fleet-size", "1", "--from", "2023-02-30"],
         "error: --from '2023-02-30': expected a date YYYY-MM-DD"),
    ],
)
def test_cli_bad_input_exits_2(small: Path, extra: list[str], stderr: str) -> None:
    result = RUNNER.invoke(app, ["oryx", str(small), "--pattern", "M777", *extra, "--json"])
    assert result.exit_code == 2
    assert stderr in result.stderr
    assert result.stdout == "" and "Traceback" not in result.stderr


def test_cli_default_start_is_the_first_matching_row(small: Path) -> None:
    result = RUNNER.invoke(app, ["oryx", str(small), "-p", "M109", "--fleet-size", "2"])
    assert result.exit_code == 0, result.output
    assert "2023-04-01 (first matching row) to 2024-01-02" in result.stdout
    assert "276 days" in result.stdout


def test_cli_missing_file_exits_2(tmp_path: Path) -> None:
    missing = tmp_path / "nope.csv"
    result = RUNNER.invoke(app, ["oryx", str(missing), "-p", "M777", "--fleet-size", "3"])
    assert result.exit_code == 2
    assert result.stderr == (f"1 problem with the loss table {missing}:\n"
                             f"  {missing}: file not found\n")


@needs_real
@pytest.mark.parametrize(
    ("system", "patterns", "start", "fleet_size"),
    [("HOW155", *EXAMPLE_SETS[0], 130.0), ("IFV", *EXAMPLE_SETS[1], 225.0)],
)
def test_worked_example_losses_come_from_the_data(
    system: str, patterns: list[str], start: dt.date, fleet_size: float
) -> None:
    """The example's attrition and battle-damage rows are the helper's per-system rates
    (from the real table, with the fleet sizes and periods the example states) times each
    fleet's day-0 count, to the 4 digits written in the file; and it carries the attribution."""
    from sustain.scenario import load_scenario
    from tests.conftest import EXAMPLES

    path = EXAMPLES / "coalition-air-defence.yaml"
    sc = load_scenario(path)
    r = loss_rates(REAL, patterns, fleet_size=fleet_size, start=start,
                   end=dt.date(2025, 7, 20))
    count = {(f.system, f.site): f.count for f in sc.fleets}
    att = [x for x in sc.attrition if x.system == system]
    dmg = [x for x in sc.battle_damage if x.system == system]
    fleets = {k for k in count if k[0] == system}
    assert {(x.system, x.site) for x in att} == fleets == {(x.system, x.site) for x in dmg}
    for x in att:
        assert x.losses_per_day == pytest.approx(
            r.attrition_per_system_day * count[(x.system, x.site)], rel=1e-3)
    for y in dmg:
        assert y.damaged_per_day == pytest.approx(
            r.damage_per_system_day * count[(y.system, y.site)], rel=1e-3)
    assert ORYX_ATTRIBUTION in path.read_text(encoding="utf-8")
