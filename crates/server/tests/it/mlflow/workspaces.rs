//! MLflow workspaces: `/api/3.0/mlflow/workspaces` and the `X-MLFLOW-WORKSPACE` header,
//! which name Hangar's projects.

use crate::support::{TestApp, on_each_backend};
use axum::body::Body;
use axum::http::{Method, Request, StatusCode};
use hangar_core::access::{RegistryAccess, Role, Scope, Visibility};
use hangar_store::model::{ProjectVisibilityFilter, ViewType};
use hangar_store::{ExperimentRepo, FileRepo, MemberRepo, ProjectRepo};
use serde_json::{Value, json};

const WORKSPACES: &str = "/api/3.0/mlflow/workspaces";

/// A request with the MLflow client's headers: a token, a workspace, a JSON body.
async fn send(
    app: &TestApp,
    method: Method,
    uri: &str,
    token: Option<&str>,
    workspace: Option<&str>,
    body: Option<Value>,
) -> (StatusCode, Value) {
    let mut request = Request::builder().method(method).uri(uri);
    if let Some(token) = token {
        request = request.header("authorization", format!("Bearer {token}"));
    }
    if let Some(workspace) = workspace {
        request = request.header("X-MLFLOW-WORKSPACE", workspace);
    }
    let request = match body {
        Some(body) => request
            .header("content-type", "application/json")
            .body(Body::from(body.to_string())),
        None => request.body(Body::empty()),
    };
    app.send(request.unwrap()).await
}

/// Every project's id and workspace, and each project's experiment names: what a refused
/// request must leave as it was.
async fn everything(app: &TestApp) -> Vec<(i64, String, String, Vec<String>)> {
    let all = hangar_store::model::Paging {
        offset: 0,
        limit: 1000,
    };
    let projects = app
        .store
        .list_projects(ProjectVisibilityFilter::All, None, all)
        .await
        .unwrap()
        .items;
    let mut out = Vec::new();
    for p in projects {
        let experiments = app
            .store
            .search_experiments(p.id, &[], &[], ViewType::All, all)
            .await
            .unwrap()
            .into_iter()
            .map(|e| e.name)
            .collect();
        out.push((p.id, p.workspace, p.description, experiments));
    }
    out
}

fn names(list: &Value) -> Vec<&str> {
    list["workspaces"]
        .as_array()
        .unwrap()
        .iter()
        .map(|w| w["name"].as_str().unwrap())
        .collect()
}

#[tokio::test]
async fn server_info_says_workspaces_are_enabled() {
    on_each_backend(|app: TestApp| async move {
        for uri in [
            "/api/3.0/mlflow/server-info",
            "/api/v4/projects/1/ml/mlflow/api/3.0/mlflow/server-info",
        ] {
            let (status, info) = app.get(uri, None).await;
            assert_eq!(status, StatusCode::OK, "{uri}");
            assert_eq!(info["workspaces_enabled"], true, "{uri}: {info}");
        }
    })
    .await;
}

