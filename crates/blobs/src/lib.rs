//! Hangar's blob store: a thin façade over `object_store`, on a local folder (the default)
//! or S3-compatible storage (`s3://bucket/prefix`, endpoint and credentials from the
//! standard AWS variables).

use object_store::ObjectStore;
use object_store::local::LocalFileSystem;
use object_store::path::Path;
use std::sync::Arc;

#[derive(Debug, thiserror::Error)]
pub enum BlobError {
    #[error("invalid blob URL '{0}': {1}")]
    Url(String, String),
    #[error(transparent)]
    Store(#[from] object_store::Error),
    #[error("cannot create blob folder {0}: {1}")]
    Io(String, std::io::Error),
}

/// Where files go. Cloning shares the underlying store.
#[derive(Clone, Debug)]
pub struct BlobStore {
    store: Arc<dyn ObjectStore>,
    prefix: Path,
    url: String,
}

impl BlobStore {
    /// Opens `file:///abs/dir` (created if missing) or `s3://bucket[/prefix]`.
    pub fn open(url: &str) -> Result<BlobStore, BlobError> {
        let parsed = url::Url::parse(url).map_err(|e| BlobError::Url(url.into(), e.to_string()))?;
        match parsed.scheme() {
            "file" => {
                let dir = parsed
                    .to_file_path()
                    .map_err(|_| BlobError::Url(url.into(), "not an absolute path".into()))?;
                std::fs::create_dir_all(&dir)
                    .map_err(|e| BlobError::Io(dir.display().to_string(), e))?;
                Ok(BlobStore {
                    store: Arc::new(LocalFileSystem::new_with_prefix(&dir)?),
                    prefix: Path::default(),
                    url: url.into(),
                })
            }
            "s3" => {
                let bucket = parsed
                    .host_str()
                    .ok_or_else(|| BlobError::Url(url.into(), "missing bucket".into()))?;
                let store = object_store::aws::AmazonS3Builder::from_env()
                    .with_bucket_name(bucket)
                    .build()?;
                Ok(BlobStore {
                    store: Arc::new(store),
                    prefix: Path::from(parsed.path().trim_matches('/')),
                    url: url.into(),
                })
            }
            other => Err(BlobError::Url(
                url.into(),
                format!("unsupported scheme '{other}': use file:// or s3://"),
            )),
        }
    }

    /// The URL this store was opened with.
    pub fn url(&self) -> &str {
        &self.url
    }

    /// The key prefix inside the bucket or folder.
    pub fn prefix(&self) -> &Path {
        &self.prefix
    }

    /// The underlying object store.
    pub fn inner(&self) -> &Arc<dyn ObjectStore> {
        &self.store
    }
}
