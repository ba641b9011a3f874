"""The API returns the CLI's ``--json`` document, byte for byte, and its messages.

For each endpoint the shipped example is sent (with its table files as a multipart
upload where it has them) and the answer compared with ``sustain … --json`` run by
typer's CliRunner on the same file and options.
"""

from __future__ import annotations

import json
import shutil
from pathlib import Path

import pytest
from fastapi.testclient import TestClient
from typer.testing import CliRunner

from sustain.cli.main import app
from tests.web.conftest import EXAMPLES, example

RUNNER = CliRunner()

CASES = [
    # (endpoint and query, CLI arguments, scenario, its table files)
    ("/api/evaluate", ["evaluate"], "coalition-air-defence.yaml",
     ["coalition-air-defence-items.csv"]),
    ("/api/evaluate?method=exact", ["evaluate", "--method", "exact"], "rail-two-echelon.yaml",
     []),
    ("/api/optimize?target=0.9", ["optimize", "--target", "0.9"], "rail-two-echelon.yaml", []),
    ("/api/optimize?budget=2e6&refine_seconds=0",
     ["optimize", "--budget", "2e6", "--refine-seconds", "0"],
     "coalition-air-defence.yaml", ["coalition-air-defence-items.csv"]),
    ("/api/simulate?days=200&reps=4&seed=3",
     ["simulate", "--days", "200", "--reps", "4", "--seed", "3"], "rail-two-echelon.yaml", []),
    ("/api/stockpile", ["stockpile"], "coalition-munitions.yaml",
     ["coalition-munitions-demand.csv"]),
]


def cli(args: list[str], scenario: Path) -> tuple[int, str, str]:
    result = RUNNER.invoke(app, [args[0], str(scenario), *args[1:], "--json"])
    return result.exit_code, result.stdout, result.stderr


@pytest.mark.parametrize(("url", "args", "name", "tables"), CASES,
                         ids=[c[0].removeprefix("/api/") for c in CASES])
def test_each_endpoint_answers_with_the_cli_document(
    client: TestClient, url: str, args: list[str], name: str, tables: list[str]
) -> None:
    code, stdout, stderr = cli(args, EXAMPLES / name)
    assert code == 0, stderr
    if tables:
        files = [("scenario", (name, example(name))),
                 *(("files", (t, example(t))) for t in tables)]
        answer = client.post(url, files=files)
    else:
        answer = client.post(url, content=example(name),
                             headers={"content-type": "application/x-yaml"})
    assert answer.status_code == 200, answer.text
    assert answer.text == stdout
    assert json.loads(answer.text)  # a document, not an empty answer


BROKEN = """\
name: broken
sites: [{id: WEST}]
systems: [{id: SAMX, hours_per_day: 24}]
fleets: [{system: SAMX, site: WESTT, count: 4}]
items: [{id: RADAR, unit_cost: -5, mtbf_hour: 900}]
"""


def test_a_broken_scenario_gets_the_cli_message_as_422(
    client: TestClient, tmp_path: Path
) -> None:
    path = tmp_path / "broken.yaml"
    path.write_text(BROKEN)
    code, _, stderr = cli(["evaluate"], path)
    assert code == 2
    answer = client.post("/api/evaluate", files={"scenario": ("broken.yaml", BROKEN.encode())})
    assert answer.status_code == 422
    body = answer.json()
    assert body["message"] == stderr.strip()
    assert body["exit_code"] == 2
    assert len(body["problems"]) >= 3
    assert all(p in stderr for p in body["problems"])
    assert "Traceback" not in answer.text


@pytest.mark.parametrize(("url", "args"), [
    ("/api/simulate?reps=0", ["simulate", "--reps", "0"]),
    ("/api/simulate?days=-1", ["simulate", "--days", "-1"]),
    ("/api/optimize?target=90", ["optimize", "--target", "90"]),
    ("/api/optimize", ["optimize"]),
    ("/api/optimize?target=0.9&method=exact", ["optimize", "--target", "0.9", "--method",
                                              "exact"]),
])
def test_a_bad_option_gets_the_cli_message_as_422(
    client: TestClient, url: str, args: list[str]
) -> None:
    code, _, stderr = cli(args, EXAMPLES / "rail-two-echelon.yaml")
    assert code == 2
    answer = client.post(url, content=example("rail-two-echelon.yaml"))
    assert answer.status_code == 422
    assert answer.json()["message"] == stderr.strip()


def test_no_stockpile_section_and_an_unreachable_target_as_the_cli_says(
    client: TestClient, tmp_path: Path
) -> None:
    path = tmp_path / "rail-two-echelon.yaml"
    shutil.copy(EXAMPLES / path.name, path)
    code, _, stderr = cli(["stockpile"], path)
    answer = client.post("/api/stockpile", files={"scenario": (path.name, path.read_bytes())})
    assert (code, answer.status_code) == (2, 422)
    assert answer.json()["message"] == stderr.replace(str(path), path.name).strip()
    # A target with too small a budget: no plan exists (exit 3).
    options = ["--target", "0.9", "--budget", "1000", "--refine-seconds", "0"]
    code, _, stderr = cli(["optimize", *options], path)
    answer = client.post("/api/optimize?target=0.9&budget=1000&refine_seconds=0",
                         content=path.read_bytes())
    assert code == 3, stderr
    assert answer.status_code == 422
    assert answer.json()["exit_code"] == 3
    assert answer.json()["message"] == stderr.strip()


def test_a_query_parameter_of_the_wrong_type_is_named(client: TestClient) -> None:
    answer = client.post("/api/simulate?reps=many", content=example("rail-two-echelon.yaml"))
    assert answer.status_code == 422
    assert answer.json()["message"].startswith("error: reps 'many': ")