#[tokio::test]
async fn create_list_get_update_and_delete_a_workspace() {
    on_each_backend(|app: TestApp| async move {
        let (admin, admin_token) = app.user("admin", true).await;
        app.project(
            "admin/default",
            &admin,
            Visibility::Private,
            RegistryAccess::Enabled,
        )
        .await;
        let (_, alice) = app.user("alice", false).await;

        // Creating makes a private project in the caller's namespace, as POST /projects does.
        let (status, created) = send(
            &app,
            Method::POST,
            WORKSPACES,
            Some(&alice),
            None,
            Some(json!({"name": "team-a", "description": "vision models"})),
        )
        .await;
        assert_eq!(status, StatusCode::CREATED, "{created}");
        assert_eq!(
            created,
            json!({"workspace": {"name": "team-a", "description": "vision models"}})
        );
        let (status, project) = app
            .get("/api/v4/projects/alice%2Fteam-a", Some(&alice))
            .await;
        assert_eq!(status, StatusCode::OK, "{project}");
        assert_eq!(project["mlflow_workspace"], "team-a");
        assert_eq!(project["visibility"], "private");
        assert_eq!(project["description"], "vision models");
        let id = project["id"].as_i64().unwrap();
        let (_, members) = app
            .get(&format!("/api/v4/projects/{id}/members"), Some(&alice))
            .await;
        assert_eq!(members[0]["username"], "alice");
        assert_eq!(members[0]["access_level"], 50);
        // Its Default experiment is there, like any project's.
        let (status, _) = send(
            &app,
            Method::GET,
            "/api/2.0/mlflow/experiments/get?experiment_id=0",
            Some(&alice),
            Some("team-a"),
            None,
        )
        .await;
        assert_eq!(status, StatusCode::OK);

        // Listing: what each caller may read, by name.
        let (status, list) = send(&app, Method::GET, WORKSPACES, Some(&alice), None, None).await;
        assert_eq!(status, StatusCode::OK, "{list}");
        assert_eq!(names(&list), ["team-a"]);
        let (_, list) = send(
            &app,
            Method::GET,
            WORKSPACES,
            Some(&admin_token),
            None,
            None,
        )
        .await;
        assert_eq!(names(&list), ["default", "team-a"]);
        let (status, list) = send(&app, Method::GET, WORKSPACES, None, None, None).await;
        assert_eq!((status, names(&list)), (StatusCode::OK, vec![]));
        // The prefixed URL a project's tracking URI leads to serves the same.
        let (_, list) = send(
            &app,
            Method::GET,
            &format!("/api/v4/projects/{id}/ml/mlflow{WORKSPACES}"),
            Some(&alice),
            None,
            None,
        )
        .await;
        assert_eq!(names(&list), ["team-a"]);
        let (status, got) = send(
            &app,
            Method::GET,
            &format!("/api/v4/projects/1/ml/mlflow{WORKSPACES}/team-a"),
            Some(&alice),
            None,
            None,
        )
        .await;
        assert_eq!(
            (status, &got["workspace"]["name"]),
            (StatusCode::OK, &json!("team-a"))
        );

        let (status, got) = send(
            &app,
            Method::GET,
            &format!("{WORKSPACES}/team-a"),
            Some(&alice),
            None,
            None,
        )
        .await;
        assert_eq!(
            (status, &got["workspace"]["name"]),
            (StatusCode::OK, &json!("team-a"))
        );
        let (status, got) = send(
            &app,
            Method::GET,
            &format!("{WORKSPACES}/default"),
            Some(&admin_token),
            None,
            None,
        )
        .await;
        assert_eq!(
            (status, &got["workspace"]["name"]),
            (StatusCode::OK, &json!("default"))
        );

        // Refused creates change nothing.
        let before = everything(&app).await;
        let (reader_user, reader) = app.user("reader", false).await;
        let read_only = app.token(&reader_user, Scope::ReadApi).await;
        for (token, body, status, code) in [
            (
                Some(alice.as_str()),
                json!({"name": "team-a"}),
                400,
                "RESOURCE_ALREADY_EXISTS",
            ),
            (
                Some(&reader),
                json!({"name": "team-a"}),
                400,
                "RESOURCE_ALREADY_EXISTS",
            ),
            (
                Some(&alice),
                json!({"name": "default"}),
                400,
                "INVALID_PARAMETER_VALUE",
            ),
            (
                Some(&alice),
                json!({"name": "Team_A"}),
                400,
                "INVALID_PARAMETER_VALUE",
            ),
            (
                Some(&alice),
                json!({"name": "api"}),
                400,
                "INVALID_PARAMETER_VALUE",
            ),
            (Some(&alice), json!({}), 400, "INVALID_PARAMETER_VALUE"),
            (
                Some(&alice),
                json!({"name": "team-b", "default_artifact_root": "s3://b/p"}),
                400,
                "INVALID_PARAMETER_VALUE",
            ),
            (
                Some(&read_only),
                json!({"name": "team-b"}),
                403,
                "PERMISSION_DENIED",
            ),
            (None, json!({"name": "team-b"}), 401, "UNAUTHENTICATED"),
        ] {
            let (got, body) = send(&app, Method::POST, WORKSPACES, token, None, Some(body)).await;
            assert_eq!(got.as_u16(), status, "{body}");
            assert_eq!(body["error_code"], code, "{body}");
        }
        assert_eq!(everything(&app).await, before);

        // Updating changes the project's description (maintainers).
        let ws = format!("{WORKSPACES}/team-a");
        let (status, updated) = send(
            &app,
            Method::PATCH,
            &ws,
            Some(&alice),
            None,
            Some(json!({"description": "changed"})),
        )
        .await;
        assert_eq!(status, StatusCode::OK, "{updated}");
        assert_eq!(updated["workspace"]["description"], "changed");
        let project = app.store.get_project(id).await.unwrap().unwrap();
        assert_eq!(project.description, "changed");
        let before = everything(&app).await;
        for (token, body, status) in [
            (alice.as_str(), json!({}), 400),
            (&alice, json!({"default_artifact_root": "s3://x/y"}), 400),
            (&reader, json!({"description": "not theirs"}), 404),
        ] {
            let (got, body) = send(&app, Method::PATCH, &ws, Some(token), None, Some(body)).await;
            assert_eq!(got.as_u16(), status, "{body}");
        }
        let reader_id = reader_user.id;
        app.store
            .add_member(id, reader_id, Role::Developer, None)
            .await
            .unwrap();
        let (got, body) = send(
            &app,
            Method::PATCH,
            &ws,
            Some(&reader),
            None,
            Some(json!({"description": "a developer's"})),
        )
        .await;
        assert_eq!(
            (got, &body["error_code"]),
            (StatusCode::FORBIDDEN, &json!("PERMISSION_DENIED"))
        );
        assert_eq!(everything(&app).await, before);

        // Deleting: MLflow's RESTRICT (the default) refuses while the workspace holds
        // something; CASCADE deletes the project (owners).
        let (status, _) = send(
            &app,
            Method::POST,
            "/api/2.0/mlflow/experiments/create",
            Some(&alice),
            Some("team-a"),
            Some(json!({"name": "exp"})),
        )
        .await;
        assert_eq!(status, StatusCode::OK);
        let before = everything(&app).await;
        for (uri, token, status, code) in [
            (ws.clone(), alice.as_str(), 409, "INVALID_STATE"),
            (format!("{ws}?mode=RESTRICT"), &alice, 409, "INVALID_STATE"),
            (
                format!("{ws}?mode=SET_DEFAULT"),
                &alice,
                400,
                "INVALID_PARAMETER_VALUE",
            ),
            (
                format!("{ws}?mode=bogus"),
                &alice,
                400,
                "INVALID_PARAMETER_VALUE",
            ),
            (
                format!("{ws}?mode=CASCADE"),
                &reader,
                403,
                "PERMISSION_DENIED",
            ),
            (
                format!("{WORKSPACES}/default"),
                &admin_token,
                400,
                "INVALID_PARAMETER_VALUE",
            ),
        ] {
            let (got, body) = send(&app, Method::DELETE, &uri, Some(token), None, None).await;
            assert_eq!(got.as_u16(), status, "{uri}: {body}");
            assert_eq!(body["error_code"], code, "{uri}: {body}");
        }
        assert_eq!(everything(&app).await, before);
        let (status, body) = send(
            &app,
            Method::DELETE,
            &format!("{ws}?mode=CASCADE"),
            Some(&alice),
            None,
            None,
        )
        .await;
        assert_eq!((status, body), (StatusCode::NO_CONTENT, Value::Null));
        assert!(app.store.get_project(id).await.unwrap().is_none());
        let (status, _) = send(&app, Method::GET, &ws, Some(&alice), None, None).await;
        assert_eq!(status, StatusCode::NOT_FOUND);

        // An empty workspace is deleted without CASCADE (here through a prefixed URL, whose
        // project plays no part), and its name is free again.
        let (status, _) = send(
            &app,
            Method::POST,
            WORKSPACES,
            Some(&alice),
            None,
            Some(json!({"name": "team-a"})),
        )
        .await;
        assert_eq!(status, StatusCode::CREATED);
        let (status, body) = send(
            &app,
            Method::DELETE,
            &format!("/api/v4/projects/1/ml/mlflow{ws}"),
            Some(&alice),
            None,
            None,
        )
        .await;
        assert_eq!(status, StatusCode::NO_CONTENT, "{body}");
    })
    .await;
}

