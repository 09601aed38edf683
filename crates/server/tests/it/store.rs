//! The store's contract, on both backends.

use crate::support::{TestApp, on_each_backend};
use hangar_core::access::{RegistryAccess, Role, Scope, Visibility};
use hangar_core::filter::{Clause, Comparator, Key, OrderBy, Value};
use hangar_store::model::*;
use hangar_store::{
    ExperimentRepo, MemberRepo, ProjectRepo, RunRepo, StoreError, TokenRepo, UserRepo,
};

async fn owner_and_project(app: &TestApp) -> (User, Project) {
    let (owner, _) = app.user("owner", false).await;
    let project = app
        .project(
            "team/vision",
            &owner,
            Visibility::Private,
            RegistryAccess::Enabled,
        )
        .await;
    (owner, project)
}

fn new_experiment(name: &str) -> NewExperiment {
    NewExperiment {
        name: name.into(),
        artifact_location: None,
        tags: vec![],
    }
}

const ALL: Paging = Paging {
    offset: 0,
    limit: 1000,
};

#[tokio::test]
async fn a_project_starts_with_its_owner_and_default_experiment() {
    on_each_backend(|app| async move {
        let (owner, project) = owner_and_project(&app).await;
        assert_eq!(project.path_with_namespace(), "team/vision");
        assert_eq!(
            app.store.member_role(project.id, owner.id).await.unwrap(),
            Some(Role::Owner)
        );
        let default = app
            .store
            .get_experiment(project.id, 0)
            .await
            .unwrap()
            .unwrap();
        assert_eq!(default.name, "Default");
        assert_eq!(default.artifact_location, "mlflow-artifacts:/0");
        // Paths are unique regardless of case.
        let clash = app
            .store
            .create_project(NewProject {
                namespace: "TEAM".into(),
                path: "Vision".into(),
                name: "x".into(),
                description: String::new(),
                visibility: Visibility::Public,
                registry_access: RegistryAccess::Enabled,
                ci_base_url: None,
                owner_id: None,
                workspace: None,
            })
            .await;
        assert!(matches!(clash, Err(StoreError::Conflict(_))), "{clash:?}");
        let found = app
            .store
            .find_project("Team", "VISION")
            .await
            .unwrap()
            .unwrap();
        assert_eq!(found.id, project.id);
    })
    .await;
}

#[tokio::test]
async fn concurrent_experiment_creates_get_distinct_iids() {
    on_each_backend(|app| async move {
        let (_, project) = owner_and_project(&app).await;
        let creates = (0..20).map(|i| {
            let store = app.store.clone();
            async move {
                store
                    .create_experiment(project.id, new_experiment(&format!("exp-{i}")))
                    .await
            }
        });
        let results = futures::future::join_all(creates).await;
        let mut iids: Vec<i64> = results.into_iter().map(|r| r.unwrap().iid).collect();
        iids.sort();
        assert_eq!(iids, (1..=20).collect::<Vec<_>>());
        // The same name twice: one winner, one conflict.
        let (a, b) = tokio::join!(
            app.store
                .create_experiment(project.id, new_experiment("same")),
            app.store
                .create_experiment(project.id, new_experiment("same")),
        );
        assert!(a.is_ok() != b.is_ok(), "{a:?} {b:?}");
        let loser = if a.is_err() { a } else { b };
        assert!(matches!(loser, Err(StoreError::Conflict(m)) if m.contains("already exists")));
    })
    .await;
}

