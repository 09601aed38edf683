//! Structural scan of a filter: `clause (AND clause)*` with
//! `clause = identifier comparator value | identifier IS [NOT] NULL`.
//!
//! Mirrors what `sqlparse` accepts for MLflow: identifiers are dot-separated parts, each a
//! word, a ``` `backticked` ``` name or a `"double-quoted"` name; values are `'…'` / `"…"`
//! strings (with `''` and backslash escapes, kept verbatim), numbers, bare words (rejected
//! later with MLflow's "not quoted" message) or a parenthesised list. The scanner moves a
//! byte cursor over whole chars only and never recurses.

use super::list::scan_list;
use super::{Comparator, FilterError, MAX_CLAUSES, SearchKind, clip};

/// A clause whose structure is valid but whose meaning is not checked yet.
pub(super) struct RawClause {
    /// The identifier exactly as written, e.g. ``tags.`a b` `` or `metrics.acc`.
    pub ident: String,
    pub op: RawOp,
    pub value: RawValue,
}

pub(super) enum RawOp {
    Known(Comparator),
    /// An operator MLflow lexes but never accepts (`==`, `<>`, `~`, `NOT LIKE`, …), upper-cased.
    Unknown(String),
}

impl RawOp {
    pub fn text(&self) -> &str {
        match self {
            RawOp::Known(c) => c.as_str(),
            RawOp::Unknown(s) => s,
        }
    }
}

pub(super) enum RawValue {
    /// No operand (`IS NULL`, `IS NOT NULL`).
    None,
    /// A quoted string: `inner` is the text between the quotes, `raw` includes them.
    Quoted {
        inner: String,
        raw: String,
    },
    Number {
        value: f64,
        raw: String,
    },
    /// An unquoted word or identifier in value position.
    Word(String),
    /// A parenthesised list; its content is judged only if the key accepts lists.
    List {
        items: Result<Vec<String>, ListError>,
        raw: String,
    },
}

impl RawValue {
    /// The operand as written, for error messages.
    pub fn raw(&self) -> &str {
        match self {
            RawValue::None => "",
            RawValue::Quoted { raw, .. }
            | RawValue::Number { raw, .. }
            | RawValue::Word(raw)
            | RawValue::List { raw, .. } => raw,
        }
    }
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(super) enum ListError {
    Empty,
    NotStrings,
    IllFormed,
}

/// A character of an unquoted word (`\w` in Python's regular expressions).
pub(super) fn is_word(c: char) -> bool {
    c.is_alphanumeric() || c == '_'
}

fn is_op_char(c: char) -> bool {
    matches!(c, '<' | '>' | '=' | '~' | '!')
}

/// Words that cannot be a bare identifier at the start of a clause.
const RESERVED: [&str; 8] = ["AND", "OR", "NOT", "IN", "IS", "NULL", "LIKE", "ILIKE"];

/// A byte position in a string that always sits on a char boundary.
pub(super) struct Cursor<'a> {
    pub s: &'a str,
    pub pos: usize,
}

impl<'a> Cursor<'a> {
    pub fn new(s: &'a str) -> Self {
        Cursor { s, pos: 0 }
    }

    pub fn peek(&self) -> Option<char> {
        self.s[self.pos..].chars().next()
    }

    pub fn at_end(&self) -> bool {
        self.pos >= self.s.len()
    }

    pub fn skip_ws(&mut self) {
        self.eat_while(char::is_whitespace);
    }

    pub fn eat_while(&mut self, f: impl Fn(char) -> bool) -> &'a str {
        let start = self.pos;
        let rest = &self.s[start..];
        let len = rest.find(|c: char| !f(c)).unwrap_or(rest.len());
        self.pos += len;
        &self.s[start..self.pos]
    }

    /// Scans `part ('.' part)*` with no whitespace. `Ok(None)` if no identifier starts here;
    /// `Err(end)` for an unterminated quote or a dangling dot, `end` bounding the bad text.
    pub fn scan_ident(&mut self) -> Result<Option<&'a str>, usize> {
        let start = self.pos;
        loop {
            match self.peek() {
                Some(c) if is_word(c) => {
                    self.eat_while(is_word);
                }
                Some(q @ ('`' | '"')) => match scan_quoted(self.s, self.pos, q) {
                    Some(end) => self.pos = end,
                    None => return Err(self.s.len()),
                },
                _ if self.pos == start => return Ok(None),
                _ => return Err(self.pos),
            }
            if self.peek() == Some('.') {
                self.pos += 1;
            } else {
                return Ok(Some(&self.s[start..self.pos]));
            }
        }
    }
}

/// End (exclusive) of the SQL string literal opened by the quote `q` at `start`.
/// Inside, `qq` stands for one quote and (except in backticks) a backslash escapes the next
/// char; if that reading never closes, the literal is re-read with backslashes as plain
/// text, as `sqlparse`'s backtracking regex does (so `'C:\'` is a string).
pub(super) fn scan_quoted(s: &str, start: usize, q: char) -> Option<usize> {
    let escapes = q != '`';
    scan_sql_string(s, start, q, escapes).or_else(|| {
        if escapes {
            scan_sql_string(s, start, q, false)
        } else {
            None
        }
    })
}

