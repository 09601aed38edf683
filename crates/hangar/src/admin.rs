//! `hangar admin …`: administration straight against the database, for a first set-up, for
//! scripts, and for when the server is down.

use crate::config::Settings;
use crate::serve::open_store;
use anyhow::{Context, bail};
use clap::Subcommand;
use hangar_core::access::{RegistryAccess, Role, Visibility};
use hangar_core::{names, token};
use hangar_server::projects::{self, Creator, NewProjectRequest};
use hangar_store::model::{
    NewToken, NewUser, Paging, Project, ProjectUpdate, ProjectVisibilityFilter, TokenFilter, User,
};
use hangar_store::{MemberRepo, ProjectRepo, SqlStore, TokenRepo, UserRepo};
use std::io::Read;

const ALL: Paging = Paging {
    offset: 0,
    limit: i64::MAX,
};

#[derive(Debug, Subcommand)]
pub enum AdminCommand {
    /// Apply pending database migrations (serve also does this at start).
    Migrate,
    /// Users.
    #[command(subcommand)]
    User(UserCommand),
    /// Projects.
    #[command(subcommand)]
    Project(ProjectCommand),
    /// Project members and their roles.
    #[command(subcommand)]
    Member(MemberCommand),
    /// Personal and project access tokens.
    #[command(subcommand)]
    Token(TokenCommand),
    /// Remove blobs that no file references (left by crashes, failed removals, deletes).
    Gc {
        /// Keep unreferenced blobs younger than this many seconds: an upload in flight has
        /// its blob before its row.
        #[arg(long, default_value_t = 3600)]
        min_age_secs: u64,
        /// Report what would go, remove nothing.
        #[arg(long)]
        dry_run: bool,
    },
}

#[derive(Debug, Subcommand)]
pub enum UserCommand {
    /// Create a user.
    Create {
        username: String,
        #[arg(long)]
        name: Option<String>,
        #[arg(long)]
        email: Option<String>,
        /// Read a password (for the web UI) from standard input.
        #[arg(long)]
        password_stdin: bool,
        /// Make the user an administrator.
        #[arg(long)]
        admin: bool,
    },
    /// Set a user's password, read from standard input.
    SetPassword { username: String },
    /// List users.
    List,
}

#[derive(Debug, Subcommand)]
pub enum ProjectCommand {
    /// Create a project `namespace/name`.
    Create {
        path: String,
        /// Its first owner (a username).
        #[arg(long)]
        owner: Option<String>,
        #[arg(long, default_value = "private")]
        visibility: Visibility,
        /// Model registry access: disabled, private (members only) or enabled.
        #[arg(long, default_value = "enabled")]
        registry_access: RegistryAccess,
        /// Base URL for CI job links, e.g. https://gitlab.example.com/team/vision
        #[arg(long)]
        ci_base_url: Option<String>,
        /// Its MLflow workspace name (`mlflow.set_workspace`); derived from the path when
        /// not given (`team/vision` is `team-vision`).
        #[arg(long)]
        workspace: Option<String>,
    },
    /// Change a project's settings.
    Update {
        /// Numeric id or `namespace/name`.
        project: String,
        #[arg(long)]
        visibility: Option<Visibility>,
        #[arg(long)]
        registry_access: Option<RegistryAccess>,
        /// Empty to clear.
        #[arg(long)]
        ci_base_url: Option<String>,
        #[arg(long)]
        description: Option<String>,
    },
    /// List projects.
    List,
}

#[derive(Debug, Subcommand)]
pub enum MemberCommand {
    /// Add a member (guest, reporter, developer, maintainer, owner, or 10–50).
    Add {
        project: String,
        username: String,
        #[arg(long)]
        role: Role,
        /// YYYY-MM-DD
        #[arg(long)]
        expires_at: Option<String>,
    },
    /// Change a member's role.
    Update {
        project: String,
        username: String,
        #[arg(long)]
        role: Role,
    },
    /// Remove a member.
    Remove { project: String, username: String },
    /// List a project's members.
    List { project: String },
}

#[derive(Debug, Subcommand)]
pub enum TokenCommand {
    /// Create a personal (--user) or project (--project) access token; prints only the token.
    Create {
        #[arg(long, required_unless_present = "project", conflicts_with = "project")]
        user: Option<String>,
        #[arg(long)]
        project: Option<String>,
        #[arg(long)]
        name: String,
        /// api (read and write) or read_api.
        #[arg(long = "scope", default_value = "api")]
        scopes: Vec<String>,
        /// The role of a project token's bot user.
        #[arg(long, default_value = "maintainer")]
        role: Role,
        /// YYYY-MM-DD; the token stops working on that day.
        #[arg(long)]
        expires_at: Option<String>,
    },
    /// Revoke a token by id.
    Revoke { id: i64 },
    /// List tokens (never their values).
    List {
        #[arg(long)]
        user: Option<String>,
        #[arg(long)]
        project: Option<String>,
    },
}