#[tokio::test]
async fn experiments_are_scoped_to_their_project() {
    on_each_backend(|app| async move {
        let (owner, project) = owner_and_project(&app).await;
        let other = app
            .project(
                "team/other",
                &owner,
                Visibility::Private,
                RegistryAccess::Enabled,
            )
            .await;
        let e = app
            .store
            .create_experiment(project.id, new_experiment("mine"))
            .await
            .unwrap();
        assert!(
            app.store
                .get_experiment(other.id, e.iid)
                .await
                .unwrap()
                .is_none()
        );
        assert!(
            app.store
                .find_experiment(other.id, "mine")
                .await
                .unwrap()
                .is_none()
        );
        // The same name is free in another project.
        app.store
            .create_experiment(other.id, new_experiment("mine"))
            .await
            .unwrap();
        assert!(matches!(
            app.store.set_experiment_tag(other.id, 99, "k", "v").await,
            Err(StoreError::NotFound)
        ));
    })
    .await;
}

#[tokio::test]
async fn experiment_tags_upsert_and_delete() {
    on_each_backend(|app| async move {
        let (_, project) = owner_and_project(&app).await;
        let e = app
            .store
            .create_experiment(
                project.id,
                NewExperiment {
                    name: "tagged".into(),
                    artifact_location: Some("s3://bucket/x".into()),
                    tags: vec![("a".into(), "1".into())],
                },
            )
            .await
            .unwrap();
        app.store
            .set_experiment_tag(project.id, e.iid, "a", "2")
            .await
            .unwrap();
        app.store
            .set_experiment_tag(project.id, e.iid, "b", "3")
            .await
            .unwrap();
        let got = app
            .store
            .get_experiment(project.id, e.iid)
            .await
            .unwrap()
            .unwrap();
        assert_eq!(got.artifact_location, "s3://bucket/x");
        assert_eq!(
            got.tags,
            vec![("a".into(), "2".into()), ("b".into(), "3".into())]
        );
        app.store
            .delete_experiment_tag(project.id, e.iid, "a")
            .await
            .unwrap();
        assert!(matches!(
            app.store
                .delete_experiment_tag(project.id, e.iid, "a")
                .await,
            Err(StoreError::NotFound)
        ));
    })
    .await;
}

#[tokio::test]
async fn experiment_search_filters_orders_and_pages() {
    on_each_backend(|app| async move {
        let (_, project) = owner_and_project(&app).await;
        for name in ["alpha", "Beta", "gamma", "delta"] {
            let e = app
                .store
                .create_experiment(project.id, new_experiment(name))
                .await
                .unwrap();
            if name != "gamma" {
                app.store
                    .set_experiment_tag(project.id, e.iid, "team", name)
                    .await
                    .unwrap();
            }
        }
        app.store
            .set_experiment_stage(project.id, 4, LifecycleStage::Deleted)
            .await
            .unwrap();
        let names = |es: Vec<Experiment>| es.into_iter().map(|e| e.name).collect::<Vec<_>>();
        let by_name = [OrderBy {
            key: Key::Attribute("name".into()),
            ascending: true,
        }];
        let search = |filter: Vec<Clause>, view| {
            let store = app.store.clone();
            let pid = project.id;
            let order = by_name.clone();
            async move {
                store
                    .search_experiments(pid, &filter, &order, view, ALL)
                    .await
                    .unwrap()
            }
        };
        assert_eq!(
            names(search(vec![], ViewType::ActiveOnly).await),
            ["Beta", "Default", "alpha", "gamma"]
        );
        assert_eq!(
            names(search(vec![], ViewType::DeletedOnly).await),
            ["delta"]
        );
        assert_eq!(search(vec![], ViewType::All).await.len(), 5);
        let clause = |key: Key, comparator, value| Clause {
            key,
            comparator,
            value,
        };
        // LIKE is case-sensitive, ILIKE is not.
        let like = clause(
            Key::Attribute("name".into()),
            Comparator::Like,
            Value::Str("%a".into()),
        );
        assert_eq!(
            names(search(vec![like], ViewType::ActiveOnly).await),
            ["Beta", "alpha", "gamma"]
        );
        let like_b = clause(
            Key::Attribute("name".into()),
            Comparator::Like,
            Value::Str("b%".into()),
        );
        assert!(search(vec![like_b], ViewType::ActiveOnly).await.is_empty());
        let ilike_b = clause(
            Key::Attribute("name".into()),
            Comparator::ILike,
            Value::Str("b%".into()),
        );
        assert_eq!(
            names(search(vec![ilike_b], ViewType::ActiveOnly).await),
            ["Beta"]
        );
        let tag_null = clause(Key::Tag("team".into()), Comparator::IsNull, Value::Null);
        assert_eq!(
            names(search(vec![tag_null], ViewType::ActiveOnly).await),
            ["Default", "gamma"]
        );
        let tag_ne = clause(
            Key::Tag("team".into()),
            Comparator::Ne,
            Value::Str("alpha".into()),
        );
        assert_eq!(
            names(search(vec![tag_ne], ViewType::ActiveOnly).await),
            ["Beta"]
        );
        let ids = clause(
            Key::Attribute("experiment_id".into()),
            Comparator::In,
            Value::List(vec!["1".into(), "3".into()]),
        );
        assert_eq!(
            names(search(vec![ids], ViewType::ActiveOnly).await),
            ["alpha", "gamma"]
        );
        let newer = clause(
            Key::Attribute("creation_time".into()),
            Comparator::Ge,
            Value::Num(0.0),
        );
        assert_eq!(search(vec![newer], ViewType::ActiveOnly).await.len(), 4);
        // Paging: default order (newest first, then id) over two pages.
        let page1 = app
            .store
            .search_experiments(
                project.id,
                &[],
                &[],
                ViewType::All,
                Paging {
                    offset: 0,
                    limit: 3,
                },
            )
            .await
            .unwrap();
        let page2 = app
            .store
            .search_experiments(
                project.id,
                &[],
                &[],
                ViewType::All,
                Paging {
                    offset: 3,
                    limit: 3,
                },
            )
            .await
            .unwrap();
        let mut all: Vec<i64> = page1.iter().chain(&page2).map(|e| e.iid).collect();
        assert_eq!(all.len(), 5);
        all.sort();
        all.dedup();
        assert_eq!(all, [0, 1, 2, 3, 4]);
    })
    .await;
}

