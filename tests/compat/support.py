"""Helpers shared by the compatibility tests: the Hangar process, the JSON API, MLflow URLs.

Nothing here asserts Hangar behaviour beyond what a fixture needs to work; the tests do that.
"""

from __future__ import annotations

import ctypes
import hashlib
import os
import re
import signal
import socket
import subprocess
import time
import uuid
from pathlib import Path
from typing import Any

import mlflow
import requests

REPO = Path(__file__).resolve().parents[2]
HANGAR_BIN = Path(os.environ.get("HANGAR_BIN") or REPO / "target" / "debug" / "hangar")
BACKEND = os.environ.get("HANGAR_TEST_BACKEND", "sqlite")
MLFLOW_MAJOR = int(mlflow.__version__.split(".")[0])
TOKEN_RE = re.compile(r"glpat-[A-Za-z0-9_-]{20,}")
HTTP_TIMEOUT = 30
# HANGAR_TEST_BLOB_URL=s3://bucket (with HANGAR_TEST_S3_ENDPOINT) stores the servers' files in
# S3-compatible storage instead of their data folders.
BLOB_URL = os.environ.get("HANGAR_TEST_BLOB_URL")
S3_ENDPOINT = os.environ.get("HANGAR_TEST_S3_ENDPOINT")

# Access levels (GitLab's numbers).
GUEST, REPORTER, DEVELOPER, MAINTAINER, OWNER = 10, 20, 30, 40, 50

# Every server log of this session, printed at the end when something failed.
SERVER_LOGS: list[Path] = []


def unique(prefix: str = "t") -> str:
    return f"{prefix}-{uuid.uuid4().hex[:10]}"


def now_ms() -> int:
    return int(time.time() * 1000)


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def _die_with_parent() -> None:
    # The server gets SIGTERM if the pytest process dies, so no Hangar outlives a killed run.
    try:
        ctypes.CDLL("libc.so.6", use_errno=True).prctl(1, signal.SIGTERM)  # PR_SET_PDEATHSIG
    except OSError:
        pass


def server_env() -> dict[str, str]:
    """The environment for a Hangar process: ours minus any HANGAR_* setting of the caller."""
    return {k: v for k, v in os.environ.items() if not k.startswith("HANGAR_")}


def run_cli(*args: str, data_dir: Path, database_url: str | None, stdin: str | None = None,
            check: bool = True) -> subprocess.CompletedProcess:
    """Run `hangar <args> --data-dir D [--database-url U]` and return the finished process."""
    cmd = [str(HANGAR_BIN), *args, "--data-dir", str(data_dir)]
    if database_url:
        cmd += ["--database-url", database_url]
    proc = subprocess.run(cmd, input=stdin, capture_output=True, text=True, env=server_env(),
                          timeout=60)
    if check and proc.returncode != 0:
        raise AssertionError(
            f"{' '.join(cmd)} exited {proc.returncode}\nstdout:\n{proc.stdout}\nstderr:\n{proc.stderr}")
    return proc


class HangarServer:
    """One `hangar serve` process on a free port, its output in a log file."""

    def __init__(self, data_dir: Path, log_path: Path, database_url: str | None = None,
                 extra_args: tuple[str, ...] = ()):
        self.data_dir = Path(data_dir)
        self.extra_args = tuple(extra_args)
        self.log_path = Path(log_path)
        self.database_url = database_url
        self.port: int | None = None
        self.proc: subprocess.Popen | None = None

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.port}"

    @property
    def token_file(self) -> Path:
        return self.data_dir / "initial-admin-token"

    @property
    def token(self) -> str:
        return self.token_file.read_text().strip()

    def log_text(self) -> str:
        try:
            return self.log_path.read_text(errors="replace")
        except FileNotFoundError:
            return ""

    def start(self, ready_timeout: float = 60.0, wait_for: str = "/ready") -> "HangarServer":
        if not HANGAR_BIN.exists():
            raise RuntimeError(f"no Hangar binary at {HANGAR_BIN} (cargo build -p hangar, or set HANGAR_BIN)")
        self.port = free_port()
        cmd = [str(HANGAR_BIN), "serve", "--data-dir", str(self.data_dir),
               "--listen", f"127.0.0.1:{self.port}"]
        if self.database_url:
            cmd += ["--database-url", self.database_url]
        cmd += list(self.extra_args)
        if BLOB_URL and "--blob-url" not in self.extra_args:
            # Each data folder its own prefix of the test bucket (kept across restarts).
            prefix = hashlib.sha256(str(self.data_dir.resolve()).encode()).hexdigest()[:16]
            cmd += ["--blob-url", f"{BLOB_URL.rstrip('/')}/{prefix}"]
            if S3_ENDPOINT:
                cmd += ["--s3-endpoint", S3_ENDPOINT]
        self.log_path.parent.mkdir(parents=True, exist_ok=True)
        SERVER_LOGS.append(self.log_path)
        with open(self.log_path, "ab") as log:
            log.write(f"$ {' '.join(cmd)}\n".encode())
            log.flush()
            self.proc = subprocess.Popen(cmd, stdout=log, stderr=subprocess.STDOUT,
                                         stdin=subprocess.DEVNULL, env=server_env(),
                                         preexec_fn=_die_with_parent)
        deadline = time.monotonic() + ready_timeout
        last = "no answer"
        while time.monotonic() < deadline:
            if self.proc.poll() is not None:
                raise RuntimeError(f"hangar serve exited with {self.proc.returncode} before it was ready; "
                                   f"log {self.log_path}:\n{self.log_text()}")
            try:
                r = requests.get(f"{self.url}{wait_for}", timeout=2)
                if r.status_code == 200:
                    return self
                last = f"HTTP {r.status_code}: {r.text[:200]}"
            except requests.RequestException as e:
                last = str(e)
            time.sleep(0.1)
        self.kill()
        raise RuntimeError(f"hangar serve not ready after {ready_timeout}s ({last}); "
                           f"log {self.log_path}:\n{self.log_text()}")

    def stop(self, grace: float = 10.0) -> int:
        """SIGTERM, then wait up to `grace` seconds. Returns the exit code; raises if it hangs."""
        if self.proc is None or self.proc.poll() is not None:
            return self.proc.returncode if self.proc else 0
        self.proc.send_signal(signal.SIGTERM)
        try:
            return self.proc.wait(grace)
        except subprocess.TimeoutExpired:
            self.kill()
            raise AssertionError(f"hangar serve did not exit within {grace}s of SIGTERM; log {self.log_path}")

    def kill(self) -> None:
        if self.proc is not None and self.proc.poll() is None:
            self.proc.kill()
            self.proc.wait(10)


