//! Creating a project: the one use case behind `POST /api/v4/projects`, MLflow's
//! `POST /api/3.0/mlflow/workspaces` and `hangar admin project create`. Each surface parses
//! its request into a [`NewProjectRequest`] and words the [`ProjectError`] in its envelope.

use crate::auth::{AuthError, Caller};
use hangar_core::access::{RegistryAccess, Visibility};
use hangar_core::{names, workspace};
use hangar_store::model::{NewProject, Project, User};
use hangar_store::{Store, StoreError};

/// Who creates the project.
pub enum Creator<'a> {
    /// A request's caller: signed in with a write-scoped token, the new project's owner, and
    /// confined to their own namespace unless an admin (without groups, a user's namespace
    /// is their own).
    Caller(&'a Caller),
    /// The command line, which works straight on the database: any namespace, and an owner
    /// only when one is named.
    Admin { owner: Option<&'a User> },
}

/// What a surface asks for; `None` takes GitLab's defaults.
pub struct NewProjectRequest {
    /// The creator's username when `None`.
    pub namespace: Option<String>,
    /// Derived from `name` when `None` (GitLab's slug).
    pub path: Option<String>,
    /// The path when `None`.
    pub name: Option<String>,
    pub description: String,
    pub visibility: Visibility,
    pub registry_access: RegistryAccess,
    pub ci_base_url: Option<String>,
    /// The MLflow workspace name; derived from the path when `None`.
    pub workspace: Option<String>,
}

impl NewProjectRequest {
    /// A private project with an enabled registry, GitLab's defaults.
    pub fn new() -> Self {
        NewProjectRequest {
            namespace: None,
            path: None,
            name: None,
            description: String::new(),
            visibility: Visibility::Private,
            registry_access: RegistryAccess::Enabled,
            ci_base_url: None,
            workspace: None,
        }
    }
}

impl Default for NewProjectRequest {
    fn default() -> Self {
        Self::new()
    }
}

#[derive(Debug, thiserror::Error)]
pub enum ProjectError {
    /// The request names an impossible project.
    #[error("{0}")]
    Invalid(String),
    /// The creator may not create this project (another user's namespace).
    #[error("{0}")]
    Forbidden(String),
    #[error(transparent)]
    Auth(#[from] AuthError),
    /// A path or workspace already taken is a [`StoreError::Conflict`].
    #[error(transparent)]
    Store(#[from] StoreError),
}

/// Creates the project with its owner's membership, its `Default` experiment and its
/// workspace name, after GitLab's naming rules and the namespace rule.
pub async fn create(
    store: &dyn Store,
    creator: Creator<'_>,
    request: NewProjectRequest,
) -> Result<Project, ProjectError> {
    let (owner, confined) = match creator {
        Creator::Caller(caller) => {
            let user = caller.require_write_scope()?;
            (Some(user), !user.is_admin)
        }
        Creator::Admin { owner } => (owner, false),
    };
    let name = request.name.filter(|s| !s.trim().is_empty());
    let path = request.path.filter(|s| !s.is_empty());
    let (name, path) = match (name, path) {
        (Some(name), Some(path)) => (name, path),
        (Some(name), None) => {
            let path = names::slugify(&name);
            (name, path)
        }
        (None, Some(path)) => (path.clone(), path),
        (None, None) => {
            return Err(ProjectError::Invalid(
                "name, path are missing, at least one parameter must be provided".into(),
            ));
        }
    };
    names::validate_display_name("name", &name).map_err(ProjectError::Invalid)?;
    names::validate_path_segment("path", &path).map_err(ProjectError::Invalid)?;
    let namespace = request
        .namespace
        .or_else(|| owner.map(|u| u.username.clone()))
        .ok_or_else(|| ProjectError::Invalid("namespace is missing".into()))?;
    names::validate_path_segment("namespace", &namespace).map_err(ProjectError::Invalid)?;
    if let Some(user) = owner.filter(|_| confined)
        && !namespace.eq_ignore_ascii_case(&user.username)
    {
        return Err(ProjectError::Forbidden(format!(
            "You can only create projects in your own namespace '{}'",
            user.username
        )));
    }
    if let Some(name) = &request.workspace {
        workspace::validate(name).map_err(ProjectError::Invalid)?;
        if name == workspace::DEFAULT {
            return Err(ProjectError::Invalid(format!(
                "The '{}' workspace is reserved and cannot be created",
                workspace::DEFAULT
            )));
        }
    }
    Ok(store
        .create_project(NewProject {
            namespace,
            path,
            name,
            description: request.description,
            visibility: request.visibility,
            registry_access: request.registry_access,
            ci_base_url: request.ci_base_url,
            owner_id: owner.map(|u| u.id),
            workspace: request.workspace,
        })
        .await?)
}
