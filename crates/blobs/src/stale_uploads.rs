//! Multipart uploads that never completed (a server killed mid-upload, a client that gave
//! up on a direct transfer). Their parts take space in the bucket but are no object, so no
//! listing of objects finds them; `object_store` cannot list them either. Hangar asks S3's
//! ListMultipartUploads through a URL it signs, and aborts those under its own prefix that
//! are older than an age.

use crate::{BlobError, BlobStore, OBJECTS};
use object_store::multipart::MultipartStore;
use object_store::path::Path;
use object_store::signer::{SignedUrlOptions, Signer};
use serde::Deserialize;
use std::time::{Duration, SystemTime};

/// An incomplete multipart upload.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct PendingUpload {
    /// The object key in the bucket (with the store's prefix).
    pub key: String,
    pub upload_id: String,
    pub initiated: SystemTime,
}

#[derive(Deserialize)]
#[serde(rename_all = "PascalCase")]
struct Listing {
    #[serde(default)]
    upload: Vec<Upload>,
    #[serde(default)]
    is_truncated: bool,
    next_key_marker: Option<String>,
    next_upload_id_marker: Option<String>,
}

#[derive(Deserialize)]
#[serde(rename_all = "PascalCase")]
struct Upload {
    key: String,
    upload_id: String,
    initiated: String,
}

fn failure(what: String) -> BlobError {
    BlobError::Store(object_store::Error::Generic {
        store: "S3",
        source: what.into(),
    })
}

impl BlobStore {
    /// The incomplete multipart uploads under this store's prefix (none on a local store).
    pub async fn pending_uploads(&self) -> Result<Vec<PendingUpload>, BlobError> {
        let Some(s3) = &self.s3 else {
            return Ok(Vec::new());
        };
        let prefix = format!("{}/", self.location(OBJECTS));
        let http = reqwest::Client::new();
        let mut found = Vec::new();
        let mut markers: Option<(String, String)> = None;
        loop {
            let mut query = vec![("uploads", String::new()), ("prefix", prefix.clone())];
            if let Some((key, id)) = &markers {
                query.push(("key-marker", key.clone()));
                query.push(("upload-id-marker", id.clone()));
            }
            let url = s3
                .signed_url_opts(
                    http::Method::GET,
                    &Path::default(),
                    Duration::from_secs(300),
                    &SignedUrlOptions::new().with_query(query),
                )
                .await?;
            let answer = http
                .get(url)
                .send()
                .await
                .map_err(|e| failure(format!("listing multipart uploads: {e}")))?;
            let status = answer.status();
            let body = answer
                .text()
                .await
                .map_err(|e| failure(format!("listing multipart uploads: {e}")))?;
            if !status.is_success() {
                return Err(failure(format!(
                    "listing multipart uploads: {status}: {body}"
                )));
            }
            let listing: Listing = quick_xml::de::from_str(&body)
                .map_err(|e| failure(format!("reading the multipart upload listing: {e}")))?;
            for upload in listing.upload {
                let initiated = chrono::DateTime::parse_from_rfc3339(&upload.initiated)
                    .map(SystemTime::from)
                    .unwrap_or(SystemTime::UNIX_EPOCH);
                found.push(PendingUpload {
                    key: upload.key,
                    upload_id: upload.upload_id,
                    initiated,
                });
            }
            match (
                listing.is_truncated,
                listing.next_key_marker,
                listing.next_upload_id_marker,
            ) {
                (true, Some(key), Some(id)) => markers = Some((key, id)),
                _ => return Ok(found),
            }
        }
    }

    /// Aborts the incomplete multipart uploads older than `min_age` (their parts go); returns
    /// how many. A store without multipart uploads (local) has none.
    pub async fn abort_stale_uploads(&self, min_age: Duration) -> Result<usize, BlobError> {
        let Some(s3) = &self.s3 else {
            return Ok(0);
        };
        let now = SystemTime::now();
        let mut aborted = 0;
        for upload in self.pending_uploads().await? {
            let age = now.duration_since(upload.initiated).unwrap_or_default();
            if age < min_age {
                continue;
            }
            match s3
                .abort_multipart(&Path::from(upload.key.as_str()), &upload.upload_id)
                .await
            {
                Ok(()) | Err(object_store::Error::NotFound { .. }) => aborted += 1,
                Err(e) => return Err(e.into()),
            }
        }
        Ok(aborted)
    }
}

#[cfg(test)]
mod tests {
    #[test]
    fn reads_s3s_listing() {
        let body = r#"<?xml version="1.0" encoding="UTF-8"?>
<ListMultipartUploadsResult xmlns="http://s3.amazonaws.com/doc/2006-03-01/">
  <Bucket>b</Bucket><KeyMarker></KeyMarker><UploadIdMarker></UploadIdMarker>
  <NextKeyMarker>p/objects/b</NextKeyMarker><NextUploadIdMarker>id2</NextUploadIdMarker>
  <MaxUploads>1000</MaxUploads><IsTruncated>true</IsTruncated>
  <Upload><Key>p/objects/a</Key><UploadId>id1</UploadId><Initiated>2026-01-02T03:04:05.000Z</Initiated></Upload>
  <Upload><Key>p/objects/b</Key><UploadId>id2</UploadId><Initiated>2026-01-02T03:04:06.000Z</Initiated></Upload>
</ListMultipartUploadsResult>"#;
        let listing: super::Listing = quick_xml::de::from_str(body).unwrap();
        assert_eq!(listing.upload.len(), 2);
        assert_eq!(listing.upload[1].upload_id, "id2");
        assert!(listing.is_truncated);
        assert_eq!(listing.next_key_marker.as_deref(), Some("p/objects/b"));
        let empty: super::Listing = quick_xml::de::from_str(
            "<ListMultipartUploadsResult><IsTruncated>false</IsTruncated></ListMultipartUploadsResult>",
        )
        .unwrap();
        assert!(empty.upload.is_empty());
    }
}
