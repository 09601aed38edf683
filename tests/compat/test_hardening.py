"""What slow clients, a rolling restart and a full disk do to a real `hangar serve`."""

from __future__ import annotations

import gc
import os
import signal
import socket
import subprocess
import threading
import time

import pytest
import requests
from mlflow.exceptions import MlflowException
from mlflow.tracking import MlflowClient

from support import BACKEND, BLOB_URL, bearer, unique

T = 30


def _closed_within(sock: socket.socket, seconds: float) -> bool:
    """True when the server closes `sock` within `seconds` (it never answers these)."""
    sock.settimeout(seconds)
    try:
        return sock.recv(1024) == b""
    except (ConnectionResetError, BrokenPipeError):
        return True
    except socket.timeout:
        return False


def test_slow_headers_idle_connections_and_one_client_holding_many(server_factory):
    server = server_factory("slow", extra_args=(
        "--header-timeout-secs", "2", "--max-connections-per-client", "4"))
    address = ("127.0.0.1", server.port)
    gc.collect()  # the readiness polls' connections close, and leave the server's count
    time.sleep(0.5)
    slow = []
    for _ in range(6):
        sock = socket.create_connection(address)
        sock.sendall(b"GET /health HTTP/1.1\r\nHost: 127.0.0.1\r\n")  # headers never finished
        slow.append(sock)
    # Past four connections, the client's next ones are closed at once.
    assert all(_closed_within(s, 1.0) for s in slow[4:])
    started = time.monotonic()
    assert not any(_closed_within(s, 0.1) for s in slow[:4]), "within the cap, still open"
    # The four that never finish their headers are closed after the header timeout.
    assert all(_closed_within(s, 5.0) for s in slow[:4])
    assert time.monotonic() - started < 5
    # So are idle kept-alive connections; the client then gets its slots back.
    idle = socket.create_connection(address)
    idle.sendall(b"GET /health HTTP/1.1\r\nHost: 127.0.0.1\r\n\r\n")
    idle.settimeout(5)
    assert idle.recv(4096).startswith(b"HTTP/1.1 200")
    assert _closed_within(idle, 5.0), "an idle connection is closed after the timeout"
    assert requests.get(f"{server.url}/health", timeout=T).status_code == 200


def test_sigterm_drains_without_dropping_a_request(server_factory, database_factory, tmp_path):
    data_dir = tmp_path / "data"
    database_url = database_factory()
    server = server_factory("drain", data_dir=data_dir, database_url=database_url,
                            extra_args=("--drain-secs", "3"))
    auth = bearer(server.token)
    api = f"{server.url}/api/2.0/mlflow"
    experiment = requests.post(f"{api}/experiments/create", json={"name": unique("drain")},
                               headers=auth, timeout=T).json()["experiment_id"]
    run_id = requests.post(f"{api}/runs/create", json={"experiment_id": experiment},
                           headers=auth, timeout=T).json()["run"]["info"]["run_id"]

    acknowledged: dict[int, int] = {}
    failures: list[str] = []

    def client(n: int) -> None:
        # A pooling client that keeps posting until an answer says the server is going
        # (`Connection: close`), as a load balancer stops sending once /ready fails.
        session = requests.Session()
        step = 0
        while True:
            body = {"run_id": run_id,
                    "metrics": [{"key": f"c{n}", "value": step, "timestamp": 1, "step": step}]}
            try:
                r = session.post(f"{api}/runs/log-batch", json=body, headers=auth, timeout=T)
            except requests.RequestException as e:
                failures.append(f"client {n}, step {step}: {e!r}")
                return
            if r.status_code != 200:
                failures.append(f"client {n}, step {step}: {r.status_code} {r.text}")
                return
            acknowledged[n] = step + 1
            step += 1
            if r.headers.get("Connection", "").lower() == "close":
                return

    threads = [threading.Thread(target=client, args=(n,)) for n in range(8)]
    for t in threads:
        t.start()
    time.sleep(1.0)
    server.proc.send_signal(signal.SIGTERM)
    signalled = time.monotonic()
    # The signal reaches the process asynchronously: /ready fails as soon as it has.
    while (ready := requests.get(f"{server.url}/ready", timeout=T)).status_code == 200:
        assert time.monotonic() - signalled < 1, "/ready still 200 a second after SIGTERM"
        time.sleep(0.01)
    assert ready.status_code == 503 and "shutting down" in ready.text
    assert requests.get(f"{server.url}/health", timeout=T).status_code == 200, "still serving"
    for t in threads:
        t.join(T)
    assert failures == [], "requests got no answer during the shutdown"
    assert server.proc.wait(20) == 0
    assert time.monotonic() - signalled >= 2.5, "it kept serving for the drain period"

    # Every acknowledged point is there after a restart.
    again = server_factory("drain-again", data_dir=data_dir, database_url=database_url)
    for n, count in acknowledged.items():
        history = requests.get(f"{again.url}/api/2.0/mlflow/metrics/get-history",
                               params={"run_id": run_id, "metric_key": f"c{n}"},
                               headers=bearer(again.token), timeout=T).json()["metrics"]
        assert sorted(m["step"] for m in history) == list(range(count))


