//! `mlflow-artifacts`: streamed uploads committed only when whole, downloads with Range and
//! checksums, listings, deletes, the size limit on real bytes, cut-off and concurrent
//! uploads, and garbage collection.

use super::{artifact, blob_count, raw};
use crate::support::{MAX_FILE_SIZE, TestApp, on_each_backend};
use axum::body::Body;
use axum::http::{Method, StatusCode};
use bytes::Bytes;
use hangar_core::access::{RegistryAccess, Visibility};
use serde_json::{Value, json};
use sha2::{Digest, Sha256};

async fn setup(app: &TestApp) -> (i64, String) {
    let (owner, token) = app.user("owner", false).await;
    let project = app
        .project(
            "team/files",
            &owner,
            Visibility::Private,
            RegistryAccess::Enabled,
        )
        .await;
    (project.id, token)
}

fn json_of(body: &[u8]) -> Value {
    serde_json::from_slice(body).unwrap_or(Value::Null)
}

/// A body of `total` bytes sent in 64 KiB chunks, ending in an error after `cut` bytes if set.
fn chunked(total: usize, byte: u8, cut: Option<usize>) -> Body {
    let chunk = 64 * 1024;
    let mut parts: Vec<Result<Bytes, std::io::Error>> = Vec::new();
    let mut sent = 0;
    while sent < total {
        if cut.is_some_and(|c| sent >= c) {
            parts.push(Err(std::io::Error::other("client went away")));
            break;
        }
        let n = chunk.min(total - sent);
        parts.push(Ok(Bytes::from(vec![byte; n])));
        sent += n;
    }
    Body::from_stream(futures::stream::iter(parts))
}

