//! The home page: the projects the caller can see, each linking to its model registry.

use super::PageError;
use super::session::WebCtx;
use askama::Template;
use askama_web::WebTemplate;
use hangar_store::model::{Paging, Project, ProjectVisibilityFilter};

#[derive(Template, WebTemplate)]
#[template(path = "projects.html")]
struct ProjectsPage {
    user: Option<String>,
    csrf_token: String,
    projects: Vec<Project>,
}

pub async fn index(ctx: WebCtx) -> Result<impl axum::response::IntoResponse, PageError> {
    // The same visibility rule as GET /api/v4/projects.
    let filter = match ctx.caller.user_id() {
        None => ProjectVisibilityFilter::PublicOnly,
        Some(_) if ctx.caller.is_admin() => ProjectVisibilityFilter::All,
        Some(user) => ProjectVisibilityFilter::VisibleTo(user),
    };
    let projects = ctx
        .state
        .store
        .list_projects(
            filter,
            None,
            Paging {
                offset: 0,
                limit: 100,
            },
        )
        .await?
        .items;
    Ok(ProjectsPage {
        user: ctx.user().map(|u| u.username.clone()),
        csrf_token: ctx.csrf_token.clone(),
        projects,
    })
}
