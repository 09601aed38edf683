"""Run and model files through the real MLflow client: the `mlflow-artifacts` endpoints, and
models logged, registered and loaded back through every kind of model URI."""

from __future__ import annotations

import filecmp
import hashlib
import json
import os
from pathlib import Path

import mlflow
import numpy as np
import pytest
import requests
from mlflow.exceptions import MlflowException

from support import BLOB_URL, MLFLOW_MAJOR, bearer


def _tree(root: Path) -> dict[str, bytes]:
    return {str(p.relative_to(root)): p.read_bytes() for p in sorted(root.rglob("*")) if p.is_file()}


def test_log_list_download_round_trip(client, tmp_path):
    exp = client.create_experiment("files")
    run = client.create_run(exp).info
    src = tmp_path / "src"
    (src / "sub" / "deeper").mkdir(parents=True)
    (src / "a.txt").write_text("alpha\n")
    (src / "sub" / "b.bin").write_bytes(os.urandom(300_000))
    (src / "sub" / "deeper" / "c.json").write_text('{"c": 1}')
    (src / "empty.txt").write_bytes(b"")
    client.log_artifacts(run.run_id, str(src))
    client.log_artifact(run.run_id, str(src / "a.txt"), artifact_path="single")
    client.log_text(run.run_id, "some text", "notes/readme.md")
    client.log_dict(run.run_id, {"k": [1, 2]}, "config.json")

    top = {(f.path, f.is_dir, f.file_size) for f in client.list_artifacts(run.run_id)
           if f.path != "config.json"}
    assert top == {("a.txt", False, 6), ("empty.txt", False, 0),
                   ("sub", True, None), ("single", True, None), ("notes", True, None)}
    sub = {(f.path, f.is_dir) for f in client.list_artifacts(run.run_id, "sub")}
    assert sub == {("sub/b.bin", False), ("sub/deeper", True)}
    assert client.list_artifacts(run.run_id, "missing") == []

    for d in ("all", "one", "folder"):
        (tmp_path / d).mkdir()
    whole = Path(client.download_artifacts(run.run_id, "", str(tmp_path / "all")))
    got = _tree(whole)
    assert {k: v for k, v in got.items() if k in _tree(src)} == _tree(src)
    assert got["notes/readme.md"] == b"some text"
    assert json.loads(got["config.json"]) == {"k": [1, 2]}
    sizes = {f.path: f.file_size for f in client.list_artifacts(run.run_id)}
    assert sizes["config.json"] == len(got["config.json"])

    one = client.download_artifacts(run.run_id, "sub/b.bin", str(tmp_path / "one"))
    assert filecmp.cmp(one, src / "sub" / "b.bin", shallow=False)
    folder = Path(client.download_artifacts(run.run_id, "sub", str(tmp_path / "folder")))
    assert _tree(folder) == {k.removeprefix("sub/"): v for k, v in _tree(src).items() if k.startswith("sub/")}


def test_log_image_and_overwrite(client, tmp_path):
    exp = client.create_experiment("images")
    run = client.create_run(exp).info
    pixels = (np.arange(48, dtype=np.uint8).reshape(4, 4, 3))
    client.log_image(run.run_id, pixels, "plots/img.png")
    assert [f.path for f in client.list_artifacts(run.run_id, "plots")] == ["plots/img.png"]
    png = Path(client.download_artifacts(run.run_id, "plots/img.png", str(tmp_path)))
    assert png.read_bytes().startswith(b"\x89PNG")

    client.log_text(run.run_id, "first", "x.txt")
    client.log_text(run.run_id, "second, longer", "x.txt")
    (tmp_path / "x").mkdir()
    again = Path(client.download_artifacts(run.run_id, "x.txt", str(tmp_path / "x")))
    assert again.read_text() == "second, longer"