#[tokio::test]
async fn rename_conflicts_and_missing_rows() {
    on_each_backend(|app| async move {
        let (_, project) = owner_and_project(&app).await;
        app.store
            .create_experiment(project.id, new_experiment("one"))
            .await
            .unwrap();
        app.store
            .create_experiment(project.id, new_experiment("two"))
            .await
            .unwrap();
        assert!(matches!(
            app.store.rename_experiment(project.id, 2, "one").await,
            Err(StoreError::Conflict(_))
        ));
        assert!(matches!(
            app.store.rename_experiment(project.id, 9, "x").await,
            Err(StoreError::NotFound)
        ));
        app.store
            .rename_experiment(project.id, 2, "three")
            .await
            .unwrap();
        assert_eq!(
            app.store
                .get_experiment(project.id, 2)
                .await
                .unwrap()
                .unwrap()
                .name,
            "three"
        );
    })
    .await;
}

#[tokio::test]
async fn a_project_keeps_an_owner() {
    on_each_backend(|app| async move {
        let (owner, project) = owner_and_project(&app).await;
        let (bob, _) = app.user("bob", false).await;
        assert!(matches!(
            app.store.remove_member(project.id, owner.id).await,
            Err(StoreError::Invalid(_))
        ));
        assert!(matches!(
            app.store
                .update_member(project.id, owner.id, Role::Developer, None)
                .await,
            Err(StoreError::Invalid(_))
        ));
        app.store
            .add_member(project.id, bob.id, Role::Owner, None)
            .await
            .unwrap();
        assert!(matches!(
            app.store
                .add_member(project.id, bob.id, Role::Guest, None)
                .await,
            Err(StoreError::Conflict(_))
        ));
        app.store
            .update_member(project.id, owner.id, Role::Developer, None)
            .await
            .unwrap();
        assert_eq!(
            app.store.member_role(project.id, owner.id).await.unwrap(),
            Some(Role::Developer)
        );
        // An expired membership grants nothing.
        app.store
            .update_member(
                project.id,
                owner.id,
                Role::Developer,
                Some(Some("2000-01-01".into())),
            )
            .await
            .unwrap();
        assert_eq!(
            app.store.member_role(project.id, owner.id).await.unwrap(),
            None
        );
    })
    .await;
}

