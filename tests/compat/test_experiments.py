"""Experiments through the real MLflow client (2.x and 3.x), one fresh project per test."""

from __future__ import annotations

import time
import urllib.parse

import mlflow
import pytest
import requests
from mlflow import MlflowClient
from mlflow.entities import ViewType
from mlflow.exceptions import MlflowException, RestException

from support import bearer, mlflow_url, now_ms, tracking_uri_for, unique


def names(experiments) -> set[str]:
    return {e.name for e in experiments}


def search_names(client: MlflowClient, filter_string: str | None = None, **kw) -> set[str]:
    return names(client.search_experiments(filter_string=filter_string, **kw))


def create_spaced(client: MlflowClient, *exp_names: str, gap: float = 0.02) -> list[str]:
    """Create experiments in order, a few milliseconds apart so creation times differ."""
    ids = []
    for n in exp_names:
        ids.append(client.create_experiment(n))
        time.sleep(gap)
    return ids


def delete_experiment_tag(client: MlflowClient, tracking_uri: str, token: str, experiment_id: str, key: str):
    if hasattr(client, "delete_experiment_tag"):
        client.delete_experiment_tag(experiment_id, key)
        return
    # MlflowClient 2.x (and 3.0) has no delete_experiment_tag: send what later clients send.
    r = requests.post(mlflow_url(tracking_uri, "experiments/delete-experiment-tag"),
                      json={"experiment_id": experiment_id, "key": key}, headers=bearer(token), timeout=30)
    if r.status_code != 200:
        raise RestException(r.json())


# -- basics -----------------------------------------------------------------------------------

def test_default_experiment_exists(client):
    exp = client.get_experiment("0")
    assert exp.experiment_id == "0"
    assert exp.name == "Default"
    assert exp.lifecycle_stage == "active"
    by_name = client.get_experiment_by_name("Default")
    assert by_name is not None and by_name.experiment_id == "0"
    assert search_names(client) == {"Default"}


def test_create_get_and_get_by_name(client):
    before = now_ms()
    eid = client.create_experiment("exp-a", tags={"team": "vision", "owner": "ml"})
    after = now_ms()
    assert isinstance(eid, str) and eid.isdigit() and eid != "0"

    exp = client.get_experiment(eid)
    assert exp.experiment_id == eid
    assert exp.name == "exp-a"
    assert exp.lifecycle_stage == "active"
    assert exp.tags["team"] == "vision" and exp.tags["owner"] == "ml"
    assert before - 2000 <= exp.creation_time <= after + 2000
    assert exp.last_update_time >= exp.creation_time

    by_name = client.get_experiment_by_name("exp-a")
    assert by_name.experiment_id == eid
    assert by_name.tags == exp.tags

    second = client.create_experiment("exp-b")
    assert second.isdigit() and second not in (eid, "0")
    assert search_names(client) == {"Default", "exp-a", "exp-b"}


def test_get_experiment_by_name_missing_is_none(client):
    assert client.get_experiment_by_name(unique("missing")) is None


def test_duplicate_name_is_resource_already_exists(client):
    eid = client.create_experiment("dup")
    with pytest.raises(RestException) as ei:
        client.create_experiment("dup")
    assert ei.value.error_code == "RESOURCE_ALREADY_EXISTS"
    # Nothing was created by the refused request.
    assert [e.experiment_id for e in client.search_experiments() if e.name == "dup"] == [eid]


def test_get_unknown_id_is_resource_does_not_exist(client):
    with pytest.raises(RestException) as ei:
        client.get_experiment("987654")
    assert ei.value.error_code == "RESOURCE_DOES_NOT_EXIST"


