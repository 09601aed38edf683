"""The model registry through the real MLflow client (2.x and 3.x): registered models,
versions with semvers, aliases, stages, tags, search and `models:/` resolution of versions."""

from __future__ import annotations

import concurrent.futures

import mlflow
import pytest
import requests
from mlflow import MlflowClient
from mlflow.exceptions import MlflowException, RestException

from support import now_ms


def error_code(e: MlflowException) -> str:
    return getattr(e, "error_code", "")


def test_create_get_update_rename_delete_model(client):
    before = now_ms()
    m = client.create_registered_model("rm", tags={"team": "vision"}, description="first *model*")
    assert m.name == "rm" and m.description == "first *model*"
    assert m.tags == {"team": "vision"}
    assert before - 1000 <= m.creation_timestamp <= now_ms() + 1000

    got = client.get_registered_model("rm")
    assert got.name == "rm" and got.latest_versions == []

    with pytest.raises(MlflowException) as e:
        client.create_registered_model("rm")
    assert error_code(e.value) == "RESOURCE_ALREADY_EXISTS"
    assert "Registered Model (name=rm) already exists." in str(e.value)

    client.update_registered_model("rm", description="updated")
    assert client.get_registered_model("rm").description == "updated"
    client.set_registered_model_tag("rm", "owner", "ana")
    client.delete_registered_model_tag("rm", "team")
    assert client.get_registered_model("rm").tags == {"owner": "ana"}

    client.create_model_version("rm", "s3://bucket/model")
    client.rename_registered_model("rm", "rm2")
    renamed = client.get_registered_model("rm2")
    assert [v.version for v in renamed.latest_versions] == ["1"]
    assert client.get_model_version("rm2", "1").name == "rm2"
    # The model's default experiment follows its name.
    assert client.get_experiment_by_name("[model]rm2") is not None
    assert client.get_experiment_by_name("[model]rm") is None

    client.delete_registered_model("rm2")
    with pytest.raises(MlflowException) as e:
        client.get_registered_model("rm2")
    assert error_code(e.value) == "RESOURCE_DOES_NOT_EXIST"
    assert "Registered Model with name=rm2 not found" in str(e.value)
    assert client.get_experiment_by_name("[model]rm2") is None


def test_invalid_model_names_are_refused(client):
    for bad in ["a/b", "a:b", ""]:
        with pytest.raises(MlflowException) as e:
            client.create_registered_model(bad)
        assert error_code(e.value) == "INVALID_PARAMETER_VALUE", bad


def test_versions_have_numbers_and_semvers(client):
    client.create_registered_model("churn")
    assert client.get_latest_versions("churn") == []

    v1 = client.create_model_version("churn", "s3://bucket/m1", description="baseline")
    assert v1.version == "1"
    assert v1.aliases[0] == "1.0.0"
    assert v1.tags["gitlab.version"] == "1.0.0"
    assert v1.status == "READY" and v1.description == "baseline"
    # A version created without a run gets a fresh candidate in the model's experiment.
    candidate = client.get_run(v1.run_id)
    assert candidate.info.experiment_id == client.get_experiment_by_name("[model]churn").experiment_id

    v2 = client.create_model_version("churn", "s3://bucket/m2", tags={"gitlab.version": "2.0.0-rc.1"})
    assert (v2.version, v2.aliases[0]) == ("2", "2.0.0-rc.1")
    v3 = client.create_model_version("churn", "s3://bucket/m3")
    assert (v3.version, v3.aliases[0]) == ("3", "2.0.1")

    for bad in ["1.2", "v1.0.0", "01.0.0"]:
        with pytest.raises(MlflowException) as e:
            client.create_model_version("churn", "s3://x", tags={"gitlab.version": bad})
        assert error_code(e.value) == "INVALID_PARAMETER_VALUE", bad
    with pytest.raises(MlflowException) as e:
        client.create_model_version("churn", "s3://x", tags={"gitlab.version": "2.0.0-rc.1"})
    assert error_code(e.value) == "RESOURCE_ALREADY_EXISTS"

    # `version` is the number, or the semver.
    assert client.get_model_version("churn", "2").aliases[0] == "2.0.0-rc.1"
    assert client.get_model_version("churn", "2.0.1").version == "3"
    with pytest.raises(MlflowException) as e:
        client.get_model_version("churn", "9")
    assert error_code(e.value) == "RESOURCE_DOES_NOT_EXIST"

    latest = client.get_latest_versions("churn")
    assert [v.version for v in latest] == ["3"]

    client.update_model_version("churn", "1", description="new text")
    assert client.get_model_version("churn", "1").description == "new text"

    # A deleted version's number and semver are never given again.
    client.delete_model_version("churn", "3")
    assert [v.version for v in client.get_latest_versions("churn")] == ["2"]
    v4 = client.create_model_version("churn", "s3://bucket/m4")
    assert (v4.version, v4.aliases[0]) == ("4", "2.0.2")
    assert client.get_registered_model("churn").latest_versions[0].version == "4"


