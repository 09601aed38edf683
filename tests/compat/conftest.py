"""Fixtures for the real-client compatibility suite.

Run by scripts/test in each venv (mlflow 2.x with gitlab-mlops, mlflow 3.x) against each
backend. To run by hand:

    cargo build -p hangar
    target/venvs/mlflow3/bin/python -m pytest tests/compat            # SQLite
    HANGAR_TEST_BACKEND=postgres \\
    HANGAR_TEST_DATABASE_URL=postgres://postgres@127.0.0.1:5432/<an empty database> \\
        target/venvs/mlflow3/bin/python -m pytest tests/compat        # PostgreSQL

Environment:
    HANGAR_BIN                  the binary (default target/debug/hangar)
    HANGAR_TEST_BACKEND         sqlite (default) or postgres
    HANGAR_TEST_DATABASE_URL    postgres: the (empty) database of the session's server
    HANGAR_TEST_PG_ADMIN_URL    postgres: where tests that start their own server create their
                                databases (default: the same server, database `postgres`)
    HANGAR_TEST_LOG_DIR         where server logs go (default: pytest's temporary folder)

One Hangar process serves the whole session; every test gets its own fresh project.
"""

from __future__ import annotations

import os
import subprocess
import urllib.parse
from pathlib import Path

import pytest

# The MLflow client retries 5xx answers for minutes; a server bug must fail a test at once.
os.environ["MLFLOW_HTTP_REQUEST_MAX_RETRIES"] = "0"
os.environ["MLFLOW_HTTP_REQUEST_TIMEOUT"] = "60"

import mlflow  # noqa: E402

import support  # noqa: E402
from support import BACKEND, HANGAR_BIN, SERVER_LOGS, Api, HangarServer, tracking_uri_for, unique  # noqa: E402

# Settings of the MLflow client that must not leak from the caller's shell or between tests.
MLFLOW_ENV = (
    "MLFLOW_TRACKING_URI", "MLFLOW_TRACKING_TOKEN", "MLFLOW_TRACKING_USERNAME",
    "MLFLOW_TRACKING_PASSWORD", "MLFLOW_EXPERIMENT_ID", "MLFLOW_EXPERIMENT_NAME",
    "MLFLOW_REGISTRY_URI", "MLFLOW_RUN_ID", "MLFLOW_TRACKING_AUTH", "MLFLOW_WORKSPACE",
)


def pytest_report_header(config):
    return [f"hangar: {HANGAR_BIN} backend={BACKEND}; mlflow {mlflow.__version__}"]


def _log_dir(tmp_path_factory) -> Path:
    d = os.environ.get("HANGAR_TEST_LOG_DIR")
    if d:
        Path(d).mkdir(parents=True, exist_ok=True)
        return Path(d)
    return tmp_path_factory.mktemp("logs")


# -- PostgreSQL databases for extra servers ---------------------------------------------------

def _pg_admin_url() -> str:
    admin = os.environ.get("HANGAR_TEST_PG_ADMIN_URL")
    if admin:
        return admin
    u = urllib.parse.urlsplit(os.environ["HANGAR_TEST_DATABASE_URL"])
    return urllib.parse.urlunsplit(u._replace(path="/postgres"))


def _psql(sql: str) -> None:
    subprocess.run(["psql", "-X", "-q", "-v", "ON_ERROR_STOP=1", _pg_admin_url(), "-c", sql],
                   check=True, capture_output=True, text=True, timeout=60)


