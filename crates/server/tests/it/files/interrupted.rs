//! What interrupted uploads leave behind goes once it is old enough: a local store's partial
//! files, an S3 store's incomplete multipart uploads (whose parts no object listing shows).

use crate::support::{TestApp, on_each_backend};
use hangar_server::gc::{Swept, sweep_interrupted_uploads};
use std::time::{Duration, SystemTime};

const HOUR: Duration = Duration::from_secs(3600);

#[tokio::test]
async fn interrupted_uploads_are_swept_once_old_enough() {
    on_each_backend(|app: TestApp| async move {
        let blobs = &app.blobs;
        if let Some(dir) = blobs.url().strip_prefix("file://") {
            let objects = std::path::Path::new(dir).join("objects");
            std::fs::create_dir_all(&objects).unwrap();
            let old = objects.join("0123abcd#1");
            let young = objects.join("4567efgh#2");
            std::fs::write(&old, vec![0u8; 1000]).unwrap();
            std::fs::write(&young, vec![0u8; 10]).unwrap();
            std::fs::File::options()
                .write(true)
                .open(&old)
                .unwrap()
                .set_modified(SystemTime::now() - 2 * HOUR)
                .unwrap();
            let dry = sweep_interrupted_uploads(blobs, HOUR, true).await.unwrap();
            assert_eq!((dry.partial, dry.partial_bytes), (1, 1000));
            assert!(old.exists(), "a dry run removes nothing");
            let swept = sweep_interrupted_uploads(blobs, HOUR, false).await.unwrap();
            assert_eq!(
                swept,
                Swept {
                    partial: 1,
                    partial_bytes: 1000,
                    stale_uploads: 0
                }
            );
            assert!(!old.exists() && young.exists());
        } else {
            let (key, first) = blobs.create_multipart().await.unwrap();
            let (_, second) = blobs.create_multipart().await.unwrap();
            let pending = blobs.pending_uploads().await.unwrap();
            let mut ids: Vec<_> = pending.iter().map(|u| u.upload_id.clone()).collect();
            ids.sort();
            let mut expected = vec![first.clone(), second.clone()];
            expected.sort();
            assert_eq!(ids, expected, "{pending:?}");
            assert!(pending.iter().any(|u| u.key.ends_with(&key)), "{pending:?}");
            // Uploads younger than the age stay (a client may still be sending parts). The
            // age is the store's `Initiated` (moto reports a fixed date long past).
            let now = SystemTime::now();
            let oldest = pending
                .iter()
                .map(|u| now.duration_since(u.initiated).unwrap_or_default())
                .max()
                .unwrap();
            let kept = sweep_interrupted_uploads(blobs, oldest + HOUR, false)
                .await
                .unwrap();
            assert_eq!(kept.stale_uploads, 0);
            assert_eq!(blobs.pending_uploads().await.unwrap().len(), 2);
            // Another store's prefix in the same bucket is not this store's to sweep.
            let url = blobs.url();
            let neighbour_url = format!("{}-neighbour", url.trim_end_matches('/'));
            let options = hangar_blobs::S3Options {
                endpoint: std::env::var("HANGAR_TEST_S3_ENDPOINT").ok(),
                region: Some("us-east-1".into()),
                ..Default::default()
            };
            let neighbour = hangar_blobs::BlobStore::open(&neighbour_url, &options).unwrap();
            let (_, theirs) = neighbour.create_multipart().await.unwrap();
            let dry = sweep_interrupted_uploads(blobs, Duration::ZERO, true)
                .await
                .unwrap();
            assert_eq!(dry.stale_uploads, 2);
            assert_eq!(blobs.pending_uploads().await.unwrap().len(), 2);
            let swept = sweep_interrupted_uploads(blobs, Duration::ZERO, false)
                .await
                .unwrap();
            assert_eq!(swept.stale_uploads, 2);
            assert!(blobs.pending_uploads().await.unwrap().is_empty());
            let left: Vec<_> = neighbour
                .pending_uploads()
                .await
                .unwrap()
                .into_iter()
                .map(|u| u.upload_id)
                .collect();
            assert_eq!(left, vec![theirs]);
            neighbour.abort_stale_uploads(Duration::ZERO).await.unwrap();
            // An aborted upload cannot be completed any more.
            assert!(
                blobs
                    .complete_multipart(&key, &first, vec!["x".into()], 1 << 20)
                    .await
                    .is_err()
            );
        }
    })
    .await;
}
