//! Storing and serving files, one implementation for every surface (MLflow artifacts,
//! GitLab's package APIs, Hangar's JSON API). Bytes stream into a new blob first and the
//! row that makes them visible is committed after, so a listed file is always complete and
//! concurrent uploads of one path end with one of them, whole.

use crate::AppState;
use axum::body::Body;
use axum::http::{HeaderMap, HeaderValue, StatusCode, header};
use axum::response::{IntoResponse, Response};
use hangar_blobs::{BlobError, Written};
use hangar_core::artifact_path::ArtifactPath;
use hangar_store::StoreError;
use hangar_store::model::{NewFile, StoredFile};

/// The header a client sends to have an upload verified, and that downloads carry.
pub const CHECKSUM_HEADER: &str = "x-checksum-sha256";

#[derive(Debug, thiserror::Error)]
pub enum FileError {
    #[error("{0}")]
    InvalidPath(String),
    #[error("the file exceeds the limit of {0} bytes")]
    TooLarge(u64),
    #[error("{0}")]
    Checksum(String),
    #[error("the upload was cut off: {0}")]
    Body(String),
    #[error("range not satisfiable")]
    Range { size: i64 },
    #[error(transparent)]
    Store(#[from] StoreError),
    #[error("blob store: {0}")]
    Blob(BlobError),
}

impl From<BlobError> for FileError {
    fn from(e: BlobError) -> Self {
        match e {
            BlobError::TooLarge(limit) => FileError::TooLarge(limit),
            BlobError::Body(m) => FileError::Body(m),
            e @ BlobError::ChecksumMismatch { .. } => FileError::Checksum(e.to_string()),
            other => FileError::Blob(other),
        }
    }
}

/// Parses a file path from a URL (decoded once by the router), refusing a folder path.
pub fn file_path(raw: &str) -> Result<ArtifactPath, FileError> {
    if raw.is_empty() || raw.ends_with('/') {
        return Err(FileError::InvalidPath(
            "Artifact path must include a filename (cannot end with '/').".into(),
        ));
    }
    ArtifactPath::parse(raw).map_err(|e| FileError::InvalidPath(e.to_string()))
}

/// Parses a folder path (`""` is the root).
pub fn folder_path(raw: &str) -> Result<ArtifactPath, FileError> {
    if raw.is_empty() {
        return Ok(ArtifactPath::root());
    }
    ArtifactPath::parse(raw).map_err(|e| FileError::InvalidPath(e.to_string()))
}

/// The folder of the project's tree that an `mlflow-artifacts:/…` URI (a run's or a logged
/// model's artifact root) names; None for a URI outside the tree.
pub fn tree_folder(uri: &str) -> Option<&str> {
    uri.strip_prefix("mlflow-artifacts:/")
        .map(|folder| folder.trim_matches('/'))
        .filter(|folder| !folder.is_empty())
}

/// Parses a folder to list (`""` is the root; `.` segments name their folder, as in MLflow).
pub fn listing_path(raw: &str) -> Result<ArtifactPath, FileError> {
    ArtifactPath::parse_listing(raw).map_err(|e| FileError::InvalidPath(e.to_string()))
}

/// Streams the request body to `path`, replacing any file there.
pub async fn upload(
    state: &AppState,
    project_id: i64,
    path: &ArtifactPath,
    headers: &HeaderMap,
    body: Body,
) -> Result<StoredFile, FileError> {
    let written = receive(state, headers, body).await?;
    commit(state, project_id, path, written).await
}

/// Streams the request body into a new blob, not yet visible anywhere; an
/// `X-Checksum-Sha256` header is verified.
pub async fn receive(
    state: &AppState,
    headers: &HeaderMap,
    body: Body,
) -> Result<Written, FileError> {
    let expected = match headers.get(CHECKSUM_HEADER) {
        None => None,
        Some(value) => {
            let value = value
                .to_str()
                .unwrap_or_default()
                .trim()
                .to_ascii_lowercase();
            if value.len() != 64 || !value.bytes().all(|b| b.is_ascii_hexdigit()) {
                return Err(FileError::Checksum(
                    "X-Checksum-Sha256 must be 64 hexadecimal digits".into(),
                ));
            }
            Some(value)
        }
    };
    Ok(state
        .blobs
        .write(
            body.into_data_stream(),
            state.max_file_size,
            expected.as_deref(),
        )
        .await?)
}

/// Makes a received blob the file at `path`; on failure the blob is removed.
pub async fn commit(
    state: &AppState,
    project_id: i64,
    path: &ArtifactPath,
    written: Written,
) -> Result<StoredFile, FileError> {
    let committed = state
        .store
        .commit_file(NewFile {
            project_id,
            path: path.to_string(),
            size: written.size as i64,
            sha256: written.sha256.clone(),
            blob_key: written.key.clone(),
        })
        .await;
    match committed {
        Ok((file, replaced)) => {
            if let Some(old) = replaced {
                remove_blobs(state, &[old]).await;
            }
            Ok(file)
        }
        Err(e) => {
            remove_blobs(state, &[written.key]).await;
            Err(e.into())
        }
    }
}

/// Deletes the file at `path` or the folder and everything in it.
pub async fn delete(
    state: &AppState,
    project_id: i64,
    path: &ArtifactPath,
) -> Result<usize, FileError> {
    let blobs = state
        .store
        .delete_files(project_id, &path.to_string())
        .await?;
    remove_blobs(state, &blobs).await;
    Ok(blobs.len())
}

/// Removes blobs whose rows are gone. A failure only leaves garbage for `hangar admin gc`.
pub async fn remove_blobs(state: &AppState, keys: &[String]) {
    for key in keys {
        if let Err(e) = state.blobs.delete(key).await {
            tracing::warn!(blob = %key, error = %e, "could not remove a blob; gc will");
        }
    }
}

/// One entry of a folder listing.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Entry {
    pub name: String,
    pub is_dir: bool,
    /// Files only.
    pub size: Option<i64>,
}

