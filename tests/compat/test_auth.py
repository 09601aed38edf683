"""Who may read and write a project's MLflow surface, with `requests` and the MLflow client."""

from __future__ import annotations

import pytest
import requests
from mlflow import MlflowClient
from mlflow.exceptions import RestException

from support import (DEVELOPER, GUEST, MAINTAINER, REPORTER, bearer, mlflow_url, tracking_uri_for,
                     unique)

T = 30  # seconds, per request


def get_exp0(uri: str, headers: dict | None = None, auth=None) -> requests.Response:
    return requests.get(mlflow_url(uri, "experiments/get"), params={"experiment_id": "0"},
                        headers=headers or {}, auth=auth, timeout=T)


def create_exp(uri: str, name: str, headers: dict | None = None, auth=None) -> requests.Response:
    return requests.post(mlflow_url(uri, "experiments/create"), json={"name": name},
                         headers=headers or {}, auth=auth, timeout=T)


def assert_error(r: requests.Response, status: int, code: str) -> None:
    assert r.status_code == status, (r.request.method, r.url, r.status_code, r.text)
    assert r.json().get("error_code") == code, r.text


def client_as(monkeypatch, uri: str, token: str | None) -> MlflowClient:
    """An MlflowClient that sends `token` as Bearer (or nothing)."""
    if token:
        monkeypatch.setenv("MLFLOW_TRACKING_TOKEN", token)
    else:
        monkeypatch.delenv("MLFLOW_TRACKING_TOKEN", raising=False)
    return MlflowClient(uri)


def client_error(fn, *args) -> str:
    with pytest.raises(RestException) as ei:
        fn(*args)
    return ei.value.error_code


def experiment_names(uri: str, admin_token: str) -> set[str]:
    r = requests.post(mlflow_url(uri, "experiments/search"), json={"max_results": 1000, "view_type": "ALL"},
                      headers=bearer(admin_token), timeout=T)
    assert r.status_code == 200, r.text
    return {e["name"] for e in r.json().get("experiments", [])}


@pytest.fixture
def uri(hangar, project) -> str:
    return tracking_uri_for(hangar.url, project)


# -- anonymous and bad credentials ------------------------------------------------------------

def test_no_token_on_private_project_is_401(uri, admin_token):
    assert_error(get_exp0(uri), 401, "UNAUTHENTICATED")
    assert_error(create_exp(uri, "anon"), 401, "UNAUTHENTICATED")
    assert experiment_names(uri, admin_token) == {"Default"}


def test_no_token_with_mlflow_client(uri, monkeypatch, admin_token):
    c = client_as(monkeypatch, uri, None)
    assert client_error(c.get_experiment, "0") == "UNAUTHENTICATED"
    assert client_error(c.create_experiment, "anon") == "UNAUTHENTICATED"
    assert experiment_names(uri, admin_token) == {"Default"}


@pytest.mark.parametrize("headers", [
    {"Authorization": "Bearer glpat-" + "x" * 24},
    {"PRIVATE-TOKEN": "glpat-" + "y" * 24},
    {"Authorization": "Bearer not-a-token"},
], ids=["bearer", "private-token", "malformed"])
def test_unknown_token_is_401(uri, headers):
    assert_error(get_exp0(uri, headers), 401, "UNAUTHENTICATED")
    assert_error(create_exp(uri, "x", headers), 401, "UNAUTHENTICATED")


def test_revoked_token_is_401(uri, project, api, monkeypatch):
    _, token = api.user_with_token(project["id"], DEVELOPER)
    assert get_exp0(uri, bearer(token["token"])).status_code == 200
    r = api.delete(f"/personal_access_tokens/{token['id']}")
    assert r.status_code == 204, r.text  # GitLab answers a revocation with 204
    assert_error(get_exp0(uri, bearer(token["token"])), 401, "UNAUTHENTICATED")
    c = client_as(monkeypatch, uri, token["token"])
    assert client_error(c.get_experiment, "0") == "UNAUTHENTICATED"


# -- scopes and roles -------------------------------------------------------------------------

