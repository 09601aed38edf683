"""MLflow 3's workspaces with the real client: they are Hangar's projects.

With `MLFLOW_TRACKING_URI=<server>` the client lists, creates, updates and deletes
workspaces, and after `mlflow.set_workspace(name)` every request carries `X-MLFLOW-WORKSPACE`
and reaches that project exactly as its project URL does.
"""

from __future__ import annotations

import urllib.parse

import mlflow
import pytest
import requests
from mlflow import MlflowClient
from mlflow.exceptions import MlflowException

from support import MLFLOW_MAJOR, Api, bearer, mlflow_url, tracking_uri_for, unique

pytestmark = pytest.mark.skipif(MLFLOW_MAJOR < 3, reason="workspaces are an MLflow 3 feature")

T = 30  # seconds, per request


def workspace_name() -> str:
    # The client's rule: lowercase letters, digits and inner hyphens.
    return unique("ws")


def as_user(monkeypatch, hangar, token: str) -> None:
    """The bare server as tracking URI, as a workspace-aware client is set up, and `token`."""
    monkeypatch.setenv("MLFLOW_TRACKING_URI", hangar.url)
    monkeypatch.setenv("MLFLOW_TRACKING_TOKEN", token)


def project_by_path(api: Api, path: str) -> requests.Response:
    return api.get(f"/projects/{urllib.parse.quote(path, safe='')}")


def experiment_by_name(uri: str, token: str, name: str) -> requests.Response:
    return requests.get(mlflow_url(uri, "experiments/get-by-name"),
                        params={"experiment_name": name}, headers=bearer(token), timeout=T)


def error_of(call, *args, **kwargs) -> MlflowException:
    with pytest.raises(MlflowException) as ei:
        call(*args, **kwargs)
    return ei.value


def test_server_info_enables_workspaces(hangar):
    r = requests.get(f"{hangar.url}/api/3.0/mlflow/server-info", timeout=T)
    assert r.status_code == 200 and r.json()["workspaces_enabled"] is True, r.text


def test_create_list_use_update_and_delete_a_workspace(hangar, api, monkeypatch, tmp_path):
    user, token = api.user_with_token()
    token = token["token"]
    as_user(monkeypatch, hangar, token)
    name = workspace_name()

    created = mlflow.create_workspace(name, description="made by the client")
    assert (created.name, created.description) == (name, "made by the client")
    assert name in [w.name for w in mlflow.list_workspaces()]
    assert mlflow.get_workspace(name).description == "made by the client"
    # It is a private project in the caller's namespace, and the JSON API names it.
    project = Api.ok(project_by_path(Api(hangar.url, token), f"{user['username']}/{name}"))
    assert project["mlflow_workspace"] == name
    assert project["visibility"] == "private"
    assert project["description"] == "made by the client"

    # Everything the client does with the workspace set lands in that project.
    mlflow.set_workspace(name)
    experiment = mlflow.set_experiment("in-the-workspace")
    with mlflow.start_run() as run:
        mlflow.log_param("p", "1")
        mlflow.log_metric("m", 0.5)
        mlflow.log_text("hello", "notes.txt")
    client = MlflowClient()
    client.create_registered_model("ws-model")
    version = client.create_model_version("ws-model", "s3://bucket/model", run_id=run.info.run_id)
    assert version.version == "1"
    assert client.get_run(run.info.run_id).data.params == {"p": "1"}
    assert [a.path for a in client.list_artifacts(run.info.run_id)] == ["notes.txt"]

    here = tracking_uri_for(hangar.url, project)
    default = tracking_uri_for(hangar.url, 1)
    admin = api.token
    found = experiment_by_name(here, admin, "in-the-workspace")
    assert found.status_code == 200 and found.json()["experiment"]["experiment_id"] == experiment.experiment_id
    assert experiment_by_name(default, admin, "in-the-workspace").status_code == 404
    by_url = MlflowClient(here)
    assert by_url.get_run(run.info.run_id).data.metrics == {"m": 0.5}
    local = by_url.download_artifacts(run.info.run_id, "notes.txt", dst_path=str(tmp_path))
    assert open(local).read() == "hello"
    with pytest.raises(MlflowException):
        MlflowClient(default).get_run(run.info.run_id)
    models = Api.ok(api.get(f"/projects/{project['id']}/ml/models"))
    assert [m["name"] for m in models] == ["ws-model"]
    assert "ws-model" not in [m["name"] for m in Api.ok(api.get("/projects/1/ml/models", params={"per_page": 100}))]

    # Updating changes the project's description.
    updated = mlflow.update_workspace(name, description="changed")
    assert updated.description == "changed"
    assert Api.ok(api.get(f"/projects/{project['id']}"))["description"] == "changed"

    # MLflow's default deletion mode refuses while the workspace holds something, and
    # changes nothing; CASCADE deletes the project.
    mlflow.set_workspace(None)
    refused = error_of(mlflow.delete_workspace, name)
    assert refused.error_code == "INVALID_STATE", refused
    assert Api.ok(api.get(f"/projects/{project['id']}"))["mlflow_workspace"] == name
    assert by_url.get_experiment(experiment.experiment_id).name == "in-the-workspace"
    mlflow.delete_workspace(name, mode="CASCADE")
    assert name not in [w.name for w in mlflow.list_workspaces()]
    assert api.get(f"/projects/{project['id']}").status_code == 404
    assert error_of(mlflow.get_workspace, name).error_code == "RESOURCE_DOES_NOT_EXIST"


