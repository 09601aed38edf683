//! Parenthesised lists of `IN` / `NOT IN`. MLflow reads them with Python's
//! `ast.literal_eval`, so items are Python string literals: backslash escapes are decoded
//! and adjacent literals concatenate (`('a' 'b')` is `ab`). The scan is iterative.

use super::FilterError;
use super::lexer::{Ctx, Cursor, ListError, RawValue, is_word, scan_number};

/// Scans a balanced `( … )`, skipping quoted strings; the items are parsed afterwards.
pub(super) fn scan_list(
    ctx: &Ctx,
    cur: &mut Cursor,
    start: usize,
) -> Result<RawValue, FilterError> {
    let s = ctx.s;
    let open = cur.pos;
    let mut depth = 0usize;
    let mut nested = false;
    let mut i = open;
    let close = loop {
        let Some(c) = s[i..].chars().next() else {
            return Err(ctx.invalid(start, open, s.len()));
        };
        match c {
            '(' => {
                depth += 1;
                nested |= depth > 1;
            }
            ')' => {
                depth -= 1;
                if depth == 0 {
                    break i;
                }
            }
            '\'' | '"' => {
                let mut sink = String::new();
                match scan_py_string(s, i, c, &mut sink) {
                    Some(end) => {
                        i = end;
                        continue;
                    }
                    None => return Err(ctx.invalid(start, open, s.len())),
                }
            }
            _ => {}
        }
        i += c.len_utf8();
    };
    cur.pos = close + 1;
    let items = if nested {
        Err(ListError::IllFormed)
    } else {
        parse_list_items(&s[open + 1..close])
    };
    Ok(RawValue::List {
        items,
        raw: s[open..=close].to_owned(),
    })
}

/// A Python string literal at `start` (backslash escapes, no quote doubling), appended
/// unescaped to `out`; returns its end.
fn scan_py_string(s: &str, start: usize, q: char, out: &mut String) -> Option<usize> {
    let body = start + q.len_utf8();
    let mut chars = s[body..].char_indices();
    while let Some((i, c)) = chars.next() {
        if c == '\\' {
            let (_, e) = chars.next()?;
            match e {
                '\\' | '\'' | '"' => out.push(e),
                'n' => out.push('\n'),
                't' => out.push('\t'),
                'r' => out.push('\r'),
                '\n' => {}
                _ => {
                    out.push('\\');
                    out.push(e);
                }
            }
        } else if c == q {
            return Some(body + i + c.len_utf8());
        } else {
            out.push(c);
        }
    }
    None
}

/// The items of a list as `ast.literal_eval` would read them: strings (adjacent literals
/// concatenate), with one optional trailing comma.
fn parse_list_items(inner: &str) -> Result<Vec<String>, ListError> {
    let mut cur = Cursor::new(inner);
    cur.skip_ws();
    if cur.at_end() {
        return Err(ListError::Empty);
    }
    let mut items = Vec::new();
    let mut non_string = false;
    loop {
        cur.skip_ws();
        match cur.peek() {
            Some('\'' | '"') => {
                let mut item = String::new();
                while let Some(q @ ('\'' | '"')) = cur.peek() {
                    cur.pos =
                        scan_py_string(inner, cur.pos, q, &mut item).ok_or(ListError::IllFormed)?;
                    cur.skip_ws();
                }
                items.push(item);
            }
            Some(c) if c.is_ascii_digit() || c == '-' || c == '.' || c == '+' => {
                if c == '+' {
                    cur.pos += 1;
                }
                cur.pos = scan_number(inner, cur.pos).ok_or(ListError::IllFormed)?;
                non_string = true;
            }
            Some(c) if is_word(c) => match cur.eat_while(is_word) {
                "True" | "False" | "None" => non_string = true,
                _ => return Err(ListError::IllFormed),
            },
            _ => return Err(ListError::IllFormed),
        }
        cur.skip_ws();
        match cur.peek() {
            None => break,
            Some(',') => {
                cur.pos += 1;
                cur.skip_ws();
                if cur.at_end() {
                    break;
                }
            }
            _ => return Err(ListError::IllFormed),
        }
    }
    if non_string {
        Err(ListError::NotStrings)
    } else {
        Ok(items)
    }
}
