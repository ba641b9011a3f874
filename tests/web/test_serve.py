"""``sustain serve``: loopback by default, a token elsewhere, every request checked."""

from __future__ import annotations

import pytest
from typer.testing import CliRunner

from sustain.cli.common import OptionError
from sustain.cli.main import app
from sustain.cli.serve_cmd import check_serve_options, is_loopback
from tests.cli.test_startup import loaded
from tests.web.conftest import Client

TOKEN = "s3cret-token-0123456789"


@pytest.mark.parametrize(("host", "loopback"), [
    ("127.0.0.1", True), ("127.1.2.3", True), ("localhost", True), ("::1", True),
    ("[::1]", True), ("0.0.0.0", False), ("192.168.1.10", False), ("::", False),
    ("example.org", False),
])
def test_loopback_addresses(host: str, loopback: bool) -> None:
    assert is_loopback(host) is loopback


def test_another_address_needs_a_token() -> None:
    assert check_serve_options("127.0.0.1", 8000, None) is None
    assert check_serve_options("0.0.0.0", 8000, TOKEN) == TOKEN
    with pytest.raises(OptionError, match="give --token"):
        check_serve_options("0.0.0.0", 8000, None)
    with pytest.raises(OptionError, match="at least 16 characters"):
        check_serve_options("0.0.0.0", 8000, "short")
    with pytest.raises(OptionError, match="--port 0"):
        check_serve_options("127.0.0.1", 0, None)


def test_serve_refuses_an_open_address_without_a_token(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.delenv("SUSTAIN_TOKEN", raising=False)
    result = CliRunner().invoke(app, ["serve", "--host", "0.0.0.0"])
    assert result.exit_code == 2
    assert result.stderr.startswith("error: --host 0.0.0.0: other machines could reach")


def test_with_a_token_every_request_must_carry_it(make_client: Client) -> None:
    client = make_client(token=TOKEN)
    for headers in ({}, {"Authorization": "Bearer wrong"}, {"Authorization": TOKEN}):
        answer = client.get("/api/runs", headers=headers)
        assert answer.status_code == 401
        assert answer.headers["www-authenticate"] == "Bearer"
        assert "needs its token" in answer.json()["message"]
    assert client.get("/docs").status_code == 401
    assert client.post("/api/evaluate", content=b"x: 1\n").status_code == 401
    good = {"Authorization": f"Bearer {TOKEN}"}
    assert client.get("/api/runs", headers=good).json() == []
    assert client.get("/openapi.json", headers=good).status_code == 200


def test_the_openapi_page_lists_every_endpoint(make_client: Client) -> None:
    paths = make_client().get("/openapi.json").json()["paths"]
    assert set(paths) == {"/api/evaluate", "/api/optimize", "/api/simulate", "/api/stockpile",
                          "/api/next", "/api/sweep", "/api/jobs/{run_id}",
                          "/api/jobs/{run_id}/result", "/api/runs", "/api/runs/{run_id}"}
    assert "multipart/form-data" in paths["/api/evaluate"]["post"]["requestBody"]["content"]


def test_the_command_line_does_not_load_the_web_app() -> None:
    assert loaded("import sustain.cli.main", ("fastapi", "sqlalchemy", "uvicorn",
                                              "sustain.web.app")) == []
