//! GitLab's offset pagination: `page` and `per_page` in, `Link`, `X-Page`, `X-Per-Page`,
//! `X-Next-Page`, `X-Prev-Page`, `X-Total` and `X-Total-Pages` out. Links are built on the
//! request's own base URL so that clients (python-gitlab) follow them to the same server.

use super::error::{ApiError, ApiResult};
use axum::Json;
use axum::http::{HeaderValue, Uri};
use axum::response::{IntoResponse, Response};
use hangar_store::model::Paging;
use serde_json::Value;

pub const DEFAULT_PER_PAGE: i64 = 20;
pub const MAX_PER_PAGE: i64 = 100;

#[derive(Debug, Clone, Copy)]
pub struct PageRequest {
    pub page: i64,
    pub per_page: i64,
}

impl PageRequest {
    pub fn from_params(params: &super::params::ApiParams) -> ApiResult<Self> {
        let page = params.i64("page")?.unwrap_or(1);
        let per_page = params.i64("per_page")?.unwrap_or(DEFAULT_PER_PAGE);
        if !(1..=1_000_000).contains(&page) {
            return Err(ApiError::bad_request("page is invalid"));
        }
        if per_page < 1 {
            return Err(ApiError::bad_request("per_page is invalid"));
        }
        Ok(PageRequest {
            page,
            per_page: per_page.min(MAX_PER_PAGE),
        })
    }

    pub fn paging(&self) -> Paging {
        Paging {
            offset: (self.page - 1) * self.per_page,
            limit: self.per_page,
        }
    }
}

/// A page of JSON items with GitLab's pagination headers.
pub fn paginated(
    items: Vec<Value>,
    total: i64,
    page: PageRequest,
    base: &str,
    uri: &Uri,
) -> Response {
    let total_pages = ((total + page.per_page - 1) / page.per_page).max(1);
    let next = (page.page < total_pages).then_some(page.page + 1);
    let prev = (page.page > 1).then_some(page.page - 1);
    let link =
        |n: i64, rel: &str| format!("<{}>; rel=\"{rel}\"", page_url(base, uri, n, page.per_page));
    let mut links = Vec::new();
    if let Some(p) = prev {
        links.push(link(p, "prev"));
    }
    if let Some(n) = next {
        links.push(link(n, "next"));
    }
    links.push(link(1, "first"));
    links.push(link(total_pages, "last"));
    let mut response = Json(Value::Array(items)).into_response();
    let headers = response.headers_mut();
    let mut set = |name: &'static str, value: String| {
        if let Ok(v) = HeaderValue::from_str(&value) {
            headers.insert(name, v);
        }
    };
    set("x-page", page.page.to_string());
    set("x-per-page", page.per_page.to_string());
    set("x-total", total.to_string());
    set("x-total-pages", total_pages.to_string());
    set(
        "x-next-page",
        next.map(|n| n.to_string()).unwrap_or_default(),
    );
    set(
        "x-prev-page",
        prev.map(|n| n.to_string()).unwrap_or_default(),
    );
    set("link", links.join(", "));
    response
}

fn page_url(base: &str, uri: &Uri, page: i64, per_page: i64) -> String {
    let mut query: Vec<(String, String)> =
        url::form_urlencoded::parse(uri.query().unwrap_or_default().as_bytes())
            .filter(|(k, _)| k != "page" && k != "per_page")
            .map(|(k, v)| (k.into_owned(), v.into_owned()))
            .collect();
    query.push(("page".into(), page.to_string()));
    query.push(("per_page".into(), per_page.to_string()));
    let encoded = url::form_urlencoded::Serializer::new(String::new())
        .extend_pairs(query)
        .finish();
    format!("{base}{}?{encoded}", uri.path())
}
