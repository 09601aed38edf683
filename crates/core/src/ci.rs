//! CI/CD links: a run or model version tagged `gitlab.CI_JOB_ID` (GitLab's convention, set by
//! `gitlab-mlops` inside a CI job) is linked to that job; the project's `ci_base_url` turns the
//! ids into links (`<base>/-/jobs/<id>`, `<base>/-/pipelines/<id>`, `<base>/-/merge_requests/<iid>`).

use serde::Serialize;

pub const JOB_ID_TAG: &str = "gitlab.CI_JOB_ID";

/// A CI job as its tags describe it, with links when the project has a CI base URL.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct CiJob {
    pub id: String,
    pub url: Option<String>,
    pub pipeline_id: Option<String>,
    pub pipeline_url: Option<String>,
    pub merge_request_iid: Option<String>,
    pub merge_request_url: Option<String>,
    pub commit_sha: Option<String>,
    pub user: Option<String>,
}

/// A job id, pipeline id or merge request iid: digits only, so links cannot be steered.
pub fn validate_ci_tag(key: &str, value: &str) -> Result<(), String> {
    let numeric = matches!(
        key,
        JOB_ID_TAG | "gitlab.CI_PIPELINE_ID" | "gitlab.CI_MERGE_REQUEST_IID"
    );
    if numeric
        && (value.is_empty() || value.len() > 20 || !value.bytes().all(|b| b.is_ascii_digit()))
    {
        return Err(format!(
            "Invalid value '{value}' for tag '{key}': it must be a number (as ${}).",
            key.trim_start_matches("gitlab.")
        ));
    }
    Ok(())
}

impl CiJob {
    /// The job named by `tags`, if they have a valid `gitlab.CI_JOB_ID`. Explicit
    /// `gitlab.CI_JOB_URL` / `gitlab.CI_PIPELINE_URL` tags are used only when they are http(s).
    pub fn from_tags(tags: &[(String, String)], ci_base_url: Option<&str>) -> Option<CiJob> {
        let tag = |key: &str| {
            tags.iter()
                .find(|(k, _)| k == key)
                .map(|(_, v)| v.clone())
                .filter(|v| !v.is_empty())
        };
        let numeric = |key: &str| tag(key).filter(|v| validate_ci_tag(key, v).is_ok());
        let id = numeric(JOB_ID_TAG)?;
        let base = ci_base_url.map(|b| b.trim_end_matches('/'));
        let http = |v: String| (v.starts_with("https://") || v.starts_with("http://")).then_some(v);
        let pipeline_id = numeric("gitlab.CI_PIPELINE_ID");
        let merge_request_iid = numeric("gitlab.CI_MERGE_REQUEST_IID");
        Some(CiJob {
            url: base
                .map(|b| format!("{b}/-/jobs/{id}"))
                .or_else(|| tag("gitlab.CI_JOB_URL").and_then(http)),
            pipeline_url: match (&pipeline_id, base) {
                (Some(p), Some(b)) => Some(format!("{b}/-/pipelines/{p}")),
                _ => tag("gitlab.CI_PIPELINE_URL").and_then(http),
            },
            merge_request_url: match (&merge_request_iid, base) {
                (Some(iid), Some(b)) => Some(format!("{b}/-/merge_requests/{iid}")),
                _ => None,
            },
            id,
            pipeline_id,
            merge_request_iid,
            commit_sha: tag("gitlab.CI_COMMIT_SHA"),
            user: tag("gitlab.GITLAB_USER_LOGIN"),
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn tags(pairs: &[(&str, &str)]) -> Vec<(String, String)> {
        pairs
            .iter()
            .map(|(k, v)| (k.to_string(), v.to_string()))
            .collect()
    }

    #[test]
    fn links_come_from_the_base_url() {
        let t = tags(&[
            ("gitlab.CI_JOB_ID", "42"),
            ("gitlab.CI_PIPELINE_ID", "7"),
            ("gitlab.CI_MERGE_REQUEST_IID", "3"),
            ("gitlab.CI_COMMIT_SHA", "abc123"),
            ("gitlab.GITLAB_USER_LOGIN", "ana"),
        ]);
        let job = CiJob::from_tags(&t, Some("https://gitlab.example.com/team/vision/")).unwrap();
        assert_eq!(
            job.url.as_deref(),
            Some("https://gitlab.example.com/team/vision/-/jobs/42")
        );
        assert_eq!(
            job.pipeline_url.as_deref(),
            Some("https://gitlab.example.com/team/vision/-/pipelines/7")
        );
        assert_eq!(
            job.merge_request_url.as_deref(),
            Some("https://gitlab.example.com/team/vision/-/merge_requests/3")
        );
        assert_eq!(
            (job.commit_sha.as_deref(), job.user.as_deref()),
            (Some("abc123"), Some("ana"))
        );
    }

    #[test]
    fn no_base_url_uses_only_http_url_tags() {
        let t = tags(&[
            ("gitlab.CI_JOB_ID", "42"),
            ("gitlab.CI_JOB_URL", "javascript:alert(1)"),
        ]);
        let job = CiJob::from_tags(&t, None).unwrap();
        assert_eq!((job.id.as_str(), job.url), ("42", None));
        let t = tags(&[
            ("gitlab.CI_JOB_ID", "42"),
            ("gitlab.CI_JOB_URL", "https://ci/j/42"),
        ]);
        assert_eq!(
            CiJob::from_tags(&t, None).unwrap().url.as_deref(),
            Some("https://ci/j/42")
        );
    }

    #[test]
    fn job_ids_are_numbers() {
        assert!(
            CiJob::from_tags(&tags(&[("gitlab.CI_JOB_ID", "x/../1")]), Some("https://g")).is_none()
        );
        assert!(validate_ci_tag("gitlab.CI_JOB_ID", "12a").is_err());
        assert!(validate_ci_tag("gitlab.CI_PIPELINE_ID", "").is_err());
        assert!(validate_ci_tag("gitlab.CI_JOB_ID", "123").is_ok());
        assert!(validate_ci_tag("gitlab.CI_COMMIT_SHA", "anything").is_ok());
    }
}
