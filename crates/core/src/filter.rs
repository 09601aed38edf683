//! MLflow search `filter` strings and `order_by` clauses, parsed without I/O.
//!
//! The grammar and the error texts follow MLflow 3.18's `mlflow/utils/search_utils.py`
//! (wire reference §4): clauses `<identifier> <comparator> <value>` (or
//! `<identifier> IS [NOT] NULL`) joined only by `AND`, identifiers `<entity>.<key>` or a
//! bare attribute key, and per-search-kind rules about which keys, comparators and value
//! types are allowed.
//!
//! Parsing happens in two phases, as in MLflow: `lexer` (with `list` for `IN (…)` lists)
//! checks the structure of the whole string (an error there reads `Invalid clause(s) in
//! filter string: …`), then `ident` and `validate` check each clause against the rules of
//! its [`SearchKind`]. `order_by` entries are handled by [`parse_order_by`].
//!
//! Inputs come from the public HTTP API, so the parser is iterative (no recursion), indexes
//! strings only on char boundaries, and bounds its work: see [`MAX_FILTER_BYTES`],
//! [`MAX_CLAUSES`], [`MAX_ORDER_BY_CLAUSES`] and [`MAX_ORDER_BY_BYTES`].
//!
//! String values are returned verbatim between their quotes, exactly as MLflow does
//! (`'it''s'` yields `it''s`); only items of an `IN (...)` list are unescaped, because MLflow
//! reads those with Python's `ast.literal_eval`.

mod ident;
mod lexer;
mod list;
mod order_by;
mod validate;

use std::fmt;

pub use order_by::{parse_order_by, validate_logged_model_order_field};

/// Longest filter string accepted, in bytes.
pub const MAX_FILTER_BYTES: usize = 64 * 1024;
/// Most clauses (comparisons joined by `AND`) in one filter.
pub const MAX_CLAUSES: usize = 1000;
/// Most `order_by` entries in one request.
pub const MAX_ORDER_BY_CLAUSES: usize = 100;
/// Longest single `order_by` entry accepted, in bytes.
pub const MAX_ORDER_BY_BYTES: usize = 1024;

/// Which search endpoint a filter or `order_by` belongs to; each has its own rules.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum SearchKind {
    Experiments,
    Runs,
    RegisteredModels,
    ModelVersions,
    LoggedModels,
}

/// The left-hand side of a clause, or an ordering key.
///
/// Attribute names are normalised: runs `created`/`Created` → `start_time` and the
/// `run name` spellings → `run_name`; logged models `creation_time` → `creation_timestamp`
/// and `last_updated_time` → `last_updated_timestamp`. Model versions keep `source_path`
/// (the store maps it to the `source` column).
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub enum Key {
    Attribute(String),
    Metric(String),
    Param(String),
    Tag(String),
    /// Runs only: `name`, `digest` or `context` of a dataset input.
    Dataset(String),
}

impl Key {
    /// The key name without its entity.
    pub fn name(&self) -> &str {
        match self {
            Key::Attribute(k) | Key::Metric(k) | Key::Param(k) | Key::Tag(k) | Key::Dataset(k) => k,
        }
    }
}

/// A comparison operator.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum Comparator {
    Eq,
    Ne,
    Lt,
    Le,
    Gt,
    Ge,
    /// Case-sensitive SQL `LIKE` (`%` and `_` wildcards).
    Like,
    /// Case-insensitive `LIKE`.
    ILike,
    In,
    NotIn,
    IsNull,
    IsNotNull,
}

impl Comparator {
    /// The operator as MLflow spells it in messages (`=`, `!=`, `LIKE`, `NOT IN`, …).
    pub fn as_str(self) -> &'static str {
        match self {
            Comparator::Eq => "=",
            Comparator::Ne => "!=",
            Comparator::Lt => "<",
            Comparator::Le => "<=",
            Comparator::Gt => ">",
            Comparator::Ge => ">=",
            Comparator::Like => "LIKE",
            Comparator::ILike => "ILIKE",
            Comparator::In => "IN",
            Comparator::NotIn => "NOT IN",
            Comparator::IsNull => "IS NULL",
            Comparator::IsNotNull => "IS NOT NULL",
        }
    }
}

impl fmt::Display for Comparator {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

/// The right-hand side of a clause.
#[derive(Debug, Clone, PartialEq)]
pub enum Value {
    /// A quoted string, verbatim between its quotes.
    Str(String),
    /// A numeric literal (metrics, timestamps, `version_number`).
    Num(f64),
    /// The non-empty list of an `IN` / `NOT IN` comparison.
    List(Vec<String>),
    /// The operand of `IS NULL` / `IS NOT NULL`.
    Null,
}

/// One `AND`-ed comparison of a filter.
#[derive(Debug, Clone, PartialEq)]
pub struct Clause {
    pub key: Key,
    pub comparator: Comparator,
    pub value: Value,
}

/// One `order_by` entry.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct OrderBy {
    pub key: Key,
    pub ascending: bool,
}

/// A filter or `order_by` the client must fix; the message is MLflow's where MLflow has one.
/// The HTTP layer reports it as `INVALID_PARAMETER_VALUE` (400).
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("{0}")]
pub struct FilterError(pub String);

/// Parses and validates a search filter for `kind`. An empty or blank filter gives no clauses.
pub fn parse_filter(kind: SearchKind, filter: &str) -> Result<Vec<Clause>, FilterError> {
    if filter.len() > MAX_FILTER_BYTES {
        return Err(FilterError(format!(
            "Search filter is too long: {} bytes (at most {MAX_FILTER_BYTES} are allowed).",
            filter.len()
        )));
    }
    if filter.trim().is_empty() {
        return Ok(Vec::new());
    }
    let raw = lexer::parse_statement(kind, filter)?;
    raw.into_iter()
        .map(|clause| validate::clause(kind, clause))
        .collect()
}

/// Most characters of user input echoed back in one error message.
const ECHO_CHARS: usize = 200;

/// `s`, cut to [`ECHO_CHARS`] characters for an error message.
fn clip(s: &str) -> String {
    match s.char_indices().nth(ECHO_CHARS) {
        Some((at, _)) => format!("{}...", &s[..at]),
        None => s.to_owned(),
    }
}

/// Python's `repr` of a set of strings, in the given order: `{'a', 'b'}`.
fn py_set<T: AsRef<str>>(items: &[T]) -> String {
    let inner: Vec<String> = items.iter().map(|s| format!("'{}'", s.as_ref())).collect();
    format!("{{{}}}", inner.join(", "))
}

/// Python's `repr` of a list of strings: `['a', 'b']`.
fn py_list<T: AsRef<str>>(items: &[T]) -> String {
    let inner: Vec<String> = items.iter().map(|s| format!("'{}'", s.as_ref())).collect();
    format!("[{}]", inner.join(", "))
}
