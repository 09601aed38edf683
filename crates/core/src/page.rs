//! Page tokens as MLflow's servers write them: `base64(json.dumps({"offset": N}))`.
//! The client treats them as opaque and echoes `next_page_token` back as `page_token`.

use base64::Engine;
use base64::engine::general_purpose::STANDARD;

/// Encodes the offset of the next page.
pub fn encode(offset: u64) -> String {
    STANDARD.encode(format!("{{\"offset\": {offset}}}"))
}

/// Decodes a page token; empty means the first page. Errors carry MLflow's messages.
pub fn decode(token: Option<&str>) -> Result<u64, String> {
    let Some(token) = token.filter(|t| !t.is_empty()) else {
        return Ok(0);
    };
    let bytes = STANDARD
        .decode(token.trim())
        .map_err(|_| "Invalid page token, could not base64-decode".to_string())?;
    let value: serde_json::Value = serde_json::from_slice(&bytes).map_err(|_| {
        "Invalid page token, decoded value=… could not be parsed as JSON".to_string()
    })?;
    value
        .get("offset")
        .and_then(serde_json::Value::as_u64)
        .filter(|o| *o <= i64::MAX as u64)
        .ok_or_else(|| "Invalid page token, missing or invalid 'offset'".to_string())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn round_trip_and_mlflow_format() {
        assert_eq!(encode(1), "eyJvZmZzZXQiOiAxfQ==");
        assert_eq!(decode(Some(&encode(42))), Ok(42));
        assert_eq!(decode(None), Ok(0));
        assert_eq!(decode(Some("")), Ok(0));
        assert!(decode(Some("!!!")).is_err());
        assert!(decode(Some(&STANDARD.encode("{\"offset\": -1}"))).is_err());
        assert!(decode(Some(&STANDARD.encode("[]"))).is_err());
    }
}