def test_read_api_token_reads_but_cannot_write(uri, project, api, admin_token, monkeypatch):
    _, token = api.user_with_token(project["id"], DEVELOPER, scopes=["read_api"])
    h = bearer(token["token"])
    assert get_exp0(uri, h).json()["experiment"]["name"] == "Default"
    r = requests.get(mlflow_url(uri, "experiments/get-by-name"), params={"experiment_name": "Default"},
                     headers=h, timeout=T)
    assert r.status_code == 200 and r.json()["experiment"]["experiment_id"] == "0"
    r = requests.get(mlflow_url(uri, "experiments/search"), params={"max_results": 10}, headers=h, timeout=T)
    assert r.status_code == 200, r.text
    assert [e["name"] for e in r.json()["experiments"]] == ["Default"]

    assert_error(create_exp(uri, "ro", h), 403, "PERMISSION_DENIED")
    c = client_as(monkeypatch, uri, token["token"])
    assert c.get_experiment("0").name == "Default"
    assert client_error(c.create_experiment, "ro") == "PERMISSION_DENIED"
    assert experiment_names(uri, admin_token) == {"Default"}


def test_guest_reads_but_cannot_write(uri, project, api, admin_token, monkeypatch):
    _, token = api.user_with_token(project["id"], GUEST)
    c = client_as(monkeypatch, uri, token["token"])
    assert c.get_experiment("0").name == "Default"
    assert c.get_experiment_by_name("Default").experiment_id == "0"
    assert client_error(c.create_experiment, "by-guest") == "PERMISSION_DENIED"
    assert_error(create_exp(uri, "by-guest", bearer(token["token"])), 403, "PERMISSION_DENIED")
    assert client_error(c.set_experiment_tag, "0", "k", "v") == "PERMISSION_DENIED"
    assert experiment_names(uri, admin_token) == {"Default"}
    assert "k" not in c.get_experiment("0").tags


def test_reporter_can_write(uri, project, api, monkeypatch):
    _, token = api.user_with_token(project["id"], REPORTER)
    c = client_as(monkeypatch, uri, token["token"])
    eid = c.create_experiment("by-reporter")
    c.set_experiment_tag(eid, "k", "v")
    c.rename_experiment(eid, "by-reporter-2")
    exp = c.get_experiment(eid)
    assert exp.name == "by-reporter-2" and exp.tags["k"] == "v"
    c.delete_experiment(eid)
    assert c.get_experiment(eid).lifecycle_stage == "deleted"


def test_non_member_gets_404(uri, api, admin_token, monkeypatch):
    _, token = api.user_with_token()  # valid token, no membership
    h = bearer(token["token"])
    assert_error(get_exp0(uri, h), 404, "RESOURCE_DOES_NOT_EXIST")
    assert_error(create_exp(uri, "intruder", h), 404, "RESOURCE_DOES_NOT_EXIST")
    c = client_as(monkeypatch, uri, token["token"])
    assert client_error(c.get_experiment, "0") == "RESOURCE_DOES_NOT_EXIST"
    assert c.get_experiment_by_name("Default") is None  # the client's reading of a 404
    assert experiment_names(uri, admin_token) == {"Default"}


# -- ways to present a token ------------------------------------------------------------------

def test_basic_auth_with_token_as_password(uri, project, api, monkeypatch):
    _, token = api.user_with_token(project["id"], REPORTER)
    monkeypatch.delenv("MLFLOW_TRACKING_TOKEN", raising=False)
    monkeypatch.setenv("MLFLOW_TRACKING_USERNAME", "any-name")
    monkeypatch.setenv("MLFLOW_TRACKING_PASSWORD", token["token"])
    c = MlflowClient(uri)
    eid = c.create_experiment("via-basic")
    assert c.get_experiment(eid).name == "via-basic"

    # Basic takes precedence over the token in the client: a bad token alongside changes nothing.
    monkeypatch.setenv("MLFLOW_TRACKING_TOKEN", "glpat-" + "z" * 24)
    assert MlflowClient(uri).get_experiment(eid).name == "via-basic"

    assert get_exp0(uri, auth=("whoever", token["token"])).status_code == 200
    assert_error(get_exp0(uri, auth=("whoever", "glpat-" + "w" * 24)), 401, "UNAUTHENTICATED")


