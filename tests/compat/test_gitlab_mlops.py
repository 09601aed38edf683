"""GitLab's own MLOps client (gitlab-mlops, mlflow 2.x venv only) against Hangar.

gitlab_mlops.Client checks the tracking URI against
`^https?://[^/]+/api/v4/projects/\\d+/ml/mlflow/?$` and the token against `^glpat-[^\\s]{20,}$`,
then drives the MLflow client through MLFLOW_TRACKING_URI / MLFLOW_TRACKING_TOKEN, which it
writes into os.environ itself.
"""

from __future__ import annotations

import pytest
from mlflow.exceptions import RestException

gitlab_mlops = pytest.importorskip("gitlab_mlops")

from gitlab_mlops import Client  # noqa: E402
from gitlab_mlops.mlflow.exceptions import AlreadyExistsException  # noqa: E402
from gitlab_mlops.mlflow.exceptions import MlflowException as MlopsError  # noqa: E402

from support import unique  # noqa: E402


def test_client_accepts_hangar_uri_and_token(tracking_uri, admin_token):
    # Raises ValueError if either does not look like GitLab's.
    Client(tracking_uri=tracking_uri, gitlab_token=admin_token)
    Client(tracking_uri=tracking_uri + "/", gitlab_token=admin_token)


def test_create_and_get_experiment(tracking_uri, admin_token, client):
    c = Client(tracking_uri=tracking_uri, gitlab_token=admin_token)
    exp = c.create_experiment("mlops-exp", tags={"framework": "sklearn"})
    assert exp.id.isdigit() and exp.id != "0"
    assert exp.name == "mlops-exp"

    got = c.get_experiment("mlops-exp")
    assert got is not None
    assert got.id == exp.id and got.name == "mlops-exp"
    assert got.tags["framework"] == "sklearn"

    # The same experiment, seen by the plain MLflow client in the same project.
    plain = client.get_experiment(exp.id)
    assert plain.name == "mlops-exp" and plain.tags["framework"] == "sklearn"

    assert c.get_experiment(unique("missing")) is None
    with pytest.raises(AlreadyExistsException):
        c.create_experiment("mlops-exp")


def test_experiment_without_tags(tracking_uri, admin_token):
    c = Client(tracking_uri=tracking_uri, gitlab_token=admin_token)
    exp = c.create_experiment("bare")
    got = c.get_experiment("bare")
    assert got.id == exp.id and not got.tags


def test_configuration_from_environment(tracking_uri, admin_token):
    # The tracking_uri fixture put both into the environment, as a CI job would.
    c = Client()
    exp = c.create_experiment("from-env")
    assert c.get_experiment("from-env").id == exp.id


def test_experiments_stay_in_their_project(tracking_uri, admin_token, hangar, api):
    c = Client(tracking_uri=tracking_uri, gitlab_token=admin_token)
    c.create_experiment("project-a-only")
    other = api.create_project()
    c_other = Client(tracking_uri=f"{hangar.url}/api/v4/projects/{other['id']}/ml/mlflow",
                     gitlab_token=admin_token)
    assert c_other.get_experiment("project-a-only") is None


def test_unknown_token_fails(tracking_uri):
    c = Client(tracking_uri=tracking_uri, gitlab_token="glpat-" + "q" * 24)
    with pytest.raises(MlopsError) as ei:
        c.create_experiment("never")
    # gitlab-mlops wraps the MLflow client's error; Hangar answered 401 UNAUTHENTICATED.
    cause = ei.value.__cause__ or ei.value.__context__
    assert isinstance(cause, RestException) and cause.error_code == "UNAUTHENTICATED"


def test_models_and_versions(tracking_uri, admin_token, client):
    c = Client(tracking_uri=tracking_uri, gitlab_token=admin_token)
    model = c.create_model("mlops-model", description="from gitlab-mlops")
    assert model.name == "mlops-model"
    assert c.get_model("mlops-model").description == "from gitlab-mlops"
    assert c.get_model(unique("missing")) is None
    assert model.get_latest_version() is None
    # The model's default experiment, as GitLab names it.
    assert model.get_experiment() is not None

    # No source at all: the version gets its own candidate run.
    v1 = model.create_version(description="first")
    assert v1.version == "1.0.0" and v1.run_id
    v1.log_param("alpha", 0.5)
    v1.log_metric("accuracy", 0.91, step=1)
    assert v1.get_params() == {"alpha": "0.5"}
    assert v1.get_metrics() == {"accuracy": 0.91}
    assert client.get_run(v1.run_id).info.experiment_id == model.get_experiment().id

    # An explicit semver, and a run promoted with `runs:/<id>` as the source.
    run = client.create_run(model.get_experiment().id)
    v2 = model.create_version(version="1.2.0", run_id=run.info.run_id, tags={"k": "v"})
    assert v2.version == "1.2.0" and v2.run_id == run.info.run_id
    assert v2.tags["k"] == "v"
    with pytest.raises(ValueError):
        model.create_version(version="v1.3")
    with pytest.raises((MlopsError, RestException)):
        model.create_version(version="1.2.0")

    latest = model.get_latest_version()
    assert latest.version == "1.2.0" and latest.run_id == run.info.run_id
    got = c.get_model_version("mlops-model", "1.0.0")
    assert got.version == "1.0.0" and got.description == "first"
    assert model.create_version().version == "1.2.1"


def test_version_created_in_a_ci_job_carries_the_job(tracking_uri, admin_token, monkeypatch, client):
    monkeypatch.setenv("GITLAB_CI", "true")
    monkeypatch.setenv("CI_JOB_ID", "4711")
    c = Client(tracking_uri=tracking_uri, gitlab_token=admin_token)
    v = c.create_model("ci-model").create_version()
    assert v.tags["gitlab.CI_JOB_ID"] == "4711"
    assert client.get_model_version("ci-model", "1").tags["gitlab.CI_JOB_ID"] == "4711"


def test_version_files_logged_with_gitlab_mlops(tracking_uri, admin_token, client, api, project, tmp_path):
    c = Client(tracking_uri=tracking_uri, gitlab_token=admin_token)
    version = c.create_model("files-model").create_version()
    (tmp_path / "model").mkdir()
    (tmp_path / "model" / "weights.bin").write_bytes(b"\x00\x01" * 500)
    (tmp_path / "card.md").write_text("# card")
    version.log_artifact(str(tmp_path / "card.md"))
    version.log_artifacts(str(tmp_path / "model"), artifact_path="model")
    version.log_text("trained on data v3", "notes/data.txt")

    listed = {f.path for f in client.list_artifacts(version.run_id)}
    assert listed == {"card.md", "model", "notes"}
    # The same files are the version's package, listed by the JSON API with their sizes.
    model = api.ok(api.get(f"/projects/{project['id']}/ml/models"))[0]
    vid = model["latest_version"]["id"]
    files = api.ok(api.get(f"/projects/{project['id']}/ml/models/{model['id']}/versions/{vid}/files"))
    assert [(f["path"], f["size"]) for f in files] == [
        ("card.md", 6), ("model/weights.bin", 1000), ("notes/data.txt", 18)]
