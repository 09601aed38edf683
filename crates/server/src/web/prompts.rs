//! The prompt registry pages (MLflow 3's prompts, kept as registered models tagged
//! `mlflow.prompt.is_prompt`): a project's prompts, and a prompt's page with each version's
//! template and a line diff between two versions.

use super::PageError;
use super::format::{When, markdown, when};
use super::models::{Chrome, project};
use super::session::WebCtx;
use askama::Template;
use askama_web::WebTemplate;
use axum::extract::{Path, Query};
use hangar_core::registry::{self, PROMPT_RESPONSE_FORMAT_TAG, PROMPT_TEXT_TAG, PROMPT_TYPE_TAG};
use hangar_store::model::{ModelOrder, ModelVersion, Paging, RegistryKind};
use serde::Deserialize;

const PER_PAGE: i64 = 50;
/// Versions a prompt's page shows.
const VERSIONS_SHOWN: i64 = 200;

struct PromptRow {
    id: i64,
    name: String,
    latest: Option<String>,
    versions: i64,
    updated: When,
}

#[derive(Template, WebTemplate)]
#[template(path = "prompts.html")]
struct PromptsPage {
    chrome: Chrome,
    prompts: Vec<PromptRow>,
    search: String,
    page: i64,
    pages: i64,
    total: i64,
}

#[derive(Deserialize)]
pub struct IndexQuery {
    search: Option<String>,
    page: Option<i64>,
}

pub async fn index(
    ctx: WebCtx,
    Path((namespace, path)): Path<(String, String)>,
    Query(query): Query<IndexQuery>,
) -> Result<impl axum::response::IntoResponse, PageError> {
    let grant = project(&ctx, &namespace, &path).await?;
    let page = query.page.unwrap_or(1).clamp(1, 1_000_000);
    let search = query.search.unwrap_or_default().trim().to_owned();
    let result = ctx
        .state
        .store
        .list_registered_models(
            grant.project.id,
            RegistryKind::Prompts,
            Some(search.as_str()).filter(|s| !s.is_empty()),
            ModelOrder::NameAsc,
            Paging {
                offset: (page - 1) * PER_PAGE,
                limit: PER_PAGE,
            },
        )
        .await?;
    Ok(PromptsPage {
        prompts: result
            .items
            .iter()
            .map(|m| PromptRow {
                id: m.id,
                name: m.name.clone(),
                latest: m.latest.as_ref().map(|v| v.number.to_string()),
                versions: m.version_count,
                updated: when(m.last_updated_time),
            })
            .collect(),
        total: result.total,
        pages: ((result.total + PER_PAGE - 1) / PER_PAGE).max(1),
        page,
        search,
        chrome: Chrome::new(&ctx, &grant),
    })
}

/// One version of a prompt as its page shows it.
struct VersionView {
    number: i64,
    semver: String,
    commit_message: String,
    author: String,
    created: When,
    aliases: Vec<String>,
    /// `text` or `chat`.
    kind: String,
    /// The template as written (a chat template as indented JSON, one message per block).
    template: String,
    response_format: Option<String>,
    tags: Vec<(String, String)>,
}

/// A line of the diff: `' '` kept, `'-'` only in the older version, `'+'` only in the newer.
struct DiffLine {
    sign: char,
    text: String,
}

#[derive(Template, WebTemplate)]
#[template(path = "prompt.html")]
struct PromptPage {
    chrome: Chrome,
    name: String,
    description_html: String,
    tags: Vec<(String, String)>,
    aliases: Vec<(String, i64)>,
    versions: Vec<VersionView>,
    /// The two versions compared (older, newer) and their diff.
    diff: Option<(i64, i64, Vec<DiffLine>)>,
    mlflow_uri: String,
}

#[derive(Deserialize)]
pub struct PromptQuery {
    from: Option<i64>,
    to: Option<i64>,
}

/// The value of `key` among `tags`.
fn tag<'t>(tags: &'t [(String, String)], key: &str) -> Option<&'t str> {
    tags.iter().find(|(k, _)| k == key).map(|(_, v)| v.as_str())
}

/// Indented JSON when `text` is JSON (chat templates, response formats), else `text`.
fn readable(text: &str) -> String {
    serde_json::from_str::<serde_json::Value>(text)
        .ok()
        .filter(|v| v.is_array() || v.is_object())
        .and_then(|v| serde_json::to_string_pretty(&v).ok())
        .unwrap_or_else(|| text.to_owned())
}