/// A workspace the caller may not see (a private project, a disabled registry) answers
/// exactly like one that does not exist, on every endpoint and through the header.
#[tokio::test]
async fn an_invisible_workspace_answers_like_a_missing_one() {
    on_each_backend(|app: TestApp| async move {
        let (admin, _) = app.user("admin", true).await;
        app.project(
            "admin/default",
            &admin,
            Visibility::Private,
            RegistryAccess::Enabled,
        )
        .await;
        let (bob, _) = app.user("bob", false).await;
        let (alice_user, alice) = app.user("alice", false).await;
        app.project(
            "bob/secret",
            &bob,
            Visibility::Private,
            RegistryAccess::Enabled,
        )
        .await;
        let off = app
            .project(
                "bob/off",
                &bob,
                Visibility::Public,
                RegistryAccess::Disabled,
            )
            .await;
        app.member(&off, &alice_user, Role::Maintainer).await;
        let before = everything(&app).await;
        let answer = |status: StatusCode, body: &Value, name: &str| {
            (
                status,
                body["error_code"].clone(),
                body["message"]
                    .as_str()
                    .unwrap_or_default()
                    .replace(name, "<name>"),
            )
        };
        let requests = |name: &str| {
            vec![
                (Method::GET, format!("{WORKSPACES}/{name}"), None, None),
                (
                    Method::PATCH,
                    format!("{WORKSPACES}/{name}"),
                    None,
                    Some(json!({"description": "x"})),
                ),
                (
                    Method::DELETE,
                    format!("{WORKSPACES}/{name}?mode=CASCADE"),
                    None,
                    None,
                ),
                (
                    Method::GET,
                    "/api/2.0/mlflow/experiments/get?experiment_id=0".to_owned(),
                    Some(name.to_owned()),
                    None,
                ),
                (
                    Method::POST,
                    "/api/2.0/mlflow/experiments/create".to_owned(),
                    Some(name.to_owned()),
                    Some(json!({"name": "planted"})),
                ),
            ]
        };
        for hidden in ["bob-secret", "bob-off"] {
            for ((method, uri, header, body), (_, missing_uri, missing_header, _)) in
                requests(hidden).into_iter().zip(requests("nobody-here"))
            {
                let (status, got) = send(
                    &app,
                    method.clone(),
                    &uri,
                    Some(&alice),
                    header.as_deref(),
                    body.clone(),
                )
                .await;
                let (missing_status, missing) = send(
                    &app,
                    method.clone(),
                    &missing_uri,
                    Some(&alice),
                    missing_header.as_deref(),
                    body,
                )
                .await;
                assert_eq!(status, StatusCode::NOT_FOUND, "{method} {uri}: {got}");
                assert_eq!(got["error_code"], "RESOURCE_DOES_NOT_EXIST");
                assert_eq!(
                    answer(status, &got, hidden),
                    answer(missing_status, &missing, "nobody-here"),
                    "{method} {uri}"
                );
            }
        }
        let (_, list) = send(&app, Method::GET, WORKSPACES, Some(&alice), None, None).await;
        assert_eq!(names(&list), Vec::<&str>::new());
        assert_eq!(everything(&app).await, before);
    })
    .await;
}

