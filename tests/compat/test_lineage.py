"""Which run a model version links, through the real MLflow client (2.x and 3.x): many versions
from one run, one run under several models, `copy_model_version`, `log_model` with
`registered_model_name`, two checkpoints of one run, run ids from outside, local sources."""

from __future__ import annotations

from pathlib import Path

import mlflow
import numpy as np
import pytest
import requests
from mlflow import MlflowClient
from mlflow.exceptions import MlflowException
from sklearn.linear_model import LogisticRegression

from support import MLFLOW_MAJOR, bearer


def _tree(root: Path) -> dict[str, bytes]:
    return {str(p.relative_to(root)): p.read_bytes() for p in sorted(root.rglob("*")) if p.is_file()}


def _trained(seed: int = 0) -> tuple[LogisticRegression, np.ndarray]:
    rng = np.random.default_rng(seed)
    x = rng.normal(size=(40, 3))
    y = (x[:, 0] + x[:, 1] > 0).astype(int)
    return LogisticRegression().fit(x, y), x


def test_one_run_backs_many_versions_of_several_models(client):
    exp = client.create_experiment("training")
    run = client.create_run(exp).info
    client.log_param(run.run_id, "alpha", "0.5")
    client.log_metric(run.run_id, "acc", 0.9)
    client.log_text(run.run_id, "weights", "model/weights.txt")
    client.create_registered_model("staging")
    client.create_registered_model("prod")
    source = f"runs:/{run.run_id}/model"
    versions = [client.create_model_version("staging", source, run_id=run.run_id) for _ in range(30)]
    assert [v.version for v in versions] == [str(n) for n in range(1, 31)]
    assert {v.run_id for v in versions} == {run.run_id}
    assert versions[-1].aliases[0] == "1.0.29"
    prod = client.create_model_version("prod", source, run_id=run.run_id)
    assert (prod.version, prod.run_id, prod.aliases[0]) == ("1", run.run_id, "1.0.0")
    # Every version shows the run's parameters and metrics, and serves its files.
    linked = client.get_run(client.get_model_version("prod", "1").run_id)
    assert linked.data.params == {"alpha": "0.5"} and linked.data.metrics == {"acc": 0.9}
    found = client.search_model_versions(f"run_id = '{run.run_id}'", max_results=100)
    assert sorted((v.name, int(v.version)) for v in found) == (
        [("prod", 1)] + [("staging", n) for n in range(1, 31)])
    for name, number in [("staging", "17"), ("prod", "1")]:
        assert client.get_model_version_download_uri(name, number) == run.artifact_uri + "/model"


def test_copy_model_version_shares_files_run_and_semver(client, tmp_path, tracking_uri, admin_token):
    model, x = _trained()
    with mlflow.start_run() as run:
        mlflow.log_param("C", "1.0")
        info = mlflow.sklearn.log_model(model, **({"name": "clf"} if MLFLOW_MAJOR >= 3 else {"artifact_path": "clf"}))
    src = mlflow.register_model(info.model_uri, "staging-model")
    client.set_model_version_tag("staging-model", src.version, "validated", "yes")

    copy = client.copy_model_version(f"models:/staging-model/{src.version}", "prod-model")
    assert copy.name == "prod-model" and copy.version == "1"
    assert copy.run_id == run.info.run_id
    assert copy.source == f"models:/staging-model/{src.version}"
    # The copy carries its source's semver (free in the new model) and tags.
    assert copy.aliases[0] == "1.0.0" and copy.tags["validated"] == "yes"
    if MLFLOW_MAJOR >= 3:
        # (The client drops a version's model_id when it parses the answer: read the wire.)
        wire = lambda name: requests.get(  # noqa: E731
            f"{tracking_uri}/api/2.0/mlflow/model-versions/get", params={"name": name, "version": "1"},
            headers=bearer(admin_token)).json()["model_version"]
        assert wire("prod-model")["model_id"] == wire("staging-model")["model_id"] == info.model_id

    # The same files, not copies of them: what the two versions download is identical.
    a = Path(mlflow.artifacts.download_artifacts("models:/staging-model/1", dst_path=str(tmp_path / "a")))
    b = Path(mlflow.artifacts.download_artifacts("models:/prod-model/1", dst_path=str(tmp_path / "b")))
    # (`registered_model_meta` is written by the client, naming the model it downloaded.)
    served = lambda root: {k: v for k, v in _tree(root).items() if k != "registered_model_meta"}  # noqa: E731
    assert served(a) == served(b) and "MLmodel" in served(b)
    loaded = mlflow.sklearn.load_model("models:/prod-model@1.0.0")
    assert (loaded.predict(x) == model.predict(x)).all()

    # A second copy into the same model: the semver is taken there, so it gets the next one.
    again = client.copy_model_version("models:/staging-model/1", "prod-model")
    assert (again.version, again.aliases[0], again.run_id) == ("2", "1.0.1", run.info.run_id)
    # A copy by alias, and of a missing version.
    client.set_registered_model_alias("staging-model", "champion", "1")
    by_alias = client.copy_model_version("models:/staging-model@champion", "archive-model")
    assert by_alias.source == "models:/staging-model/1" and by_alias.run_id == run.info.run_id
    with pytest.raises(MlflowException) as e:
        client.copy_model_version("models:/staging-model/9", "prod-model")
    assert "not found" in str(e.value)


