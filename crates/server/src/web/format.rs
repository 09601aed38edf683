//! What every page shares: the error page, markdown, dates.

use askama::Template;
use askama_web::WebTemplate;

#[derive(Template, WebTemplate)]
#[template(path = "error.html")]
pub struct ErrorPage {
    pub title: String,
    pub message: String,
}

/// Markdown as HTML with everything that could run removed (scripts, event attributes,
/// `javascript:` links), for `|safe` in a template.
pub fn markdown(text: &str) -> String {
    let mut html = String::new();
    pulldown_cmark::html::push_html(&mut html, pulldown_cmark::Parser::new(text));
    ammonia::clean(&html)
}

/// A time as "3 days ago" (with the exact UTC time for a tooltip).
pub struct When {
    pub relative: String,
    pub exact: String,
    pub iso: String,
}

pub fn when(ms: i64) -> When {
    let at = chrono::DateTime::from_timestamp_millis(ms).unwrap_or_default();
    let seconds = (hangar_core::now_millis() - ms) / 1000;
    let ago = |n: i64, unit: &str| {
        let plural = if n == 1 { "" } else { "s" };
        format!("{n} {unit}{plural} ago")
    };
    let relative = match seconds {
        s if s < 60 => "just now".to_owned(),
        s if s < 3600 => ago(s / 60, "minute"),
        s if s < 86_400 => ago(s / 3600, "hour"),
        s if s < 30 * 86_400 => ago(s / 86_400, "day"),
        s if s < 365 * 86_400 => ago(s / (30 * 86_400), "month"),
        s => ago(s / (365 * 86_400), "year"),
    };
    When {
        relative,
        exact: at.format("%Y-%m-%d %H:%M:%S UTC").to_string(),
        iso: at.format("%Y-%m-%dT%H:%M:%SZ").to_string(),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn markdown_keeps_formatting_and_drops_what_could_run() {
        let html = markdown(
            "**bold** <script>alert(1)</script> [x](javascript:alert(1)) <img src=x onerror=alert(1)>",
        );
        assert!(html.contains("<strong>bold</strong>"));
        assert!(!html.contains("<script"));
        assert!(!html.contains("javascript:"));
        assert!(!html.contains("onerror"));
    }

    #[test]
    fn relative_times() {
        let now = hangar_core::now_millis();
        assert_eq!(when(now).relative, "just now");
        assert_eq!(when(now - 3 * 86_400_000).relative, "3 days ago");
        assert_eq!(when(now - 3_600_000).relative, "1 hour ago");
    }
}