def test_private_token_header(uri, project, api):
    _, token = api.user_with_token(project["id"], REPORTER)
    h = {"PRIVATE-TOKEN": token["token"]}
    assert get_exp0(uri, h).status_code == 200
    r = create_exp(uri, "via-private-token", h)
    assert r.status_code == 200, r.text
    assert r.json()["experiment_id"].isdigit()


# -- project settings -------------------------------------------------------------------------

def test_public_project_with_enabled_registry_is_readable_anonymously(hangar, api, admin_token, monkeypatch):
    project = api.create_project(visibility="public", model_registry_access_level="enabled")
    assert project["visibility"] == "public" and project["model_registry_access_level"] == "enabled"
    uri = tracking_uri_for(hangar.url, project)

    assert get_exp0(uri).json()["experiment"]["name"] == "Default"
    c = client_as(monkeypatch, uri, None)
    assert c.get_experiment("0").name == "Default"
    assert c.get_experiment_by_name("Default").experiment_id == "0"
    # Reading is open, writing is not.
    assert_error(create_exp(uri, "anon"), 401, "UNAUTHENTICATED")
    assert client_error(c.create_experiment, "anon") == "UNAUTHENTICATED"

    # A signed-in non-member may read too, but not write.
    _, token = api.user_with_token()
    assert get_exp0(uri, bearer(token["token"])).status_code == 200
    assert_error(create_exp(uri, "outsider", bearer(token["token"])), 403, "PERMISSION_DENIED")
    assert experiment_names(uri, admin_token) == {"Default"}


def test_public_project_with_private_registry_is_members_only(hangar, api):
    project = api.create_project(visibility="public", model_registry_access_level="private")
    uri = tracking_uri_for(hangar.url, project)
    assert_error(get_exp0(uri), 401, "UNAUTHENTICATED")
    _, outsider = api.user_with_token()
    assert_error(get_exp0(uri, bearer(outsider["token"])), 404, "RESOURCE_DOES_NOT_EXIST")
    _, guest = api.user_with_token(project["id"], GUEST)
    assert get_exp0(uri, bearer(guest["token"])).status_code == 200


def test_disabled_registry_is_404_even_for_members(hangar, api, admin_token):
    project = api.create_project(model_registry_access_level="disabled")
    assert project["model_registry_access_level"] == "disabled"
    uri = tracking_uri_for(hangar.url, project)
    _, member = api.user_with_token(project["id"], MAINTAINER)
    assert_error(get_exp0(uri, bearer(member["token"])), 404, "RESOURCE_DOES_NOT_EXIST")
    assert_error(create_exp(uri, "blocked", bearer(member["token"])), 404, "RESOURCE_DOES_NOT_EXIST")
    # The admin still gets through.
    assert get_exp0(uri, bearer(admin_token)).status_code == 200
    assert experiment_names(uri, admin_token) == {"Default"}

    # Switching the registry back on opens it to the member again.
    api.update_project(project["id"], model_registry_access_level="private")
    assert get_exp0(uri, bearer(member["token"])).status_code == 200


def test_changing_visibility_takes_effect(hangar, api, project):
    uri = tracking_uri_for(hangar.url, project)
    assert_error(get_exp0(uri), 401, "UNAUTHENTICATED")
    updated = api.update_project(project["id"], visibility="public", model_registry_access_level="enabled")
    assert updated["visibility"] == "public"
    assert get_exp0(uri).status_code == 200
    api.update_project(project["id"], visibility="private")
    assert_error(get_exp0(uri), 401, "UNAUTHENTICATED")


def test_token_of_one_project_member_does_not_open_another(hangar, api, project):
    _, token = api.user_with_token(project["id"], MAINTAINER)
    other = tracking_uri_for(hangar.url, api.create_project(unique("other")))
    assert_error(get_exp0(other, bearer(token["token"])), 404, "RESOURCE_DOES_NOT_EXIST")