def test_raw_endpoints_range_delete_and_headers(client, tracking_uri, admin_token):
    exp = client.create_experiment("raw")
    run = client.create_run(exp).info
    base = f"{tracking_uri}/api/2.0/mlflow-artifacts/artifacts"
    rel = run.artifact_uri.removeprefix("mlflow-artifacts:/")
    auth = bearer(admin_token)
    body = bytes(range(256)) * 40
    r = requests.put(f"{base}/{rel}/data/blob.bin", data=body, headers=auth, timeout=30)
    assert r.status_code == 200, r.text

    r = requests.get(f"{base}/{rel}/data/blob.bin", headers=auth, timeout=30)
    assert r.status_code == 200 and r.content == body
    assert r.headers["Content-Length"] == str(len(body))
    assert r.headers["X-Checksum-Sha256"] == hashlib.sha256(body).hexdigest()
    assert r.headers["X-Content-Type-Options"] == "nosniff"
    assert r.headers["Content-Disposition"].startswith('attachment; filename="blob.bin"')

    r = requests.get(f"{base}/{rel}/data/blob.bin", headers={**auth, "Range": "bytes=100-199"}, timeout=30)
    assert r.status_code == 206 and r.content == body[100:200]
    assert r.headers["Content-Range"] == f"bytes 100-199/{len(body)}"
    r = requests.get(f"{base}/{rel}/data/blob.bin", headers={**auth, "Range": "bytes=-10"}, timeout=30)
    assert r.status_code == 206 and r.content == body[-10:]
    r = requests.get(f"{base}/{rel}/data/blob.bin", headers={**auth, "Range": f"bytes={len(body)}-"}, timeout=30)
    assert r.status_code == 416 and r.headers["Content-Range"] == f"bytes */{len(body)}"

    r = requests.get(f"{base}/{rel}/data", headers=auth, timeout=30)
    assert r.status_code == 400 and "directory" in r.json()["message"]
    r = requests.get(f"{base}/{rel}/nope.bin", headers=auth, timeout=30)
    assert r.status_code == 404 and r.json()["error_code"] == "RESOURCE_DOES_NOT_EXIST"
    r = requests.put(f"{base}/{rel}/data/", data=b"x", headers=auth, timeout=30)
    assert r.status_code == 400

    # An HTML upload is never served as a page.
    requests.put(f"{base}/{rel}/page.html", data=b"<script>alert(1)</script>", headers=auth, timeout=30)
    r = requests.get(f"{base}/{rel}/page.html", headers=auth, timeout=30)
    assert "html" not in r.headers["Content-Type"] and r.headers["X-Content-Type-Options"] == "nosniff"

    r = requests.delete(f"{base}/{rel}/data", headers=auth, timeout=30)
    assert r.status_code == 200 and r.json() == {}
    assert [f.path for f in client.list_artifacts(run.run_id)] == ["page.html"]
    r = requests.delete(f"{base}/{rel}/data", headers=auth, timeout=30)
    assert r.status_code == 200

    # Direct (multipart, presigned) transfers exist exactly on S3-compatible storage.
    r = requests.get(f"{tracking_uri}/api/3.0/mlflow/server-info", timeout=30)
    assert r.status_code == 200 and r.json()["multipart_uploads_enabled"] is bool(BLOB_URL)
    if not BLOB_URL:
        r = requests.post(f"{tracking_uri}/api/2.0/mlflow-artifacts/mpu/create/{rel}",
                          json={"path": "f.bin", "num_parts": 2}, headers=auth, timeout=30)
        assert r.status_code == 501 and r.json()["error_code"] == "NOT_IMPLEMENTED"
        assert r.json()["message"].startswith("Multipart upload is not supported")