@pytest.fixture
def small_disk(tmp_path):
    """A 96 MiB tmpfs (needs root to mount; skipped elsewhere)."""
    if os.geteuid() != 0:
        pytest.skip("mounting a small disk needs root")
    mount = tmp_path / "small-disk"
    mount.mkdir()
    done = subprocess.run(["mount", "-t", "tmpfs", "-o", "size=96m", "tmpfs", str(mount)],
                          capture_output=True, text=True)
    if done.returncode != 0:
        pytest.skip(f"cannot mount a tmpfs here: {done.stderr.strip()}")
    yield mount
    subprocess.run(["umount", "-l", str(mount)], check=False)


def _fill(path, chunk=1024 * 1024):
    """Writes `path` until the disk is full (closing the file may be what finds it full)."""
    try:
        with open(path, "wb") as f:
            while True:
                f.write(b"\0" * chunk)
                f.flush()
    except OSError:
        pass


@pytest.mark.skipif(bool(BLOB_URL), reason="the files must be on the small local disk")
def test_a_full_disk_answers_507_and_ready_says_so(server_factory, small_disk, tmp_path, monkeypatch):
    server = server_factory("full", data_dir=small_disk / "data",
                            extra_args=("--min-free-disk-bytes", str(16 * 1024 * 1024)))
    auth = bearer(server.token)
    # MLflow 2 resolves mlflow-artifacts: URIs against the environment's tracking URI.
    monkeypatch.setenv("MLFLOW_TRACKING_URI", server.url)
    monkeypatch.setenv("MLFLOW_TRACKING_TOKEN", server.token)
    client = MlflowClient(tracking_uri=server.url)
    experiment = client.create_experiment(unique("full"))
    run = client.create_run(experiment)
    big = tmp_path / "big.bin"
    with open(big, "wb") as f:
        f.write(os.urandom(1024 * 1024) * 120)

    # Larger than the disk: 507 with MLflow's RESOURCE_EXHAUSTED, which no client retries.
    url = f"{server.url}/api/2.0/mlflow-artifacts/artifacts/{experiment}/{run.info.run_id}/artifacts/big.bin"
    with open(big, "rb") as body:
        r = requests.put(url, data=body, headers=auth, timeout=120)
    assert r.status_code == 507, r.text
    assert r.json()["error_code"] == "RESOURCE_EXHAUSTED"
    assert "Insufficient storage" in r.json()["message"]
    assert str(small_disk) not in r.text
    started = time.monotonic()
    # The artifact client raises the HTTP error as it is.
    with pytest.raises((MlflowException, requests.HTTPError)) as raised:
        client.log_artifact(run.info.run_id, str(big))
    assert time.monotonic() - started < 60, "the client gave up instead of retrying"
    assert "507" in str(raised.value) or "RESOURCE_EXHAUSTED" in str(raised.value)
    # The cut-off uploads left nothing behind: the disk is free again.
    assert requests.get(f"{server.url}/ready", timeout=T).status_code == 200
    assert client.list_artifacts(run.info.run_id) == []

    # A disk that something else filled: /ready fails, and so do writes, with 507.
    _fill(small_disk / "ballast")
    ready = requests.get(f"{server.url}/ready", timeout=T)
    assert ready.status_code == 503 and "insufficient storage" in ready.text
    r = requests.put(url.replace("big.bin", "small.txt"), data=b"x" * (6 * 1024 * 1024),
                     headers=auth, timeout=T)
    assert r.status_code == 507, r.text
    if BACKEND == "sqlite":
        # The database is on that disk too: writes fail until there is room, never with
        # a 503 that the client would retry.
        params = [{"key": f"p{i}", "value": "v" * 6000} for i in range(1000)]
        for _ in range(20):
            created = requests.post(f"{server.url}/api/2.0/mlflow/runs/create",
                                    json={"experiment_id": experiment}, headers=auth, timeout=T)
            if created.status_code != 200:
                break
            r = requests.post(f"{server.url}/api/2.0/mlflow/runs/log-batch",
                              json={"run_id": created.json()["run"]["info"]["run_id"], "params": params},
                              headers=auth, timeout=T)
            if r.status_code != 200:
                created = r
                break
        assert created.status_code == 507, created.text
        assert created.json()["error_code"] == "RESOURCE_EXHAUSTED"
    (small_disk / "ballast").unlink()
    assert requests.get(f"{server.url}/ready", timeout=T).status_code == 200
    fits = tmp_path / "fits.bin"
    fits.write_bytes(os.urandom(1024 * 1024))
    client.log_artifact(run.info.run_id, str(fits))
    assert [f.path for f in client.list_artifacts(run.info.run_id)] == ["fits.bin"]


