"""Hangar's JSON API through python-gitlab, unmodified, and its pagination headers on the wire."""

from __future__ import annotations

import datetime
import math
import secrets
import urllib.parse
import warnings

import pytest
import requests

from support import DEVELOPER, REPORTER, TOKEN_RE, bearer, mlflow_url, tracking_uri_for, unique

gitlab = pytest.importorskip("gitlab")


@pytest.fixture
def gl(hangar, admin_token):
    g = gitlab.Gitlab(hangar.url, private_token=admin_token)
    g.auth()
    return g


def new_project(gl, **fields):
    return gl.projects.create({"name": unique("gl"), "visibility": "private", **fields})


def new_user(gl):
    username = unique("user")
    return gl.users.create({
        "username": username, "name": f"User {username}", "email": f"{username}@example.com",
        "password": secrets.token_urlsafe(18),
    })


def mlflow_status(tracking_uri: str, token: str, create: str | None = None) -> int:
    """Status of an MLflow read (or of creating experiment `create`) with `token`."""
    if create:
        r = requests.post(mlflow_url(tracking_uri, "experiments/create"), json={"name": create},
                          headers=bearer(token), timeout=30)
    else:
        r = requests.get(mlflow_url(tracking_uri, "experiments/get"), params={"experiment_id": "0"},
                         headers=bearer(token), timeout=30)
    return r.status_code


# -- projects ---------------------------------------------------------------------------------

def test_current_user_is_admin(gl):
    assert gl.user.username == "admin"
    assert gl.users.get(gl.user.id).username == "admin"


def test_default_project(gl):
    p = gl.projects.get(1)
    assert p.id == 1
    assert p.path_with_namespace == "admin/default"
    assert p.name == "default" and p.path == "default"
    assert p.visibility in ("private", "public")
    assert p.model_registry_access_level in ("disabled", "private", "enabled")
    assert p.web_url.startswith("http")
    assert gl.projects.get("admin/default").id == 1


def test_create_update_and_delete_project(gl):
    name = unique("gl")
    p = gl.projects.create({"name": name, "visibility": "private", "description": "first"})
    assert p.name == name
    assert p.visibility == "private"
    assert p.path_with_namespace == f"admin/{p.path}"
    assert p.description == "first"

    p.visibility = "public"
    p.save()
    assert gl.projects.get(p.id).visibility == "public"

    for level in ("private", "disabled", "enabled"):
        p.model_registry_access_level = level
        p.save()
        assert gl.projects.get(p.id).model_registry_access_level == level

    p.description = "second"
    p.save()
    again = gl.projects.get(p.id)
    assert again.description == "second" and again.visibility == "public"

    # Looked up by its URL-encoded path (python-gitlab encodes "ns/name" as ns%2Fname).
    assert gl.projects.get(p.path_with_namespace).id == p.id

    gl.projects.delete(p.id)
    with pytest.raises(gitlab.exceptions.GitlabGetError) as ei:
        gl.projects.get(p.id)
    assert ei.value.response_code == 404


def test_create_project_with_path_and_namespace(gl):
    path = unique("path")
    p = gl.projects.create({"name": "Display Name", "path": path, "namespace": "admin"})
    assert p.path == path and p.name == "Display Name"
    assert p.path_with_namespace == f"admin/{path}"
    assert gl.projects.get(f"admin/{path}").id == p.id


def test_project_errors(gl):
    with pytest.raises(gitlab.exceptions.GitlabGetError) as ei:
        gl.projects.get(987654)
    assert ei.value.response_code == 404
    with pytest.raises(gitlab.exceptions.GitlabGetError) as ei:
        gl.projects.get(f"admin/{unique('nope')}")
    assert ei.value.response_code == 404

    p = new_project(gl)
    with pytest.raises(gitlab.exceptions.GitlabCreateError) as ei:
        gl.projects.create({"name": p.name, "path": p.path})
    assert ei.value.response_code in (400, 409)
    with pytest.raises(gitlab.exceptions.GitlabUpdateError) as ei:
        gl.projects.update(p.id, {"visibility": "galactic"})
    assert ei.value.response_code == 400
    assert gl.projects.get(p.id).visibility == "private"