/// `X-MLFLOW-WORKSPACE` selects a project exactly as the project URL does: the same
/// objects, files and authorization; a URL and a header that disagree are refused.
#[tokio::test]
async fn the_workspace_header_selects_the_project() {
    on_each_backend(|app: TestApp| async move {
        let (admin, admin_token) = app.user("admin", true).await;
        let default = app
            .project("admin/default", &admin, Visibility::Private, RegistryAccess::Enabled)
            .await;
        assert_eq!(default.workspace, "default");
        let (alice_user, alice) = app.user("alice", false).await;
        let (guest_user, guest) = app.user("guest", false).await;
        let vision = app
            .project("alice/vision", &alice_user, Visibility::Private, RegistryAccess::Enabled)
            .await;
        assert_eq!(vision.workspace, "alice-vision");
        app.member(&vision, &guest_user, Role::Guest).await;
        app.member(&default, &alice_user, Role::Reporter).await;
        let create = "/api/2.0/mlflow/experiments/create";

        let (status, body) = send(
            &app,
            Method::POST,
            create,
            Some(&alice),
            Some("alice-vision"),
            Some(json!({"name": "in-vision"})),
        )
        .await;
        assert_eq!(status, StatusCode::OK, "{body}");
        assert!(app.store.find_experiment(vision.id, "in-vision").await.unwrap().is_some());
        assert!(app.store.find_experiment(default.id, "in-vision").await.unwrap().is_none());
        // Through the header, the prefixed URL and the JSON API it is the same experiment.
        let id = body["experiment_id"].as_str().unwrap().to_owned();
        let by_header = send(
            &app,
            Method::GET,
            &format!("/api/2.0/mlflow/experiments/get?experiment_id={id}"),
            Some(&alice),
            Some("alice-vision"),
            None,
        )
        .await;
        let by_url = app
            .get(
                &format!(
                    "/api/v4/projects/{}/ml/mlflow/api/2.0/mlflow/experiments/get?experiment_id={id}",
                    vision.id
                ),
                Some(&alice),
            )
            .await;
        assert_eq!(by_header, by_url);
        assert_eq!(by_header.1["experiment"]["name"], "in-vision");
        // Files too: an artifact uploaded through the header lands in that project's tree.
        let request = Request::put("/api/2.0/mlflow-artifacts/artifacts/0/notes.txt")
            .header("authorization", format!("Bearer {alice}"))
            .header("x-mlflow-workspace", "alice-vision")
            .body(Body::from("hello"))
            .unwrap();
        assert_eq!(app.send(request).await.0, StatusCode::OK);
        assert!(app.store.get_file(vision.id, "0/notes.txt").await.unwrap().is_some());
        assert!(app.store.get_file(default.id, "0/notes.txt").await.unwrap().is_none());

        // Without a header, an empty one or `default`: project 1, as before.
        for (i, header) in [None, Some(""), Some("  "), Some("default")].into_iter().enumerate() {
            let (status, body) = send(
                &app,
                Method::POST,
                create,
                Some(&alice),
                header,
                Some(json!({"name": format!("in-default-{i}")})),
            )
            .await;
            assert_eq!(status, StatusCode::OK, "{header:?}: {body}");
        }
        assert_eq!(
            app.store
                .search_experiments(default.id, &[], &[], ViewType::All, ALL)
                .await
                .unwrap()
                .len(),
            5,
            "Default and the four"
        );

        // A URL and a header naming the same project agree; different ones are refused.
        let prefixed = format!("/api/v4/projects/{}/ml/mlflow/api/2.0/mlflow/experiments/create", vision.id);
        let (status, _) = send(
            &app,
            Method::POST,
            &prefixed,
            Some(&alice),
            Some("alice-vision"),
            Some(json!({"name": "agreed"})),
        )
        .await;
        assert_eq!(status, StatusCode::OK);
        let before = everything(&app).await;
        for (uri, header, token) in [
            (prefixed.clone(), "default", alice.as_str()),
            (
                "/api/v4/projects/1/ml/mlflow/api/2.0/mlflow/experiments/create".to_owned(),
                "alice-vision",
                &alice,
            ),
            (
                "/api/v4/projects/alice%2Fvision/ml/mlflow/api/2.0/mlflow/experiments/create".to_owned(),
                "nobody-here",
                &admin_token,
            ),
        ] {
            let (status, body) = send(
                &app,
                Method::POST,
                &uri,
                Some(token),
                Some(header),
                Some(json!({"name": "guessed"})),
            )
            .await;
            assert_eq!(status, StatusCode::BAD_REQUEST, "{uri} {header}: {body}");
            assert_eq!(body["error_code"], "INVALID_PARAMETER_VALUE");
            assert!(body["message"].as_str().unwrap().contains(header), "{body}");
        }
        // A malformed name is the client's mistake; the header takes the same roles as the
        // URL (a guest reads, cannot write); anonymous callers are asked to sign in.
        let cases = [
            (Some(alice.as_str()), "Alice_Vision", Method::POST, 400),
            (Some(&guest), "alice-vision", Method::POST, 403),
            (None, "alice-vision", Method::POST, 401),
            (None, "nobody-here", Method::POST, 401),
        ];
        for (token, header, method, want) in cases {
            let (status, body) = send(
                &app,
                method,
                create,
                token,
                Some(header),
                Some(json!({"name": "refused"})),
            )
            .await;
            assert_eq!(status.as_u16(), want, "{header}: {body}");
        }
        let (status, _) = send(
            &app,
            Method::GET,
            "/api/2.0/mlflow/experiments/get-by-name?experiment_name=in-vision",
            Some(&guest),
            Some("alice-vision"),
            None,
        )
        .await;
        assert_eq!(status, StatusCode::OK);
        assert_eq!(everything(&app).await, before);
    })
    .await;
}

const ALL: hangar_store::model::Paging = hangar_store::model::Paging {
    offset: 0,
    limit: 1000,
};
