//! Which `Host` a request may name, and the base URL links are built from.
//!
//! Links (`web_url`, GitLab's `Link` pagination headers, the tracking URI a page shows) name
//! the configured public URL. Without one they name the request's `Host`, so that header is
//! checked first: only `localhost`, an IP address, the public URL's host or a name listed in
//! `allowed_hosts` may be asked for. Anything else is refused, so `Host: evil.example` cannot
//! put another site into links, and a page on a domain that an attacker points at this server
//! (DNS rebinding) cannot read from it.

use crate::AppState;
use axum::extract::{Request, State};
use axum::http::{HeaderMap, StatusCode, header};
use axum::middleware::Next;
use axum::response::{IntoResponse, Response};

/// The host name of a `Host` header value, without port or IPv6 brackets, lowercased.
fn host_name(value: &str) -> Option<String> {
    let authority: axum::http::uri::Authority = value.parse().ok()?;
    if authority.as_str().contains('@') {
        return None;
    }
    let host = authority.host();
    Some(
        host.trim_start_matches('[')
            .trim_end_matches(']')
            .to_ascii_lowercase(),
    )
}

fn allowed(state: &AppState, name: &str) -> bool {
    let configured = state
        .public_url
        .as_deref()
        .and_then(|u| url::Url::parse(u).ok())
        .and_then(|u| u.host_str().map(str::to_ascii_lowercase));
    name == "localhost"
        || name.parse::<std::net::IpAddr>().is_ok()
        || configured.as_deref() == Some(name)
        || state
            .allowed_hosts
            .iter()
            .any(|h| h.eq_ignore_ascii_case(name))
}

/// Refuses a request whose `Host` this server does not answer to.
pub async fn check(State(state): State<AppState>, request: Request, next: Next) -> Response {
    let Some(value) = request.headers().get(header::HOST) else {
        // HTTP/1.0 without Host, or HTTP/2 (the authority is in the URI).
        return next.run(request).await;
    };
    let name = value.to_str().ok().and_then(host_name);
    match name {
        Some(name) if allowed(&state, &name) => next.run(request).await,
        _ => (
            StatusCode::BAD_REQUEST,
            format!(
                "Hangar does not answer to the host {:?}: add it to allowed_hosts \
                 (HANGAR_ALLOWED_HOSTS) or set public_url (HANGAR_PUBLIC_URL)",
                String::from_utf8_lossy(value.as_bytes())
            ),
        )
            .into_response(),
    }
}

/// The base URL of this server for links: the public URL, or else the (checked) `Host`.
pub fn base_url(state: &AppState, headers: &HeaderMap) -> String {
    if let Some(url) = &state.public_url {
        return url.trim_end_matches('/').to_string();
    }
    let host = headers
        .get(header::HOST)
        .and_then(|v| v.to_str().ok())
        .unwrap_or("localhost");
    let scheme = headers
        .get("x-forwarded-proto")
        .and_then(|v| v.to_str().ok())
        .filter(|s| *s == "https" || *s == "http")
        .unwrap_or("http");
    format!("{scheme}://{host}")
}

#[cfg(test)]
mod tests {
    use super::host_name;

    #[test]
    fn host_names_drop_port_and_brackets() {
        assert_eq!(
            host_name("Hangar.Test:8080").as_deref(),
            Some("hangar.test")
        );
        assert_eq!(host_name("[::1]:8080").as_deref(), Some("::1"));
        assert_eq!(host_name("127.0.0.1").as_deref(), Some("127.0.0.1"));
        assert_eq!(host_name("user@evil.example"), None);
        assert_eq!(host_name("evil.example/x"), None);
        assert_eq!(host_name(""), None);
    }
}