def test_a_private_workspace_of_others_answers_like_a_missing_one(hangar, api, monkeypatch):
    _, owner = api.user_with_token()
    _, outsider = api.user_with_token()
    secret, missing = workspace_name(), workspace_name()
    as_user(monkeypatch, hangar, owner["token"])
    mlflow.create_workspace(secret, description="theirs")

    as_user(monkeypatch, hangar, outsider["token"])
    assert secret not in [w.name for w in mlflow.list_workspaces()]

    def refusals(name: str) -> list[tuple[str | None, str]]:
        out = []
        for call in (lambda: mlflow.get_workspace(name),
                     lambda: mlflow.update_workspace(name, description="mine now"),
                     lambda: mlflow.delete_workspace(name, mode="CASCADE")):
            e = error_of(call)
            out.append((e.error_code, e.message.replace(name, "<name>")))
        mlflow.set_workspace(name)
        try:
            for call in (lambda: mlflow.search_experiments(),
                         lambda: MlflowClient().create_experiment("planted")):
                e = error_of(call)
                out.append((e.error_code, e.message.replace(name, "<name>")))
        finally:
            mlflow.set_workspace(None)
        return out

    seen = refusals(secret)
    assert [code for code, _ in seen] == ["RESOURCE_DOES_NOT_EXIST"] * 5, seen
    assert seen == refusals(missing)

    # Nothing changed for the owner.
    as_user(monkeypatch, hangar, owner["token"])
    assert mlflow.get_workspace(secret).description == "theirs"
    mlflow.set_workspace(secret)
    assert [e.name for e in mlflow.search_experiments()] == ["Default"]


def test_the_default_workspace_is_project_1(hangar, admin_token, monkeypatch):
    as_user(monkeypatch, hangar, admin_token)
    assert mlflow.get_workspace("default").name == "default"
    assert "default" in [w.name for w in mlflow.list_workspaces()]
    name = unique("in-default")
    mlflow.set_workspace("default")
    eid = mlflow.create_experiment(name)
    mlflow.set_workspace(None)
    assert MlflowClient(tracking_uri_for(hangar.url, 1)).get_experiment(eid).name == name
    assert MlflowClient().get_experiment_by_name(name).experiment_id == eid
    assert error_of(mlflow.delete_workspace, "default").error_code == "INVALID_PARAMETER_VALUE"


def test_a_project_url_and_another_workspace_are_refused(hangar, api, monkeypatch):
    _, token = api.user_with_token()
    token = token["token"]
    as_user(monkeypatch, hangar, token)
    mine, other = workspace_name(), workspace_name()
    mlflow.create_workspace(mine)
    mlflow.create_workspace(other)
    project = Api.ok(Api(hangar.url, token).get("/projects", params={"search": mine}))[0]
    uri = tracking_uri_for(hangar.url, project)
    monkeypatch.setenv("MLFLOW_TRACKING_URI", uri)
    # The workspace endpoints under a project's tracking URI are the server's.
    assert {mine, other} <= {w.name for w in mlflow.list_workspaces()}
    mlflow.set_workspace(mine)
    assert [e.name for e in mlflow.search_experiments()] == ["Default"]
    mlflow.set_workspace(other)
    e = error_of(mlflow.create_experiment, "guessed")
    assert e.error_code == "INVALID_PARAMETER_VALUE" and other in e.message, e
    mlflow.set_workspace(None)
    assert [x.name for x in mlflow.search_experiments()] == ["Default"]
    mlflow.delete_workspace(mine)
    mlflow.delete_workspace(other)
