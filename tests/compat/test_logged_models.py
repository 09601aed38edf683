"""MLflow 3's logged models (`logged-models/*`, `runs/outputs`) and registering one as a model
version, through the real client. MLflow 2.x has no logged models: skipped there."""

from __future__ import annotations

import mlflow
import pytest
from mlflow.exceptions import MlflowException

if int(mlflow.__version__.split(".")[0]) < 3:
    pytest.skip("logged models are MLflow 3", allow_module_level=True)

from mlflow.entities import LoggedModelOutput, LoggedModelStatus  # noqa: E402


def test_create_get_finalize_tags_params_delete(client):
    exp = client.create_experiment("lm")
    run = client.create_run(exp)
    m = client.create_logged_model(exp, name="model", source_run_id=run.info.run_id,
                                   tags={"mlflow.user": "ana"}, params={"alpha": "0.5"}, model_type="sklearn")
    assert m.model_id.startswith("m-") and len(m.model_id) == 34
    assert m.name == "model" and m.experiment_id == exp and m.model_type == "sklearn"
    assert m.source_run_id == run.info.run_id
    assert m.artifact_location.endswith(f"/models/{m.model_id}/artifacts")
    assert m.status == LoggedModelStatus.PENDING
    assert m.params == {"alpha": "0.5"} and m.tags["mlflow.user"] == "ana"

    done = client.finalize_logged_model(m.model_id, LoggedModelStatus.READY)
    assert done.status == LoggedModelStatus.READY
    client.set_logged_model_tags(m.model_id, {"stage": "dev"})
    client.log_model_params(m.model_id, {"beta": "2"})
    got = client.get_logged_model(m.model_id)
    assert got.tags["stage"] == "dev" and got.params == {"alpha": "0.5", "beta": "2"}
    client.delete_logged_model_tag(m.model_id, "stage")
    assert "stage" not in client.get_logged_model(m.model_id).tags
    with pytest.raises(MlflowException):
        client.log_model_params(m.model_id, {"alpha": "0.9"})

    client.log_outputs(run.info.run_id, [LoggedModelOutput(m.model_id, 3)])
    outputs = client.get_run(run.info.run_id).outputs.model_outputs
    assert [(o.model_id, o.step) for o in outputs] == [(m.model_id, 3)]

    client.delete_logged_model(m.model_id)
    with pytest.raises(MlflowException) as e:
        client.get_logged_model(m.model_id)
    assert "not found" in str(e.value)


def test_bad_names_and_unknown_ids(client):
    exp = client.create_experiment("lm-bad")
    with pytest.raises(MlflowException) as e:
        client.create_logged_model(exp, name="bad/name")
    assert "Invalid model name ('bad/name') provided" in str(e.value)
    assert client.create_logged_model(exp).name  # a random name when none is given
    with pytest.raises(MlflowException) as e:
        client.get_logged_model("m-" + "0" * 32)
    assert e.value.error_code == "RESOURCE_DOES_NOT_EXIST"


def test_search_filters_orders_and_pages(client):
    exp = client.create_experiment("lm-search")
    for i, name in enumerate(["a", "b", "c"]):
        client.create_logged_model(exp, name=name, params={"n": str(i)}, tags={"kind": "x" if i else "y"})
    names = lambda page: [m.name for m in page]  # noqa: E731
    assert names(client.search_logged_models([exp], filter_string="name = 'b'")) == ["b"]
    assert names(client.search_logged_models([exp], filter_string="tags.kind = 'x'",
                                             order_by=[{"field_name": "name", "ascending": True}])) == ["b", "c"]
    assert names(client.search_logged_models([exp], filter_string="params.n != '0'",
                                             order_by=[{"field_name": "name", "ascending": False}])) == ["c", "b"]
    first = client.search_logged_models([exp], max_results=2, order_by=[{"field_name": "name"}])
    assert names(first) == ["a", "b"] and first.token
    rest = client.search_logged_models([exp], max_results=2, order_by=[{"field_name": "name"}], page_token=first.token)
    assert names(rest) == ["c"] and not rest.token
    with pytest.raises(MlflowException):
        client.search_logged_models([exp], filter_string="bogus.x = 1")


