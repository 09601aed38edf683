//! Hangar's blob store: a thin façade over `object_store`, on a local folder (the default)
//! or S3-compatible storage (`s3://bucket/prefix`, endpoint and credentials from the
//! standard AWS variables).

use bytes::Bytes;
use futures::stream::{BoxStream, Stream, StreamExt};
use object_store::local::LocalFileSystem;
use object_store::multipart::{MultipartStore, PartId};
use object_store::path::Path;
use object_store::signer::{SignedUrlOptions, Signer};
use object_store::{GetOptions, GetRange, ObjectStore, ObjectStoreExt, PutPayload, WriteMultipart};
use sha2::{Digest, Sha256};
use std::ops::Range;
use std::sync::Arc;
use std::time::Duration;

mod stale_uploads;

/// Bytes gathered before a write becomes a multipart upload, and the part size after (S3's
/// smallest part): a smaller file is one `put`; a larger one streams with at most
/// [`PARTS_IN_FLIGHT`] parts buffered, so memory stays flat (about 15 MiB) whatever the size.
const PART_SIZE: usize = 5 * 1024 * 1024;
const PARTS_IN_FLIGHT: usize = 2;

/// The size of each read of a local blob.
const READ_CHUNK: usize = 1024 * 1024;

/// How long a URL signed for a direct transfer stays valid.
const SIGNED_URL_TTL: std::time::Duration = std::time::Duration::from_secs(3600);

/// The folder, under the store's prefix, that holds every blob.
const OBJECTS: &str = "objects";

