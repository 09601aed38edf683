//! MLflow request parameters as the client sends them: JSON bodies on POST/PATCH/DELETE,
//! query strings (with repeated keys) on GET, int64 as a number or a numeric string, field
//! names in snake_case or the proto's camelCase. Messages are MLflow's handler-schema text.

use super::error::{MlflowError, MlflowResult};
use axum::body::{Body, to_bytes};
use axum::extract::FromRequest;
use axum::http::{Method, Request, header::CONTENT_TYPE};
use bytes::Bytes;
use serde_json::{Map, Value};

pub const SEE_DOCS: &str = "See the API docs for more information about request parameters.";

/// The parameters of one MLflow request.
#[derive(Debug, Default)]
pub struct Params {
    map: Map<String, Value>,
    /// Query-string values arrive as lists of strings, whatever the field's type.
    from_query: bool,
    /// For a nested message, its place in the request (`metrics[0].`), for messages.
    prefix: String,
}

impl<S: Send + Sync> FromRequest<S> for Params {
    type Rejection = MlflowError;

    async fn from_request(request: Request<Body>, state: &S) -> MlflowResult<Self> {
        let method = request.method();
        if let Some(query) = request.uri().query().filter(|q| !q.is_empty())
            && (method == Method::GET || method == Method::HEAD)
        {
            return Ok(Params::from_query(query));
        }
        let body = JsonBody::from_request(request, state).await?;
        Params::from_json(&body.0)
    }
}

/// A request's JSON body, unparsed (its Content-Type checked on POST and PUT), for the
/// endpoint that reads it into typed values itself.
pub struct JsonBody(pub Bytes);

impl<S: Send + Sync> FromRequest<S> for JsonBody {
    type Rejection = MlflowError;

    async fn from_request(request: Request<Body>, _state: &S) -> MlflowResult<Self> {
        let method = request.method();
        if method == Method::POST || method == Method::PUT {
            check_content_type(request.headers().get(CONTENT_TYPE))?;
        }
        let bytes = to_bytes(request.into_body(), crate::router::JSON_BODY_LIMIT)
            .await
            .map_err(|_| {
                MlflowError::invalid(format!(
                    "Request body is too large or was cut off: the limit is {} bytes",
                    crate::router::JSON_BODY_LIMIT
                ))
            })?;
        Ok(JsonBody(bytes))
    }
}

fn check_content_type(value: Option<&axum::http::HeaderValue>) -> MlflowResult<()> {
    let Some(value) = value else {
        return Err(MlflowError::invalid(
            "Bad Request. Content-Type header is missing.",
        ));
    };
    let essence = value
        .to_str()
        .unwrap_or_default()
        .split(';')
        .next()
        .unwrap_or_default()
        .trim()
        .to_ascii_lowercase();
    if essence != "application/json" {
        return Err(MlflowError::invalid(
            "Bad Request. Content-Type must be one of ['application/json'].",
        ));
    }
    Ok(())
}

impl Params {
    pub fn from_query(query: &str) -> Params {
        let mut map = Map::new();
        for (key, value) in url::form_urlencoded::parse(query.as_bytes()) {
            let entry = map
                .entry(key.into_owned())
                .or_insert_with(|| Value::Array(Vec::new()));
            if let Value::Array(values) = entry {
                values.push(Value::String(value.into_owned()));
            }
        }
        Params {
            map,
            from_query: true,
            prefix: String::new(),
        }
    }

    pub fn from_json(bytes: &[u8]) -> MlflowResult<Params> {
        if bytes.iter().all(u8::is_ascii_whitespace) {
            return Ok(Params::default());
        }
        let mut value: Value = serde_json::from_slice(bytes)
            .map_err(|e| MlflowError::invalid(format!("Malformed JSON request body: {e}")))?;
        // Legacy clients send a JSON string that contains the JSON object.
        if let Value::String(inner) = &value {
            value = serde_json::from_str(inner)
                .map_err(|e| MlflowError::invalid(format!("Malformed JSON request body: {e}")))?;
        }
        match value {
            Value::Object(map) => Ok(Params {
                map,
                from_query: false,
                prefix: String::new(),
            }),
            _ => Err(MlflowError::invalid(
                "Malformed JSON request body: expected a JSON object",
            )),
        }
    }

    /// Where a nested message sits in the request (`metrics[0].`); empty at the top.
    pub fn prefix(&self) -> &str {
        &self.prefix
    }