def test_register_a_logged_model(client):
    exp = client.create_experiment("lm-register")
    m = client.create_logged_model(exp, name="pm")
    client.finalize_logged_model(m.model_id, LoggedModelStatus.READY)
    mv = mlflow.register_model(f"models:/{m.model_id}", "registered-from-logged")
    assert mv.version == "1" and mv.aliases[0] == "1.0.0"
    assert mv.source == f"models:/{m.model_id}"
    assert client.get_model_version_download_uri("registered-from-logged", "1") == m.artifact_location


def test_metrics_logged_with_a_model_id_are_the_models(client):
    import pandas as pd
    from mlflow.entities import LoggedModelInput, Metric

    exp = client.create_experiment("lm-metrics")
    mlflow.set_experiment(experiment_id=exp)
    eval_set = mlflow.data.from_pandas(pd.DataFrame({"x": [1, 2, 3]}), name="eval-set")
    other_set = mlflow.data.from_pandas(pd.DataFrame({"x": [4, 5]}), name="other-set")
    with mlflow.start_run() as run:
        good = client.create_logged_model(exp, name="good", source_run_id=run.info.run_id)
        poor = client.create_logged_model(exp, name="poor", source_run_id=run.info.run_id)
        bare = client.create_logged_model(exp, name="bare", source_run_id=run.info.run_id)
        mlflow.log_metric("acc", 0.91, step=1, model_id=good.model_id, dataset=eval_set)
        mlflow.log_metric("acc", 0.95, step=2, model_id=good.model_id, dataset=eval_set)
        mlflow.log_metric("acc", 0.40, step=1, model_id=poor.model_id, dataset=other_set)
        now = support_now()
        client.log_batch(run.info.run_id, metrics=[
            Metric("loss", 0.2, now, 0, model_id=poor.model_id),
            Metric("loss", 0.1, now, 1, model_id=poor.model_id),
        ])
        client.log_inputs(run.info.run_id, models=[LoggedModelInput(good.model_id)])
        with pytest.raises(MlflowException) as e:
            client.log_inputs(run.info.run_id, models=[LoggedModelInput("m-" + "1" * 32)])
        assert e.value.error_code == "RESOURCE_DOES_NOT_EXIST"

    got = client.get_logged_model(good.model_id)
    points = sorted((m.key, m.value, m.step, m.dataset_name, m.dataset_digest, m.run_id) for m in got.metrics)
    assert points == [("acc", 0.91, 1, "eval-set", eval_set.digest, run.info.run_id),
                      ("acc", 0.95, 2, "eval-set", eval_set.digest, run.info.run_id)]
    poor_points = {(m.key, m.step): m.value for m in client.get_logged_model(poor.model_id).metrics}
    assert poor_points == {("acc", 1): 0.40, ("loss", 0): 0.2, ("loss", 1): 0.1}
    assert client.get_logged_model(bare.model_id).metrics == []
    # The points are the run's too, and the run lists the model it used.
    finished = client.get_run(run.info.run_id)
    assert finished.data.metrics["acc"] == 0.95 and finished.data.metrics["loss"] == 0.1
    # (`mlflow.log_metric` with a model logs the model as an input of the run, too.)
    assert sorted(i.model_id for i in finished.inputs.model_inputs) == sorted([good.model_id, poor.model_id])

    names = lambda page: sorted(m.name for m in page)  # noqa: E731
    assert names(client.search_logged_models([exp], filter_string="metrics.acc > 0.5")) == ["good"]
    assert names(client.search_logged_models([exp], datasets=[{"dataset_name": "eval-set"}])) == ["good"]
    assert names(client.search_logged_models(
        [exp], datasets=[{"dataset_name": "other-set", "dataset_digest": other_set.digest}])) == ["poor"]
    assert names(client.search_logged_models(
        [exp], filter_string="metrics.acc > 0.1", datasets=[{"dataset_name": "other-set"}])) == ["poor"]
    assert client.search_logged_models([exp], datasets=[{"dataset_name": "missing"}]) == []
    ordered = client.search_logged_models([exp], order_by=[{"field_name": "metrics.acc", "ascending": False}])
    assert [m.name for m in ordered] == ["good", "poor", "bare"]
    # A point for a model that is not there changes nothing.
    with pytest.raises(MlflowException) as e:
        client.log_metric(run.info.run_id, "acc", 1.0, model_id="m-" + "0" * 32)
    assert e.value.error_code == "RESOURCE_DOES_NOT_EXIST"
    assert client.get_run(run.info.run_id).data.metrics["acc"] == 0.95


def support_now() -> int:
    from support import now_ms

    return now_ms()