#[tokio::test]
async fn upload_list_download_range_delete() {
    on_each_backend(|app| async move {
        let (p, t) = setup(&app).await;
        let body: Vec<u8> = (0..=255u8).cycle().take(10_000).collect();
        let sha = hex::encode(Sha256::digest(&body));
        for path in [
            "1/run/artifacts/a.bin",
            "1/run/artifacts/dir/b.txt",
            "1/run/artifacts/dir/deeper/c",
        ] {
            let (status, _, answer) = raw(
                &app,
                Method::PUT,
                &artifact(p, path),
                Some(&t),
                Body::from(body.clone()),
                &[],
            )
            .await;
            assert_eq!(status, StatusCode::OK, "{path}: {answer:?}");
            assert_eq!(json_of(&answer), json!({}));
        }

        let list = |path: &'static str| {
            let app = &app;
            let t = t.clone();
            async move {
                let uri = format!(
                    "/api/v4/projects/{p}/ml/mlflow/api/2.0/mlflow-artifacts/artifacts?path={path}"
                );
                let (status, _, body) =
                    raw(app, Method::GET, &uri, Some(&t), Body::empty(), &[]).await;
                assert_eq!(status, StatusCode::OK);
                json_of(&body)
            }
        };
        assert_eq!(
            list("1/run/artifacts").await,
            json!({"files": [
                {"path": "a.bin", "is_dir": false, "file_size": 10_000},
                {"path": "dir", "is_dir": true},
            ]})
        );
        assert_eq!(
            list("1/run/artifacts/dir").await["files"][1],
            json!({"path": "deeper", "is_dir": true})
        );
        assert_eq!(
            list("1/run/artifacts/missing").await,
            json!({}),
            "a missing folder lists as {{}}"
        );
        assert_eq!(
            list("1/run/artifacts/a.bin").await,
            json!({}),
            "a file lists as {{}}"
        );
        assert_eq!(
            list("").await["files"],
            json!([{"path": "1", "is_dir": true}])
        );

        let (status, headers, got) = raw(
            &app,
            Method::GET,
            &artifact(p, "1/run/artifacts/a.bin"),
            Some(&t),
            Body::empty(),
            &[],
        )
        .await;
        assert_eq!(status, StatusCode::OK);
        assert_eq!(got.as_ref(), body.as_slice());
        assert_eq!(headers["content-length"], "10000");
        assert_eq!(headers["x-checksum-sha256"], sha.as_str());
        assert_eq!(headers["etag"], format!("\"{sha}\"").as_str());
        assert_eq!(headers["x-content-type-options"], "nosniff");
        assert!(
            headers["content-disposition"]
                .to_str()
                .unwrap()
                .starts_with("attachment; filename=\"a.bin\"")
        );

        let (status, _, _) = raw(
            &app,
            Method::GET,
            &artifact(p, "1/run/artifacts/a.bin"),
            Some(&t),
            Body::empty(),
            &[("if-none-match", &format!("\"{sha}\""))],
        )
        .await;
        assert_eq!(status, StatusCode::NOT_MODIFIED);
        let (status, headers, part) = raw(
            &app,
            Method::GET,
            &artifact(p, "1/run/artifacts/a.bin"),
            Some(&t),
            Body::empty(),
            &[("range", "bytes=9990-")],
        )
        .await;
        assert_eq!(status, StatusCode::PARTIAL_CONTENT);
        assert_eq!(part.as_ref(), &body[9990..]);
        assert_eq!(headers["content-range"], "bytes 9990-9999/10000");
        let (status, headers, _) = raw(
            &app,
            Method::GET,
            &artifact(p, "1/run/artifacts/a.bin"),
            Some(&t),
            Body::empty(),
            &[("range", "bytes=20000-")],
        )
        .await;
        assert_eq!(status, StatusCode::RANGE_NOT_SATISFIABLE);
        assert_eq!(headers["content-range"], "bytes */10000");

        let (status, _, answer) = raw(
            &app,
            Method::GET,
            &artifact(p, "1/run/artifacts/dir"),
            Some(&t),
            Body::empty(),
            &[],
        )
        .await;
        assert_eq!(status, StatusCode::BAD_REQUEST, "a folder is not a file");
        assert_eq!(json_of(&answer)["error_code"], "INVALID_PARAMETER_VALUE");
        let (status, _, answer) = raw(
            &app,
            Method::GET,
            &artifact(p, "1/run/artifacts/nope"),
            Some(&t),
            Body::empty(),
            &[],
        )
        .await;
        assert_eq!(status, StatusCode::NOT_FOUND);
        assert_eq!(
            json_of(&answer)["message"],
            "No such artifact: '1/run/artifacts/nope'"
        );
        let (status, _, _) = raw(
            &app,
            Method::PUT,
            &artifact(p, "1/run/artifacts/dir/"),
            Some(&t),
            Body::from("x"),
            &[],
        )
        .await;
        assert_eq!(status, StatusCode::BAD_REQUEST, "a PUT needs a file name");

        // Checksums sent with an upload are verified; a mismatch stores nothing.
        let (status, _, _) = raw(
            &app,
            Method::PUT,
            &artifact(p, "1/run/artifacts/sum"),
            Some(&t),
            Body::from(body.clone()),
            &[("x-checksum-sha256", &sha)],
        )
        .await;
        assert_eq!(status, StatusCode::OK);
        let wrong = hex::encode(Sha256::digest(b"other"));
        let (status, _, _) = raw(
            &app,
            Method::PUT,
            &artifact(p, "1/run/artifacts/sum2"),
            Some(&t),
            Body::from(body.clone()),
            &[("x-checksum-sha256", &wrong)],
        )
        .await;
        assert_eq!(status, StatusCode::BAD_REQUEST);
        let (status, _, _) = raw(
            &app,
            Method::GET,
            &artifact(p, "1/run/artifacts/sum2"),
            Some(&t),
            Body::empty(),
            &[],
        )
        .await;
        assert_eq!(status, StatusCode::NOT_FOUND);

        let blobs_before = blob_count(&app).await;
        let (status, _, answer) = raw(
            &app,
            Method::DELETE,
            &artifact(p, "1/run/artifacts/dir"),
            Some(&t),
            Body::empty(),
            &[],
        )
        .await;
        assert_eq!((status, json_of(&answer)), (StatusCode::OK, json!({})));
        assert_eq!(
            blob_count(&app).await,
            blobs_before - 2,
            "a deleted folder's blobs go with it"
        );
        assert_eq!(
            list("1/run/artifacts").await["files"]
                .as_array()
                .unwrap()
                .len(),
            2
        );
        let (status, _, _) = raw(
            &app,
            Method::DELETE,
            &artifact(p, "1/run/artifacts/dir"),
            Some(&t),
            Body::empty(),
            &[],
        )
        .await;
        assert_eq!(
            status,
            StatusCode::OK,
            "deleting a missing path is not an error"
        );
    })
    .await;
}

#[tokio::test]
async fn size_limit_cut_off_uploads_and_replacement_leave_nothing_behind() {
    on_each_backend(|app| async move {
        let (p, t) = setup(&app).await;
        // Exactly the limit, in a multipart upload (above one part): stored whole.
        let limit = MAX_FILE_SIZE as usize;
        let (status, _, _) = raw(
            &app,
            Method::PUT,
            &artifact(p, "big/at-limit"),
            Some(&t),
            chunked(limit, 7, None),
            &[],
        )
        .await;
        assert_eq!(status, StatusCode::OK);
        let (_, headers, got) = raw(
            &app,
            Method::GET,
            &artifact(p, "big/at-limit"),
            Some(&t),
            Body::empty(),
            &[],
        )
        .await;
        assert_eq!(got.len(), limit);
        assert_eq!(
            headers["x-checksum-sha256"],
            hex::encode(Sha256::digest(vec![7u8; limit])).as_str()
        );
        assert_eq!(blob_count(&app).await, 1);

        // One byte more, with no declared length: refused while streaming.
        let (status, _, answer) = raw(
            &app,
            Method::PUT,
            &artifact(p, "big/over"),
            Some(&t),
            chunked(limit + 1, 1, None),
            &[],
        )
        .await;
        assert_eq!(status, StatusCode::PAYLOAD_TOO_LARGE, "{answer:?}");
        // A client that goes away half-way, before and after the first part.
        for cut in [100_000, 8 * 1024 * 1024 + 100_000] {
            let (status, _, _) = raw(
                &app,
                Method::PUT,
                &artifact(p, "big/cut"),
                Some(&t),
                chunked(limit, 2, Some(cut)),
                &[],
            )
            .await;
            assert_eq!(status, StatusCode::BAD_REQUEST);
        }
        for path in ["big/over", "big/cut"] {
            let (status, _, _) = raw(
                &app,
                Method::GET,
                &artifact(p, path),
                Some(&t),
                Body::empty(),
                &[],
            )
            .await;
            assert_eq!(status, StatusCode::NOT_FOUND, "{path} must not be visible");
        }
        assert_eq!(blob_count(&app).await, 1, "failed uploads leave no blob");

        // Replacing a file removes the blob it replaced; a re-upload after a cut works.
        let (status, _, _) = raw(
            &app,
            Method::PUT,
            &artifact(p, "big/at-limit"),
            Some(&t),
            Body::from("small now"),
            &[],
        )
        .await;
        assert_eq!(status, StatusCode::OK);
        let (_, _, got) = raw(
            &app,
            Method::GET,
            &artifact(p, "big/at-limit"),
            Some(&t),
            Body::empty(),
            &[],
        )
        .await;
        assert_eq!(got.as_ref(), b"small now");
        assert_eq!(blob_count(&app).await, 1);
        let (status, _, _) = raw(
            &app,
            Method::PUT,
            &artifact(p, "big/cut"),
            Some(&t),
            chunked(1000, 3, None),
            &[],
        )
        .await;
        assert_eq!(status, StatusCode::OK);
    })
    .await;
}

