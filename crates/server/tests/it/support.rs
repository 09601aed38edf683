//! `TestApp`: the real router over a fresh database (SQLite file or a new PostgreSQL
//! database), called in-process; fixtures that read like the scenario.

use axum::Router;
use axum::body::Body;
use axum::http::{Method, Request, StatusCode};
use hangar_core::access::{RegistryAccess, Role, Scope, Visibility};
use hangar_server::AppState;
use hangar_store::model::{NewProject, NewToken, NewUser, Project, User};
use hangar_store::{MemberRepo, ProjectRepo, SqlStore, TokenRepo, UserRepo};
use http_body_util::BodyExt;
use serde_json::Value;
use std::future::Future;
use std::sync::Arc;
use tower::ServiceExt;

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Backend {
    Sqlite,
    Postgres,
}

/// The backends this run covers: SQLite always; PostgreSQL when `HANGAR_TEST_DATABASE_URL`
/// is set. With `HANGAR_REQUIRE_PG=1` (the test command sets it) a missing URL fails.
pub fn backends() -> Vec<Backend> {
    let mut list = vec![Backend::Sqlite];
    if std::env::var("HANGAR_TEST_DATABASE_URL").is_ok() {
        list.push(Backend::Postgres);
    } else if std::env::var("HANGAR_REQUIRE_PG").as_deref() == Ok("1") {
        panic!("HANGAR_REQUIRE_PG=1 but HANGAR_TEST_DATABASE_URL is not set");
    }
    list
}

/// Runs `test` once per backend, each time on a fresh database.
pub async fn on_each_backend<F, Fut>(test: F)
where
    F: Fn(TestApp) -> Fut,
    Fut: Future<Output = ()>,
{
    for backend in backends() {
        test(TestApp::new(backend).await).await;
    }
}

pub struct TestApp {
    pub store: Arc<SqlStore>,
    pub blobs: hangar_blobs::BlobStore,
    pub router: Router,
    _dir: tempfile::TempDir,
    pg_database: Option<(String, String)>,
}

/// A PostgreSQL test database is dropped with its app, even when the test panics.
impl Drop for TestApp {
    fn drop(&mut self) {
        if let Some((admin_url, database)) = self.pg_database.take() {
            let dropper = std::thread::spawn(move || {
                let runtime = tokio::runtime::Builder::new_current_thread()
                    .enable_all()
                    .build()
                    .unwrap();
                runtime.block_on(drop_database(&admin_url, &database));
            });
            let _ = dropper.join();
        }
    }
}

async fn drop_database(admin_url: &str, database: &str) {
    use sqlx::Connection;
    if let Ok(mut conn) = sqlx::AnyConnection::connect(admin_url).await {
        let _ = sqlx::query(sqlx::AssertSqlSafe(format!(
            "DROP DATABASE IF EXISTS {database} WITH (FORCE)"
        )))
        .execute(&mut conn)
        .await;
    }
}

/// The upload limit in tests: above one blob part (5 MiB), so that both the single-put and
/// the multipart paths run, and small enough to exceed cheaply.
pub const MAX_FILE_SIZE: u64 = 9 * 1024 * 1024;

impl TestApp {
    pub async fn new(backend: Backend) -> TestApp {
        sqlx::any::install_default_drivers();
        let dir = tempfile::tempdir().unwrap();
        let (url, pg_database) = match backend {
            Backend::Sqlite => (
                format!("sqlite://{}", dir.path().join("hangar.db").display()),
                None,
            ),
            Backend::Postgres => {
                use sqlx::Connection;
                let admin_url = std::env::var("HANGAR_TEST_DATABASE_URL").unwrap();
                let database = format!("hangar_test_{}", uuid::Uuid::new_v4().simple());
                let mut conn = sqlx::AnyConnection::connect(&admin_url)
                    .await
                    .expect("connect to PostgreSQL");
                sqlx::query(sqlx::AssertSqlSafe(format!("CREATE DATABASE {database}")))
                    .execute(&mut conn)
                    .await
                    .unwrap();
                let mut url = url::Url::parse(&admin_url).unwrap();
                url.set_path(&format!("/{database}"));
                (url.to_string(), Some((admin_url, database)))
            }
        };
        let store = hangar_store::open(&url).await.expect("open store");
        // HANGAR_TEST_BLOB_URL (s3://bucket) runs the same tests on S3-compatible storage,
        // each test under a prefix of its own.
        let (blob_url, s3) = match std::env::var("HANGAR_TEST_BLOB_URL") {
            Ok(url) => (
                format!(
                    "{}/{}",
                    url.trim_end_matches('/'),
                    uuid::Uuid::new_v4().simple()
                ),
                hangar_blobs::S3Options {
                    endpoint: std::env::var("HANGAR_TEST_S3_ENDPOINT").ok(),
                    region: Some("us-east-1".into()),
                    ..Default::default()
                },
            ),
            Err(_) => (
                url::Url::from_file_path(dir.path().join("blobs"))
                    .unwrap()
                    .to_string(),
                hangar_blobs::S3Options::default(),
            ),
        };
        let state = AppState {
            store: store.clone(),
            blobs: hangar_blobs::BlobStore::open(&blob_url, &s3).unwrap(),
            metrics: hangar_server::metrics_handle(),
            public_url: None,
            allowed_hosts: ["hangar.test".to_owned(), "registry.example".to_owned()].into(),
            lifecycle: Default::default(),
            throttles: Default::default(),
            client_ip_header: None,
            disks: Vec::new().into(),
            min_free_disk_bytes: 0,
            max_file_size: MAX_FILE_SIZE,
        };
        TestApp {
            blobs: state.blobs.clone(),
            router: hangar_server::router(state),
            store,
            _dir: dir,
            pg_database,
        }
    }