#[tokio::test]
async fn tokens_are_stored_as_hashes_and_revocable() {
    on_each_backend(|app| async move {
        let (owner, project) = owner_and_project(&app).await;
        let secret = app.token(&owner, Scope::ReadApi).await;
        let (token, user) = app
            .store
            .find_token_by_hash(&hangar_core::token::hash(&secret))
            .await
            .unwrap()
            .unwrap();
        assert_eq!(user.id, owner.id);
        assert_eq!(token.scope, Scope::ReadApi);
        assert!(
            app.store
                .find_token_by_hash(&secret)
                .await
                .unwrap()
                .is_none(),
            "the plain token is not a key"
        );
        app.store.revoke_token(token.id).await.unwrap();
        assert!(
            app.store
                .get_token(token.id)
                .await
                .unwrap()
                .unwrap()
                .revoked
        );

        let bot = app
            .store
            .create_project_token(
                project.id,
                Role::Reporter,
                NewToken {
                    name: "ci".into(),
                    scope: Scope::Api,
                    expires_at: Some("2999-01-01".into()),
                    token_hash: hangar_core::token::hash("glpat-xxxxxxxxxxxxxxxxxxxxxxxx"),
                },
            )
            .await
            .unwrap();
        assert_eq!(bot.token.project_id, Some(project.id));
        assert_eq!(
            app.store
                .member_role(project.id, bot.token.user_id)
                .await
                .unwrap(),
            Some(Role::Reporter)
        );
        let listed = app
            .store
            .list_tokens(
                TokenFilter {
                    user_id: None,
                    project_id: Some(project.id),
                },
                ALL,
            )
            .await
            .unwrap();
        assert_eq!(listed.total, 1);
        app.store.revoke_token(bot.token.id).await.unwrap();
        assert_eq!(
            app.store
                .member_role(project.id, bot.token.user_id)
                .await
                .unwrap(),
            None
        );
        // Deleting the project removes its bots and tokens with it.
        app.store.delete_project(project.id).await.unwrap();
        assert!(
            app.store
                .get_user(bot.token.user_id)
                .await
                .unwrap()
                .is_none()
        );
        assert!(app.store.get_token(bot.token.id).await.unwrap().is_none());
        assert!(matches!(
            app.store.delete_project(project.id).await,
            Err(StoreError::NotFound)
        ));
    })
    .await;
}

#[tokio::test]
async fn project_listings_respect_visibility() {
    on_each_backend(|app| async move {
        let (alice, _) = app.user("alice", false).await;
        let (bob, _) = app.user("bob", false).await;
        app.project(
            "alice/secret",
            &alice,
            Visibility::Private,
            RegistryAccess::Enabled,
        )
        .await;
        app.project(
            "alice/open",
            &alice,
            Visibility::Public,
            RegistryAccess::Enabled,
        )
        .await;
        let paths = |page: Page<Project>| {
            page.items
                .iter()
                .map(Project::path_with_namespace)
                .collect::<Vec<_>>()
        };
        let list = |filter| {
            let store = app.store.clone();
            async move { store.list_projects(filter, None, ALL).await.unwrap() }
        };
        assert_eq!(
            paths(list(ProjectVisibilityFilter::PublicOnly).await),
            ["alice/open"]
        );
        assert_eq!(
            paths(list(ProjectVisibilityFilter::VisibleTo(bob.id)).await),
            ["alice/open"]
        );
        assert_eq!(
            paths(list(ProjectVisibilityFilter::VisibleTo(alice.id)).await),
            ["alice/secret", "alice/open"]
        );
        assert_eq!(list(ProjectVisibilityFilter::All).await.total, 2);
        let searched = app
            .store
            .list_projects(ProjectVisibilityFilter::All, Some("SEC"), ALL)
            .await
            .unwrap();
        assert_eq!(paths(searched), ["alice/secret"]);
    })
    .await;
}