fn scan_sql_string(s: &str, start: usize, q: char, escapes: bool) -> Option<usize> {
    let body = start + q.len_utf8();
    let mut chars = s[body..].char_indices().peekable();
    while let Some((i, c)) = chars.next() {
        if escapes && c == '\\' {
            chars.next()?;
        } else if c == q {
            if chars.peek().is_some_and(|&(_, n)| n == q) {
                chars.next();
            } else {
                return Some(body + i + c.len_utf8());
            }
        }
    }
    None
}

/// End of a numeric literal at `start`: `-?(\d+(\.\d*)?|\.\d+)([eE][+-]?\d+)?`, which must
/// not run into a word character (`1abc` is a word, not a number).
pub(super) fn scan_number(s: &str, start: usize) -> Option<usize> {
    let b = s.as_bytes();
    let digits = |mut i: usize| {
        while i < b.len() && b[i].is_ascii_digit() {
            i += 1;
        }
        i
    };
    let mut i = start;
    if b.get(i) == Some(&b'-') {
        i += 1;
    }
    let int_end = digits(i);
    if int_end > i {
        i = int_end;
        if b.get(i) == Some(&b'.') {
            i = digits(i + 1);
        }
    } else if b.get(i) == Some(&b'.') && b.get(i + 1).is_some_and(u8::is_ascii_digit) {
        i = digits(i + 1);
    } else {
        return None;
    }
    if matches!(b.get(i), Some(b'e' | b'E')) {
        let mut j = i + 1;
        if matches!(b.get(j), Some(b'+' | b'-')) {
            j += 1;
        }
        let exp_end = digits(j);
        if exp_end > j {
            i = exp_end;
        }
    }
    // Only ASCII bytes were consumed, so `i` is a char boundary.
    match s[i..].chars().next() {
        Some(c) if is_word(c) => None,
        _ => Some(i),
    }
}

/// Context for reporting structural errors the way MLflow does for this kind.
pub(super) struct Ctx<'a> {
    pub s: &'a str,
    /// Runs (and logged models, which share the base parser) quote each bad token.
    quote: bool,
}

impl Ctx<'_> {
    /// End of the token starting at `at`, for quoting it in a message.
    fn token_end(&self, at: usize) -> usize {
        let rest = &self.s[at..];
        match rest.chars().next() {
            None => at,
            Some(c) if is_word(c) => at + rest.find(|c| !is_word(c)).unwrap_or(rest.len()),
            Some(c) if is_op_char(c) => at + rest.find(|c| !is_op_char(c)).unwrap_or(rest.len()),
            Some(q @ ('\'' | '"' | '`')) => scan_quoted(self.s, at, q).unwrap_or(self.s.len()),
            Some(c) => at + c.len_utf8(),
        }
    }

    /// `Invalid clause(s) in filter string: …`, quoting `s[from..to]`; a `;` followed by
    /// more text at `at` is reported as several statements instead.
    pub fn invalid(&self, from: usize, at: usize, to: usize) -> FilterError {
        if self.s[at..].starts_with(';') && !self.s[at + 1..].trim().is_empty() {
            return FilterError(format!(
                "Search filter contained multiple expression '{}'. Provide AND-ed expression list.",
                clip(self.s)
            ));
        }
        let mut fragment = self.s[from..to.max(from)].trim();
        if fragment.is_empty() {
            fragment = self.s[from..].trim();
        }
        let fragment = clip(fragment);
        if self.quote {
            FilterError(format!("Invalid clause(s) in filter string: '{fragment}'"))
        } else {
            FilterError(format!("Invalid clause(s) in filter string: {fragment}"))
        }
    }

    fn invalid_token(&self, from: usize, at: usize) -> FilterError {
        self.invalid(from, at, self.token_end(at))
    }
}

/// Splits a filter into structurally valid clauses.
pub(super) fn parse_statement(kind: SearchKind, s: &str) -> Result<Vec<RawClause>, FilterError> {
    let ctx = Ctx {
        s,
        quote: matches!(kind, SearchKind::Runs | SearchKind::LoggedModels),
    };
    let mut cur = Cursor::new(s);
    let mut clauses = Vec::new();
    cur.skip_ws();
    loop {
        if clauses.len() == MAX_CLAUSES {
            return Err(FilterError(format!(
                "Search filter has too many clauses (at most {MAX_CLAUSES} are allowed)."
            )));
        }
        clauses.push(parse_clause(&ctx, &mut cur)?);
        cur.skip_ws();
        if cur.at_end() {
            return Ok(clauses);
        }
        let and_at = cur.pos;
        if !cur.eat_while(is_word).eq_ignore_ascii_case("AND") {
            return Err(ctx.invalid_token(and_at, and_at));
        }
        cur.skip_ws();
        if cur.at_end() {
            return Err(ctx.invalid(and_at, and_at, cur.pos));
        }
    }
}