#[derive(Debug, thiserror::Error)]
pub enum BlobError {
    #[error("invalid blob URL '{0}': {1}")]
    Url(String, String),
    #[error(transparent)]
    Store(#[from] object_store::Error),
    #[error("cannot create blob folder {0}: {1}")]
    Io(String, #[source] std::io::Error),
    #[error("the file exceeds the limit of {0} bytes")]
    TooLarge(u64),
    #[error("the upload was cut off: {0}")]
    Body(String),
    #[error("the upload's SHA-256 is {actual}, not the {expected} it was sent with")]
    ChecksumMismatch { expected: String, actual: String },
}

impl BlobError {
    /// The disk (or quota) under the store is full: no retry helps until space is freed.
    pub fn is_storage_full(&self) -> bool {
        let mut cause: Option<&(dyn std::error::Error + 'static)> = Some(self);
        while let Some(e) = cause {
            if let Some(io) = e.downcast_ref::<std::io::Error>()
                && matches!(
                    io.kind(),
                    std::io::ErrorKind::StorageFull | std::io::ErrorKind::QuotaExceeded
                )
            {
                return true;
            }
            cause = e.source();
        }
        false
    }
}

/// A blob written to the end: its key (for [`BlobStore::read`]), size and hex SHA-256.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Written {
    pub key: String,
    pub size: u64,
    pub sha256: String,
}

/// A blob found by [`BlobStore::list`].
#[derive(Debug, Clone)]
pub struct Listed {
    pub key: String,
    pub size: u64,
    pub last_modified: std::time::SystemTime,
}

/// Where an `s3://` store is, when not AWS itself; `None` falls back to the standard AWS
/// variables (`AWS_ENDPOINT_URL`, `AWS_REGION`), which also carry the credentials.
#[derive(Debug, Clone)]
pub struct S3Options {
    pub endpoint: Option<String>,
    pub region: Option<String>,
    /// Let clients upload in parts and download through URLs signed for the bucket, as
    /// MLflow's multipart protocol does; off when clients cannot reach the endpoint.
    pub direct_transfers: bool,
    /// How long one request to the store may take, connecting included.
    pub request_timeout: Duration,
    pub connect_timeout: Duration,
    /// How long a failing request is retried before the failure is answered: a hung or
    /// unreachable store answers within about this plus one `request_timeout`.
    pub retry_timeout: Duration,
}

impl Default for S3Options {
    fn default() -> Self {
        S3Options {
            endpoint: None,
            region: None,
            direct_transfers: true,
            request_timeout: Duration::from_secs(30),
            connect_timeout: Duration::from_secs(5),
            retry_timeout: Duration::from_secs(15),
        }
    }
}

/// Where files go. Cloning shares the underlying store.
#[derive(Clone, Debug)]
pub struct BlobStore {
    store: Arc<dyn ObjectStore>,
    prefix: Path,
    url: String,
    /// The folder of a local store.
    local_dir: Option<std::path::PathBuf>,
    /// An S3 store's own handle, for signed URLs and multipart uploads.
    s3: Option<Arc<object_store::aws::AmazonS3>>,
    /// Whether clients may transfer straight to and from the bucket.
    direct_transfers: bool,
}

impl BlobStore {
    /// Opens `file:///abs/dir` (created if missing) or `s3://bucket[/prefix]`.
    pub fn open(url: &str, s3: &S3Options) -> Result<BlobStore, BlobError> {
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
                    local_dir: Some(dir),
                    s3: None,
                    direct_transfers: false,
                })
            }
            "s3" => {
                let bucket = parsed
                    .host_str()
                    .ok_or_else(|| BlobError::Url(url.into(), "missing bucket".into()))?;
                use object_store::ClientConfigKey::{ConnectTimeout, Timeout};
                use object_store::aws::AmazonS3ConfigKey::Client;
                let seconds = |d: Duration| format!("{}ms", d.as_millis());
                let mut builder = object_store::aws::AmazonS3Builder::from_env()
                    .with_bucket_name(bucket)
                    .with_config(Client(Timeout), seconds(s3.request_timeout))
                    .with_config(Client(ConnectTimeout), seconds(s3.connect_timeout))
                    .with_retry(object_store::RetryConfig {
                        retry_timeout: s3.retry_timeout,
                        ..Default::default()
                    });
                if let Some(endpoint) = &s3.endpoint {
                    // A local S3-compatible server usually speaks plain HTTP.
                    builder = builder
                        .with_endpoint(endpoint)
                        .with_allow_http(endpoint.starts_with("http://"));
                }
                if let Some(region) = &s3.region {
                    builder = builder.with_region(region);
                }
                let store = Arc::new(builder.build()?);
                Ok(BlobStore {
                    store: store.clone(),
                    prefix: Path::from(parsed.path().trim_matches('/')),
                    url: url.into(),
                    local_dir: None,
                    s3: Some(store),
                    direct_transfers: s3.direct_transfers,
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

    fn location(&self, key: &str) -> Path {
        let mut path = self.prefix.clone();
        for part in key.split('/') {
            path = path.join(part);
        }
        path
    }

    /// Streams `body` into a new blob, hashing it on the way. The blob becomes readable only
    /// once complete (a local file is renamed into place, an S3 multipart upload completes),
    /// so nothing half-written is ever visible; on any error it is removed. `max_size` is
    /// enforced on the bytes received, whatever the client declared. With `expected_sha256`,
    /// a blob whose hash differs is removed and refused.
    pub async fn write<S, E>(
        &self,
        mut body: S,
        max_size: u64,
        expected_sha256: Option<&str>,
    ) -> Result<Written, BlobError>
    where
        S: Stream<Item = Result<Bytes, E>> + Unpin + Send,
        E: std::fmt::Display,
    {
        let key = format!("{OBJECTS}/{}", uuid::Uuid::new_v4().simple());
        let location = self.location(&key);
        let mut hasher = Sha256::new();
        let mut size = 0u64;
        let mut receive = |chunk: &Bytes| {
            size += chunk.len() as u64;
            if size > max_size {
                return Err(BlobError::TooLarge(max_size));
            }
            hasher.update(chunk);
            Ok(())
        };

        // Small files: one put.
        let mut head: Vec<Bytes> = Vec::new();
        let mut buffered = 0usize;
        let mut ended = true;
        while let Some(chunk) = body.next().await {
            let chunk = chunk.map_err(|e| BlobError::Body(e.to_string()))?;
            receive(&chunk)?;
            buffered += chunk.len();
            head.push(chunk);
            if buffered >= PART_SIZE {
                ended = false;
                break;
            }
        }
        if ended {
            let written = finish(key, size, hasher, expected_sha256)?;
            self.store
                .put(&location, PutPayload::from_iter(head))
                .await?;
            return Ok(written);
        }

        // Large files: a multipart upload with bounded buffering.
        let upload = self.store.put_multipart(&location).await?;
        let mut writer = WriteMultipart::new_with_chunk_size(upload, PART_SIZE);
        for chunk in head {
            writer.put(chunk);
        }
        let streamed: Result<(), BlobError> = async {
            while let Some(chunk) = body.next().await {
                let chunk = chunk.map_err(|e| BlobError::Body(e.to_string()))?;
                receive(&chunk)?;
                writer.wait_for_capacity(PARTS_IN_FLIGHT).await?;
                writer.put(chunk);
            }
            Ok(())
        }
        .await;
        let checked = streamed.and_then(|()| finish(key, size, hasher, expected_sha256));
        match checked {
            Ok(written) => {
                writer.finish().await?;
                Ok(written)
            }
            Err(e) => {
                let _ = writer.abort().await;
                Err(e)
            }
        }
    }

    /// Whether clients may send a file straight to the store in parts, through URLs Hangar
    /// signs (MLflow's multipart protocol): S3-compatible stores only.
    pub fn supports_direct_transfers(&self) -> bool {
        self.s3.is_some() && self.direct_transfers
    }

    fn s3(&self) -> Result<&object_store::aws::AmazonS3, BlobError> {
        self.s3
            .as_deref()
            .filter(|_| self.direct_transfers)
            .ok_or_else(|| {
                BlobError::Store(object_store::Error::NotSupported {
                    source: "direct transfers need an S3-compatible store".into(),
                })
            })
    }

    /// Starts a multipart upload into a new blob; returns its key and the store's upload id.
    pub async fn create_multipart(&self) -> Result<(String, String), BlobError> {
        let key = format!("{OBJECTS}/{}", uuid::Uuid::new_v4().simple());
        let id = self.s3()?.create_multipart(&self.location(&key)).await?;
        Ok((key, id))
    }

    /// A URL that lets its holder upload part `part_number` (from 1) for an hour.
    pub async fn sign_part(
        &self,
        key: &str,
        upload_id: &str,
        part_number: usize,
    ) -> Result<String, BlobError> {
        let options = SignedUrlOptions::new().with_query([
            ("partNumber", part_number.to_string()),
            ("uploadId", upload_id.to_owned()),
        ]);
        let url = self
            .s3()?
            .signed_url_opts(
                http::Method::PUT,
                &self.location(key),
                SIGNED_URL_TTL,
                &options,
            )
            .await?;
        Ok(url.to_string())
    }

    /// A URL that lets its holder download a blob for an hour. The bucket is told to answer
    /// it as an attachment of plain bytes, so a browser that opens it renders nothing.
    pub async fn sign_download(&self, key: &str) -> Result<String, BlobError> {
        let options = SignedUrlOptions::new().with_query([
            (
                "response-content-type",
                "application/octet-stream".to_owned(),
            ),
            ("response-content-disposition", "attachment".to_owned()),
        ]);
        let url = self
            .s3()?
            .signed_url_opts(
                http::Method::GET,
                &self.location(key),
                SIGNED_URL_TTL,
                &options,
            )
            .await?;
        Ok(url.to_string())
    }

    /// Completes a multipart upload from its parts' ETags in part order, then reads the blob
    /// back once to learn its size and SHA-256 (the bytes never passed through Hangar). A
    /// blob over `max_size` or with another checksum than `expected_sha256` is removed.
    pub async fn complete_multipart(
        &self,
        key: &str,
        upload_id: &str,
        etags: Vec<String>,
        max_size: u64,
    ) -> Result<Written, BlobError> {
        let parts = etags
            .into_iter()
            .map(|content_id| PartId { content_id })
            .collect();
        self.s3()?
            .complete_multipart(&self.location(key), &upload_id.to_owned(), parts)
            .await?;
        let hashed: Result<Written, BlobError> = async {
            let mut hasher = Sha256::new();
            let mut size = 0u64;
            let mut stream = self.read(key, None).await?;
            while let Some(chunk) = stream.next().await {
                let chunk = chunk?;
                size += chunk.len() as u64;
                if size > max_size {
                    return Err(BlobError::TooLarge(max_size));
                }
                hasher.update(&chunk);
            }
            finish(key.to_owned(), size, hasher, None)
        }
        .await;
        if hashed.is_err() {
            let _ = self.delete(key).await;
        }
        hashed
    }

    /// Abandons a multipart upload and its parts.
    pub async fn abort_multipart(&self, key: &str, upload_id: &str) -> Result<(), BlobError> {
        self.s3()?
            .abort_multipart(&self.location(key), &upload_id.to_owned())
            .await?;
        Ok(())
    }

    /// Streams a blob, or the byte `range` of it (already checked against its size).
    pub async fn read(
        &self,
        key: &str,
        range: Option<Range<u64>>,
    ) -> Result<BoxStream<'static, Result<Bytes, BlobError>>, BlobError> {
        if let Some(dir) = &self.local_dir {
            return read_local(dir.join(key), range).await;
        }
        let options = GetOptions {
            range: range.map(GetRange::Bounded),
            ..GetOptions::default()
        };
        let result = self.store.get_opts(&self.location(key), options).await?;
        Ok(result
            .into_stream()
            .map(|r| r.map_err(BlobError::from))
            .boxed())
    }

    /// Removes a blob; one that is already gone is not an error.
    pub async fn delete(&self, key: &str) -> Result<(), BlobError> {
        match self.store.delete(&self.location(key)).await {
            Ok(()) | Err(object_store::Error::NotFound { .. }) => Ok(()),
            Err(e) => Err(e.into()),
        }
    }

    /// Partial files that a killed process left in a local store (`object_store` stages an
    /// upload as `<key>#<n>` beside its final name and never lists it), older than `min_age`;
    /// removed unless `dry_run`. Returns their sizes. An S3 store has none: an incomplete
    /// multipart upload is never an object (a bucket lifecycle rule expires its parts).
    pub fn sweep_partial_files(
        &self,
        min_age: std::time::Duration,
        dry_run: bool,
    ) -> Result<Vec<u64>, BlobError> {
        let Some(dir) = &self.local_dir else {
            return Ok(Vec::new());
        };
        let objects = dir.join(OBJECTS);
        let entries = match std::fs::read_dir(&objects) {
            Ok(entries) => entries,
            Err(e) if e.kind() == std::io::ErrorKind::NotFound => return Ok(Vec::new()),
            Err(e) => return Err(BlobError::Io(objects.display().to_string(), e)),
        };
        let io = |e| BlobError::Io(objects.display().to_string(), e);
        let mut removed = Vec::new();
        for entry in entries {
            let entry = entry.map_err(io)?;
            let meta = entry.metadata().map_err(io)?;
            let partial = entry.file_name().to_string_lossy().contains('#');
            let old = meta
                .modified()
                .ok()
                .and_then(|m| m.elapsed().ok())
                .is_some_and(|age| age >= min_age);
            if partial && old && meta.is_file() {
                if !dry_run {
                    std::fs::remove_file(entry.path()).map_err(io)?;
                }
                removed.push(meta.len());
            }
        }
        Ok(removed)
    }

    /// Whether the store answers (a local folder exists; the bucket answers a `HEAD` within
    /// `within`), for readiness.
    pub async fn check(&self, within: Duration) -> Result<(), BlobError> {
        if let Some(dir) = &self.local_dir {
            return std::fs::metadata(dir)
                .map(|_| ())
                .map_err(|e| BlobError::Io(dir.display().to_string(), e));
        }
        let location = self.location("readiness-probe");
        let probe = self.store.head(&location);
        match tokio::time::timeout(within, probe).await {
            Ok(Ok(_)) | Ok(Err(object_store::Error::NotFound { .. })) => Ok(()),
            Ok(Err(e)) => Err(e.into()),
            Err(_) => Err(BlobError::Store(object_store::Error::Generic {
                store: "S3",
                source: format!("no answer within {within:?}").into(),
            })),
        }
    }

    /// Every blob, for garbage collection.
    pub fn list(&self) -> BoxStream<'static, Result<Listed, BlobError>> {
        let root = self.prefix.clone();
        let objects = self.location(OBJECTS);
        self.store
            .list(Some(&objects))
            .map(move |meta| {
                let meta = meta?;
                let key = meta
                    .location
                    .prefix_match(&root)
                    .map(|parts| {
                        parts
                            .map(|p| p.as_ref().to_owned())
                            .collect::<Vec<_>>()
                            .join("/")
                    })
                    .unwrap_or_else(|| meta.location.to_string());
                Ok(Listed {
                    key,
                    size: meta.size,
                    last_modified: meta.last_modified.into(),
                })
            })
            .boxed()
    }
}

/// Reads a local blob in large chunks. `object_store` reads a local file 8 KiB at a time,
/// each read handed to a blocking thread, and a 1 GiB download spent its time in those
/// hand-offs (131,072 reads); here it is 1,024. `path` is the store's folder joined with a
/// key that [`BlobStore::write`] made, never with user input.
async fn read_local(
    path: std::path::PathBuf,
    range: Option<Range<u64>>,
) -> Result<BoxStream<'static, Result<Bytes, BlobError>>, BlobError> {
    use tokio::io::{AsyncReadExt, AsyncSeekExt};
    let shown = path.display().to_string();
    let mut file = match tokio::fs::File::open(&path).await {
        Ok(file) => file,
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => {
            return Err(BlobError::Store(object_store::Error::NotFound {
                path: shown,
                source: e.into(),
            }));
        }
        Err(e) => return Err(BlobError::Io(shown, e)),
    };
    let (start, length) = match range {
        Some(r) => (r.start, r.end.saturating_sub(r.start)),
        None => (0, u64::MAX),
    };
    if start > 0 {
        file.seek(std::io::SeekFrom::Start(start))
            .await
            .map_err(|e| BlobError::Io(shown.clone(), e))?;
    }
    let chunks = tokio_util::io::ReaderStream::with_capacity(file.take(length), READ_CHUNK);
    Ok(chunks
        .map(move |chunk| chunk.map_err(|e| BlobError::Io(shown.clone(), e)))
        .boxed())
}

fn finish(
    key: String,
    size: u64,
    hasher: Sha256,
    expected: Option<&str>,
) -> Result<Written, BlobError> {
    let sha256 = hex::encode(hasher.finalize());
    if let Some(expected) = expected
        && !expected.eq_ignore_ascii_case(&sha256)
    {
        return Err(BlobError::ChecksumMismatch {
            expected: expected.to_owned(),
            actual: sha256,
        });
    }
    Ok(Written { key, size, sha256 })
}