#[tokio::test]
async fn concurrent_batches_share_commits_but_fail_alone() {
    on_each_backend(|app| async move {
        let (_, project) = owner_and_project(&app).await;
        let run = app
            .store
            .create_run(
                project.id,
                NewRun {
                    experiment_iid: 0,
                    user_id: String::new(),
                    name: "r".into(),
                    start_time: 0,
                    tags: vec![],
                },
            )
            .await
            .unwrap();
        app.store
            .log_batch(
                &run.info,
                Batch {
                    params: vec![("fixed".into(), "1".into())],
                    ..Batch::default()
                },
            )
            .await
            .unwrap();
        let batches = (0..40i64).map(|i| {
            let store = app.store.clone();
            let info = run.info.clone();
            async move {
                let mut batch = Batch {
                    metrics: (0..50)
                        .map(|s| Metric {
                            key: format!("m{}", i % 4),
                            value: s as f64,
                            timestamp: i,
                            step: s,
                        })
                        .collect(),
                    ..Batch::default()
                };
                // Every tenth batch tries to change the fixed param and must write nothing.
                if i % 10 == 0 {
                    batch.params = vec![("fixed".into(), "2".into())];
                }
                (i, store.log_batch(&info, batch).await)
            }
        });
        for (i, result) in futures::future::join_all(batches).await {
            if i % 10 == 0 {
                assert!(
                    matches!(result, Err(StoreError::ParamsChanged(_))),
                    "{i}: {result:?}"
                );
            } else {
                result.unwrap();
            }
        }
        let mut points = 0;
        for key in ["m0", "m1", "m2", "m3"] {
            points += app
                .store
                .metric_history(&run.info, key, ALL)
                .await
                .unwrap()
                .len();
        }
        // 40 batches of 50 points, minus the 4 refused ones.
        assert_eq!(points, 36 * 50);
        let stored = app
            .store
            .get_run(project.id, &run.info.run_uuid)
            .await
            .unwrap()
            .unwrap();
        assert_eq!(stored.params, vec![("fixed".to_string(), "1".to_string())]);
        assert!(
            stored.metrics.iter().all(|m| m.step == 49),
            "{:?}",
            stored.metrics
        );
    })
    .await;
}

#[tokio::test]
async fn concurrent_run_creates_get_distinct_iids() {
    on_each_backend(|app| async move {
        let (_, project) = owner_and_project(&app).await;
        let creates = (0..50).map(|i| {
            let store = app.store.clone();
            let run = NewRun {
                experiment_iid: 0,
                user_id: String::new(),
                name: format!("r{i}"),
                start_time: i,
                tags: vec![],
            };
            async move { store.create_run(project.id, run).await.unwrap() }
        });
        let runs = futures::future::join_all(creates).await;
        let mut iids: Vec<i64> = runs.iter().map(|r| r.info.iid).collect();
        iids.sort();
        assert_eq!(iids, (1..=50).collect::<Vec<_>>());
        let mut ids: Vec<&str> = runs.iter().map(|r| r.info.run_uuid.as_str()).collect();
        ids.sort();
        ids.dedup();
        assert_eq!(ids.len(), 50);
        // A create in a missing experiment fails alone.
        let missing = NewRun {
            experiment_iid: 99,
            user_id: String::new(),
            name: "x".into(),
            start_time: 0,
            tags: vec![],
        };
        assert!(matches!(
            app.store.create_run(project.id, missing).await,
            Err(StoreError::NotFound)
        ));
    })
    .await;
}

