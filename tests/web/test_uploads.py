"""Uploads stay inside their own folder; oversize uploads and bad forms are refused."""

from __future__ import annotations

from pathlib import Path

import pytest
from fastapi.testclient import TestClient

from sustain.web.uploads import Upload, UploadError, form_upload, safe_name, write_upload
from tests.web.conftest import Client, example

ITEMS = "coalition-air-defence-items.csv"
SCENARIO = "coalition-air-defence.yaml"


def scenario_with_items(ref: str) -> bytes:
    """The worked example with its items table read from ``ref``."""
    text = example(SCENARIO).decode()
    assert f"items: {{file: {ITEMS}}}" in text
    return text.replace(f"items: {{file: {ITEMS}}}", f"items: {{file: {ref!r}}}").encode()


@pytest.mark.parametrize("name", ["../x.csv", "a/../../x.csv", "/etc/passwd", "C:items.csv",
                                  "..\\x.csv", "", "./x.csv", "a//b.csv", "x\x00.csv"])
def test_a_file_name_that_leaves_the_upload_is_refused(name: str) -> None:
    with pytest.raises(UploadError, match="a file name must be a relative path"):
        safe_name(name)


def test_plain_relative_names_are_kept() -> None:
    assert safe_name("items.csv") == "items.csv"
    assert safe_name("tables/items.csv") == "tables/items.csv"


def test_an_upload_is_written_to_a_new_folder_of_its_own(tmp_path: Path) -> None:
    upload = form_upload(("s.yaml", b"a: 1\n"), [("t/items.csv", b"x\n")])
    one, two = write_upload(upload, tmp_path), write_upload(upload, tmp_path)
    assert one != two and one.parent == two.parent == tmp_path.resolve()
    assert (one / "t" / "items.csv").read_bytes() == b"x\n"
    assert sorted(p.name for p in tmp_path.iterdir()) == sorted([one.name, two.name])


def test_the_hash_covers_names_and_bytes() -> None:
    a = Upload(files=(("s.yaml", b"ab"), ("t.csv", b"c")))
    assert a.sha256 != Upload(files=(("s.yaml", b"a"), ("t.csv", b"bc"))).sha256
    assert a.sha256 != Upload(files=(("s.yaml", b"ab"), ("u.csv", b"c"))).sha256
    assert a.sha256 == Upload(files=(("s.yaml", b"ab"), ("t.csv", b"c"))).sha256


def test_a_multipart_file_name_with_dot_dot_is_refused(client: TestClient) -> None:
    answer = client.post("/api/evaluate", files=[
        ("scenario", (SCENARIO, scenario_with_items("../items.csv"))),
        ("files", ("../items.csv", example(ITEMS)))])
    assert answer.status_code == 422
    assert "'../items.csv': a file name must be a relative path" in answer.json()["message"]


@pytest.mark.parametrize("where", ["outside", "absolute"])
def test_a_table_reference_out_of_the_upload_is_refused_by_the_loader(
    make_client: Client, tmp_path: Path, where: str
) -> None:
    """The items table exists next to the upload folders, and at an absolute path:
    neither is read (the loader's rule: table files inside the scenario's folder)."""
    client = make_client()
    uploads = tmp_path / "data0" / "uploads"
    uploads.mkdir(parents=True, exist_ok=True)
    (uploads / ITEMS).write_bytes(example(ITEMS))
    ref = f"../{ITEMS}" if where == "outside" else str(uploads / ITEMS)
    answer = client.post("/api/evaluate", files=[("scenario", (SCENARIO,
                                                               scenario_with_items(ref)))])
    assert answer.status_code == 422
    body = answer.json()
    assert any("outside the scenario's folder" in p for p in body["problems"]), body
    assert "Traceback" not in answer.text


def test_a_missing_table_file_is_named_without_the_servers_folders(
    make_client: Client, tmp_path: Path
) -> None:
    """The scenario names a table file the upload lacks: the message names the file as
    the upload does, not the server's folder it was written to."""
    client = make_client()
    answer = client.post("/api/evaluate", content=example(SCENARIO),
                         headers={"content-type": "application/yaml"})
    assert answer.status_code == 422
    body = answer.json()
    assert any(f"'{ITEMS}' not found (looked for {ITEMS})" in p
               for p in body["problems"]), body
    assert str(tmp_path) not in answer.text and "uploads" not in answer.text


def test_yaml_tags_that_build_objects_are_refused(client: TestClient) -> None:
    body = b"name: !!python/object/apply:os.system ['echo hi']\nsites: []\n"
    answer = client.post("/api/evaluate", content=body)
    assert answer.status_code == 422
    assert "python/object" in answer.json()["message"]


def test_an_oversize_upload_gets_413(make_client: Client) -> None:
    client = make_client(max_upload_bytes=1000)
    answer = client.post("/api/evaluate", content=b"#" * 1001)
    assert answer.status_code == 413
    assert answer.json()["message"] == (
        "error: the upload is larger than the server's limit of 0.000953674 MB "
        "(sustain serve --max-upload-mb)")
    # Sent in chunks, without a length: refused as the limit is passed.
    answer = client.post("/api/evaluate", content=iter([b"#" * 600, b"#" * 600]))
    assert answer.status_code == 413
    assert client.get("/api/runs").json() == []  # nothing ran, nothing kept


def test_a_form_without_the_scenario_or_with_a_stray_field_is_refused(
    client: TestClient,
) -> None:
    answer = client.post("/api/evaluate", files=[("files", (ITEMS, example(ITEMS)))])
    assert answer.status_code == 422
    assert "no field 'scenario'" in answer.json()["message"]
    answer = client.post("/api/evaluate", files=[("scenario", (SCENARIO, example(SCENARIO))),
                                                 ("other", ("x.csv", b"x"))])
    assert answer.status_code == 422
    assert "unknown form field 'other'" in answer.json()["message"]
    answer = client.post("/api/evaluate", content=b"  \n")
    assert answer.status_code == 422
    assert "the request has no scenario" in answer.json()["message"]


def test_uploads_are_removed_when_the_run_is_over(make_client: Client, tmp_path: Path) -> None:
    client = make_client()
    answer = client.post("/api/evaluate", content=example("rail-two-echelon.yaml"))
    assert answer.status_code == 200
    assert list((tmp_path / "data0" / "uploads").iterdir()) == []