#[tokio::test]
async fn concurrent_uploads_of_one_path_end_with_one_whole_file() {
    on_each_backend(|app| async move {
        let (p, t) = setup(&app).await;
        let size = 300_000;
        let uploads = (0..8u8).map(|i| {
            let (app, t) = (&app, t.clone());
            async move {
                raw(
                    app,
                    Method::PUT,
                    &artifact(p, "race/f"),
                    Some(&t),
                    chunked(size, b'a' + i, None),
                    &[],
                )
                .await
                .0
            }
        });
        let statuses = futures::future::join_all(uploads).await;
        assert!(
            statuses.iter().all(|s| *s == StatusCode::OK),
            "{statuses:?}"
        );
        let (_, headers, got) = raw(
            &app,
            Method::GET,
            &artifact(p, "race/f"),
            Some(&t),
            Body::empty(),
            &[],
        )
        .await;
        assert_eq!(got.len(), size);
        assert!(
            got.iter().all(|b| *b == got[0]),
            "the file is one upload, not a mix"
        );
        assert_eq!(
            headers["x-checksum-sha256"],
            hex::encode(Sha256::digest(&got)).as_str()
        );
        // Losers' blobs are removed (or left for gc); the winner's is the one listed.
        let report = hangar_server::gc::collect_garbage(
            app.store.as_ref(),
            &app.blobs,
            std::time::Duration::ZERO,
            false,
        )
        .await
        .unwrap();
        assert_eq!(blob_count(&app).await, 1, "{report:?}");
        let (_, _, again) = raw(
            &app,
            Method::GET,
            &artifact(p, "race/f"),
            Some(&t),
            Body::empty(),
            &[],
        )
        .await;
        assert_eq!(again, got);
    })
    .await;
}

#[tokio::test]
async fn gc_removes_only_old_unreferenced_blobs() {
    on_each_backend(|app| async move {
        let (p, t) = setup(&app).await;
        let (status, _, _) = raw(
            &app,
            Method::PUT,
            &artifact(p, "kept/f"),
            Some(&t),
            Body::from("kept"),
            &[],
        )
        .await;
        assert_eq!(status, StatusCode::OK);
        // An orphan: a blob written with no row, as a crash between the two leaves.
        let body = futures::stream::iter([Ok::<_, std::io::Error>(Bytes::from_static(b"orphan"))]);
        app.blobs.write(body, 100, None).await.unwrap();
        assert_eq!(blob_count(&app).await, 2);

        let gc = |min_age: u64, dry_run: bool| {
            let app = &app;
            async move {
                hangar_server::gc::collect_garbage(
                    app.store.as_ref(),
                    &app.blobs,
                    std::time::Duration::from_secs(min_age),
                    dry_run,
                )
                .await
                .unwrap()
            }
        };
        let young = gc(3600, false).await;
        assert_eq!(
            (young.scanned, young.removed, young.too_young),
            (2, 0, 1),
            "an upload in flight is young"
        );
        let dry = gc(0, true).await;
        assert_eq!((dry.removed, dry.removed_bytes), (1, 6));
        assert_eq!(blob_count(&app).await, 2, "a dry run removes nothing");
        let done = gc(0, false).await;
        assert_eq!((done.removed, done.removed_bytes), (1, 6));
        assert_eq!(blob_count(&app).await, 1);
        let (_, _, got) = raw(
            &app,
            Method::GET,
            &artifact(p, "kept/f"),
            Some(&t),
            Body::empty(),
            &[],
        )
        .await;
        assert_eq!(got.as_ref(), b"kept");
    })
    .await;
}