    fn qualified(&self, name: &str) -> String {
        format!("{}{name}", self.prefix)
    }

    /// The raw value of `name` (or its camelCase spelling); `null` counts as absent.
    fn raw(&self, name: &str) -> MlflowResult<Option<&Value>> {
        let camel = camel_case(name);
        let snake = self.map.get(name).filter(|v| !v.is_null());
        let alias = (camel != name)
            .then(|| self.map.get(&camel).filter(|v| !v.is_null()))
            .flatten();
        match (snake, alias) {
            (Some(_), Some(_)) => Err(MlflowError::invalid(format!(
                "Request specifies both '{}' and '{}'; provide only one of them.",
                self.qualified(name),
                self.qualified(&camel)
            ))),
            (Some(v), None) | (None, Some(v)) => Ok(Some(v)),
            (None, None) => Ok(None),
        }
    }

    /// A scalar: from a query string, the first value of the key.
    fn scalar(&self, name: &str) -> MlflowResult<Option<&Value>> {
        match self.raw(name)? {
            Some(Value::Array(values)) if self.from_query => Ok(values.first()),
            other => Ok(other),
        }
    }

    pub fn string(&self, name: &str) -> MlflowResult<Option<String>> {
        match self.scalar(name)? {
            None => Ok(None),
            Some(Value::String(s)) => no_nul(&self.qualified(name), s).map(Some),
            Some(other) => Err(wrong_type(&self.qualified(name), other)),
        }
    }

    /// A required string; an empty string counts as missing, as in MLflow.
    pub fn required_string(&self, name: &str) -> MlflowResult<String> {
        match self.string(name)? {
            Some(s) if !s.is_empty() => Ok(s),
            _ => Err(missing(&self.qualified(name))),
        }
    }

    pub fn i64(&self, name: &str) -> MlflowResult<Option<i64>> {
        match self.scalar(name)? {
            None => Ok(None),
            Some(v) => as_i64(v)
                .map(Some)
                .ok_or_else(|| wrong_type(&self.qualified(name), v)),
        }
    }

    /// A required int64.
    pub fn required_i64(&self, name: &str) -> MlflowResult<i64> {
        self.i64(name)?
            .ok_or_else(|| missing(&self.qualified(name)))
    }

    /// A double: a number, a numeric string, or `"NaN"`, `"Infinity"`, `"-Infinity"`.
    pub fn f64(&self, name: &str) -> MlflowResult<Option<f64>> {
        match self.scalar(name)? {
            None => Ok(None),
            Some(Value::Number(n)) => Ok(n.as_f64()),
            Some(v @ Value::String(s)) => match s.trim() {
                "NaN" | "nan" => Ok(Some(f64::NAN)),
                "Infinity" | "inf" => Ok(Some(f64::INFINITY)),
                "-Infinity" | "-inf" => Ok(Some(f64::NEG_INFINITY)),
                other => other
                    .parse::<f64>()
                    .ok()
                    .filter(|f| f.is_finite())
                    .map(Some)
                    .ok_or_else(|| wrong_type(&self.qualified(name), v)),
            },
            Some(other) => Err(wrong_type(&self.qualified(name), other)),
        }
    }

    /// Moves the value of `name` (or its camelCase spelling) out, checked as `raw` checks it:
    /// a nested message is read once, and copying a 1000-metric batch would cost more than
    /// reading it.
    fn take(&mut self, name: &str) -> MlflowResult<Option<Value>> {
        if self.raw(name)?.is_none() {
            return Ok(None);
        }
        let value = match self.map.remove(name) {
            Some(v) if !v.is_null() => Some(v),
            _ => self.map.remove(&camel_case(name)),
        };
        Ok(value)
    }

    /// A repeated nested message, as parameters of their own (moved out of these).
    pub fn take_messages(&mut self, name: &str) -> MlflowResult<Vec<Params>> {
        let items = match self.take(name)? {
            None => return Ok(Vec::new()),
            Some(Value::Array(items)) if !self.from_query => items,
            Some(other) => return Err(wrong_type(&self.qualified(name), &other)),
        };
        items
            .into_iter()
            .enumerate()
            .map(|(i, item)| match item {
                Value::Object(map) => Ok(Params {
                    map,
                    from_query: false,
                    prefix: format!("{}{name}[{i}].", self.prefix),
                }),
                other => Err(wrong_type(&format!("{}{name}[{i}]", self.prefix), &other)),
            })
            .collect()
    }