def test_model_versions_from_runs(client):
    exp = client.create_experiment("training")
    run = client.create_run(exp)
    client.create_registered_model("from-run")
    v = client.create_model_version("from-run", f"runs:/{run.info.run_id}/model", run_id=run.info.run_id)
    assert v.run_id == run.info.run_id
    assert v.source == f"runs:/{run.info.run_id}/model"
    assert client.get_model_version_download_uri("from-run", "1") == run.info.artifact_uri + "/model"
    # A run may back any number of versions (MLflow's rule).
    again = client.create_model_version("from-run", f"runs:/{run.info.run_id}/model", run_id=run.info.run_id)
    assert (again.version, again.run_id) == ("2", run.info.run_id)
    with pytest.raises(MlflowException) as e:
        client.create_model_version("from-run", "/etc/passwd")
    assert error_code(e.value) == "INVALID_PARAMETER_VALUE"


def test_register_model_with_the_fluent_api(client):
    # register_model creates the model, and on the second call goes on past
    # RESOURCE_ALREADY_EXISTS. (`runs:/` URIs make MLflow 3 list the run's artifacts first:
    # that flow waits for the artifact endpoints.)
    mv = mlflow.register_model("s3://bucket/model-a", "fluent-model")
    assert mv.version == "1" and mv.aliases[0] == "1.0.0"
    mv = mlflow.register_model("s3://bucket/model-b", "fluent-model", tags={"gitlab.version": "2.0.0"})
    assert mv.version == "2" and mv.aliases[0] == "2.0.0"
    assert client.get_registered_model("fluent-model").latest_versions[0].version == "2"


def test_aliases(client):
    client.create_registered_model("aliased")
    for _ in range(2):
        client.create_model_version("aliased", "s3://b/m")
    client.set_registered_model_alias("aliased", "champion", "1")
    assert client.get_model_version_by_alias("aliased", "champion").version == "1"
    client.set_registered_model_alias("aliased", "champion", "2")
    mv = client.get_model_version_by_alias("aliased", "champion")
    assert mv.version == "2" and mv.aliases == ["1.0.1", "champion"]
    # The semver is the first alias of every version.
    assert client.get_model_version_by_alias("aliased", "1.0.0").version == "1"
    assert client.get_registered_model("aliased").aliases == {"champion": "2"}
    for bad in ["latest", "v2", "3.0.0"]:
        with pytest.raises(MlflowException):
            client.set_registered_model_alias("aliased", bad, "1")
    client.delete_registered_model_alias("aliased", "champion")
    with pytest.raises(MlflowException) as e:
        client.get_model_version_by_alias("aliased", "champion")
    assert error_code(e.value) == "INVALID_PARAMETER_VALUE"


def test_version_tags_and_stages(client):
    client.create_registered_model("staged")
    for _ in range(3):
        client.create_model_version("staged", "s3://b/m")
    client.set_model_version_tag("staged", "1", "validated", "yes")
    assert client.get_model_version("staged", "1").tags["validated"] == "yes"
    client.delete_model_version_tag("staged", "1", "validated")
    assert "validated" not in client.get_model_version("staged", "1").tags
    with pytest.raises(MlflowException):
        client.set_model_version_tag("staged", "1", "gitlab.version", "9.9.9")
    with pytest.raises(MlflowException):
        client.set_model_version_tag("staged", "1", "gitlab.CI_JOB_ID", "not-a-number")
    client.set_model_version_tag("staged", "1", "gitlab.CI_JOB_ID", "1234")

    mv = client.transition_model_version_stage("staged", "1", "production")
    assert mv.current_stage == "Production"
    client.transition_model_version_stage("staged", "2", "Production", archive_existing_versions=True)
    assert client.get_model_version("staged", "1").current_stage == "Archived"
    prod = client.get_latest_versions("staged", ["Production"])
    assert [v.version for v in prod] == ["2"]
    with pytest.raises(MlflowException) as e:
        client.transition_model_version_stage("staged", "3", "Bogus")
    assert "Invalid Model Version stage: Bogus" in str(e.value)


def test_search_registered_models_and_versions(client):
    for name in ["search-a", "search-b", "other"]:
        client.create_registered_model(name, tags={"kind": name.split("-")[0]})
        client.create_model_version(name, "s3://b/m", tags={"t": name})
    # Every client search adds the prompt clause; it must not hide plain models.
    names = [m.name for m in client.search_registered_models()]
    assert names == ["other", "search-a", "search-b"]
    names = [m.name for m in client.search_registered_models(filter_string="name LIKE 'search-%'")]
    assert names == ["search-a", "search-b"]
    names = [m.name for m in client.search_registered_models(filter_string="name ILIKE 'SEARCH-%'",
                                                           order_by=["name DESC"])]
    assert names == ["search-b", "search-a"]
    names = [m.name for m in client.search_registered_models(filter_string="tags.kind = 'other'")]
    assert names == ["other"]
    page = client.search_registered_models(max_results=2)
    assert len(page) == 2 and page.token
    rest = client.search_registered_models(max_results=2, page_token=page.token)
    assert [m.name for m in rest] == ["search-b"] and not rest.token
    with pytest.raises(MlflowException) as e:
        client.search_registered_models(filter_string="creation_timestamp > 5")
    assert error_code(e.value) == "INVALID_PARAMETER_VALUE"

    versions = client.search_model_versions("name = 'search-a'")
    assert [(v.name, v.version) for v in versions] == [("search-a", "1")]
    versions = client.search_model_versions("name IN ('search-a', 'other') and version_number >= 1",
                                            order_by=["name ASC"])
    assert [v.name for v in versions] == ["other", "search-a"]
    versions = client.search_model_versions("tags.t = 'search-b'")
    assert [v.name for v in versions] == ["search-b"]
    run_id = versions[0].run_id
    assert [v.name for v in client.search_model_versions(f"run_id = '{run_id}'")] == ["search-b"]