def test_wire_format_and_error_statuses(tracking_uri, admin_token):
    """The raw HTTP exchanges the clients rely on: 200 JSON successes, MLflow error envelopes."""
    h = bearer(admin_token)
    url = lambda e: mlflow_url(tracking_uri, e)  # noqa: E731

    r = requests.post(url("experiments/create"), json={"name": "wire"}, headers=h, timeout=30)
    assert r.status_code == 200, r.text
    eid = r.json()["experiment_id"]
    assert isinstance(eid, str) and eid.isdigit()

    r = requests.get(url("experiments/get"), params={"experiment_id": eid}, headers=h, timeout=30)
    assert r.status_code == 200
    exp = r.json()["experiment"]
    assert exp["experiment_id"] == eid and exp["name"] == "wire" and exp["lifecycle_stage"] == "active"
    assert isinstance(exp["creation_time"], int) and isinstance(exp["last_update_time"], int)

    cases = [
        ("POST", "experiments/create", {"name": "wire"}, 400, "RESOURCE_ALREADY_EXISTS"),
        ("POST", "experiments/create", {"name": ""}, 400, "INVALID_PARAMETER_VALUE"),
        ("POST", "experiments/create", {}, 400, "INVALID_PARAMETER_VALUE"),
        ("GET", "experiments/get", {"experiment_id": "987654"}, 404, "RESOURCE_DOES_NOT_EXIST"),
        ("GET", "experiments/get-by-name", {"experiment_name": "nope"}, 404, "RESOURCE_DOES_NOT_EXIST"),
        ("POST", "experiments/delete", {"experiment_id": "987654"}, 404, "RESOURCE_DOES_NOT_EXIST"),
    ]
    for method, endpoint, body, status, code in cases:
        if method == "GET":
            r = requests.get(url(endpoint), params=body, headers=h, timeout=30)
        else:
            r = requests.post(url(endpoint), json=body, headers=h, timeout=30)
        assert r.status_code == status, (method, endpoint, body, r.status_code, r.text)
        err = r.json()
        assert err["error_code"] == code, (endpoint, body, err)
        assert isinstance(err.get("message"), str), err

    # Still exactly one "wire" experiment.
    r = requests.post(url("experiments/search"), json={"max_results": 100}, headers=h, timeout=30)
    assert r.status_code == 200
    assert [e["experiment_id"] for e in r.json()["experiments"] if e["name"] == "wire"] == [eid]


# -- search -----------------------------------------------------------------------------------

def test_search_filter_on_name(client):
    create_spaced(client, "alpha-one", "alpha-two", "Alpha-Three", "beta-one", gap=0)
    assert search_names(client, "name = 'alpha-one'") == {"alpha-one"}
    assert search_names(client, "name = 'ALPHA-ONE'") == set()
    assert search_names(client, "name != 'alpha-one'") == {"Default", "alpha-two", "Alpha-Three", "beta-one"}
    # LIKE is case-sensitive, ILIKE is not; % and _ are the wildcards.
    assert search_names(client, "name LIKE 'alpha-%'") == {"alpha-one", "alpha-two"}
    assert search_names(client, "name ILIKE 'alpha-%'") == {"alpha-one", "alpha-two", "Alpha-Three"}
    assert search_names(client, "name LIKE '%-one'") == {"alpha-one", "beta-one"}
    assert search_names(client, "name LIKE 'alpha-t_o'") == {"alpha-two"}
    assert search_names(client, "attribute.name = \"beta-one\"") == {"beta-one"}


def test_search_filter_on_tags(client):
    client.create_experiment("tag-a", tags={"team": "vision", "stage": "dev"})
    client.create_experiment("tag-b", tags={"team": "nlp"})
    client.create_experiment("tag-c")
    assert search_names(client, "tags.team = 'vision'") == {"tag-a"}
    assert search_names(client, "tag.team = 'nlp'") == {"tag-b"}
    assert search_names(client, "tags.team LIKE 'vis%'") == {"tag-a"}
    assert search_names(client, "tags.team ILIKE 'NLP'") == {"tag-b"}
    # A missing tag never equals anything, so != matches only experiments that have the tag.
    assert search_names(client, "tags.team != 'vision'") == {"tag-b"}
    assert search_names(client, "tags.`stage` = 'dev'") == {"tag-a"}
    assert search_names(client, "tags.team = 'vision' AND name = 'tag-a'") == {"tag-a"}
    assert search_names(client, "tags.team = 'vision' and name = 'tag-b'") == set()


def test_search_filter_on_creation_time(client):
    ids = create_spaced(client, "ct-0", "ct-1", "ct-2", gap=0.05)
    times = [client.get_experiment(i).creation_time for i in ids]
    assert times[0] < times[1] < times[2]
    assert search_names(client, f"creation_time >= {times[1]} AND name LIKE 'ct-%'") == {"ct-1", "ct-2"}
    assert search_names(client, f"creation_time < {times[1]} AND name LIKE 'ct-%'") == {"ct-0"}
    assert search_names(client, f"creation_time = {times[2]}") == {"ct-2"}
    assert search_names(client, f"creation_time > {times[2]}") == set()