@pytest.mark.skipif(not BLOB_URL, reason="direct transfers need S3-compatible storage")
def test_multipart_upload_and_presigned_download_on_s3(hangar, client, tracking_uri, admin_token,
                                                     tmp_path, monkeypatch):
    # Small thresholds so that a 12 MiB file goes in three parts straight to the bucket.
    monkeypatch.setenv("MLFLOW_MULTIPART_UPLOAD_MINIMUM_FILE_SIZE", "1")
    monkeypatch.setenv("MLFLOW_MULTIPART_UPLOAD_CHUNK_SIZE", str(5 * 1024 * 1024))
    monkeypatch.setenv("MLFLOW_MULTIPART_DOWNLOAD_MINIMUM_FILE_SIZE", "1")
    monkeypatch.setenv("MLFLOW_MULTIPART_DOWNLOAD_CHUNK_SIZE", str(4 * 1024 * 1024))
    if MLFLOW_MAJOR < 3:
        # MLflow 2 never reads server-info: it takes direct transfers only when told to.
        monkeypatch.setenv("MLFLOW_ENABLE_PROXY_MULTIPART_UPLOAD", "true")
        monkeypatch.setenv("MLFLOW_ENABLE_PROXY_MULTIPART_DOWNLOAD", "true")
    exp = client.create_experiment("mpu")
    run = client.create_run(exp).info
    src = tmp_path / "weights.bin"
    src.write_bytes(os.urandom(12 * 1024 * 1024 + 123))
    before = hangar.log_text().count("mpu/complete")
    client.log_artifact(run.run_id, str(src), "model")
    assert hangar.log_text().count("mpu/complete") > before, "the upload went in parts"
    listed = client.list_artifacts(run.run_id, "model")
    assert [(f.path, f.file_size) for f in listed] == [("model/weights.bin", src.stat().st_size)]
    (tmp_path / "out").mkdir()
    got = Path(client.download_artifacts(run.run_id, "model/weights.bin", str(tmp_path / "out")))
    assert filecmp.cmp(got, src, shallow=False)
    if MLFLOW_MAJOR >= 3:  # MLflow 2 downloads only through the server
        assert "mlflow-artifacts/presigned" in hangar.log_text()
    # A signed download URL makes the bucket answer with plain bytes, as an attachment.
    rel = client.get_run(run.run_id).info.artifact_uri.removeprefix("mlflow-artifacts:/")
    signed = requests.get(f"{tracking_uri}/api/2.0/mlflow-artifacts/presigned/{rel}/model/weights.bin",
                          headers=bearer(admin_token), timeout=30)
    assert signed.status_code == 200, signed.text
    r = requests.get(signed.json()["url"], headers={"Range": "bytes=0-9"}, timeout=30)
    assert r.status_code in (200, 206) and r.content[:10] == src.read_bytes()[:10]
    assert r.headers["Content-Type"] == "application/octet-stream"
    assert r.headers["Content-Disposition"] == "attachment"


def test_checksum_header_is_verified(client, tracking_uri, admin_token):
    exp = client.create_experiment("sums")
    rel = client.create_run(exp).info.artifact_uri.removeprefix("mlflow-artifacts:/")
    url = f"{tracking_uri}/api/2.0/mlflow-artifacts/artifacts/{rel}/f.txt"
    good = hashlib.sha256(b"hello").hexdigest()
    r = requests.put(url, data=b"hello", headers={**bearer(admin_token), "X-Checksum-Sha256": good}, timeout=30)
    assert r.status_code == 200
    r = requests.put(url, data=b"HELLO", headers={**bearer(admin_token), "X-Checksum-Sha256": good}, timeout=30)
    assert r.status_code == 400
    assert requests.get(url, headers=bearer(admin_token), timeout=30).content == b"hello"


def _trained_model():
    from sklearn.linear_model import LogisticRegression

    x = np.array([[0.0, 1.0], [1.0, 0.0], [2.0, 1.0], [0.5, 3.0], [3.0, 0.2], [1.5, 2.5]])
    y = np.array([0, 1, 1, 0, 1, 0])
    return LogisticRegression().fit(x, y), x


def test_log_register_and_load_model_every_uri(client, tracking_uri):
    model, x = _trained_model()
    expected = model.predict(x)
    mlflow.set_experiment("sk")

    def log(**kwargs):
        if MLFLOW_MAJOR >= 3:
            return mlflow.sklearn.log_model(model, name="model", input_example=x[:2], **kwargs)
        return mlflow.sklearn.log_model(model, artifact_path="model", input_example=x[:2], **kwargs)

    with mlflow.start_run():
        info = log(registered_model_name="clf")
    assert str(info.registered_model_version) == "1"
    # A run becomes one version at most (GitLab's rule): the second version is another run's.
    with mlflow.start_run() as run:
        log()
    second = mlflow.register_model(f"runs:/{run.info.run_id}/model", "clf")
    assert second.version == "2"
    client.set_registered_model_alias("clf", "champion", "1")

    uris = [f"runs:/{run.info.run_id}/model", "models:/clf/1", "models:/clf/2", "models:/clf/latest",
            "models:/clf@champion", "models:/clf@1.0.1"]
    if MLFLOW_MAJOR >= 3:
        uris.append(f"models:/{info.model_id}")
    for uri in uris:
        loaded = mlflow.pyfunc.load_model(uri)
        assert list(loaded.predict(x)) == list(expected), uri
    assert list(mlflow.sklearn.load_model("models:/clf@1.0.0").predict(x)) == list(expected)