@pytest.fixture(scope="session")
def database_factory():
    """new_database() -> a database URL for one more server (None on SQLite: the data dir has it)."""
    created: list[str] = []

    def new_database() -> str | None:
        if BACKEND != "postgres":
            return None
        name = unique("hangar_compat_extra").replace("-", "_")
        _psql(f'CREATE DATABASE "{name}"')
        created.append(name)
        u = urllib.parse.urlsplit(_pg_admin_url())
        return urllib.parse.urlunsplit(u._replace(path=f"/{name}"))

    yield new_database
    for name in created:
        try:
            _psql(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')
        except subprocess.CalledProcessError as e:  # pragma: no cover - cleanup only
            print(f"could not drop {name}: {e.stderr}")


@pytest.fixture(scope="session")
def server_factory(tmp_path_factory, database_factory):
    """start(name) -> a started HangarServer with its own data dir (and database); stopped at the end."""
    servers: list[HangarServer] = []
    log_dir = _log_dir(tmp_path_factory)

    def start(name: str, data_dir: Path | None = None, database_url: str | None = None,
              log_name: str | None = None, extra_args: tuple[str, ...] = (),
              wait_for: str = "/ready") -> HangarServer:
        data_dir = data_dir or tmp_path_factory.mktemp(name) / "data"
        if database_url is None:
            database_url = database_factory()
        server = HangarServer(data_dir, log_dir / f"{log_name or name}.log", database_url, extra_args)
        servers.append(server)
        return server.start(wait_for=wait_for)

    yield start
    for s in servers:
        s.kill()


# -- the session's server ---------------------------------------------------------------------

@pytest.fixture(scope="session")
def hangar(tmp_path_factory):
    if BACKEND == "postgres":
        database_url = os.environ.get("HANGAR_TEST_DATABASE_URL")
        if not database_url:
            raise pytest.UsageError("HANGAR_TEST_BACKEND=postgres needs HANGAR_TEST_DATABASE_URL")
    elif BACKEND == "sqlite":
        database_url = None
    else:
        raise pytest.UsageError(f"unknown HANGAR_TEST_BACKEND={BACKEND!r}")
    data_dir = tmp_path_factory.mktemp("hangar") / "data"
    server = HangarServer(data_dir, _log_dir(tmp_path_factory) / "server.log", database_url)
    server.start()
    yield server
    # Graceful shutdown is part of the contract: SIGTERM, gone within 10 s, exit status 0.
    code = server.stop(grace=10)
    assert code == 0, f"hangar serve exited with {code} after SIGTERM; log {server.log_path}"


@pytest.fixture(scope="session")
def admin_token(hangar) -> str:
    return hangar.token


@pytest.fixture(scope="session")
def api(hangar, admin_token) -> Api:
    """The JSON API as the admin."""
    return Api(hangar.url, admin_token)


@pytest.fixture
def anon_api(hangar) -> Api:
    return Api(hangar.url, None)


@pytest.fixture
def project(api) -> dict:
    """A fresh private project, owned by the admin."""
    return api.create_project(unique("proj"))


@pytest.fixture(autouse=True)
def _isolated_mlflow_state(monkeypatch):
    """Each test starts with no MLflow settings from the shell or from an earlier test."""
    import mlflow.tracking._tracking_service.utils as tracking_utils
    import mlflow.tracking.fluent as fluent

    for name in MLFLOW_ENV:
        monkeypatch.delenv(name, raising=False)
    yield
    if mlflow.active_run() is not None:
        mlflow.end_run()
    # mlflow.set_experiment and gitlab_mlops.Client write os.environ directly.
    for name in MLFLOW_ENV:
        os.environ.pop(name, None)
    fluent._active_experiment_id = None
    tracking_utils._tracking_uri = None
    # mlflow.set_workspace (3.x) also binds the workspace to the thread's context.
    try:
        from mlflow.utils import workspace_context
    except ImportError:
        return
    workspace_context.set_workspace(None)


@pytest.fixture
def tracking_uri(hangar, project, admin_token, monkeypatch) -> str:
    """The project's MLflow tracking URI, also set (with the admin token) in the environment."""
    uri = tracking_uri_for(hangar.url, project)
    monkeypatch.setenv("MLFLOW_TRACKING_URI", uri)
    monkeypatch.setenv("MLFLOW_TRACKING_TOKEN", admin_token)
    return uri


@pytest.fixture
def client(tracking_uri):
    return mlflow.MlflowClient(tracking_uri)


# -- report -----------------------------------------------------------------------------------

def pytest_terminal_summary(terminalreporter, exitstatus, config):
    if exitstatus == 0 or not SERVER_LOGS:
        return
    tr = terminalreporter
    for path in dict.fromkeys(SERVER_LOGS):
        tr.section(f"hangar log {path} (last 80 lines)")
        try:
            lines = path.read_text(errors="replace").splitlines()
        except FileNotFoundError:
            tr.line("(missing)")
            continue
        for line in lines[-80:]:
            tr.line(line)


__all__ = ["support"]
