//! Who may do what: roles, project visibility, the registry access level, token scopes.
//!
//! Every surface (MLflow, the JSON API, packages, the web UI) asks [`decide`]; nothing else
//! in Hangar compares roles. The rules follow GitLab's, with Hangar's decision (d): writes on
//! the registry need Reporter, not Developer.

use serde::{Deserialize, Serialize};
use std::fmt;
use std::str::FromStr;

/// A member's role in a project, ordered from least to most powerful. The numbers are
/// GitLab's `access_level` values.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize)]
pub enum Role {
    Guest = 10,
    Reporter = 20,
    Developer = 30,
    Maintainer = 40,
    Owner = 50,
}

impl Role {
    pub const ALL: [Role; 5] = [
        Role::Guest,
        Role::Reporter,
        Role::Developer,
        Role::Maintainer,
        Role::Owner,
    ];

    /// GitLab's numeric `access_level`.
    pub fn access_level(self) -> i64 {
        self as i64
    }

    pub fn from_access_level(level: i64) -> Option<Role> {
        Role::ALL.into_iter().find(|r| r.access_level() == level)
    }

    pub fn as_str(self) -> &'static str {
        match self {
            Role::Guest => "guest",
            Role::Reporter => "reporter",
            Role::Developer => "developer",
            Role::Maintainer => "maintainer",
            Role::Owner => "owner",
        }
    }
}

impl fmt::Display for Role {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

impl FromStr for Role {
    type Err = String;
    fn from_str(s: &str) -> Result<Self, Self::Err> {
        if let Ok(level) = s.parse::<i64>() {
            return Role::from_access_level(level)
                .ok_or_else(|| format!("invalid access level {level}: use 10, 20, 30, 40 or 50"));
        }
        Role::ALL
            .into_iter()
            .find(|r| r.as_str().eq_ignore_ascii_case(s))
            .ok_or_else(|| {
                format!("invalid role '{s}': use guest, reporter, developer, maintainer or owner")
            })
    }
}

/// Who can see a project at all.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum Visibility {
    Private,
    Public,
}

impl Visibility {
    pub fn as_str(self) -> &'static str {
        match self {
            Visibility::Private => "private",
            Visibility::Public => "public",
        }
    }
}

impl FromStr for Visibility {
    type Err = String;
    fn from_str(s: &str) -> Result<Self, Self::Err> {
        match s {
            "private" => Ok(Visibility::Private),
            "public" => Ok(Visibility::Public),
            // GitLab also knows `internal`; Hangar has no notion of "any signed-in user".
            _ => Err(format!("invalid visibility '{s}': use private or public")),
        }
    }
}

/// GitLab's `model_registry_access_level`: `enabled` means everyone who can see the project,
/// `private` members only, `disabled` nobody but admins.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum RegistryAccess {
    Disabled,
    Private,
    Enabled,
}

impl RegistryAccess {
    pub fn as_str(self) -> &'static str {
        match self {
            RegistryAccess::Disabled => "disabled",
            RegistryAccess::Private => "private",
            RegistryAccess::Enabled => "enabled",
        }
    }
}

impl FromStr for RegistryAccess {
    type Err = String;
    fn from_str(s: &str) -> Result<Self, Self::Err> {
        match s {
            "disabled" => Ok(RegistryAccess::Disabled),
            "private" => Ok(RegistryAccess::Private),
            "enabled" => Ok(RegistryAccess::Enabled),
            _ => Err(format!(
                "invalid model_registry_access_level '{s}': use disabled, private or enabled"
            )),
        }
    }
}

/// What a token lets its bearer do, whatever the bearer's role.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Scope {
    /// Read and write (GitLab's `api`).
    Api,
    /// Read only (GitLab's `read_api`).
    ReadApi,
}

/// The caller of a request, after authentication.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Principal {
    Anonymous,
    User {
        user_id: i64,
        is_admin: bool,
        scope: Scope,
    },
}

impl Principal {
    pub fn user_id(&self) -> Option<i64> {
        match self {
            Principal::Anonymous => None,
            Principal::User { user_id, .. } => Some(*user_id),
        }
    }

    pub fn is_admin(&self) -> bool {
        matches!(self, Principal::User { is_admin: true, .. })
    }
}

/// What a request wants to do with a project.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Action {
    /// See the project's metadata (name, visibility) in the JSON API.
    ViewProject,
    /// Read experiments, runs, models, versions and files.
    ReadRegistry,
    /// Create, change or delete experiments, runs, models, versions and files.
    WriteRegistry,
    /// Change settings, members and project tokens.
    Maintain,
    /// Delete the project.
    Own,
}

/// The facts about a project and the caller that the decision needs.
#[derive(Debug, Clone, Copy)]
pub struct ProjectAccess {
    pub visibility: Visibility,
    pub registry: RegistryAccess,
    /// The caller's role in the project, if a member.
    pub role: Option<Role>,
}

/// The outcome of [`decide`]. Denials say how to answer so that existence stays hidden:
/// a caller who cannot see a project gets the same answer whether it exists or not.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Decision {
    Allow,
    /// No credentials, and credentials might help: 401.
    Unauthenticated,
    /// The caller may not know the thing exists: 404.
    NotFound,
    /// The caller sees the thing but lacks the role or the token scope: 403.
    Forbidden,
}