def test_artifact_writes_need_a_writer(hangar, api, project, client, tracking_uri):
    from support import GUEST, REPORTER
    exp = client.create_experiment("perm")
    rel = client.create_run(exp).info.artifact_uri.removeprefix("mlflow-artifacts:/")
    url = f"{tracking_uri}/api/2.0/mlflow-artifacts/artifacts/{rel}/f.txt"
    _, guest = api.user_with_token(project["id"], GUEST)
    _, reporter = api.user_with_token(project["id"], REPORTER)
    r = requests.put(url, data=b"no", headers=bearer(guest["token"]), timeout=30)
    assert r.status_code == 403 and r.json()["error_code"] == "PERMISSION_DENIED"
    r = requests.put(url, data=b"yes", headers=bearer(reporter["token"]), timeout=30)
    assert r.status_code == 200
    assert requests.get(url, headers=bearer(guest["token"]), timeout=30).content == b"yes"
    assert requests.delete(url, headers=bearer(guest["token"]), timeout=30).status_code == 403
    assert requests.get(url, timeout=30).status_code in (401, 404)


def test_a_whole_run_downloads_as_dot_and_lists_through_the_tracking_api(client, tracking_uri, admin_token, tmp_path):
    exp = client.create_experiment("whole-run")
    run = client.create_run(exp).info
    client.log_text(run.run_id, "top", "top.txt")
    client.log_text(run.run_id, "deep", "model/sub/deep.txt")
    got = Path(mlflow.artifacts.download_artifacts(run_id=run.run_id, artifact_path=".", dst_path=str(tmp_path)))
    assert _tree(got) == {"top.txt": b"top", "model/sub/deep.txt": b"deep"}

    # `artifacts/list` of the tracking API, as MLflow's server answers it.
    listed = requests.get(f"{tracking_uri}/api/2.0/mlflow/artifacts/list", params={"run_id": run.run_id},
                          headers=bearer(admin_token))
    assert listed.status_code == 200, listed.text
    assert listed.json()["root_uri"] == run.artifact_uri
    assert sorted((f["path"], f["is_dir"]) for f in listed.json()["files"]) == [("model", True), ("top.txt", False)]
    sub = requests.get(f"{tracking_uri}/api/2.0/mlflow/artifacts/list", params={"run_id": run.run_id, "path": "model/sub"},
                       headers=bearer(admin_token)).json()
    assert sub["files"] == [{"path": "model/sub/deep.txt", "is_dir": False, "file_size": 4}]
    for bad, status in [({"run_id": run.run_id, "path": "../x"}, 400), ({"run_id": "0" * 32}, 404), ({}, 400)]:
        r = requests.get(f"{tracking_uri}/api/2.0/mlflow/artifacts/list", params=bad, headers=bearer(admin_token))
        assert r.status_code == status, (bad, r.text)


@pytest.mark.skipif(MLFLOW_MAJOR >= 3, reason="MLflow 3 records logged models instead of the run's history tag")
def test_log_model_records_the_runs_model_history(client):
    from sklearn.linear_model import LinearRegression

    with mlflow.start_run() as run:
        mlflow.sklearn.log_model(LinearRegression().fit([[0], [1]], [0, 1]), "regressor")
        mlflow.sklearn.log_model(LinearRegression().fit([[0], [2]], [0, 1]), "second")
    history = json.loads(client.get_run(run.info.run_id).data.tags["mlflow.log-model.history"])
    assert [m["artifact_path"] for m in history] == ["regressor", "second"]
    assert all(m["run_id"] == run.info.run_id and "sklearn" in m["flavors"] for m in history)
    assert all("config" not in flavor for m in history for flavor in m["flavors"].values())