/// The direct children of `dir`, given every file below it (sorted by path): files with
/// their size, and the folders that some deeper file implies.
pub fn children(dir: &str, files: &[StoredFile]) -> Vec<Entry> {
    let skip = if dir.is_empty() { 0 } else { dir.len() + 1 };
    let mut entries: Vec<Entry> = Vec::new();
    for file in files {
        let Some(rest) = file.path.get(skip..) else {
            continue;
        };
        let entry = match rest.split_once('/') {
            Some((folder, _)) => Entry {
                name: folder.to_owned(),
                is_dir: true,
                size: None,
            },
            None => Entry {
                name: rest.to_owned(),
                is_dir: false,
                size: Some(file.size),
            },
        };
        if entries.last() != Some(&entry) {
            entries.push(entry);
        }
    }
    entries.sort_by(|a, b| a.name.cmp(&b.name));
    entries.dedup();
    entries
}

/// A requested byte range, resolved against the file's size.
fn requested_range(headers: &HeaderMap, size: i64) -> Result<Option<(u64, u64)>, FileError> {
    let Some(value) = headers.get(header::RANGE).and_then(|v| v.to_str().ok()) else {
        return Ok(None);
    };
    let size = size as u64;
    let Some(spec) = value.trim().strip_prefix("bytes=") else {
        return Ok(None);
    };
    // Several ranges would need a multipart answer; the whole file is a valid reply.
    if spec.contains(',') {
        return Ok(None);
    }
    let Some((start, end)) = spec.split_once('-') else {
        return Ok(None);
    };
    let (start, end) = (start.trim(), end.trim());
    let unsatisfiable = FileError::Range { size: size as i64 };
    let range = if start.is_empty() {
        let suffix: u64 = end
            .parse()
            .map_err(|_| FileError::Range { size: size as i64 })?;
        if suffix == 0 || size == 0 {
            return Err(unsatisfiable);
        }
        (size.saturating_sub(suffix), size - 1)
    } else {
        let first: u64 = start
            .parse()
            .map_err(|_| FileError::Range { size: size as i64 })?;
        let last: u64 = if end.is_empty() {
            size.saturating_sub(1)
        } else {
            end.parse::<u64>()
                .map_err(|_| FileError::Range { size: size as i64 })?
                .min(size.saturating_sub(1))
        };
        if first >= size || last < first {
            return Err(unsatisfiable);
        }
        (first, last)
    };
    Ok(Some(range))
}

/// The `Content-Type` a download is served with: a guess from the name when it is a type no
/// browser renders as a page or runs as script (an allowlist: SVG, XHTML, any `+xml`, HTML,
/// scripts are active), else `application/octet-stream`.
fn content_type(name: &str) -> HeaderValue {
    let guess = mime_guess::from_path(name).first_or_octet_stream();
    let passive = match (guess.type_().as_str(), guess.subtype().as_str()) {
        (_, _) if guess.suffix().is_some() => false,
        ("image", sub) => matches!(
            sub,
            "png" | "jpeg" | "gif" | "webp" | "bmp" | "avif" | "tiff"
        ),
        ("text", sub) => matches!(sub, "plain" | "csv" | "tab-separated-values" | "markdown"),
        ("audio" | "video", _) => true,
        ("application", sub) => matches!(
            sub,
            "json"
                | "pdf"
                | "zip"
                | "gzip"
                | "x-tar"
                | "x-bzip2"
                | "x-xz"
                | "zstd"
                | "x-7z-compressed"
                | "vnd.apache.parquet"
                | "x-parquet"
                | "octet-stream"
        ),
        _ => false,
    };
    if passive && let Ok(value) = HeaderValue::from_str(guess.essence_str()) {
        return value;
    }
    HeaderValue::from_static("application/octet-stream")
}

