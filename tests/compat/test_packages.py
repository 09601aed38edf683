"""GitLab's package APIs as CI jobs and python-gitlab use them: generic packages, a model
version as the package <model>/<semver>, `ml_models` files by version id or candidate, the
package listing; and uploads that a killed server leaves behind."""

from __future__ import annotations

import hashlib
import os
import signal
import threading
import time

import pytest
import requests

from support import BLOB_URL, REPORTER, Api, bearer, run_cli

gitlab = pytest.importorskip("gitlab")
T = 60


@pytest.fixture
def gl(hangar, admin_token):
    g = gitlab.Gitlab(hangar.url, private_token=admin_token)
    g.auth()
    return g


def test_python_gitlab_generic_packages_and_listing(gl, hangar, project, client, tmp_path):
    gp = gl.projects.get(project["id"])
    src = tmp_path / "tool.tar.gz"
    src.write_bytes(os.urandom(200_000))
    up = gp.generic_packages.upload(package_name="tools", package_version="1.2.3", file_name="tool.tar.gz",
                                    path=str(src))
    assert up.message == "201 Created"
    got = gp.generic_packages.download(package_name="tools", package_version="1.2.3", file_name="tool.tar.gz")
    assert got == src.read_bytes()

    # A model version is the ml_model package <model>/<semver>: a generic upload lands among its
    # MLflow artifacts, and the version's own files download as that package.
    client.create_registered_model("churn")
    version = client.create_model_version("churn", source="", tags={"gitlab.version": "2.0.0"})
    gp.generic_packages.upload(package_name="churn", package_version="2.0.0", file_name="notes.txt",
                               data=b"from CI")
    run_id = version.run_id
    assert [f.path for f in client.list_artifacts(run_id)] == ["notes.txt"]
    client.log_text(run_id, "weights", "model/weights.txt")
    assert gp.generic_packages.download(package_name="churn", package_version="2.0.0",
                                        file_name="model/weights.txt") == b"weights"

    packages = {(p.name, p.version, p.package_type) for p in gp.packages.list(get_all=True)}
    assert packages == {("tools", "1.2.3", "generic"), ("churn", "2.0.0", "ml_model")}
    churn = gp.packages.list(package_name="churn", get_all=True)[0]
    files = {f.file_name: (f.size, f.file_sha256) for f in churn.package_files.list(get_all=True)}
    assert files == {"notes.txt": (7, hashlib.sha256(b"from CI").hexdigest()),
                     "model/weights.txt": (7, hashlib.sha256(b"weights").hexdigest())}
    assert [p.name for p in gp.packages.list(package_type="generic", get_all=True)] == ["tools"]
    tools = gp.packages.get(gp.packages.list(package_type="generic", get_all=True)[0].id)
    assert tools.version == "1.2.3"
    tools.delete()
    with pytest.raises(gitlab.exceptions.GitlabGetError):
        gp.generic_packages.download(package_name="tools", package_version="1.2.3", file_name="tool.tar.gz")


def test_ci_style_uploads_with_curl_shapes(hangar, api, project, client, tracking_uri):
    client.create_registered_model("vision")
    client.create_model_version("vision", source="")
    model = api.ok(api.get(f"/projects/{project['id']}/ml/models"))[0]
    version_id = model["latest_version"]["id"]
    base = f"{hangar.url}/api/v4/projects/{project['id']}/packages"
    _, reporter = api.user_with_token(project["id"], REPORTER)
    token = reporter["token"]

    # curl --upload-file (raw PUT) with a job-style PRIVATE-TOKEN; curl --form file=@… (multipart).
    r = requests.put(f"{base}/ml_models/{version_id}/files/model.onnx", data=b"onnx-bytes",
                     headers={"PRIVATE-TOKEN": token}, timeout=T)
    assert r.status_code == 201 and r.json() == {"message": "201 Created"}
    r = requests.put(f"{base}/ml_models/{version_id}/files/eval/metrics.json",
                     files={"file": ("metrics.json", b'{"f1": 0.9}')}, headers=bearer(token), timeout=T)
    assert r.status_code == 201, r.text
    r = requests.get(f"{base}/ml_models/{version_id}/files/eval/metrics.json", auth=("ci", token), timeout=T)
    assert r.status_code == 200 and r.content == b'{"f1": 0.9}'
    assert r.headers["X-Checksum-Sha256"] == hashlib.sha256(b'{"f1": 0.9}').hexdigest()
    files = api.ok(api.get(f"/projects/{project['id']}/ml/models/{model['id']}/versions/{version_id}/files"))
    assert [(f["path"], f["size"]) for f in files] == [("eval/metrics.json", 11), ("model.onnx", 10)]
    # The version loads through MLflow from the same files.
    uri = client.get_model_version_download_uri("vision", "1")
    assert {f.path for f in client.list_artifacts(client.get_model_version("vision", "1").run_id)} == {"eval", "model.onnx"}
    assert uri.startswith("mlflow-artifacts:/")

    # A sent checksum is verified; a wrong one stores nothing.
    r = requests.put(f"{base}/generic/data/1.0/set.csv", data=b"a,b\n", timeout=T,
                     headers={**bearer(token), "X-Checksum-Sha256": hashlib.sha256(b"other").hexdigest()})
    assert r.status_code == 400
    r = requests.get(f"{base}/generic/data/1.0/set.csv", headers=bearer(token), timeout=T)
    assert r.status_code == 404


def test_killed_mid_upload_leaves_nothing_visible(server_factory, database_factory, tmp_path):
    data_dir = tmp_path / "data"
    database_url = database_factory()
    server = server_factory("killed", data_dir=data_dir, database_url=database_url, log_name="killed-1")
    token = server.token
    url = f"{server.url}/api/v4/projects/1/packages/generic/big/1.0/blob.bin"
    sent = threading.Event()

    def body():
        chunk = os.urandom(1 << 20)
        for i in range(200):
            if i == 20:
                sent.set()
            yield chunk

    def upload():
        try:
            requests.put(url, data=body(), headers=bearer(token), timeout=T)
        except requests.RequestException:
            pass

    uploader = threading.Thread(target=upload, daemon=True)
    uploader.start()
    assert sent.wait(T), "the upload never started"
    time.sleep(0.3)
    server.proc.send_signal(signal.SIGKILL)
    server.proc.wait(T)
    uploader.join(T)

    again = server_factory("killed", data_dir=data_dir, database_url=database_url, log_name="killed-2")
    url = url.replace(server.url, again.url)
    r = requests.get(url, headers=bearer(token), timeout=T)
    assert r.status_code == 404, "a cut upload must not be visible"
    api = Api(again.url, token)
    assert api.ok(api.get("/projects/1/packages?package_name=big")) == [], "nor its package"
    r = requests.put(url, data=b"whole", headers=bearer(token), timeout=T)
    assert r.status_code == 201
    assert requests.get(url, headers=bearer(token), timeout=T).content == b"whole"
    assert len(api.ok(api.get("/projects/1/packages?package_name=big"))) == 1

    # gc removes what the killed upload left (a local store's partial file) and keeps the
    # committed file.
    partial = list((data_dir / "blobs" / "objects").glob("*#*")) if not BLOB_URL else []
    out = run_cli("admin", "gc", "--min-age-secs", "0", data_dir=data_dir, database_url=database_url).stdout
    assert f", {len(partial)} partial uploads" in out, out
    if not BLOB_URL:
        assert len(partial) == 1, "the local store staged the cut upload"
        assert not list((data_dir / "blobs" / "objects").glob("*#*"))
    assert requests.get(url, headers=bearer(token), timeout=T).content == b"whole"
