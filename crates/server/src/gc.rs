//! Garbage collection of blobs: what no file row points at (the old blob of a re-upload
//! whose removal failed, blobs of deleted models, uploads cut off between blob and row) and
//! the partial files a killed server left behind. Only blobs older than `min_age` go, so an
//! upload in flight — blob written, row not yet committed — is never collected.

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
    let partial = blobs.sweep_partial_files(min_age, dry_run)?;
    report.partial = partial.len() as u64;
    report.partial_bytes = partial.iter().sum();
    Ok(report)
}