def test_list_projects_and_pagination(gl):
    created = {new_project(gl).id for _ in range(5)}
    every = gl.projects.list(get_all=True)
    ids = [p.id for p in every]
    assert len(ids) == len(set(ids))
    assert created <= set(ids) and 1 in ids

    # Follow the Link headers two at a time. A Link on a different base URL than ours would
    # make python-gitlab warn; that is an error here.
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        pages = gl.projects.list(iterator=True, per_page=2)
        assert pages.per_page == 2
        assert pages.total == len(ids)
        assert pages.total_pages == math.ceil(len(ids) / 2)
        paged = [p.id for p in pages]
    assert len(paged) == len(set(paged)), "a project appeared twice"
    assert sorted(paged) == sorted(ids)

    first = [p.id for p in gl.projects.list(page=1, per_page=2)]
    second = [p.id for p in gl.projects.list(page=2, per_page=2)]
    assert len(first) == 2 and len(second) == 2 and not set(first) & set(second)


def test_pagination_headers_on_the_wire(hangar, admin_token, api):
    for _ in range(5):
        api.create_project()
    total_projects, page = 0, "1"
    while page:
        r = api.get("/projects", params={"per_page": 100, "page": page})
        total_projects += len(api.ok(r))
        page = r.headers.get("X-Next-Page", "")
    host = urllib.parse.urlsplit(hangar.url).netloc
    for base in (hangar.url, f"http://localhost:{hangar.port}"):
        s = requests.Session()
        s.headers["PRIVATE-TOKEN"] = admin_token
        r = s.get(f"{base}/api/v4/projects", params={"per_page": 2, "page": 1}, timeout=30)
        assert r.status_code == 200
        assert len(r.json()) == 2
        h = r.headers
        total = int(h["X-Total"])
        assert total == total_projects >= 6, (total, total_projects)
        assert h["X-Page"] == "1" and h["X-Per-Page"] == "2" and h["X-Next-Page"] == "2"
        if "X-Total-Pages" in h:
            assert int(h["X-Total-Pages"]) == math.ceil(total / 2)
        nxt = r.links["next"]["url"]
        # The next link is built on the base URL of the request itself.
        assert nxt.startswith(f"{base}/api/v4/projects?"), (base, nxt, host)
        query = urllib.parse.parse_qs(urllib.parse.urlsplit(nxt).query)
        assert query["page"] == ["2"] and query["per_page"] == ["2"]

        r2 = s.get(nxt, timeout=30)
        assert r2.status_code == 200 and r2.headers["X-Page"] == "2"
        assert not {p["id"] for p in r.json()} & {p["id"] for p in r2.json()}

        last_page = math.ceil(total / 2)
        r3 = s.get(f"{base}/api/v4/projects", params={"per_page": 2, "page": last_page}, timeout=30)
        assert r3.status_code == 200
        assert len(r3.json()) == total - 2 * (last_page - 1)
        assert r3.headers["X-Page"] == str(last_page)
        assert r3.headers.get("X-Next-Page", "") == ""
        assert "next" not in r3.links


# -- users and members ------------------------------------------------------------------------

def test_users_and_members(gl, hangar):
    u = new_user(gl)
    assert isinstance(u.id, int) and u.username.startswith("user-")
    assert gl.users.get(u.id).username == u.username

    p = new_project(gl)
    m = p.members.create({"user_id": u.id, "access_level": REPORTER})
    assert m.id == u.id and m.access_level == REPORTER and m.username == u.username
    assert u.id in [x.id for x in p.members.list(get_all=True)]

    with pytest.raises(gitlab.exceptions.GitlabCreateError) as ei:
        p.members.create({"user_id": u.id, "access_level": REPORTER})
    assert ei.value.response_code in (400, 409)

    m = p.members.get(u.id)
    m.access_level = DEVELOPER
    m.save()
    assert p.members.get(u.id).access_level == DEVELOPER

    p.members.delete(u.id)
    assert u.id not in [x.id for x in p.members.list(get_all=True)]
    with pytest.raises(gitlab.exceptions.GitlabGetError) as ei:
        p.members.get(u.id)
    assert ei.value.response_code == 404