class Api:
    """Hangar's GitLab-shaped JSON API (`/api/v4`) through `requests`, as one caller."""

    def __init__(self, base_url: str, token: str | None):
        self.base = base_url.rstrip("/")
        self.token = token
        self.session = requests.Session()
        if token:
            self.session.headers["PRIVATE-TOKEN"] = token

    def request(self, method: str, path: str, **kw: Any) -> requests.Response:
        kw.setdefault("timeout", HTTP_TIMEOUT)
        return self.session.request(method, f"{self.base}/api/v4{path}", **kw)

    def get(self, path: str, **kw: Any) -> requests.Response:
        return self.request("GET", path, **kw)

    def post(self, path: str, json: Any = None, **kw: Any) -> requests.Response:
        return self.request("POST", path, json=json, **kw)

    def put(self, path: str, json: Any = None, **kw: Any) -> requests.Response:
        return self.request("PUT", path, json=json, **kw)

    def delete(self, path: str, **kw: Any) -> requests.Response:
        return self.request("DELETE", path, **kw)

    @staticmethod
    def ok(r: requests.Response) -> Any:
        if not 200 <= r.status_code < 300:
            raise AssertionError(f"{r.request.method} {r.url} -> {r.status_code}: {r.text[:500]}")
        return r.json() if r.content else None

    # -- fixtures' building blocks ------------------------------------------------------------

    def create_project(self, name: str | None = None, **fields: Any) -> dict:
        body = {"name": name or unique("proj"), "visibility": "private", **fields}
        return self.ok(self.post("/projects", body))

    def update_project(self, project_id: int, **fields: Any) -> dict:
        return self.ok(self.put(f"/projects/{project_id}", fields))

    def create_user(self, username: str | None = None) -> dict:
        username = username or unique("user")
        return self.ok(self.post("/users", {
            "username": username, "name": f"Test {username}", "email": f"{username}@example.com",
            "password": uuid.uuid4().hex + "Aa1!",
        }))

    def create_personal_token(self, user_id: int, scopes: list[str] | None = None,
                              name: str | None = None) -> dict:
        return self.ok(self.post(f"/users/{user_id}/personal_access_tokens", {
            "name": name or unique("pat"), "scopes": scopes or ["api"],
        }))

    def add_member(self, project_id: int, user_id: int, access_level: int) -> dict:
        return self.ok(self.post(f"/projects/{project_id}/members",
                                 {"user_id": user_id, "access_level": access_level}))

    def user_with_token(self, project_id: int | None = None, access_level: int | None = None,
                        scopes: list[str] | None = None) -> tuple[dict, dict]:
        """A new user (a member of `project_id` at `access_level` if given) and one token of it."""
        user = self.create_user()
        if project_id is not None and access_level is not None:
            self.add_member(project_id, user["id"], access_level)
        token = self.create_personal_token(user["id"], scopes)
        assert TOKEN_RE.fullmatch(token["token"]), token
        return user, token


def tracking_uri_for(base_url: str, project: dict | int | str) -> str:
    pid = project["id"] if isinstance(project, dict) else project
    return f"{base_url}/api/v4/projects/{pid}/ml/mlflow"


def mlflow_url(tracking_uri: str, endpoint: str) -> str:
    """The REST URL of an MLflow endpoint such as 'experiments/get' under a tracking URI."""
    return f"{tracking_uri}/api/2.0/mlflow/{endpoint}"


def bearer(token: str | None) -> dict[str, str]:
    return {"Authorization": f"Bearer {token}"} if token else {}


def error_code(exc: BaseException) -> str | None:
    """The MLflow error code of a client exception (RestException / MlflowException)."""
    return getattr(exc, "error_code", None)
