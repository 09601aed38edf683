"""MLflow's web-UI prefix `ajax-api` and its bulk metric reads, on metrics logged with the real
MLflow client: every answer is compared with what `metrics/get-history` gives for the same run.
The client itself never calls these routes; the MLflow UI, and tools written against it, do."""

from __future__ import annotations

import requests
from mlflow import MlflowClient
from mlflow.entities import Metric

from support import bearer, unique

T = 30  # seconds, per request
T0 = 1_700_000_000_000


def get(url: str, token: str | None, **params) -> requests.Response:
    return requests.get(url, params=params, headers=bearer(token), timeout=T)


def ok(r: requests.Response) -> dict:
    assert r.status_code == 200, (r.url, r.status_code, r.text)
    return r.json()


def log_runs(client: MlflowClient, lengths: list[int]) -> list[str]:
    """Runs of a new experiment, each with `loss` at steps 0..n (logged newest first, so the
    database's order is not the order logged)."""
    exp = client.create_experiment(unique("ajax"))
    ids = []
    for n in lengths:
        rid = client.create_run(exp).info.run_id
        points = [Metric("loss", s * 0.25, T0 + s, s) for s in reversed(range(n))]
        client.log_batch(rid, metrics=points)
        ids.append(rid)
    return ids


def check_bulk_reads(base: str, token: str, runs: list[str]) -> None:
    """`base`: a mount of the MLflow surface (`…/ml/mlflow` or the host), with `runs` in it."""
    api, ajax = f"{base}/api/2.0/mlflow", f"{base}/ajax-api/2.0/mlflow"
    history = {}
    for rid in runs:
        want = ok(get(f"{api}/metrics/get-history", token, run_id=rid, metric_key="loss"))
        assert ok(get(f"{ajax}/metrics/get-history", token, run_id=rid, metric_key="loss")) == want
        history[rid] = want.get("metrics", [])

    def with_run(rid: str, points: list[dict]) -> list[dict]:
        return [dict(p, run_id=rid) for p in points]

    # get-history-bulk: every point, by run id then time, whatever the order asked.
    want = [p for rid in sorted(runs) for p in with_run(rid, history[rid])]
    for prefix in (ajax, api):
        got = ok(get(f"{prefix}/metrics/get-history-bulk", token, run_id=list(reversed(runs)),
                     metric_key="loss"))
        assert got == {"metrics": want}
        got = ok(get(f"{prefix}/metrics/get-history-bulk", token, run_id=runs, metric_key="loss",
                     max_results=3))
        assert got == {"metrics": want[:3]}

    # get-history-bulk-interval: runs in the order asked, each by step; all points when they
    # fit, else an even sample with the first and the last.
    by_step = {rid: sorted(history[rid], key=lambda p: (p["step"], p["timestamp"])) for rid in runs}
    for prefix in (ajax, api):
        got = ok(get(f"{prefix}/metrics/get-history-bulk-interval", token,
                     run_ids=list(reversed(runs)), metric_key="loss", max_results=100))
        assert got == {"metrics": [p for rid in reversed(runs) for p in with_run(rid, by_step[rid])]}
    long = runs[1]  # 25 points
    # NTILE(4) over 25 points: buckets of 7, 6, 6, 6 start at 0, 7, 13, 19; the last point (24)
    # takes the place of the last first. MLflow 3.17.2 answers the same.
    got = ok(get(f"{ajax}/metrics/get-history-bulk-interval", token, run_ids=long,
                 metric_key="loss", max_results=4))
    assert got == {"metrics": with_run(long, [by_step[long][i] for i in (0, 7, 13, 24)])}
    # Steps 5..14 are 10 points: buckets of 4, 3, 3 start at 5, 9, 12; the last (14) replaces 12.
    got = ok(get(f"{ajax}/metrics/get-history-bulk-interval", token, run_ids=long,
                 metric_key="loss", max_results=3, start_step=5, end_step=14))
    assert got == {"metrics": with_run(long, [by_step[long][s] for s in (5, 9, 14)])}
    assert ok(get(f"{ajax}/metrics/get-history-bulk-interval", token, run_ids=long,
                  metric_key="missing")) == {}

    # Bad input answers as MLflow does, on both prefixes.
    for prefix in (ajax, api):
        r = get(f"{prefix}/metrics/get-history-bulk-interval", token, metric_key="loss")
        assert r.status_code == 400 and r.json()["error_code"] == "INVALID_PARAMETER_VALUE", r.text
        assert r.json()["message"].startswith("Missing value for required parameter 'run_ids'.")
        r = get(f"{prefix}/metrics/get-history-bulk-interval", token, run_ids=long,
                metric_key="loss", max_results=0)
        assert (r.status_code, r.json()["message"]) == (
            400, "max_results must be between 1 and 2500. "
                 "See the API docs for more information about request parameters."), r.text
        r = get(f"{prefix}/metrics/get-history-bulk", token, metric_key="loss")
        assert (r.status_code, r.json()["message"]) == (
            400, "GetMetricHistoryBulk request must specify at least one run_id."), r.text


def test_ajax_api_under_the_project_prefix(hangar, tracking_uri, client, admin_token):
    runs = log_runs(client, [10, 25, 0])
    check_bulk_reads(tracking_uri, admin_token, runs)
    # The rest of the surface answers alike too, writes included.
    ajax = f"{tracking_uri}/ajax-api/2.0/mlflow"
    r = requests.post(f"{ajax}/runs/set-tag", json={"run_id": runs[0], "key": "via", "value": "ajax"},
                      headers=bearer(admin_token), timeout=T)
    assert (r.status_code, r.json()) == (200, {}), r.text
    assert client.get_run(runs[0]).data.tags["via"] == "ajax"
    for endpoint, params in [("runs/get", {"run_id": runs[0]}),
                             ("experiments/search", {"max_results": 10}),
                             ("runs/get", {"run_id": "0" * 32})]:
        want = get(f"{tracking_uri}/api/2.0/mlflow/{endpoint}", admin_token, **params)
        got = get(f"{ajax}/{endpoint}", admin_token, **params)
        assert (got.status_code, got.json()) == (want.status_code, want.json()), endpoint


def test_ajax_api_at_the_root_is_project_1(hangar, admin_token, monkeypatch):
    monkeypatch.setenv("MLFLOW_TRACKING_TOKEN", admin_token)
    runs = log_runs(MlflowClient(hangar.url), [10, 25])
    check_bulk_reads(hangar.url, admin_token, runs)


def test_ajax_api_is_no_more_open_than_api(hangar, tracking_uri, client, api):
    runs = log_runs(client, [3])
    user = api.create_user()
    outsider = api.create_personal_token(user["id"])["token"]
    for prefix in ("api", "ajax-api"):
        url = f"{tracking_uri}/{prefix}/2.0/mlflow/metrics/get-history-bulk-interval"
        r = get(url, None, run_ids=runs, metric_key="loss")
        assert (r.status_code, r.json()["error_code"]) == (401, "UNAUTHENTICATED"), r.text
        r = get(url, outsider, run_ids=runs, metric_key="loss")
        assert (r.status_code, r.json()["error_code"]) == (404, "RESOURCE_DOES_NOT_EXIST"), r.text
        r = requests.post(f"{tracking_uri}/{prefix}/2.0/mlflow/runs/set-tag",
                          json={"run_id": runs[0], "key": "k", "value": "v"},
                          headers=bearer(outsider), timeout=T)
        assert r.status_code == 404, r.text
    assert "k" not in client.get_run(runs[0]).data.tags