@pytest.mark.skipif(MLFLOW_MAJOR < 3, reason="registering a logged model by id is MLflow 3")
def test_log_model_with_registered_model_name_links_the_training_run(client):
    model, x = _trained(1)
    with mlflow.start_run() as run:
        mlflow.log_params({"C": "1.0", "solver": "lbfgs"})
        mlflow.log_metric("accuracy", 0.875)
        mlflow.sklearn.log_model(model, name="clf", registered_model_name="churn")
    mv = client.get_model_version("churn", "1")
    assert mv.run_id == run.info.run_id, "the version links the run that trained the model"
    model_id = mv.source.removeprefix("models:/")
    assert model_id.startswith("m-")
    trained = client.get_run(mv.run_id)
    assert trained.data.params["solver"] == "lbfgs" and trained.data.metrics["accuracy"] == 0.875
    # MLflow's server records the version on the logged model.
    assert '"name": "churn"' in client.get_logged_model(model_id).tags["mlflow.modelVersions"]
    loaded = mlflow.sklearn.load_model("models:/churn/1")
    assert (loaded.predict(x) == model.predict(x)).all()


@pytest.mark.skipif(MLFLOW_MAJOR < 3, reason="several logged models per run is MLflow 3")
def test_two_checkpoints_of_one_run_are_two_versions(client):
    first, x = _trained(2)
    second, _ = _trained(3)
    with mlflow.start_run() as run:
        a = mlflow.sklearn.log_model(first, name="ckpt-a", step=1)
        b = mlflow.sklearn.log_model(second, name="ckpt-b", step=2)
    v1 = mlflow.register_model(f"models:/{a.model_id}", "checkpoints")
    v2 = mlflow.register_model(f"models:/{b.model_id}", "checkpoints")
    assert (v1.version, v2.version) == ("1", "2")
    assert v1.run_id == v2.run_id == run.info.run_id
    assert (v1.source, v2.source) == (f"models:/{a.model_id}", f"models:/{b.model_id}")
    loaded = mlflow.sklearn.load_model("models:/checkpoints/2")
    assert (loaded.predict(x) == second.predict(x)).all()


def test_a_run_id_from_another_tracking_server_is_kept_as_given(client):
    client.create_registered_model("external")
    outside = "0123456789abcdef0123456789abcdef"
    mv = client.create_model_version("external", "s3://bucket/model", run_id=outside)
    assert mv.run_id == outside and mv.version == "1"
    assert client.get_model_version("external", "1").run_id == outside
    # It is recorded, not resolved: no run of that id exists here.
    with pytest.raises(MlflowException) as e:
        client.get_run(outside)
    assert e.value.error_code == "RESOURCE_DOES_NOT_EXIST"
    assert client.get_model_version_download_uri("external", "1") == "s3://bucket/model"


def test_local_sources_are_refused(client, tracking_uri, admin_token):
    client.create_registered_model("local")
    base = tracking_uri + "/api/2.0/mlflow"
    for body in [
        {"name": "local", "source": "file:///etc/passwd"},
        {"name": "local", "source": "/etc/passwd"},
        {"name": "local", "source": "file:///tmp/model", "model_id": "m-" + "0" * 32},
    ]:
        r = requests.post(f"{base}/model-versions/create", json=body, headers=bearer(admin_token))
        assert r.status_code == 400, (body, r.text)
        assert r.json()["error_code"] == "INVALID_PARAMETER_VALUE"
        assert "local path" in r.json()["message"], r.text
    assert client.search_model_versions("name = 'local'") == []