fn parse_clause(ctx: &Ctx, cur: &mut Cursor) -> Result<RawClause, FilterError> {
    let start = cur.pos;
    let s = ctx.s;

    // A literal where the identifier belongs: `1 = 1`, `'a' = name`.
    let literal_end = match cur.peek() {
        Some('\'') => scan_quoted(s, start, '\''),
        Some(c) if c.is_ascii_digit() || c == '-' || c == '.' => scan_number(s, start),
        _ => None,
    };
    if let Some(end) = literal_end {
        return Err(FilterError(format!(
            "Invalid comparison clause. Expected 'Identifier' found '{}'",
            clip(&s[start..end])
        )));
    }

    let ident = match cur.scan_ident() {
        Ok(Some(ident)) => ident,
        Ok(None) => return Err(ctx.invalid_token(start, start)),
        Err(end) => return Err(ctx.invalid(start, start, end)),
    };
    if RESERVED.iter().any(|w| w.eq_ignore_ascii_case(ident)) {
        return Err(ctx.invalid_token(start, start));
    }

    cur.skip_ws();
    let op = scan_comparator(ctx, cur, start)?;
    if let RawOp::Known(Comparator::IsNull | Comparator::IsNotNull) = op {
        return Ok(RawClause {
            ident: ident.to_owned(),
            op,
            value: RawValue::None,
        });
    }

    cur.skip_ws();
    let at = cur.pos;
    let wants_list = matches!(op, RawOp::Known(Comparator::In | Comparator::NotIn));
    let value = match cur.peek() {
        Some('(') => scan_list(ctx, cur, start)?,
        _ if wants_list => return Err(ctx.invalid_token(start, at)),
        Some(q @ ('\'' | '"')) => {
            let end = scan_quoted(s, at, q).ok_or_else(|| ctx.invalid(start, at, s.len()))?;
            cur.pos = end;
            RawValue::Quoted {
                inner: s[at + 1..end - 1].to_owned(),
                raw: s[at..end].to_owned(),
            }
        }
        Some(c) if c.is_ascii_digit() || c == '-' || c == '.' => match scan_number(s, at) {
            Some(end) => {
                cur.pos = end;
                let raw = &s[at..end];
                let value = raw.parse().map_err(|_| ctx.invalid(start, at, end))?;
                RawValue::Number {
                    value,
                    raw: raw.to_owned(),
                }
            }
            None => scan_word_value(ctx, cur, start)?,
        },
        _ => scan_word_value(ctx, cur, start)?,
    };
    Ok(RawClause {
        ident: ident.to_owned(),
        op,
        value,
    })
}

fn scan_word_value(ctx: &Ctx, cur: &mut Cursor, start: usize) -> Result<RawValue, FilterError> {
    let at = cur.pos;
    match cur.scan_ident() {
        Ok(Some(word)) => Ok(RawValue::Word(word.to_owned())),
        Ok(None) => Err(ctx.invalid_token(start, at)),
        Err(end) => Err(ctx.invalid(start, at, end)),
    }
}

fn scan_comparator(ctx: &Ctx, cur: &mut Cursor, start: usize) -> Result<RawOp, FilterError> {
    let at = cur.pos;
    match cur.peek() {
        Some(c) if is_op_char(c) => {
            let op = cur.eat_while(is_op_char);
            Ok(match op {
                "=" => RawOp::Known(Comparator::Eq),
                "!=" => RawOp::Known(Comparator::Ne),
                "<" => RawOp::Known(Comparator::Lt),
                "<=" => RawOp::Known(Comparator::Le),
                ">" => RawOp::Known(Comparator::Gt),
                ">=" => RawOp::Known(Comparator::Ge),
                other => RawOp::Unknown(other.to_owned()),
            })
        }
        Some(c) if is_word(c) => {
            let word = cur.eat_while(is_word).to_ascii_uppercase();
            let next_word = |cur: &mut Cursor| {
                cur.skip_ws();
                cur.eat_while(is_word).to_ascii_uppercase()
            };
            let op = match word.as_str() {
                "LIKE" => RawOp::Known(Comparator::Like),
                "ILIKE" => RawOp::Known(Comparator::ILike),
                "IN" => RawOp::Known(Comparator::In),
                "RLIKE" | "REGEXP" => RawOp::Unknown(word),
                "NOT" => match next_word(cur).as_str() {
                    "IN" => RawOp::Known(Comparator::NotIn),
                    w @ ("LIKE" | "ILIKE" | "RLIKE" | "REGEXP") => {
                        RawOp::Unknown(format!("NOT {w}"))
                    }
                    _ => return Err(ctx.invalid(start, at, cur.pos)),
                },
                "IS" => match next_word(cur).as_str() {
                    "NULL" => RawOp::Known(Comparator::IsNull),
                    "NOT" if next_word(cur) == "NULL" => RawOp::Known(Comparator::IsNotNull),
                    _ => return Err(ctx.invalid(start, at, ctx.token_end(cur.pos))),
                },
                _ => return Err(ctx.invalid(start, at, cur.pos)),
            };
            Ok(op)
        }
        _ => Err(ctx.invalid_token(start, at)),
    }
}
