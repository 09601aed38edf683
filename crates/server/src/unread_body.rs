//! Answers that leave part of the request body unread say `Connection: close`.
//!
//! A request refused before its body is read (no credentials, no such project, a file over
//! the size limit) leaves bytes on the connection, so hyper closes it after the answer. It
//! does so without saying so, and a client that pools connections (the MLflow client does)
//! may send its next request on the one being closed and get "connection aborted" instead of
//! an answer. Saying `Connection: close` makes the client open a new one.

use axum::body::Body;
use axum::extract::Request;
use axum::http::{HeaderValue, header};
use axum::middleware::Next;
use axum::response::Response;
use bytes::Bytes;
use http_body::{Frame, SizeHint};
use std::pin::Pin;
use std::sync::Arc;
use std::sync::atomic::{AtomicBool, Ordering};
use std::task::{Context, Poll};

/// A request body that records when it has been read to its end.
struct Tracked {
    inner: Body,
    finished: Arc<AtomicBool>,
}

impl http_body::Body for Tracked {
    type Data = Bytes;
    type Error = axum::Error;

    fn poll_frame(
        mut self: Pin<&mut Self>,
        cx: &mut Context<'_>,
    ) -> Poll<Option<Result<Frame<Bytes>, axum::Error>>> {
        let polled = Pin::new(&mut self.inner).poll_frame(cx);
        if matches!(polled, Poll::Ready(None)) || self.inner.is_end_stream() {
            self.finished.store(true, Ordering::Relaxed);
        }
        polled
    }

    fn is_end_stream(&self) -> bool {
        self.inner.is_end_stream()
    }

    fn size_hint(&self) -> SizeHint {
        self.inner.size_hint()
    }
}

pub async fn close_if_unread(request: Request, next: Next) -> Response {
    let (parts, body) = request.into_parts();
    if http_body::Body::is_end_stream(&body) {
        return next.run(Request::from_parts(parts, body)).await;
    }
    let finished = Arc::new(AtomicBool::new(false));
    let tracked = Tracked {
        inner: body,
        finished: finished.clone(),
    };
    let mut response = next
        .run(Request::from_parts(parts, Body::new(tracked)))
        .await;
    if !finished.load(Ordering::Relaxed) {
        response
            .headers_mut()
            .insert(header::CONNECTION, HeaderValue::from_static("close"));
    }
    response
}