    /// Sends a request; `body` is sent as JSON when given.
    pub async fn call(
        &self,
        method: Method,
        uri: &str,
        token: Option<&str>,
        body: Option<Value>,
    ) -> (StatusCode, Value) {
        let mut request = Request::builder()
            .method(method)
            .uri(uri)
            .header("host", "hangar.test");
        if let Some(token) = token {
            request = request.header("authorization", format!("Bearer {token}"));
        }
        let request = match body {
            Some(body) => request
                .header("content-type", "application/json")
                .body(Body::from(body.to_string()))
                .unwrap(),
            None => request.body(Body::empty()).unwrap(),
        };
        self.send(request).await
    }

    /// Sends a prepared request and reads the answer as JSON (`Value::Null` when empty,
    /// a string when not JSON).
    pub async fn send(&self, request: Request<Body>) -> (StatusCode, Value) {
        let (status, _, body) = self.send_raw(request).await;
        let value = if body.is_empty() {
            Value::Null
        } else {
            serde_json::from_slice(&body)
                .unwrap_or_else(|_| Value::String(String::from_utf8_lossy(&body).into()))
        };
        (status, value)
    }

    pub async fn send_raw(
        &self,
        request: Request<Body>,
    ) -> (StatusCode, axum::http::HeaderMap, bytes::Bytes) {
        let response = self.router.clone().oneshot(request).await.unwrap();
        let status = response.status();
        let headers = response.headers().clone();
        let body = response.into_body().collect().await.unwrap().to_bytes();
        (status, headers, body)
    }

    pub async fn get(&self, uri: &str, token: Option<&str>) -> (StatusCode, Value) {
        self.call(Method::GET, uri, token, None).await
    }

    pub async fn post(&self, uri: &str, token: Option<&str>, body: Value) -> (StatusCode, Value) {
        self.call(Method::POST, uri, token, Some(body)).await
    }

    /// A user with a personal token of the given scope.
    pub async fn user(&self, username: &str, admin: bool) -> (User, String) {
        let user = self
            .store
            .create_user(NewUser {
                username: username.into(),
                name: username.into(),
                email: Some(format!("{username}@example.com")),
                password_hash: None,
                is_admin: admin,
            })
            .await
            .unwrap();
        let token = self.token(&user, Scope::Api).await;
        (user, token)
    }

    pub async fn token(&self, user: &User, scope: Scope) -> String {
        let secret = hangar_core::token::generate();
        self.store
            .create_personal_token(
                user.id,
                NewToken {
                    name: "test".into(),
                    scope,
                    expires_at: None,
                    token_hash: hangar_core::token::hash(&secret),
                },
            )
            .await
            .unwrap();
        secret
    }

    pub async fn project(
        &self,
        path: &str,
        owner: &User,
        visibility: Visibility,
        registry: RegistryAccess,
    ) -> Project {
        let (namespace, name) = path.split_once('/').unwrap();
        self.store
            .create_project(NewProject {
                namespace: namespace.into(),
                path: name.into(),
                name: name.into(),
                description: String::new(),
                visibility,
                registry_access: registry,
                ci_base_url: None,
                owner_id: Some(owner.id),
                workspace: None,
            })
            .await
            .unwrap()
    }

    pub async fn member(&self, project: &Project, user: &User, role: Role) {
        self.store
            .add_member(project.id, user.id, role, None)
            .await
            .unwrap();
    }
}

/// The MLflow API prefix of a project.
pub fn mlflow(project: i64, endpoint: &str) -> String {
    format!("/api/v4/projects/{project}/ml/mlflow/api/2.0/mlflow/{endpoint}")
}