def test_membership_decides_mlflow_access(gl, hangar):
    u = new_user(gl)
    token = u.personal_access_tokens.create({"name": "cli", "scopes": ["api"]}).token
    p = new_project(gl)
    uri = tracking_uri_for(hangar.url, p.id)
    assert mlflow_status(uri, token) == 404
    p.members.create({"user_id": u.id, "access_level": REPORTER})
    assert mlflow_status(uri, token) == 200
    assert mlflow_status(uri, token, create="by-member") == 200
    p.members.delete(u.id)
    assert mlflow_status(uri, token) == 404


# -- tokens -----------------------------------------------------------------------------------

def test_project_access_tokens(gl, hangar):
    p = new_project(gl)
    uri = tracking_uri_for(hangar.url, p.id)
    expires = (datetime.date.today() + datetime.timedelta(days=30)).isoformat()
    t = p.access_tokens.create({"name": "ci", "scopes": ["api"], "access_level": DEVELOPER,
                                "expires_at": expires})
    assert TOKEN_RE.fullmatch(t.token), t.token
    assert t.name == "ci" and t.scopes == ["api"] and t.access_level == DEVELOPER
    assert t.expires_at == expires

    assert mlflow_status(uri, t.token) == 200
    assert mlflow_status(uri, t.token, create="from-ci") == 200
    other = tracking_uri_for(hangar.url, new_project(gl).id)
    assert mlflow_status(other, t.token) == 404

    listed = p.access_tokens.list(get_all=True)
    assert t.id in [x.id for x in listed]
    assert all("token" not in x.attributes for x in listed)
    got = p.access_tokens.get(t.id)
    assert got.name == "ci" and "token" not in got.attributes

    p.access_tokens.delete(t.id)
    assert mlflow_status(uri, t.token) == 401


def test_personal_access_tokens(gl, hangar):
    mine = gl.personal_access_tokens.list(get_all=True)
    assert mine and all("token" not in t.attributes for t in mine)
    me = gl.personal_access_tokens.get("self")
    assert me.user_id == gl.user.id
    assert me.id in [t.id for t in mine]
    assert "api" in me.scopes and "token" not in me.attributes

    # A new user's token, made by the admin, seen and revoked by that user.
    u = new_user(gl)
    created = u.personal_access_tokens.create({"name": "laptop", "scopes": ["api"]})
    assert TOKEN_RE.fullmatch(created.token)
    gl2 = gitlab.Gitlab(hangar.url, private_token=created.token)
    gl2.auth()
    assert gl2.user.id == u.id
    theirs = gl2.personal_access_tokens.list(get_all=True)
    assert theirs and all(t.user_id == u.id for t in theirs)
    assert gl2.personal_access_tokens.get("self").id == created.id

    gl2.personal_access_tokens.delete("self")
    with pytest.raises(gitlab.exceptions.GitlabAuthenticationError) as ei:
        gitlab.Gitlab(hangar.url, private_token=created.token).auth()
    assert ei.value.response_code == 401

    # The admin revokes another token of that user by id.
    second = u.personal_access_tokens.create({"name": "ci", "scopes": ["read_api"]})
    gitlab.Gitlab(hangar.url, private_token=second.token).auth()
    gl.personal_access_tokens.delete(second.id)
    with pytest.raises(gitlab.exceptions.GitlabAuthenticationError):
        gitlab.Gitlab(hangar.url, private_token=second.token).auth()