#[tokio::test]
async fn project_access_resolves_ids_paths_and_roles() {
    on_each_backend(|app| async move {
        let (owner, project) = owner_and_project(&app).await;
        let (bob, _) = app.user("bob", false).await;
        let id = project.id.to_string();
        let (found, role) = app
            .store
            .project_access(ProjectRef::IdOrPath(&id), Some(owner.id))
            .await
            .unwrap()
            .unwrap();
        assert_eq!((found.id, role), (project.id, Some(Role::Owner)));
        let (_, role) = app
            .store
            .project_access(ProjectRef::IdOrPath("TEAM/Vision"), Some(bob.id))
            .await
            .unwrap()
            .unwrap();
        assert_eq!(role, None);
        let (_, role) = app
            .store
            .project_access(ProjectRef::IdOrPath(&id), None)
            .await
            .unwrap()
            .unwrap();
        assert_eq!(role, None);
        app.store
            .add_member(project.id, bob.id, Role::Guest, Some("2000-01-01".into()))
            .await
            .unwrap();
        let (_, role) = app
            .store
            .project_access(ProjectRef::IdOrPath(&id), Some(bob.id))
            .await
            .unwrap()
            .unwrap();
        assert_eq!(role, None, "an expired membership grants nothing");
        for missing in ["9999", "team/none", "a/b/c", "noslash", ""] {
            assert!(
                app.store
                    .project_access(ProjectRef::IdOrPath(missing), Some(owner.id))
                    .await
                    .unwrap()
                    .is_none(),
                "{missing}"
            );
        }
    })
    .await;
}

#[tokio::test]
async fn token_project_access_matches_its_two_parts() {
    on_each_backend(|app| async move {
        let (owner, project) = owner_and_project(&app).await;
        let (bob, _) = app.user("bob", false).await;
        let owner_secret = app.token(&owner, Scope::Api).await;
        let bob_secret = app.token(&bob, Scope::ReadApi).await;
        let hash = hangar_core::token::hash;
        let id = project.id.to_string();
        for (secret, user, reference) in [
            (&owner_secret, &owner, ProjectRef::IdOrPath(&id)),
            (&owner_secret, &owner, ProjectRef::IdOrPath("team/VISION")),
            // The first project is project 1, MLflow's default workspace.
            (&owner_secret, &owner, ProjectRef::Workspace("default")),
            (&bob_secret, &bob, ProjectRef::IdOrPath(&id)),
            (&bob_secret, &bob, ProjectRef::Workspace("default")),
            (&bob_secret, &bob, ProjectRef::IdOrPath("team/none")),
            (&bob_secret, &bob, ProjectRef::IdOrPath("a/b/c")),
            (&bob_secret, &bob, ProjectRef::Workspace("team-none")),
            (&bob_secret, &bob, ProjectRef::Workspace(&id)),
        ] {
            let (token, found_user, access) = app
                .store
                .token_project_access(&hash(secret), reference)
                .await
                .unwrap()
                .expect("the token exists");
            let (alone, alone_user) = app
                .store
                .find_token_by_hash(&hash(secret))
                .await
                .unwrap()
                .unwrap();
            assert_eq!((token.id, token.scope), (alone.id, alone.scope));
            assert_eq!(found_user.id, user.id);
            assert_eq!(found_user.username, alone_user.username);
            let expected = app
                .store
                .project_access(reference, Some(user.id))
                .await
                .unwrap();
            assert_eq!(
                access.map(|(p, role)| (p.id, p.visibility, role)),
                expected.map(|(p, role)| (p.id, p.visibility, role)),
                "{reference:?}"
            );
        }
        assert!(
            app.store
                .token_project_access(&hash("glpat-unknown"), ProjectRef::IdOrPath(&id))
                .await
                .unwrap()
                .is_none()
        );
    })
    .await;
}

fn new_project(namespace: &str, path: &str, workspace: Option<&str>) -> NewProject {
    NewProject {
        namespace: namespace.into(),
        path: path.into(),
        name: path.into(),
        description: String::new(),
        visibility: Visibility::Private,
        registry_access: RegistryAccess::Enabled,
        ci_base_url: None,
        owner_id: None,
        workspace: workspace.map(Into::into),
    }
}

