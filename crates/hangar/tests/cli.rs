//! The `hangar` binary as an administrator uses it: layered configuration and the admin
//! commands, on SQLite and (when `HANGAR_TEST_DATABASE_URL` is set) on PostgreSQL.

use std::io::Write;
use std::process::{Command, Output, Stdio};

fn hangar(args: &[&str], envs: &[(&str, &str)], stdin: Option<&str>) -> Output {
    let mut command = Command::new(env!("CARGO_BIN_EXE_hangar"));
    command
        .args(args)
        .env_remove("HANGAR_DATABASE_URL")
        .env_remove("HANGAR_DATA_DIR")
        .env_remove("HANGAR_LISTEN");
    for (k, v) in envs {
        command.env(k, v);
    }
    command
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped());
    let mut child = command.spawn().unwrap();
    if let Some(input) = stdin {
        child
            .stdin
            .take()
            .unwrap()
            .write_all(input.as_bytes())
            .unwrap();
    }
    drop(child.stdin.take());
    child.wait_with_output().unwrap()
}

fn ok(args: &[&str], envs: &[(&str, &str)]) -> String {
    let out = hangar(args, envs, None);
    assert!(
        out.status.success(),
        "hangar {args:?}: {}",
        String::from_utf8_lossy(&out.stderr)
    );
    String::from_utf8(out.stdout).unwrap()
}

#[test]
fn settings_layer_defaults_file_environment_flags() {
    let dir = tempfile::tempdir().unwrap();
    let file = dir.path().join("hangar.toml");
    std::fs::write(&file, "listen = \"127.0.0.1:7000\"\nlog_format = \"json\"\ndatabase_url = \"postgres://u:secret@db/hangar\"\n").unwrap();
    let defaults = ok(&["config", "show"], &[]);
    assert!(
        defaults.contains("listen = \"127.0.0.1:8080\""),
        "{defaults}"
    );
    assert!(
        defaults.contains("data_dir = \"hangar-data\""),
        "{defaults}"
    );
    let config = file.to_str().unwrap();
    let from_file = ok(&["--config", config, "config", "show"], &[]);
    assert!(
        from_file.contains("listen = \"127.0.0.1:7000\""),
        "{from_file}"
    );
    assert!(from_file.contains("log_format = \"json\""), "{from_file}");
    // Secrets never show.
    assert!(!from_file.contains("secret"), "{from_file}");
    assert!(
        from_file.contains("postgres://u:***@db/hangar"),
        "{from_file}"
    );
    let from_env = ok(
        &["config", "show"],
        &[
            ("HANGAR_CONFIG", config),
            ("HANGAR_LISTEN", "127.0.0.1:7001"),
        ],
    );
    assert!(
        from_env.contains("listen = \"127.0.0.1:7001\""),
        "{from_env}"
    );
    let from_flag = ok(
        &["config", "show", "--listen", "127.0.0.1:7002"],
        &[
            ("HANGAR_CONFIG", config),
            ("HANGAR_LISTEN", "127.0.0.1:7001"),
        ],
    );
    assert!(
        from_flag.contains("listen = \"127.0.0.1:7002\""),
        "{from_flag}"
    );
    let missing = hangar(
        &["--config", "/nonexistent.toml", "config", "show"],
        &[],
        None,
    );
    assert!(!missing.status.success());
}