pub async fn run(settings: Settings, command: AdminCommand) -> anyhow::Result<()> {
    let store = open_store(&settings).await?;
    let result = match command {
        AdminCommand::Migrate => {
            println!(
                "migrations applied to {}",
                hangar_store::redact_url(&settings.database_url())
            );
            Ok(())
        }
        AdminCommand::User(c) => user(&store, c).await,
        AdminCommand::Project(c) => project(&store, c).await,
        AdminCommand::Member(c) => member(&store, c).await,
        AdminCommand::Token(c) => token_command(&store, c).await,
        AdminCommand::Gc {
            min_age_secs,
            dry_run,
        } => gc(&settings, &store, min_age_secs, dry_run).await,
    };
    store.close().await;
    result
}

async fn gc(
    settings: &Settings,
    store: &SqlStore,
    min_age_secs: u64,
    dry_run: bool,
) -> anyhow::Result<()> {
    let blobs = settings.open_blobs()?;
    let min_age = std::time::Duration::from_secs(min_age_secs);
    let r = hangar_server::gc::collect_garbage(store, &blobs, min_age, dry_run).await?;
    let verb = if dry_run { "would remove" } else { "removed" };
    println!(
        "scanned {} blobs in {}: {verb} {} unreferenced ({} bytes), {} partial uploads \
         ({} bytes) and {} incomplete multipart uploads; kept {} unreferenced younger than \
         {min_age_secs} s",
        r.scanned,
        blobs.url(),
        r.removed,
        r.removed_bytes,
        r.partial,
        r.partial_bytes,
        r.stale_uploads,
        r.too_young
    );
    Ok(())
}

fn read_password() -> anyhow::Result<String> {
    let mut password = String::new();
    std::io::stdin().read_to_string(&mut password)?;
    let password = password.trim_end_matches(['\n', '\r']).to_string();
    if password.chars().count() < 8 {
        bail!("the password must have at least 8 characters");
    }
    Ok(password)
}

async fn find_user(store: &SqlStore, username: &str) -> anyhow::Result<User> {
    store
        .find_user(username)
        .await?
        .with_context(|| format!("no user '{username}'"))
}

async fn find_project(store: &SqlStore, reference: &str) -> anyhow::Result<Project> {
    let found = match reference.parse::<i64>() {
        Ok(id) => store.get_project(id).await?,
        Err(_) => match reference.split_once('/') {
            Some((ns, path)) => store.find_project(ns, path).await?,
            None => None,
        },
    };
    found.with_context(|| format!("no project '{reference}'"))
}

async fn user(store: &SqlStore, command: UserCommand) -> anyhow::Result<()> {
    match command {
        UserCommand::Create {
            username,
            name,
            email,
            password_stdin,
            admin,
        } => {
            names::validate_path_segment("username", &username).map_err(anyhow::Error::msg)?;
            let password_hash = if password_stdin {
                Some(hangar_core::password::hash(&read_password()?).map_err(anyhow::Error::msg)?)
            } else {
                None
            };
            let user = store
                .create_user(NewUser {
                    name: name.unwrap_or_else(|| username.clone()),
                    username,
                    email,
                    password_hash,
                    is_admin: admin,
                })
                .await?;
            println!("created user {} (id {})", user.username, user.id);
        }
        UserCommand::SetPassword { username } => {
            let user = find_user(store, &username).await?;
            let hash =
                hangar_core::password::hash(&read_password()?).map_err(anyhow::Error::msg)?;
            store.set_password(user.id, &hash).await?;
            println!("password set for {}", user.username);
        }
        UserCommand::List => {
            for u in store.list_users(ALL).await?.items {
                let kind = if u.is_admin {
                    "admin"
                } else if u.is_bot {
                    "bot"
                } else {
                    "user"
                };
                println!(
                    "{}\t{}\t{}\t{}",
                    u.id,
                    u.username,
                    kind,
                    u.email.unwrap_or_default()
                );
            }
        }
    }
    Ok(())
}

