//! Request parameters as GitLab takes them: the query string merged with a JSON or
//! form-encoded body (python-gitlab sends JSON; curl users often send forms).

use super::error::{ApiError, ApiResult};
use axum::body::{Body, to_bytes};
use axum::extract::FromRequest;
use axum::http::{Request, header::CONTENT_TYPE};
use serde_json::{Map, Value};

#[derive(Debug, Default)]
pub struct ApiParams {
    map: Map<String, Value>,
}

impl<S: Send + Sync> FromRequest<S> for ApiParams {
    type Rejection = ApiError;

    async fn from_request(request: Request<Body>, _state: &S) -> ApiResult<Self> {
        let mut map = Map::new();
        if let Some(query) = request.uri().query() {
            merge_form(&mut map, query.as_bytes());
        }
        Self::check_nul(&map)?;
        let content_type = request
            .headers()
            .get(CONTENT_TYPE)
            .and_then(|v| v.to_str().ok())
            .unwrap_or_default()
            .to_ascii_lowercase();
        let bytes = to_bytes(request.into_body(), crate::router::JSON_BODY_LIMIT)
            .await
            .map_err(|_| {
                ApiError::new(
                    axum::http::StatusCode::PAYLOAD_TOO_LARGE,
                    "413 Request Entity Too Large",
                )
            })?;
        if bytes.iter().all(u8::is_ascii_whitespace) {
            return Ok(ApiParams { map });
        }
        if content_type.starts_with("application/x-www-form-urlencoded") {
            merge_form(&mut map, &bytes);
        } else {
            match serde_json::from_slice::<Value>(&bytes) {
                Ok(Value::Object(body)) => map.extend(body),
                Ok(_) => {
                    return Err(ApiError::bad_request(
                        "the request body must be a JSON object",
                    ));
                }
                Err(e) => return Err(ApiError::bad_request(format!("malformed JSON body: {e}"))),
            }
        }
        Self::check_nul(&map)?;
        Ok(ApiParams { map })
    }
}

/// Form and query values; `key[]=a&key[]=b` becomes a list, as Rails reads it.
fn merge_form(map: &mut Map<String, Value>, bytes: &[u8]) {
    for (key, value) in url::form_urlencoded::parse(bytes) {
        let value = Value::String(value.into_owned());
        if let Some(list_key) = key.strip_suffix("[]") {
            match map
                .entry(list_key.to_string())
                .or_insert_with(|| Value::Array(Vec::new()))
            {
                Value::Array(values) => values.push(value),
                other => *other = Value::Array(vec![value]),
            }
        } else {
            map.insert(key.into_owned(), value);
        }
    }
}

fn invalid(name: &str) -> ApiError {
    ApiError::bad_request(format!("{name} is invalid"))
}

impl ApiParams {
    fn get(&self, name: &str) -> Option<&Value> {
        self.map.get(name).filter(|v| !v.is_null())
    }

    /// Refuses NUL characters anywhere in the parameters: no database stores them in text.
    fn check_nul(map: &Map<String, Value>) -> ApiResult<()> {
        fn has_nul(v: &Value) -> bool {
            match v {
                Value::String(s) => s.contains('\0'),
                Value::Array(items) => items.iter().any(has_nul),
                Value::Object(fields) => fields.iter().any(|(k, v)| k.contains('\0') || has_nul(v)),
                _ => false,
            }
        }
        if map.iter().any(|(k, v)| k.contains('\0') || has_nul(v)) {
            return Err(ApiError::bad_request(
                "parameters must not contain NUL characters",
            ));
        }
        Ok(())
    }

    pub fn has(&self, name: &str) -> bool {
        self.map.contains_key(name)
    }

    pub fn string(&self, name: &str) -> ApiResult<Option<String>> {
        match self.get(name) {
            None => Ok(None),
            Some(Value::String(s)) => Ok(Some(s.clone())),
            Some(Value::Number(n)) => Ok(Some(n.to_string())),
            Some(_) => Err(invalid(name)),
        }
    }

    pub fn required_string(&self, name: &str) -> ApiResult<String> {
        self.string(name)?
            .filter(|s| !s.trim().is_empty())
            .ok_or_else(|| ApiError::bad_request(format!("{name} is missing")))
    }

    pub fn i64(&self, name: &str) -> ApiResult<Option<i64>> {
        match self.get(name) {
            None => Ok(None),
            Some(Value::Number(n)) => n.as_i64().map(Some).ok_or_else(|| invalid(name)),
            Some(Value::String(s)) if s.is_empty() => Ok(None),
            Some(Value::String(s)) => s.trim().parse().map(Some).map_err(|_| invalid(name)),
            Some(_) => Err(invalid(name)),
        }
    }

    pub fn bool(&self, name: &str) -> ApiResult<Option<bool>> {
        match self.get(name) {
            None => Ok(None),
            Some(Value::Bool(b)) => Ok(Some(*b)),
            Some(Value::String(s)) => match s.to_ascii_lowercase().as_str() {
                "true" | "1" | "yes" => Ok(Some(true)),
                "false" | "0" | "no" | "" => Ok(Some(false)),
                _ => Err(invalid(name)),
            },
            Some(_) => Err(invalid(name)),
        }
    }

    pub fn strings(&self, name: &str) -> ApiResult<Vec<String>> {
        match self.get(name) {
            None => Ok(Vec::new()),
            Some(Value::String(s)) => Ok(s
                .split(',')
                .map(|p| p.trim().to_string())
                .filter(|p| !p.is_empty())
                .collect()),
            Some(Value::Array(values)) => values
                .iter()
                .map(|v| v.as_str().map(str::to_string).ok_or_else(|| invalid(name)))
                .collect(),
            Some(_) => Err(invalid(name)),
        }
    }

    /// A `YYYY-MM-DD` date, as GitLab takes `expires_at`.
    pub fn date(&self, name: &str) -> ApiResult<Option<String>> {
        match self.string(name)?.filter(|s| !s.is_empty()) {
            None => Ok(None),
            Some(s) => chrono::NaiveDate::parse_from_str(&s, "%Y-%m-%d")
                .map(|d| Some(d.format("%Y-%m-%d").to_string()))
                .map_err(|_| ApiError::bad_request(format!("{name} is invalid: use YYYY-MM-DD"))),
        }
    }
}