    /// A nested message, as parameters of its own (moved out of these).
    pub fn take_message(&mut self, name: &str) -> MlflowResult<Option<Params>> {
        match self.take(name)? {
            None => Ok(None),
            Some(Value::Object(map)) if !self.from_query => Ok(Some(Params {
                map,
                from_query: false,
                prefix: format!("{}{name}.", self.prefix),
            })),
            Some(other) => Err(wrong_type(&self.qualified(name), &other)),
        }
    }

    pub fn bool(&self, name: &str) -> MlflowResult<Option<bool>> {
        match self.scalar(name)? {
            None => Ok(None),
            Some(Value::Bool(b)) => Ok(Some(*b)),
            Some(Value::String(s)) if s.eq_ignore_ascii_case("true") => Ok(Some(true)),
            Some(Value::String(s)) if s.eq_ignore_ascii_case("false") => Ok(Some(false)),
            Some(Value::String(s)) => Err(MlflowError::invalid(format!(
                "Invalid boolean value: {s}, must be 'true' or 'false'."
            ))),
            Some(other) => Err(wrong_type(&self.qualified(name), other)),
        }
    }

    /// A repeated string field (`?k=a&k=b` or a JSON list).
    pub fn strings(&self, name: &str) -> MlflowResult<Vec<String>> {
        match self.raw(name)? {
            None => Ok(Vec::new()),
            Some(Value::String(s)) => Ok(vec![no_nul(&self.qualified(name), s)?]),
            Some(Value::Array(values)) => values
                .iter()
                .map(|v| match v {
                    Value::String(s) => no_nul(&self.qualified(name), s),
                    other => Err(wrong_type(&self.qualified(name), other)),
                })
                .collect(),
            Some(other) => Err(wrong_type(&self.qualified(name), other)),
        }
    }

    /// A repeated `{key, value}` message such as `tags`; `value` may be absent (empty).
    pub fn key_values(&self, name: &str) -> MlflowResult<Vec<(String, String)>> {
        let items = match self.raw(name)? {
            None => return Ok(Vec::new()),
            Some(Value::Array(items)) if !self.from_query => items,
            Some(other) => return Err(wrong_type(&self.qualified(name), other)),
        };
        items
            .iter()
            .enumerate()
            .map(|(i, item)| {
                let Value::Object(fields) = item else {
                    return Err(wrong_type(&self.qualified(name), item));
                };
                let field = |f: &str| -> MlflowResult<Option<String>> {
                    match fields.get(f) {
                        None | Some(Value::Null) => Ok(None),
                        Some(Value::String(s)) => {
                            no_nul(&format!("{}{name}[{i}].{f}", self.prefix), s).map(Some)
                        }
                        Some(other) => Err(wrong_type(
                            &format!("{}{name}[{i}].{f}", self.prefix),
                            other,
                        )),
                    }
                };
                let key = field("key")?
                    .filter(|k| !k.is_empty())
                    .ok_or_else(|| missing(&format!("{}{name}[{i}].key", self.prefix)))?;
                Ok((key, field("value")?.unwrap_or_default()))
            })
            .collect()
    }
}

/// One check of an MLflow handler's schema (`_assert_required`, `_assert_string`, …).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Check {
    Required,
    Str,
    Int,
    Float,
    Bool,
    /// A repeated field.
    Array,
}

/// An MLflow handler's schema: its fields in the order the handler lists them, each with its
/// checks in order.
pub type Schema = &'static [(&'static str, &'static [Check])];

impl Params {
    /// Checks the request against an MLflow handler's schema, field by field in the schema's
    /// order, so that a request with several bad fields is refused for the field MLflow names
    /// (`run_id` before `value`). An absent field fails only `Required`; `run_id` may be given
    /// as the older `run_uuid`. The reads that follow repeat these checks harmlessly.
    pub fn check(&self, schema: Schema) -> MlflowResult<()> {
        // MLflow runs the type checks only when the body did not parse into its message,
        // i.e. when some field has the wrong type; an absent field then fails its first
        // check, which may be a type check ("Invalid value null …").
        let mut types_checked = false;
        for (name, checks) in schema {
            if self.present(name)?.is_some() && self.check_field(name, checks, false).is_err() {
                types_checked = true;
            }
        }
        for (name, checks) in schema {
            self.check_field(name, checks, types_checked)?;
        }
        Ok(())
    }

