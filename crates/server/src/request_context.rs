//! What every request carries besides its headers: an id and the client's address.
//!
//! The id is in the `X-Request-Id` answer header, in the request's log span, and in the
//! message of an answer that hides a server-side failure, so an operator can find the logged
//! details of what a user reports. The address keys the sign-in and token-failure limits.

use crate::AppState;
use axum::extract::{ConnectInfo, Request, State};
use axum::http::{HeaderMap, HeaderValue};
use axum::middleware::Next;
use axum::response::Response;
use std::net::{IpAddr, SocketAddr};

pub const HEADER: &str = "x-request-id";

#[derive(Clone)]
struct Context {
    id: String,
    client: Option<IpAddr>,
}

tokio::task_local! {
    static CURRENT: Context;
}

/// An id a proxy sent along is kept when it is short and plain; anything else is replaced.
fn acceptable(id: &str) -> bool {
    (1..=64).contains(&id.len())
        && id
            .bytes()
            .all(|b| b.is_ascii_alphanumeric() || matches!(b, b'-' | b'_' | b'.'))
}

/// The client's address: the peer's, or behind a proxy the last address of the header the
/// proxy sets (`client_ip_header`), which is the one the proxy itself added.
fn client_address(
    header: Option<&str>,
    headers: &HeaderMap,
    peer: Option<IpAddr>,
) -> Option<IpAddr> {
    if let Some(name) = header {
        // Only the last entry: the ones before it are whatever the client sent.
        let forwarded = headers
            .get_all(name)
            .iter()
            .next_back()
            .and_then(|v| v.to_str().ok())
            .and_then(|v| v.rsplit(',').next())
            .and_then(|a| a.trim().parse::<IpAddr>().ok());
        if forwarded.is_some() {
            return forwarded;
        }
    }
    peer
}

pub async fn assign(State(state): State<AppState>, mut request: Request, next: Next) -> Response {
    let id = request
        .headers()
        .get(HEADER)
        .and_then(|v| v.to_str().ok())
        .filter(|id| acceptable(id))
        .map(str::to_owned)
        .unwrap_or_else(|| uuid::Uuid::new_v4().simple().to_string());
    let value = HeaderValue::from_str(&id).expect("checked to be plain ASCII");
    request.headers_mut().insert(HEADER, value.clone());
    let peer = request
        .extensions()
        .get::<ConnectInfo<SocketAddr>>()
        .map(|c| c.0.ip());
    let client = client_address(state.client_ip_header.as_deref(), request.headers(), peer);
    let mut response = CURRENT
        .scope(Context { id, client }, next.run(request))
        .await;
    response.headers_mut().insert(HEADER, value);
    response
}

/// The id of the request being answered ("unknown" outside one, e.g. in a unit test).
pub fn id() -> String {
    CURRENT
        .try_with(|c| c.id.clone())
        .unwrap_or_else(|_| "unknown".to_owned())
}

/// The address of the client being answered, when known.
pub fn client() -> Option<IpAddr> {
    CURRENT.try_with(|c| c.client).ok().flatten()
}

/// The message a client sees for a failure whose details only the log shows.
pub fn hidden_failure(what: &str) -> String {
    format!("{what}; request id {}", id())
}

#[cfg(test)]
mod tests {
    use super::client_address;
    use axum::http::HeaderMap;

    #[test]
    fn behind_a_proxy_only_the_address_it_added_counts() {
        let peer = Some("10.0.0.1".parse().unwrap());
        let mut headers = HeaderMap::new();
        headers.append("x-forwarded-for", "6.6.6.6, 203.0.113.7".parse().unwrap());
        let header = Some("x-forwarded-for");
        assert_eq!(
            client_address(header, &headers, peer),
            Some("203.0.113.7".parse().unwrap())
        );
        assert_eq!(
            client_address(None, &headers, peer),
            peer,
            "not configured: the peer"
        );
        headers.insert("x-forwarded-for", "203.0.113.7, garbage".parse().unwrap());
        assert_eq!(
            client_address(header, &headers, peer),
            peer,
            "never an earlier entry"
        );
        assert_eq!(client_address(header, &HeaderMap::new(), peer), peer);
    }
}
