"""Runs, params, metrics, tags, inputs and search through the real MLflow client (2.x and 3.x)."""

from __future__ import annotations

import math

import mlflow
import pandas as pd
import pytest
from mlflow import MlflowClient
from mlflow.entities import Metric, Param, RunTag, ViewType
from mlflow.exceptions import MlflowException

from support import now_ms


def test_fluent_run_lifecycle(client, tracking_uri):
    mlflow.set_experiment("fluent")
    before = now_ms()
    with mlflow.start_run(run_name="first", tags={"team": "vision"}) as run:
        mlflow.log_param("alpha", 0.5)
        mlflow.log_params({"beta": 1, "gamma": "x"})
        mlflow.log_metric("loss", 1.25, step=3)
        mlflow.log_metrics({"acc": 0.9, "odd": float("nan"), "big": float("inf"), "small": float("-inf")})
        mlflow.set_tag("gitlab.CI_JOB_ID", "4242")
        mlflow.set_tags({"stage": "dev"})
    got = client.get_run(run.info.run_id)
    assert got.info.run_id == run.info.run_id and len(got.info.run_id) == 32
    assert got.info.run_name == "first"
    assert got.info.status == "FINISHED"
    assert got.info.start_time >= before and got.info.end_time >= got.info.start_time
    assert got.info.artifact_uri.startswith("mlflow-artifacts:/")
    assert got.data.params == {"alpha": "0.5", "beta": "1", "gamma": "x"}
    assert got.data.metrics["loss"] == 1.25 and got.data.metrics["acc"] == 0.9
    assert math.isnan(got.data.metrics["odd"])
    assert got.data.metrics["big"] == math.inf and got.data.metrics["small"] == -math.inf
    assert got.data.tags["team"] == "vision"
    assert got.data.tags["gitlab.CI_JOB_ID"] == "4242"
    assert got.data.tags["mlflow.runName"] == "first"


def test_metric_history_with_steps_and_timestamps(client):
    exp = client.create_experiment("history")
    run = client.create_run(exp)
    rid = run.info.run_id
    for step in range(30):
        client.log_metric(rid, "curve", step * 0.5, timestamp=1_700_000_000_000 + step, step=step)
    history = client.get_metric_history(rid, "curve")
    assert [m.step for m in history] == list(range(30))
    assert [m.value for m in history] == [s * 0.5 for s in range(30)]
    assert history[0].timestamp == 1_700_000_000_000
    assert client.get_metric_history(rid, "missing") == []
    assert client.get_run(rid).data.metrics["curve"] == 14.5


def test_log_batch_and_param_immutability(client):
    exp = client.create_experiment("batch")
    rid = client.create_run(exp).info.run_id
    ts = now_ms()
    client.log_batch(rid, metrics=[Metric("m", float(i), ts, i) for i in range(1000)],
                     params=[Param(f"p{i}", str(i)) for i in range(100)],
                     tags=[RunTag(f"t{i}", "v") for i in range(100)])
    run = client.get_run(rid)
    assert len(run.data.params) == 100 and run.data.metrics["m"] == 999.0
    assert len(client.get_metric_history(rid, "m")) == 1000
    client.log_param(rid, "p1", "1")  # the same value again is fine
    with pytest.raises(MlflowException) as err:
        client.log_param(rid, "p1", "changed")
    assert err.value.error_code == "INVALID_PARAMETER_VALUE"
    assert "Changing param values is not allowed" in err.value.message
    # A batch that fails writes none of its rows.
    with pytest.raises(MlflowException):
        client.log_batch(rid, metrics=[Metric("new", 1.0, ts, 0)], params=[Param("p2", "other")])
    assert "new" not in client.get_run(rid).data.metrics
    # Tags upsert and can be deleted.
    client.set_tag(rid, "t1", "changed")
    client.delete_tag(rid, "t2")
    tags = client.get_run(rid).data.tags
    assert tags["t1"] == "changed" and "t2" not in tags
    with pytest.raises(MlflowException) as err:
        client.delete_tag(rid, "t2")
    assert err.value.error_code == "RESOURCE_DOES_NOT_EXIST"


def test_update_delete_restore(client):
    exp = client.create_experiment("lifecycle")
    rid = client.create_run(exp, run_name="old").info.run_id
    client.update_run(rid, status="KILLED", name="new")
    run = client.get_run(rid)
    assert run.info.status == "KILLED" and run.info.run_name == "new"
    assert run.data.tags["mlflow.runName"] == "new"
    client.set_terminated(rid, "FAILED")
    assert client.get_run(rid).info.status == "FAILED"
    client.delete_run(rid)
    assert client.get_run(rid).info.lifecycle_stage == "deleted"
    assert client.search_runs([exp]) == []
    assert [r.info.run_id for r in client.search_runs([exp], run_view_type=ViewType.DELETED_ONLY)] == [rid]
    with pytest.raises(MlflowException) as err:
        client.log_metric(rid, "m", 1.0)
    assert "must be in the 'active' state" in err.value.message
    client.restore_run(rid)
    client.log_metric(rid, "m", 1.0)
    with pytest.raises(MlflowException) as err:
        client.get_run("0" * 32)
    assert err.value.error_code == "RESOURCE_DOES_NOT_EXIST"