def test_search_order_by(client):
    create_spaced(client, "ob-b", "ob-c", "ob-a")
    f = "name LIKE 'ob-%'"
    order = lambda **kw: [e.name for e in client.search_experiments(filter_string=f, **kw)]  # noqa: E731
    assert order(order_by=["name ASC"]) == ["ob-a", "ob-b", "ob-c"]
    assert order(order_by=["name"]) == ["ob-a", "ob-b", "ob-c"]
    assert order(order_by=["name DESC"]) == ["ob-c", "ob-b", "ob-a"]
    assert order(order_by=["creation_time ASC"]) == ["ob-b", "ob-c", "ob-a"]
    # The default order is newest first.
    assert order() == ["ob-a", "ob-c", "ob-b"]


def test_search_view_type(client):
    client.create_experiment("vt-keep")
    gone = client.create_experiment("vt-gone")
    client.delete_experiment(gone)
    assert search_names(client) == {"Default", "vt-keep"}
    assert search_names(client, view_type=ViewType.ACTIVE_ONLY) == {"Default", "vt-keep"}
    assert search_names(client, view_type=ViewType.DELETED_ONLY) == {"vt-gone"}
    assert search_names(client, view_type=ViewType.ALL) == {"Default", "vt-keep", "vt-gone"}


def _all_pages(client: MlflowClient, max_results: int, **kw) -> tuple[list[int], list[str]]:
    sizes, ids, token = [], [], None
    while True:
        page = client.search_experiments(max_results=max_results, page_token=token, **kw)
        sizes.append(len(page))
        ids += [e.experiment_id for e in page]
        token = page.token
        if not token:
            return sizes, ids
        assert len(sizes) < 20, "paging does not end"


def test_search_paging(client):
    created = set(create_spaced(client, *(f"page-{i}" for i in range(7)), gap=0.005))

    sizes, ids = _all_pages(client, 3, filter_string="name LIKE 'page-%'")
    assert sizes == [3, 3, 1]
    assert len(ids) == len(set(ids)) and set(ids) == created

    # Paging keeps the requested order across pages.
    sizes, ids = _all_pages(client, 2, filter_string="name LIKE 'page-%'", order_by=["name DESC"])
    assert sizes == [2, 2, 2, 1]
    assert [client.get_experiment(i).name for i in ids] == [f"page-{i}" for i in range(6, -1, -1)]

    # Unfiltered: the Default experiment too.
    sizes, ids = _all_pages(client, 3)
    assert sizes == [3, 3, 2]
    assert set(ids) == created | {"0"} and len(ids) == 8

    # A last page that is exactly full carries no token.
    page = client.search_experiments(max_results=7, filter_string="name LIKE 'page-%'")
    assert len(page) == 7 and not page.token


# -- changes ----------------------------------------------------------------------------------

def test_rename(client):
    eid = client.create_experiment("old-name")
    client.rename_experiment(eid, "new-name")
    assert client.get_experiment(eid).name == "new-name"
    assert client.get_experiment_by_name("old-name") is None
    assert client.get_experiment_by_name("new-name").experiment_id == eid

    # Reference MLflow answers this with its raw SQL error; Hangar must refuse it with a 4xx code.
    client.create_experiment("taken")
    with pytest.raises(RestException) as ei:
        client.rename_experiment(eid, "taken")
    assert ei.value.error_code in ("RESOURCE_ALREADY_EXISTS", "INVALID_PARAMETER_VALUE")
    assert client.get_experiment(eid).name == "new-name"
    assert search_names(client) == {"Default", "new-name", "taken"}


