//! TEMPORARY STUB (lead): replaced by the real parser.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum SearchKind { Experiments, Runs, RegisteredModels, ModelVersions, LoggedModels }
#[derive(Debug, Clone, PartialEq)]
pub enum Key { Attribute(String), Metric(String), Param(String), Tag(String), Dataset(String) }
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Comparator { Eq, Ne, Lt, Le, Gt, Ge, Like, ILike, In, NotIn, IsNull, IsNotNull }
#[derive(Debug, Clone, PartialEq)]
pub enum Value { Str(String), Num(f64), List(Vec<String>), Null }
#[derive(Debug, Clone, PartialEq)]
pub struct Clause { pub key: Key, pub comparator: Comparator, pub value: Value }
#[derive(Debug, Clone, PartialEq)]
pub struct OrderBy { pub key: Key, pub ascending: bool }
#[derive(Debug, thiserror::Error)]
#[error("{0}")]
pub struct FilterError(pub String);
pub fn parse_filter(_kind: SearchKind, _filter: &str) -> Result<Vec<Clause>, FilterError> { Ok(vec![]) }
pub fn parse_order_by(_kind: SearchKind, _o: &[String]) -> Result<Vec<OrderBy>, FilterError> { Ok(vec![]) }