fn administer(db: &[(&str, &str)]) {
    let out = ok(&["admin", "migrate"], db);
    assert!(out.contains("migrations applied"), "{out}");
    let out = hangar(
        &[
            "admin",
            "user",
            "create",
            "alice",
            "--email",
            "alice@example.com",
            "--password-stdin",
        ],
        db,
        Some("long enough password\n"),
    );
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let short = hangar(
        &["admin", "user", "create", "bob", "--password-stdin"],
        db,
        Some("short\n"),
    );
    assert!(!short.status.success(), "a short password is refused");
    ok(&["admin", "user", "create", "bob"], db);
    assert!(
        !hangar(&["admin", "user", "create", "bob"], db, None)
            .status
            .success(),
        "duplicate user"
    );
    assert!(
        !hangar(&["admin", "user", "create", "bad name"], db, None)
            .status
            .success()
    );
    let out = ok(
        &[
            "admin",
            "project",
            "create",
            "team/vision",
            "--owner",
            "alice",
            "--visibility",
            "public",
            "--registry-access",
            "private",
        ],
        db,
    );
    assert!(out.contains("created project team/vision"), "{out}");
    // The first project is project 1, MLflow's default workspace; the others are named
    // after their paths, or as asked.
    assert!(out.contains("MLflow workspace default"), "{out}");
    let out = ok(&["admin", "project", "create", "team/Vision_2"], db);
    assert!(out.contains("MLflow workspace team-vision-2"), "{out}");
    let out = ok(
        &[
            "admin",
            "project",
            "create",
            "team/cv",
            "--workspace",
            "vision",
        ],
        db,
    );
    assert!(out.contains("MLflow workspace vision"), "{out}");
    for taken_or_bad in ["vision", "default", "Bad_Name"] {
        assert!(
            !hangar(
                &[
                    "admin",
                    "project",
                    "create",
                    "team/y",
                    "--workspace",
                    taken_or_bad
                ],
                db,
                None
            )
            .status
            .success(),
            "{taken_or_bad}"
        );
    }
    assert!(
        !hangar(&["admin", "project", "create", "noslash"], db, None)
            .status
            .success()
    );
    assert!(
        !hangar(
            &[
                "admin",
                "project",
                "create",
                "team/x",
                "--visibility",
                "internal"
            ],
            db,
            None
        )
        .status
        .success()
    );
    ok(
        &[
            "admin",
            "member",
            "add",
            "team/vision",
            "bob",
            "--role",
            "reporter",
        ],
        db,
    );
    let members = ok(&["admin", "member", "list", "team/vision"], db);
    assert!(
        members.contains("alice\towner") && members.contains("bob\treporter"),
        "{members}"
    );
    ok(
        &[
            "admin",
            "member",
            "update",
            "team/vision",
            "bob",
            "--role",
            "40",
        ],
        db,
    );
    assert!(ok(&["admin", "member", "list", "team/vision"], db).contains("bob\tmaintainer"));
    assert!(
        !hangar(
            &["admin", "member", "remove", "team/vision", "alice"],
            db,
            None
        )
        .status
        .success(),
        "the last owner stays"
    );
    let updated = ok(
        &[
            "admin",
            "project",
            "update",
            "team/vision",
            "--visibility",
            "private",
            "--registry-access",
            "disabled",
            "--ci-base-url",
            "https://gitlab.example.com/team/vision",
        ],
        db,
    );
    assert!(
        updated.contains("visibility private, model registry disabled"),
        "{updated}"
    );
    let token = ok(
        &[
            "admin",
            "token",
            "create",
            "--user",
            "alice",
            "--name",
            "laptop",
            "--scope",
            "read_api",
            "--expires-at",
            "2999-01-01",
        ],
        db,
    );
    let token = token.trim();
    assert!(token.starts_with("glpat-") && token.len() >= 26, "{token}");
    let project_token = ok(
        &[
            "admin",
            "token",
            "create",
            "--project",
            "team/vision",
            "--name",
            "ci",
            "--role",
            "developer",
        ],
        db,
    );
    assert!(project_token.trim().starts_with("glpat-"));
    assert!(
        !hangar(
            &[
                "admin", "token", "create", "--user", "alice", "--name", "x", "--scope", "sudo"
            ],
            db,
            None
        )
        .status
        .success()
    );
    assert!(
        !hangar(
            &[
                "admin",
                "token",
                "create",
                "--user",
                "alice",
                "--name",
                "x",
                "--expires-at",
                "soon"
            ],
            db,
            None
        )
        .status
        .success()
    );
    let list = ok(&["admin", "token", "list", "--user", "alice"], db);
    assert!(
        list.contains("laptop") && list.contains("read_api") && list.contains("expires 2999-01-01"),
        "{list}"
    );
    assert!(!list.contains(token), "token values are never listed");
    let id = list.split('\t').next().unwrap();
    ok(&["admin", "token", "revoke", id], db);
    assert!(ok(&["admin", "token", "list", "--user", "alice"], db).contains("revoked"));
    let projects = ok(&["admin", "project", "list"], db);
    assert!(
        projects.contains("team/vision\tprivate\tdisabled\tdefault"),
        "{projects}"
    );
    assert!(
        projects.contains("team/cv\tprivate\tenabled\tvision"),
        "{projects}"
    );
}

#[test]
fn admin_commands_on_sqlite() {
    let dir = tempfile::tempdir().unwrap();
    administer(&[("HANGAR_DATA_DIR", dir.path().to_str().unwrap())]);
    assert!(dir.path().join("hangar.db").exists());
}

#[test]
fn admin_commands_on_postgres() {
    let Ok(admin_url) = std::env::var("HANGAR_TEST_DATABASE_URL") else {
        assert_ne!(
            std::env::var("HANGAR_REQUIRE_PG").as_deref(),
            Ok("1"),
            "PostgreSQL required"
        );
        return;
    };
    let database = format!("hangar_cli_{}", std::process::id());
    let psql = |sql: &str| {
        let status = Command::new("psql")
            .args([admin_url.as_str(), "-qc", sql])
            .status()
            .unwrap();
        assert!(status.success(), "psql {sql}");
    };
    psql(&format!("CREATE DATABASE {database}"));
    let mut url = admin_url.rsplitn(2, '/').last().unwrap().to_string();
    url.push('/');
    url.push_str(&database);
    administer(&[("HANGAR_DATABASE_URL", &url)]);
    psql(&format!("DROP DATABASE {database} WITH (FORCE)"));
}
