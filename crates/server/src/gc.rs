//! Garbage collection of blobs: what no file row points at (the old blob of a re-upload
//! whose removal failed, blobs of deleted models, uploads cut off between blob and row), and
//! what interrupted uploads left behind (a local store's partial files, S3's incomplete
//! multipart uploads). Only what is older than `min_age` goes, so an upload in flight — blob
//! written, row not yet committed, or parts still arriving — is never collected. The
//! interrupted uploads are also swept in the background by every server
//! ([`spawn_upload_janitor`]); unreferenced blobs only by `hangar admin gc`.

use futures::StreamExt;
use hangar_blobs::{BlobError, BlobStore};
use hangar_store::{Store, StoreError};
use std::time::{Duration, SystemTime};

/// Keys checked against the database per query.
const BATCH: usize = 500;

#[derive(Debug, thiserror::Error)]
pub enum GcError {
    #[error(transparent)]
    Store(#[from] StoreError),
    #[error(transparent)]
    Blob(#[from] BlobError),
}

/// What a collection found (and, unless a dry run, removed).
#[derive(Debug, Default, Clone, PartialEq, Eq)]
pub struct GcReport {
    /// Blobs seen in the store.
    pub scanned: u64,
    /// Unreferenced blobs old enough to remove, with their bytes.
    pub removed: u64,
    pub removed_bytes: u64,
    /// Unreferenced blobs kept because they are younger than `min_age`.
    pub too_young: u64,
    /// Partial files of interrupted uploads (local store), with their bytes.
    pub partial: u64,
    pub partial_bytes: u64,
    /// Incomplete multipart uploads (S3) aborted, or that a dry run would abort.
    pub stale_uploads: u64,
}

/// What [`sweep_interrupted_uploads`] found.
#[derive(Debug, Default, Clone, PartialEq, Eq)]
pub struct Swept {
    pub partial: u64,
    pub partial_bytes: u64,
    pub stale_uploads: u64,
}

/// Removes what interrupted uploads older than `min_age` left: a local store's partial files
/// and an S3 store's incomplete multipart uploads (with their parts).
pub async fn sweep_interrupted_uploads(
    blobs: &BlobStore,
    min_age: Duration,
    dry_run: bool,
) -> Result<Swept, GcError> {
    let local = blobs.clone();
    let partial = tokio::task::spawn_blocking(move || local.sweep_partial_files(min_age, dry_run))
        .await
        .unwrap_or_else(|_| Ok(Vec::new()))?;
    let stale_uploads = if dry_run {
        let now = SystemTime::now();
        blobs
            .pending_uploads()
            .await?
            .iter()
            .filter(|u| now.duration_since(u.initiated).unwrap_or_default() >= min_age)
            .count()
    } else {
        blobs.abort_stale_uploads(min_age).await?
    };
    Ok(Swept {
        partial: partial.len() as u64,
        partial_bytes: partial.iter().sum(),
        stale_uploads: stale_uploads as u64,
    })
}

/// Sweeps interrupted uploads older than `expiry` now and then every `every`, for as long as
/// the process runs. Replicas sharing a store may sweep it at once: removing or aborting what
/// is already gone is not an error.
pub fn spawn_upload_janitor(
    blobs: BlobStore,
    expiry: Duration,
    every: Duration,
) -> tokio::task::JoinHandle<()> {
    tokio::spawn(async move {
        loop {
            match sweep_interrupted_uploads(&blobs, expiry, false).await {
                Ok(swept) if swept != Swept::default() => tracing::info!(
                    partial_files = swept.partial,
                    partial_bytes = swept.partial_bytes,
                    stale_multipart_uploads = swept.stale_uploads,
                    "removed what interrupted uploads left"
                ),
                Ok(_) => {}
                Err(e) => tracing::warn!(error = %e, "could not sweep interrupted uploads"),
            }
            tokio::time::sleep(every).await;
        }
    })
}

pub async fn collect_garbage(
    store: &dyn Store,
    blobs: &BlobStore,
    min_age: Duration,
    dry_run: bool,
) -> Result<GcReport, GcError> {
    let mut report = GcReport::default();
    let now = SystemTime::now();
    let mut listing = blobs.list().chunks(BATCH);
    while let Some(batch) = listing.next().await {
        let batch = batch.into_iter().collect::<Result<Vec<_>, _>>()?;
        report.scanned += batch.len() as u64;
        let keys: Vec<String> = batch.iter().map(|b| b.key.clone()).collect();
        let referenced = store.referenced_blobs(&keys).await?;
        for blob in batch.iter().filter(|b| !referenced.contains(&b.key)) {
            let age = now.duration_since(blob.last_modified).unwrap_or_default();
            if age < min_age {
                report.too_young += 1;
                continue;
            }
            if !dry_run {
                blobs.delete(&blob.key).await?;
            }
            report.removed += 1;
            report.removed_bytes += blob.size;
        }
    }
    let swept = sweep_interrupted_uploads(blobs, min_age, dry_run).await?;
    report.partial = swept.partial;
    report.partial_bytes = swept.partial_bytes;
    report.stale_uploads = swept.stale_uploads;
    Ok(report)
}