async fn project(store: &SqlStore, command: ProjectCommand) -> anyhow::Result<()> {
    match command {
        ProjectCommand::Create {
            path,
            owner,
            visibility,
            registry_access,
            ci_base_url,
            workspace,
        } => {
            let (namespace, name) = path
                .split_once('/')
                .context("give the project as namespace/name")?;
            let owner = match owner {
                Some(username) => Some(find_user(store, &username).await?),
                None => None,
            };
            let request = NewProjectRequest {
                namespace: Some(namespace.into()),
                path: Some(name.into()),
                visibility,
                registry_access,
                ci_base_url,
                workspace,
                ..NewProjectRequest::new()
            };
            let creator = Creator::Admin {
                owner: owner.as_ref(),
            };
            let project = projects::create(store, creator, request).await?;
            println!(
                "created project {} (id {}, MLflow workspace {})",
                project.path_with_namespace(),
                project.id,
                project.workspace
            );
        }
        ProjectCommand::Update {
            project,
            visibility,
            registry_access,
            ci_base_url,
            description,
        } => {
            let found = find_project(store, &project).await?;
            let update = ProjectUpdate {
                visibility,
                registry_access,
                description,
                ci_base_url: ci_base_url.map(|u| Some(u).filter(|u| !u.is_empty())),
                ..ProjectUpdate::default()
            };
            let p = store.update_project(found.id, update).await?;
            println!(
                "{} (id {}): visibility {}, model registry {}, ci_base_url {}",
                p.path_with_namespace(),
                p.id,
                p.visibility.as_str(),
                p.registry_access.as_str(),
                p.ci_base_url.as_deref().unwrap_or("-")
            );
        }
        ProjectCommand::List => {
            for p in store
                .list_projects(ProjectVisibilityFilter::All, None, ALL)
                .await?
                .items
            {
                println!(
                    "{}\t{}\t{}\t{}\t{}",
                    p.id,
                    p.path_with_namespace(),
                    p.visibility.as_str(),
                    p.registry_access.as_str(),
                    p.workspace
                );
            }
        }
    }
    Ok(())
}

async fn member(store: &SqlStore, command: MemberCommand) -> anyhow::Result<()> {
    match command {
        MemberCommand::Add {
            project,
            username,
            role,
            expires_at,
        } => {
            let p = find_project(store, &project).await?;
            let u = find_user(store, &username).await?;
            store.add_member(p.id, u.id, role, expires_at).await?;
            println!(
                "{} is now {role} of {}",
                u.username,
                p.path_with_namespace()
            );
        }
        MemberCommand::Update {
            project,
            username,
            role,
        } => {
            let p = find_project(store, &project).await?;
            let u = find_user(store, &username).await?;
            store.update_member(p.id, u.id, role, None).await?;
            println!(
                "{} is now {role} of {}",
                u.username,
                p.path_with_namespace()
            );
        }
        MemberCommand::Remove { project, username } => {
            let p = find_project(store, &project).await?;
            let u = find_user(store, &username).await?;
            store.remove_member(p.id, u.id).await?;
            println!("removed {} from {}", u.username, p.path_with_namespace());
        }
        MemberCommand::List { project } => {
            let p = find_project(store, &project).await?;
            for m in store.list_members(p.id, ALL).await?.items {
                println!("{}\t{}\t{}", m.user.id, m.user.username, m.role);
            }
        }
    }
    Ok(())
}

async fn token_command(store: &SqlStore, command: TokenCommand) -> anyhow::Result<()> {
    match command {
        TokenCommand::Create {
            user,
            project,
            name,
            scopes,
            role,
            expires_at,
        } => {
            let scope = token::parse_scopes(&scopes).map_err(anyhow::Error::msg)?;
            if let Some(date) = &expires_at {
                chrono::NaiveDate::parse_from_str(date, "%Y-%m-%d")
                    .context("--expires-at must be YYYY-MM-DD")?;
            }
            let secret = token::generate();
            let new = NewToken {
                name,
                scope,
                expires_at,
                token_hash: token::hash(&secret),
            };
            let created = match (user, project) {
                (Some(username), _) => {
                    let u = find_user(store, &username).await?;
                    store.create_personal_token(u.id, new).await?
                }
                (None, Some(project)) => {
                    let p = find_project(store, &project).await?;
                    store.create_project_token(p.id, role, new).await?.token
                }
                (None, None) => bail!("give --user or --project"),
            };
            eprintln!("created token {} (id {})", created.name, created.id);
            println!("{secret}");
        }
        TokenCommand::Revoke { id } => {
            store.revoke_token(id).await?;
            println!("revoked token {id}");
        }
        TokenCommand::List { user, project } => {
            let filter = TokenFilter {
                user_id: match user {
                    Some(u) => Some(find_user(store, &u).await?.id),
                    None => None,
                },
                project_id: match project {
                    Some(p) => Some(find_project(store, &p).await?.id),
                    None => None,
                },
            };
            for t in store.list_tokens(filter, ALL).await?.items {
                let state = if t.revoked { "revoked" } else { "active" };
                println!(
                    "{}\t{}\tuser {}\t{}\t{}\texpires {}",
                    t.id,
                    t.name,
                    t.user_id,
                    token::scope_names(t.scope).join(","),
                    state,
                    t.expires_at.as_deref().unwrap_or("never")
                );
            }
        }
    }
    Ok(())
}