/// `attachment` with the file name, safely quoted and in RFC 5987 form for non-ASCII.
fn content_disposition(name: &str) -> HeaderValue {
    let ascii: String = name
        .chars()
        .map(|c| {
            if c.is_ascii_graphic() && c != '"' && c != '\\' || c == ' ' {
                c
            } else {
                '_'
            }
        })
        .collect();
    let encoded = percent_encoding::utf8_percent_encode(name, percent_encoding::NON_ALPHANUMERIC);
    HeaderValue::from_str(&format!(
        "attachment; filename=\"{ascii}\"; filename*=UTF-8''{encoded}"
    ))
    .unwrap_or(HeaderValue::from_static("attachment"))
}

/// Streams a file as an attachment: size, checksum and ETag in the headers, HTTP Range
/// and `If-None-Match` honoured, never rendered by the browser.
pub async fn download(
    state: &AppState,
    file: &StoredFile,
    headers: &HeaderMap,
) -> Result<Response, FileError> {
    let etag = format!("\"{}\"", file.sha256);
    let name = file.path.rsplit('/').next().unwrap_or(&file.path);
    let mut response = Response::builder()
        .header(header::CONTENT_TYPE, content_type(name))
        .header(header::CONTENT_DISPOSITION, content_disposition(name))
        .header(header::X_CONTENT_TYPE_OPTIONS, "nosniff")
        .header(
            header::CONTENT_SECURITY_POLICY,
            "sandbox; default-src 'none'",
        )
        .header(header::ETAG, &etag)
        .header(CHECKSUM_HEADER, &file.sha256)
        .header(header::ACCEPT_RANGES, "bytes");
    let not_modified = headers
        .get(header::IF_NONE_MATCH)
        .and_then(|v| v.to_str().ok())
        .is_some_and(|v| v.split(',').any(|t| t.trim() == etag || t.trim() == "*"));
    if not_modified {
        return Ok(response
            .status(StatusCode::NOT_MODIFIED)
            .body(Body::empty())
            .unwrap_or_default());
    }
    let range = requested_range(headers, file.size)?;
    let stream = state
        .blobs
        .read(&file.blob_key, range.map(|(a, b)| a..b + 1))
        .await?;
    response = match range {
        Some((first, last)) => response
            .status(StatusCode::PARTIAL_CONTENT)
            .header(
                header::CONTENT_RANGE,
                format!("bytes {first}-{last}/{}", file.size),
            )
            .header(header::CONTENT_LENGTH, last - first + 1),
        None => response
            .status(StatusCode::OK)
            .header(header::CONTENT_LENGTH, file.size),
    };
    Ok(response.body(Body::from_stream(stream)).unwrap_or_default())
}

impl FileError {
    /// The HTTP status for this failure on any surface.
    pub fn status(&self) -> StatusCode {
        match self {
            FileError::InvalidPath(_) | FileError::Checksum(_) | FileError::Body(_) => {
                StatusCode::BAD_REQUEST
            }
            FileError::TooLarge(_) => StatusCode::PAYLOAD_TOO_LARGE,
            FileError::Range { .. } => StatusCode::RANGE_NOT_SATISFIABLE,
            FileError::Store(StoreError::NotFound) => StatusCode::NOT_FOUND,
            FileError::Store(StoreError::Invalid(_)) => StatusCode::BAD_REQUEST,
            FileError::Store(StoreError::Conflict(_)) => StatusCode::CONFLICT,
            FileError::Store(e) if e.is_storage_full() => StatusCode::INSUFFICIENT_STORAGE,
            FileError::Blob(e) if e.is_storage_full() => StatusCode::INSUFFICIENT_STORAGE,
            FileError::Store(_) | FileError::Blob(_) => StatusCode::SERVICE_UNAVAILABLE,
        }
    }

    fn is_internal(&self) -> bool {
        matches!(
            self.status(),
            StatusCode::SERVICE_UNAVAILABLE | StatusCode::INSUFFICIENT_STORAGE
        )
    }

    /// What the client is told. A storage failure's details (an S3 endpoint and bucket, a
    /// folder) go to the log only; the client gets what happened and the request's id.
    pub fn public_message(&self) -> String {
        match self.status() {
            StatusCode::INSUFFICIENT_STORAGE => crate::request_context::hidden_failure(
                "Insufficient storage: the disk under Hangar's files or database is full",
            ),
            StatusCode::SERVICE_UNAVAILABLE => {
                crate::request_context::hidden_failure("The file store is unavailable")
            }
            _ => self.to_string(),
        }
    }

    /// Logs a storage failure with its details.
    pub fn log(&self) {
        if self.is_internal() {
            tracing::error!(error = %self, "file storage failure");
        }
    }

    /// A 416 carries the size the client may ask within.
    pub fn decorate(&self, response: &mut Response) {
        if let FileError::Range { size } = self
            && let Ok(value) = HeaderValue::from_str(&format!("bytes */{size}"))
        {
            response.headers_mut().insert(header::CONTENT_RANGE, value);
        }
        self.log();
    }
}

/// For surfaces without an envelope of their own.
impl IntoResponse for FileError {
    fn into_response(self) -> Response {
        let mut response = (self.status(), self.public_message()).into_response();
        self.decorate(&mut response);
        response
    }
}