fn view(version: &ModelVersion) -> VersionView {
    let tags = &version.tags;
    let kind = tag(tags, PROMPT_TYPE_TAG).unwrap_or("text").to_owned();
    let raw = tag(tags, PROMPT_TEXT_TAG).unwrap_or_default();
    VersionView {
        number: version.number,
        semver: version.semver.clone(),
        commit_message: version.description.clone(),
        author: version.user_id.clone(),
        created: when(version.creation_time),
        aliases: version.aliases.clone(),
        template: if kind == "chat" {
            readable(raw)
        } else {
            raw.to_owned()
        },
        kind,
        response_format: tag(tags, PROMPT_RESPONSE_FORMAT_TAG).map(readable),
        tags: tags
            .iter()
            .filter(|(k, _)| !registry::is_prompt_tag_key(k) && k != registry::SEMVER_TAG)
            .cloned()
            .collect(),
    }
}

/// The lines of `old` and `new` with what changed between them.
fn diff_lines(old: &str, new: &str) -> Vec<DiffLine> {
    similar::TextDiff::from_lines(old, new)
        .iter_all_changes()
        .map(|change| DiffLine {
            sign: match change.tag() {
                similar::ChangeTag::Equal => ' ',
                similar::ChangeTag::Delete => '-',
                similar::ChangeTag::Insert => '+',
            },
            text: change.value().trim_end_matches('\n').to_owned(),
        })
        .collect()
}

pub async fn show(
    ctx: WebCtx,
    Path((namespace, path, prompt_id)): Path<(String, String, String)>,
    Query(query): Query<PromptQuery>,
) -> Result<impl axum::response::IntoResponse, PageError> {
    let grant = project(&ctx, &namespace, &path).await?;
    let prompt_id: i64 = prompt_id.parse().map_err(|_| PageError::NotFound)?;
    let store = &ctx.state.store;
    let prompt = store
        .get_registered_model_by_id(grant.project.id, prompt_id)
        .await?
        .filter(|m| registry::is_prompt(&m.tags))
        .ok_or(PageError::NotFound)?;
    let listed = store
        .list_model_versions(
            prompt.id,
            None,
            Paging {
                offset: 0,
                limit: VERSIONS_SHOWN,
            },
        )
        .await?;
    let versions: Vec<VersionView> = listed.items.iter().map(view).collect();
    // By default the newest version against the one before it.
    let to = query.to.or(versions.first().map(|v| v.number));
    let from = query
        .from
        .or_else(|| versions.get(1).map(|v| v.number))
        .or(to);
    let find = |n: Option<i64>| n.and_then(|n| versions.iter().find(|v| v.number == n));
    let diff = match (find(from), find(to)) {
        (Some(older), Some(newer)) => Some((
            older.number,
            newer.number,
            diff_lines(&older.template, &newer.template),
        )),
        _ => None,
    };
    Ok(PromptPage {
        chrome: Chrome::new(&ctx, &grant),
        mlflow_uri: format!("prompts:/{}@latest", prompt.name),
        description_html: markdown(&prompt.description),
        tags: prompt
            .tags
            .iter()
            .filter(|(k, _)| !registry::is_prompt_tag_key(k) && !k.starts_with("_mlflow_"))
            .cloned()
            .collect(),
        aliases: prompt.aliases.clone(),
        name: prompt.name,
        versions,
        diff,
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_diff_marks_removed_and_added_lines() {
        let lines = diff_lines("Hello {{name}}!\nBye\n", "Hi {{name}}!\nBye\n");
        let shown: Vec<(char, &str)> = lines.iter().map(|l| (l.sign, l.text.as_str())).collect();
        assert_eq!(
            shown,
            vec![
                ('-', "Hello {{name}}!"),
                ('+', "Hi {{name}}!"),
                (' ', "Bye")
            ]
        );
    }

    #[test]
    fn chat_templates_read_as_indented_json() {
        let chat = r#"[{"role":"user","content":"{{q}}"}]"#;
        assert!(readable(chat).contains("\n    \"role\": \"user\""));
        assert_eq!(readable("plain {{x}}"), "plain {{x}}");
    }
}
