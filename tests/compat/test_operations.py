"""Operating Hangar: probes, metrics, the first-start token, restarts, the admin CLI."""

from __future__ import annotations

import re
import stat

import requests

from support import REPORTER, TOKEN_RE, Api, bearer, mlflow_url, run_cli, tracking_uri_for, unique

T = 30


def test_health_and_ready(hangar):
    for path in ("/health", "/ready"):
        r = requests.get(hangar.url + path, timeout=T)
        assert r.status_code == 200, (path, r.text)


def test_metrics_are_prometheus_text_with_a_request_counter(hangar, admin_token):
    for _ in range(3):
        assert requests.get(hangar.url + "/health", timeout=T).status_code == 200
    r = requests.get(hangar.url + "/metrics", timeout=T)
    assert r.status_code == 200
    assert r.headers["Content-Type"].startswith("text/plain")
    text = r.text
    counters = re.findall(r"^# TYPE (\S*request\S*) counter$", text, re.M)
    assert counters, f"no request counter in /metrics:\n{text[:2000]}"
    samples = [
        float(m.group(2))
        for name in counters
        for m in re.finditer(rf"^({re.escape(name)}(?:_total)?)(?:\{{[^}}]*\}})? (\S+)", text, re.M)
    ]
    assert samples and sum(samples) >= 3, f"request counters {counters} do not count requests:\n{text[:2000]}"

    # The count goes up with traffic.
    before = sum(samples)
    for _ in range(5):
        requests.get(hangar.url + "/health", timeout=T)
    text = requests.get(hangar.url + "/metrics", timeout=T).text
    after = sum(
        float(m.group(2))
        for name in counters
        for m in re.finditer(rf"^({re.escape(name)}(?:_total)?)(?:\{{[^}}]*\}})? (\S+)", text, re.M)
    )
    assert after >= before + 5


def test_initial_admin_token_file(hangar):
    mode = stat.S_IMODE(hangar.token_file.stat().st_mode)
    assert mode == 0o600, oct(mode)
    assert TOKEN_RE.fullmatch(hangar.token)
    assert hangar.token in hangar.log_text(), "the first start prints the admin token"


def test_restart_keeps_data_and_prints_no_new_token(server_factory, database_factory, tmp_path):
    data_dir = tmp_path / "data"
    database_url = database_factory()
    first = server_factory("restart", data_dir=data_dir, database_url=database_url, log_name="restart-1")
    token = first.token
    assert TOKEN_RE.fullmatch(token)
    assert stat.S_IMODE(first.token_file.stat().st_mode) == 0o600
    assert first.log_text().count(token) == 1, "the token is printed exactly once"

    api = Api(first.url, token)
    project = api.create_project(unique("kept"))
    uri = tracking_uri_for(first.url, project)
    r = requests.post(mlflow_url(uri, "experiments/create"), json={"name": "survivor"},
                      headers=bearer(token), timeout=T)
    assert r.status_code == 200, r.text
    exp_id = r.json()["experiment_id"]

    assert first.stop(grace=10) == 0, "graceful shutdown exits 0"

    second = server_factory("restart", data_dir=data_dir, database_url=database_url, log_name="restart-2")
    log = second.log_text()
    assert token not in log
    assert not TOKEN_RE.search(log), f"a restart printed a token:\n{log}"
    assert second.token == token, "the token file is left as it was"

    api = Api(second.url, token)
    assert api.ok(api.get(f"/projects/{project['id']}"))["name"] == project["name"]
    uri = tracking_uri_for(second.url, project)
    r = requests.get(mlflow_url(uri, "experiments/get"), params={"experiment_id": exp_id},
                     headers=bearer(token), timeout=T)
    assert r.status_code == 200 and r.json()["experiment"]["name"] == "survivor"
    assert second.stop(grace=10) == 0


def test_admin_cli(server_factory, database_factory, tmp_path):
    data_dir = tmp_path / "data"
    database_url = database_factory()
    server = server_factory("cli", data_dir=data_dir, database_url=database_url)
    admin = Api(server.url, server.token)

    def cli(*args, stdin=None):
        return run_cli(*args, data_dir=data_dir, database_url=database_url, stdin=stdin).stdout.strip()

    shown = run_cli("config", "show", data_dir=data_dir, database_url=database_url).stdout
    assert str(data_dir) in shown
    assert not TOKEN_RE.search(shown)

    username = unique("cli-user").replace("-", "_")
    cli("admin", "user", "create", username, "--password-stdin", stdin="s3cret-Passw0rd!\n")
    path = f"{unique('team')}/{unique('vision')}"
    cli("admin", "project", "create", path, "--visibility", "public", "--registry-access", "enabled")
    cli("admin", "member", "add", path, username, "--role", "reporter")
    token = cli("admin", "token", "create", "--user", username, "--name", "from-cli", "--scope", "api")
    assert TOKEN_RE.fullmatch(token), token

    # The running server sees what the CLI wrote.
    project = admin.ok(admin.get("/projects/" + path.replace("/", "%2F")))
    assert project["visibility"] == "public" and project["model_registry_access_level"] == "enabled"
    members = admin.ok(admin.get(f"/projects/{project['id']}/members"))
    assert [m["access_level"] for m in members if m["username"] == username] == [REPORTER]

    uri = tracking_uri_for(server.url, project)
    r = requests.post(mlflow_url(uri, "experiments/create"), json={"name": "cli-made"},
                      headers=bearer(token), timeout=T)
    assert r.status_code == 200, r.text
    # Public project with an enabled registry: anonymous reads work.
    r = requests.get(mlflow_url(uri, "experiments/get-by-name"), params={"experiment_name": "cli-made"}, timeout=T)
    assert r.status_code == 200, r.text

    me = Api(server.url, token)
    token_id = me.ok(me.get("/personal_access_tokens/self"))["id"]
    cli("admin", "token", "revoke", str(token_id))
    r = requests.get(mlflow_url(uri, "experiments/get"), params={"experiment_id": "0"},
                     headers=bearer(token), timeout=T)
    assert r.status_code == 401

    # A read_api token with an expiry date.
    ro = cli("admin", "token", "create", "--user", username, "--name", "ro", "--scope", "read_api",
             "--expires-at", "2099-12-31")
    assert TOKEN_RE.fullmatch(ro)
    assert requests.get(mlflow_url(uri, "experiments/get"), params={"experiment_id": "0"},
                        headers=bearer(ro), timeout=T).status_code == 200
    r = requests.post(mlflow_url(uri, "experiments/create"), json={"name": "ro-made"},
                      headers=bearer(ro), timeout=T)
    assert r.status_code == 403

    assert server.stop(grace=10) == 0