def test_search_runs_filters_order_and_pages(client):
    a = client.create_experiment("search-a")
    b = client.create_experiment("search-b")
    for i in range(12):
        run = client.create_run(a if i < 8 else b, run_name=f"run-{i:02d}", start_time=1_700_000_000_000 + i)
        client.log_batch(run.info.run_id, metrics=[Metric("acc", i / 10, now_ms(), 0)],
                         params=[Param("model", "cnn" if i % 2 == 0 else "rnn")],
                         tags=[RunTag("owner", "ana" if i < 4 else "bo")])
        client.set_terminated(run.info.run_id)

    def names(runs):
        return [r.info.run_name for r in runs]

    assert len(client.search_runs([a, b])) == 12
    assert names(client.search_runs([a, b], "metrics.acc > 0.85")) == ["run-11", "run-10", "run-09"]
    assert names(client.search_runs([a], "params.model = 'cnn' and tags.owner = 'bo'",
                                    order_by=["metrics.acc ASC"])) == ["run-04", "run-06"]
    assert names(client.search_runs([a, b], "attributes.run_name LIKE 'run-1%'",
                                    order_by=["attribute.start_time ASC"])) == ["run-10", "run-11"]
    assert names(client.search_runs([a, b], "params.model ILIKE 'CNN' and metrics.acc <= 0.2")) == ["run-02", "run-00"]
    assert len(client.search_runs([a, b], "tags.missing IS NULL")) == 12
    assert len(client.search_runs([a, b], "attributes.status = 'FINISHED'")) == 12
    pages, token = [], None
    while True:
        page = client.search_runs([a, b], max_results=5, page_token=token, order_by=["params.model DESC", "metrics.acc DESC"])
        pages.append(names(page))
        token = page.token
        if not token:
            break
    assert [len(p) for p in pages] == [5, 5, 2]
    flat = [n for p in pages for n in p]
    assert flat[:6] == ["run-11", "run-09", "run-07", "run-05", "run-03", "run-01"]
    with pytest.raises(MlflowException) as err:
        client.search_runs([a], "metrics.acc > 'high'")
    assert err.value.error_code == "INVALID_PARAMETER_VALUE"


def test_fluent_search_runs_dataframe(client, tracking_uri):
    exp = mlflow.set_experiment("frame").experiment_id
    for i in range(3):
        with mlflow.start_run(run_name=f"r{i}"):
            mlflow.log_metric("score", i)
            mlflow.log_param("lr", 0.1 * (i + 1))
    df = mlflow.search_runs(experiment_ids=[exp], filter_string="metrics.score >= 1", order_by=["metrics.score DESC"])
    assert isinstance(df, pd.DataFrame)
    assert list(df["tags.mlflow.runName"]) == ["r2", "r1"]
    assert list(df["metrics.score"]) == [2.0, 1.0]
    assert "params.lr" in df.columns


def test_dataset_inputs(client, tracking_uri):
    mlflow.set_experiment("inputs")
    frame = pd.DataFrame({"x": [1.0, 2.0], "y": [0.0, 1.0]})
    with mlflow.start_run() as run:
        mlflow.log_input(mlflow.data.from_pandas(frame, name="train-set"), context="training")
    got = client.get_run(run.info.run_id)
    (entry,) = got.inputs.dataset_inputs
    assert entry.dataset.name == "train-set"
    assert {t.key: t.value for t in entry.tags}["mlflow.data.context"] == "training"
    found = client.search_runs([run.info.experiment_id], "datasets.context = 'training'")
    assert [r.info.run_id for r in found] == [run.info.run_id]


def test_nested_runs_and_default_experiment(client, tracking_uri):
    with mlflow.start_run(run_name="parent") as parent:
        with mlflow.start_run(run_name="child", nested=True) as child:
            mlflow.log_metric("m", 1)
    assert parent.info.experiment_id == "0"
    got = client.get_run(child.info.run_id)
    assert got.data.tags["mlflow.parentRunId"] == parent.info.run_id
    children = client.search_runs(["0"], f"tags.mlflow.parentRunId = '{parent.info.run_id}'")
    assert [r.info.run_name for r in children] == ["child"]


def test_gitlab_mlops_runs(tracking_uri):
    gitlab_mlops = pytest.importorskip("gitlab_mlops")
    import os

    client = gitlab_mlops.Client(tracking_uri, os.environ["MLFLOW_TRACKING_TOKEN"])
    experiment = client.create_experiment("mlops-runs", tags={"team": "vision"})
    run = experiment.create_run()
    run.log_param("lr", 0.01)
    run.log_metric("loss", 0.5, step=1)
    run.log_metric("loss", 0.25, step=2)
    assert run.get_params() == {"lr": "0.01"}
    assert run.get_metrics() == {"loss": 0.25}
    again = client.get_run(run.id)
    assert again is not None and again.id == run.id and again.experiment_id == experiment.id
    assert client.get_run("f" * 32) is None