def test_a_hung_object_store_fails_fast_and_ready_says_so(server_factory, monkeypatch):
    # An S3 endpoint that accepts connections and never answers.
    hung = socket.socket()
    hung.bind(("127.0.0.1", 0))
    hung.listen(64)
    endpoint = f"http://127.0.0.1:{hung.getsockname()[1]}"
    monkeypatch.setenv("AWS_ACCESS_KEY_ID", "hangar-test")
    monkeypatch.setenv("AWS_SECRET_ACCESS_KEY", "hangar-test")
    monkeypatch.setenv("AWS_REGION", "us-east-1")
    try:
        server = server_factory("hung-s3", wait_for="/health", extra_args=(
            "--blob-url", "s3://hung-bucket/prefix", "--s3-endpoint", endpoint,
            "--s3-timeout-secs", "1", "--s3-retry-timeout-secs", "2"))
        auth = bearer(server.token)
        started = time.monotonic()
        ready = requests.get(f"{server.url}/ready", timeout=T)
        assert ready.status_code == 503 and ready.text == "blob store unavailable"
        assert time.monotonic() - started < 5
        api = f"{server.url}/api/2.0/mlflow"
        experiment = requests.post(f"{api}/experiments/create", json={"name": unique("hung")},
                                   headers=auth, timeout=T).json()["experiment_id"]
        run_id = requests.post(f"{api}/runs/create", json={"experiment_id": experiment},
                               headers=auth, timeout=T).json()["run"]["info"]["run_id"]
        started = time.monotonic()
        r = requests.put(f"{server.url}/api/2.0/mlflow-artifacts/artifacts/{experiment}/{run_id}/artifacts/f.txt",
                         data=b"hello", headers=auth, timeout=T)
        took = time.monotonic() - started
        assert r.status_code == 503 and r.json()["error_code"] == "TEMPORARILY_UNAVAILABLE", r.text
        assert took < 15, f"the upload waited {took:.0f} s for a hung store"
        # The answer names neither the endpoint nor the bucket; the log does.
        assert endpoint not in r.text and "hung-bucket" not in r.text
        assert r.headers["X-Request-Id"] in r.text
    finally:
        hung.close()


def test_interrupted_uploads_are_swept_in_the_background(server_factory, tmp_path):
    if BLOB_URL:
        pytest.skip("a local store's partial files")
    data_dir = tmp_path / "data"
    objects = data_dir / "blobs" / "objects"
    objects.mkdir(parents=True)
    old, young = objects / "0123abcd#1", objects / "4567efgh#1"
    old.write_bytes(b"\0" * 4096)
    young.write_bytes(b"\0" * 16)
    long_ago = time.time() - 7200
    os.utime(old, (long_ago, long_ago))
    server = server_factory("sweep", data_dir=data_dir, extra_args=(
        "--upload-expiry-secs", "3600", "--upload-sweep-interval-secs", "1"))
    deadline = time.monotonic() + 10
    while old.exists() and time.monotonic() < deadline:
        time.sleep(0.1)
    assert not old.exists(), "a partial file older than the expiry is removed"
    assert young.exists(), "a younger one may still be an upload in flight"
    assert "removed what interrupted uploads left" in server.log_text()