    /// `(field, value)` of `name` as the request gives it; `run_id` may be the older `run_uuid`.
    fn present(&self, name: &'static str) -> MlflowResult<Option<(&'static str, &Value)>> {
        Ok(match self.raw(name)? {
            Some(value) => Some((name, value)),
            None if name == "run_id" => self.raw("run_uuid")?.map(|v| ("run_uuid", v)),
            None => None,
        })
    }

    fn check_field(
        &self,
        name: &'static str,
        checks: &[Check],
        types_checked: bool,
    ) -> MlflowResult<()> {
        let Some((field, value)) = self.present(name)? else {
            if !checks.contains(&Check::Required) {
                return Ok(());
            }
            let first_is_type = matches!(
                checks.first(),
                Some(Check::Str | Check::Bool | Check::Array)
            );
            if types_checked && first_is_type {
                return Err(wrong_type(&self.qualified(name), &Value::Null));
            }
            return Err(missing(&self.qualified(name)));
        };
        for check in checks {
            match check {
                Check::Required => {
                    let empty = match value {
                        Value::String(s) => s.is_empty(),
                        Value::Array(items) if self.from_query => {
                            items.first().is_none_or(|v| v == "")
                        }
                        _ => false,
                    };
                    if empty {
                        return Err(missing(&self.qualified(name)));
                    }
                }
                Check::Str => drop(self.string(field)?),
                Check::Int => drop(self.i64(field)?),
                Check::Float => drop(self.f64(field)?),
                Check::Bool => drop(self.bool(field)?),
                Check::Array => {
                    if !matches!(value, Value::Array(_)) {
                        return Err(wrong_type(&self.qualified(name), value));
                    }
                }
            }
        }
        Ok(())
    }
}

/// No database stores U+0000 in text (PostgreSQL refuses it), and no name needs it.
fn no_nul(name: &str, s: &str) -> MlflowResult<String> {
    if s.contains('\0') {
        return Err(MlflowError::invalid(format!(
            "Invalid value for parameter '{name}' supplied: NUL characters are not allowed."
        )));
    }
    Ok(s.to_string())
}

fn as_i64(v: &Value) -> Option<i64> {
    match v {
        Value::Number(n) => n.as_i64().or_else(|| {
            n.as_f64()
                .filter(|f| f.fract() == 0.0 && f.abs() < 9.2e18)
                .map(|f| f as i64)
        }),
        Value::String(s) => s.trim().parse().ok(),
        _ => None,
    }
}

fn camel_case(name: &str) -> String {
    let mut out = String::with_capacity(name.len());
    let mut upper = false;
    for c in name.chars() {
        if c == '_' {
            upper = true;
        } else if upper {
            out.push(c.to_ascii_uppercase());
            upper = false;
        } else {
            out.push(c);
        }
    }
    out
}

pub fn missing(name: &str) -> MlflowError {
    MlflowError::invalid(format!(
        "Missing value for required parameter '{name}'. {SEE_DOCS}"
    ))
}

/// MLflow's wrong-type message: the value as compact JSON and its Python type name.
pub fn wrong_type(name: &str, value: &Value) -> MlflowError {
    let python_type = match value {
        Value::Null => "NoneType",
        Value::Bool(_) => "bool",
        Value::Number(n) if n.is_f64() => "float",
        Value::Number(_) => "int",
        Value::String(_) => "str",
        Value::Array(_) => "list",
        Value::Object(_) => "dict",
    };
    let mut rendered = serde_json::to_string(value).unwrap_or_default();
    if rendered.len() > 200 {
        let cut = (0..=200)
            .rev()
            .find(|i| rendered.is_char_boundary(*i))
            .unwrap_or(0);
        rendered.truncate(cut);
        rendered.push('…');
    }
    MlflowError::invalid(format!(
        "Invalid value {rendered} for parameter '{name}' supplied:  Hint: Value was of type '{python_type}'. {SEE_DOCS}"
    ))
}

/// The offset a `page_token` names (0 without one), or MLflow's error.
pub fn page_offset(params: &Params) -> MlflowResult<i64> {
    let offset = hangar_core::page::decode(params.string("page_token")?.as_deref())
        .map_err(MlflowError::invalid)?;
    Ok(offset as i64)
}