def test_models_uris_resolve_to_versions(client):
    # What load_model and download_artifacts do first with a models:/ URI.
    from mlflow.store.artifact.utils.models import get_model_name_and_version

    client.create_registered_model("resolve")
    for semver in ["1.2.0", "1.10.0", "1.9.0"]:
        client.create_model_version("resolve", "s3://b/m", tags={"gitlab.version": semver})
    resolve = lambda uri: get_model_name_and_version(client, uri)  # noqa: E731
    assert resolve("models:/resolve/1") == ("resolve", "1")
    # "latest" is the highest semver, 1.10.0 (number 2), not the newest version.
    assert resolve("models:/resolve/latest") == ("resolve", "2")
    assert resolve("models:/resolve@1.9.0") == ("resolve", "3")
    client.set_registered_model_alias("resolve", "prod", "1")
    assert resolve("models:/resolve@prod") == ("resolve", "1")


def test_concurrent_creates_get_distinct_versions(client):
    client.create_registered_model("busy")
    with concurrent.futures.ThreadPoolExecutor(max_workers=10) as pool:
        versions = list(pool.map(lambda _: client.create_model_version("busy", "s3://b/m"), range(50)))
    assert sorted(int(v.version) for v in versions) == list(range(1, 51))
    assert len({v.aliases[0] for v in versions}) == 50


def test_errors_on_the_wire(tracking_uri, admin_token):
    headers = {"Authorization": f"Bearer {admin_token}"}
    base = tracking_uri + "/api/2.0/mlflow"
    r = requests.get(f"{base}/registered-models/get", params={"name": "missing"}, headers=headers)
    assert r.status_code == 404 and r.json()["error_code"] == "RESOURCE_DOES_NOT_EXIST"
    r = requests.get(f"{base}/model-versions/get", params={"name": "missing", "version": "abc"}, headers=headers)
    assert r.status_code == 400
    assert r.json()["message"].startswith("Parameter 'version' must be an integer, got 'abc'.")
    r = requests.post(f"{base}/registered-models/create", json={}, headers=headers)
    assert r.status_code == 400 and r.json()["error_code"] == "INVALID_PARAMETER_VALUE"
    r = requests.post(f"{base}/model-versions/create", json={"name": "missing", "source": "s3://x"}, headers=headers)
    assert r.status_code == 404


def test_reporter_writes_guest_only_reads(tracking_uri, project, api, admin_token, monkeypatch):
    MlflowClient(tracking_uri).create_registered_model("guarded")
    _, guest_token = api.user_with_token(project["id"], 10)
    monkeypatch.setenv("MLFLOW_TRACKING_TOKEN", guest_token["token"])
    guest = MlflowClient(tracking_uri)
    assert guest.get_registered_model("guarded").name == "guarded"
    with pytest.raises(RestException) as e:
        guest.create_model_version("guarded", "s3://b/m")
    assert error_code(e.value) == "PERMISSION_DENIED"
    _, reporter_token = api.user_with_token(project["id"], 20)
    monkeypatch.setenv("MLFLOW_TRACKING_TOKEN", reporter_token["token"])
    assert MlflowClient(tracking_uri).create_model_version("guarded", "s3://b/m").version == "1"


def test_deployment_job_fields_are_kept_and_read_by_the_client(client, tracking_uri, admin_token):
    # The OSS client does not send them; tools written for MLflow 3's deployment jobs do.
    headers = {"Authorization": f"Bearer {admin_token}"}
    base = tracking_uri + "/api/2.0/mlflow"
    r = requests.post(f"{base}/registered-models/create", headers=headers,
                      json={"name": "deployed", "deployment_job_id": "job-7"})
    assert r.status_code == 200 and r.json()["registered_model"]["deployment_job_id"] == "job-7"
    r = requests.patch(f"{base}/registered-models/update", headers=headers,
                       json={"name": "deployed", "deployment_job_state": "CONNECTED"})
    assert r.status_code == 200, r.text
    model = client.get_registered_model("deployed")
    if hasattr(model, "deployment_job_id"):
        assert model.deployment_job_id == "job-7"
        assert model.deployment_job_state == "CONNECTED"