def test_delete_and_restore(client):
    eid = client.create_experiment("lifecycle")
    client.delete_experiment(eid)
    assert client.get_experiment(eid).lifecycle_stage == "deleted"
    by_name = client.get_experiment_by_name("lifecycle")
    assert by_name is not None and by_name.lifecycle_stage == "deleted"

    # The name stays taken while the experiment is deleted.
    with pytest.raises(RestException) as ei:
        client.create_experiment("lifecycle")
    assert ei.value.error_code == "RESOURCE_ALREADY_EXISTS"

    client.restore_experiment(eid)
    assert client.get_experiment(eid).lifecycle_stage == "active"
    assert "lifecycle" in search_names(client)

    with pytest.raises(RestException) as ei:
        client.delete_experiment("987654")
    assert ei.value.error_code == "RESOURCE_DOES_NOT_EXIST"


def test_experiment_tags(client, tracking_uri, admin_token):
    eid = client.create_experiment("tagged")
    client.set_experiment_tag(eid, "k", "v1")
    assert client.get_experiment(eid).tags["k"] == "v1"
    client.set_experiment_tag(eid, "k", "v2")  # upsert
    client.set_experiment_tag(eid, "other", "x")
    tags = client.get_experiment(eid).tags
    assert tags["k"] == "v2" and tags["other"] == "x"

    delete_experiment_tag(client, tracking_uri, admin_token, eid, "k")
    tags = client.get_experiment(eid).tags
    assert "k" not in tags and tags["other"] == "x"

    with pytest.raises(RestException) as ei:
        delete_experiment_tag(client, tracking_uri, admin_token, eid, "k")
    assert ei.value.error_code == "RESOURCE_DOES_NOT_EXIST"

    with pytest.raises(RestException) as ei:
        client.set_experiment_tag("987654", "k", "v")
    assert ei.value.error_code == "RESOURCE_DOES_NOT_EXIST"


def test_set_experiment_creates_then_reuses(client):
    name = "fluent"
    assert client.get_experiment_by_name(name) is None
    exp = mlflow.set_experiment(name)
    assert exp.name == name and exp.experiment_id.isdigit() and exp.experiment_id != "0"
    again = mlflow.set_experiment(name)
    assert again.experiment_id == exp.experiment_id
    assert [e.experiment_id for e in client.search_experiments() if e.name == name] == [exp.experiment_id]
    assert mlflow.set_experiment(experiment_id=exp.experiment_id).name == name

    # A deleted experiment is found by name, so the client refuses to activate it.
    client.delete_experiment(exp.experiment_id)
    with pytest.raises(MlflowException, match="deleted"):
        mlflow.set_experiment(name)


# -- addressing -------------------------------------------------------------------------------

def test_bare_host_tracking_uri_reaches_project_1(hangar, admin_token, monkeypatch):
    monkeypatch.setenv("MLFLOW_TRACKING_URI", hangar.url)
    monkeypatch.setenv("MLFLOW_TRACKING_TOKEN", admin_token)
    project_1 = MlflowClient(tracking_uri_for(hangar.url, 1))

    name = unique("bare")
    eid = mlflow.create_experiment(name)
    seen = project_1.get_experiment_by_name(name)
    assert seen is not None and seen.experiment_id == eid

    other = unique("bare")
    other_id = project_1.create_experiment(other)
    assert MlflowClient(hangar.url).get_experiment(other_id).name == other
    assert mlflow.get_experiment_by_name(other).experiment_id == other_id


def test_project_addressed_by_url_encoded_path(hangar, project, client):
    eid = client.create_experiment("by-path")
    path = urllib.parse.quote(project["path_with_namespace"], safe="")
    assert "%2F" in path
    by_path = MlflowClient(f"{hangar.url}/api/v4/projects/{path}/ml/mlflow")
    assert by_path.get_experiment(eid).name == "by-path"
    assert by_path.get_experiment_by_name("by-path").experiment_id == eid


def test_projects_are_isolated(hangar, api, client):
    eid = client.create_experiment("only-here")
    other = MlflowClient(tracking_uri_for(hangar.url, api.create_project()))
    assert other.get_experiment_by_name("only-here") is None
    assert search_names(other, view_type=ViewType.ALL) == {"Default"}
    with pytest.raises(RestException) as ei:
        other.get_experiment(eid)
    assert ei.value.error_code == "RESOURCE_DOES_NOT_EXIST"
    with pytest.raises(RestException) as ei:
        other.delete_experiment(eid)
    assert ei.value.error_code == "RESOURCE_DOES_NOT_EXIST"
    assert client.get_experiment(eid).lifecycle_stage == "active"