/// A page answer from rows fetched with one row more than `limit`: the extra row only says
/// that another page follows. Empty lists and the last page's token are omitted, as MLflow
/// does (the client stops on an absent token). Rows are serialized as the answer is
/// written, so a page of 25,000 metric points never exists as a tree of JSON values.
pub fn page_body<T: Wire>(mut rows: Vec<T>, limit: i64, offset: i64, key: &'static str) -> Page<T> {
    let mut next_page_token = None;
    if rows.len() as i64 > limit {
        rows.truncate(limit as usize);
        next_page_token = Some(hangar_core::page::encode((offset + limit) as u64));
    }
    Page {
        rows,
        key,
        next_page_token,
    }
}

/// How a stored entity is written in an MLflow answer.
pub trait Wire {
    fn wire<S: serde::Serializer>(&self, serializer: S) -> Result<S::Ok, S::Error>;
}

pub struct Page<T> {
    rows: Vec<T>,
    key: &'static str,
    next_page_token: Option<String>,
}

impl<T: Wire> serde::Serialize for Page<T> {
    fn serialize<S: serde::Serializer>(&self, serializer: S) -> Result<S::Ok, S::Error> {
        use serde::ser::SerializeMap;
        let mut map = serializer.serialize_map(None)?;
        if !self.rows.is_empty() {
            map.serialize_entry(self.key, &WireList(&self.rows))?;
        }
        if let Some(token) = &self.next_page_token {
            map.serialize_entry("next_page_token", token)?;
        }
        map.end()
    }
}

/// A list of entities, as MLflow writes them.
pub struct WireList<'a, T>(pub &'a [T]);

impl<T: Wire> serde::Serialize for WireList<'_, T> {
    fn serialize<S: serde::Serializer>(&self, serializer: S) -> Result<S::Ok, S::Error> {
        struct One<'a, T>(&'a T);
        impl<T: Wire> serde::Serialize for One<'_, T> {
            fn serialize<S: serde::Serializer>(&self, serializer: S) -> Result<S::Ok, S::Error> {
                self.0.wire(serializer)
            }
        }
        serializer.collect_seq(self.0.iter().map(One))
    }
}

/// `max_results` with MLflow's bounds: positive, at most `cap`; `default` when absent.
pub fn max_results(params: &Params, default: i64, cap: i64) -> MlflowResult<i64> {
    let value = params.i64("max_results")?.unwrap_or(default);
    if value <= 0 {
        return Err(MlflowError::invalid(format!(
            "Invalid value {value} for parameter 'max_results' supplied. It must be a positive integer"
        )));
    }
    if value > cap {
        return Err(MlflowError::invalid(format!(
            "Invalid value {value} for parameter 'max_results' supplied. It must be at most {cap}"
        )));
    }
    Ok(value)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn query_and_json_agree() {
        let q = Params::from_query("experiment_id=5&order_by=a&order_by=b&max_results=10");
        assert_eq!(q.string("experiment_id").unwrap().as_deref(), Some("5"));
        assert_eq!(q.i64("max_results").unwrap(), Some(10));
        assert_eq!(q.strings("order_by").unwrap(), vec!["a", "b"]);
        let j = Params::from_json(br#"{"experimentId":"5","max_results":"10"}"#).unwrap();
        assert_eq!(j.string("experiment_id").unwrap().as_deref(), Some("5"));
        assert_eq!(j.i64("max_results").unwrap(), Some(10));
    }

    #[test]
    fn errors_use_mlflow_text() {
        let j = Params::from_json(br#"{"name":123,"a_b":1,"aB":2}"#).unwrap();
        let e = j.string("name").unwrap_err();
        assert!(e.message.contains(
            "Invalid value 123 for parameter 'name' supplied:  Hint: Value was of type 'int'"
        ));
        assert!(
            j.i64("a_b")
                .unwrap_err()
                .message
                .contains("provide only one")
        );
        assert!(
            j.required_string("missing")
                .unwrap_err()
                .message
                .starts_with("Missing value for required parameter 'missing'.")
        );
        assert!(Params::from_json(b"{\"name\":").is_err());
        assert!(Params::from_json(b"[1]").is_err());
        assert!(
            Params::from_json(b"")
                .unwrap()
                .string("x")
                .unwrap()
                .is_none()
        );
    }
}