#[tokio::test]
async fn projects_get_unique_workspace_names_that_outlive_a_rename() {
    on_each_backend(|app| async move {
        let create = |namespace: &'static str, path: &'static str, ws: Option<&'static str>| {
            let store = app.store.clone();
            async move { store.create_project(new_project(namespace, path, ws)).await }
        };
        // Project 1 is MLflow's default workspace, whatever it asked for.
        assert_eq!(create("admin", "main", None).await.unwrap().workspace, "default");
        let vision = create("team", "vision", None).await.unwrap();
        assert_eq!(vision.workspace, "team-vision");
        let twin = create("Team", "Vision_", None).await.unwrap();
        assert_eq!(twin.workspace, "team-vision-2");
        assert_eq!(create("_", "default", None).await.unwrap().workspace, "default-2");
        assert_eq!(create("a", "b", Some("chosen")).await.unwrap().workspace, "chosen");
        // A name asked for is the caller's or nobody's; a taken path wins over a free name.
        let clash = create("c", "d", Some("team-vision")).await;
        assert!(
            matches!(&clash, Err(StoreError::Conflict(m)) if m == "Workspace 'team-vision' already exists."),
            "{clash:?}"
        );
        let clash = create("team", "VISION", Some("free-name")).await;
        assert!(
            matches!(&clash, Err(StoreError::Conflict(m)) if m.contains("has already been taken")),
            "{clash:?}"
        );
        assert!(app.store.find_project("c", "d").await.unwrap().is_none());

        // A new path keeps the name; the old derived name is not freed by it.
        let renamed = app
            .store
            .update_project(
                vision.id,
                ProjectUpdate {
                    path: Some("renamed".into()),
                    ..ProjectUpdate::default()
                },
            )
            .await
            .unwrap();
        assert_eq!(
            (renamed.path.as_str(), renamed.workspace.as_str()),
            ("renamed", "team-vision")
        );
        let (found, _) = app
            .store
            .project_access(ProjectRef::Workspace("team-vision"), None)
            .await
            .unwrap()
            .unwrap();
        assert_eq!(found.id, vision.id);
        assert_eq!(create("team", "vision", None).await.unwrap().workspace, "team-vision-3");
        // Deleting the project frees its name.
        app.store.delete_project(twin.id).await.unwrap();
        assert_eq!(create("x", "y", Some("team-vision-2")).await.unwrap().workspace, "team-vision-2");
    })
    .await;
}

/// Concurrent creates whose paths derive the same name each get a name of their own (on
/// PostgreSQL they race for it; SQLite's one writer takes them in turn).
#[tokio::test]
async fn concurrent_creates_get_distinct_workspace_names() {
    on_each_backend(|app| async move {
        app.store
            .create_project(new_project("admin", "main", None))
            .await
            .unwrap();
        let creates = (0..8).map(|i| {
            let store = app.store.clone();
            let path = ["vision", "vision_", "vision.", "Vision"][i % 4].to_owned();
            let namespace = ["team", "team_"][i / 4].to_owned();
            async move {
                store
                    .create_project(new_project(&namespace, &path, None))
                    .await
            }
        });
        let created = futures::future::join_all(creates).await;
        let mut names: Vec<String> = created
            .into_iter()
            .filter_map(|c| match c {
                Ok(p) => Some(p.workspace),
                // Paths that differ only by case are one path.
                Err(StoreError::Conflict(m)) if m.contains("has already been taken") => None,
                Err(e) => panic!("{e}"),
            })
            .collect();
        let count = names.len();
        names.sort();
        names.dedup();
        assert_eq!(names.len(), count, "{names:?}");
        assert!(count >= 6, "{names:?}");
        assert!(
            names.iter().all(|n| n.starts_with("team-vision")),
            "{names:?}"
        );
    })
    .await;
}