/// Decides whether `principal` may perform `action` on a project. `project` is `None` when
/// no such project exists; the answer then matches that for a project the caller cannot see.
pub fn decide(principal: &Principal, project: Option<ProjectAccess>, action: Action) -> Decision {
    let Some(project) = project else {
        return hidden(principal);
    };
    let admin = principal.is_admin();
    let can_see_project =
        admin || project.visibility == Visibility::Public || project.role.is_some();
    if !can_see_project {
        return hidden(principal);
    }
    let needs_registry = matches!(action, Action::ReadRegistry | Action::WriteRegistry);
    if needs_registry && !admin {
        let registry_visible = match project.registry {
            RegistryAccess::Disabled => false,
            RegistryAccess::Private => project.role.is_some(),
            RegistryAccess::Enabled => true,
        };
        if !registry_visible {
            return match (principal, project.registry) {
                // A disabled registry is 404 for everyone; a members-only one asks
                // anonymous callers to sign in.
                (Principal::Anonymous, RegistryAccess::Private) => Decision::Unauthenticated,
                _ => Decision::NotFound,
            };
        }
    }
    let needed_role = match action {
        Action::ViewProject | Action::ReadRegistry => return Decision::Allow,
        Action::WriteRegistry => Role::Reporter,
        Action::Maintain => Role::Maintainer,
        Action::Own => Role::Owner,
    };
    match principal {
        Principal::Anonymous => Decision::Unauthenticated,
        Principal::User { scope, .. } => {
            if *scope == Scope::ReadApi {
                Decision::Forbidden
            } else if admin || project.role.is_some_and(|r| r >= needed_role) {
                Decision::Allow
            } else {
                Decision::Forbidden
            }
        }
    }
}

fn hidden(principal: &Principal) -> Decision {
    match principal {
        Principal::Anonymous => Decision::Unauthenticated,
        Principal::User { .. } => Decision::NotFound,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn user(scope: Scope) -> Principal {
        Principal::User {
            user_id: 7,
            is_admin: false,
            scope,
        }
    }

    fn project(
        visibility: Visibility,
        registry: RegistryAccess,
        role: Option<Role>,
    ) -> ProjectAccess {
        ProjectAccess {
            visibility,
            registry,
            role,
        }
    }

    #[test]
    fn private_project_hides_itself() {
        let p = project(Visibility::Private, RegistryAccess::Enabled, None);
        assert_eq!(
            decide(&Principal::Anonymous, Some(p), Action::ReadRegistry),
            Decision::Unauthenticated
        );
        assert_eq!(
            decide(&user(Scope::Api), Some(p), Action::ReadRegistry),
            Decision::NotFound
        );
        assert_eq!(
            decide(&user(Scope::Api), None, Action::ReadRegistry),
            Decision::NotFound
        );
    }

    #[test]
    fn roles_gate_writes() {
        let guest = project(
            Visibility::Private,
            RegistryAccess::Enabled,
            Some(Role::Guest),
        );
        let reporter = project(
            Visibility::Private,
            RegistryAccess::Enabled,
            Some(Role::Reporter),
        );
        assert_eq!(
            decide(&user(Scope::Api), Some(guest), Action::ReadRegistry),
            Decision::Allow
        );
        assert_eq!(
            decide(&user(Scope::Api), Some(guest), Action::WriteRegistry),
            Decision::Forbidden
        );
        assert_eq!(
            decide(&user(Scope::Api), Some(reporter), Action::WriteRegistry),
            Decision::Allow
        );
        assert_eq!(
            decide(&user(Scope::Api), Some(reporter), Action::Maintain),
            Decision::Forbidden
        );
        assert_eq!(
            decide(&user(Scope::ReadApi), Some(reporter), Action::WriteRegistry),
            Decision::Forbidden
        );
    }

    #[test]
    fn public_registry_levels() {
        let enabled = project(Visibility::Public, RegistryAccess::Enabled, None);
        let private = project(Visibility::Public, RegistryAccess::Private, None);
        let disabled = project(
            Visibility::Public,
            RegistryAccess::Disabled,
            Some(Role::Owner),
        );
        assert_eq!(
            decide(&Principal::Anonymous, Some(enabled), Action::ReadRegistry),
            Decision::Allow
        );
        assert_eq!(
            decide(&Principal::Anonymous, Some(enabled), Action::WriteRegistry),
            Decision::Unauthenticated
        );
        assert_eq!(
            decide(&user(Scope::Api), Some(enabled), Action::WriteRegistry),
            Decision::Forbidden
        );
        assert_eq!(
            decide(&user(Scope::Api), Some(private), Action::ReadRegistry),
            Decision::NotFound
        );
        assert_eq!(
            decide(&user(Scope::Api), Some(disabled), Action::ReadRegistry),
            Decision::NotFound
        );
        assert_eq!(
            decide(&user(Scope::Api), Some(disabled), Action::Maintain),
            Decision::Allow
        );
        let admin = Principal::User {
            user_id: 1,
            is_admin: true,
            scope: Scope::Api,
        };
        assert_eq!(
            decide(&admin, Some(disabled), Action::WriteRegistry),
            Decision::Allow
        );
    }
}
