//! Reading rule files: the TOML syntax (recoverable, so every syntax error is
//! reported), the `[[rule]]` tables, and the shapes of values (a string, a
//! list of strings, a revocation reason), each problem recorded with its file,
//! line and key so an operator fixes them in one go. What each key means is
//! checked in `keys`.

use std::fmt;
use std::ops::Range;

use toml::Spanned;
use toml::de::{DeTable, DeValue};

use super::matching::Rule;
use super::{RuleError, RuleSet, RulesError};
use crate::model::RevocationReason;

/// Parses rule files `(name, text)` in evaluation order. Either every rule
/// is valid, or every problem of every file is returned.
pub fn parse(files: &[(String, String)]) -> Result<RuleSet, RulesError> {
    let mut rules = Vec::new();
    let mut errors = Vec::new();
    let mut names: Vec<(String, String)> = Vec::new();
    for (file, text) in files {
        let mut p = Parser {
            file,
            text,
            errors: Vec::new(),
        };
        p.file_rules(&mut rules, &mut names);
        p.errors.sort_by_key(|(pos, _)| *pos);
        errors.extend(p.errors.into_iter().map(|(_, e)| e));
    }
    if errors.is_empty() {
        Ok(RuleSet { rules })
    } else {
        Err(RulesError { errors })
    }
}

pub(super) struct Parser<'a> {
    pub(super) file: &'a str,
    text: &'a str,
    /// (byte offset, error), sorted by offset per file at the end.
    pub(super) errors: Vec<(usize, RuleError)>,
}

pub(super) type Value<'i> = Spanned<DeValue<'i>>;

pub(super) fn type_name(v: &DeValue) -> &'static str {
    match v {
        DeValue::String(_) => "a string",
        DeValue::Integer(_) => "an integer",
        DeValue::Float(_) => "a float",
        DeValue::Boolean(_) => "a boolean",
        DeValue::Datetime(_) => "a date-time",
        DeValue::Array(_) => "a list",
        DeValue::Table(_) => "a table",
    }
}

pub(super) fn quoted_list(names: impl IntoIterator<Item = impl fmt::Display>) -> String {
    names
        .into_iter()
        .map(|n| n.to_string())
        .collect::<Vec<_>>()
        .join(", ")
}

impl Parser<'_> {
    pub(super) fn line(&self, pos: usize) -> usize {
        let pos = pos.min(self.text.len());
        self.text.as_bytes()[..pos]
            .iter()
            .filter(|&&b| b == b'\n')
            .count()
            + 1
    }

    pub(super) fn err(&mut self, span: Range<usize>, key: &str, message: impl Into<String>) {
        let e = RuleError {
            file: self.file.to_string(),
            line: self.line(span.start),
            key: key.to_string(),
            message: message.into(),
        };
        self.errors.push((span.start, e));
    }

    fn file_rules(&mut self, rules: &mut Vec<Rule>, names: &mut Vec<(String, String)>) {
        let (doc, syntax) = DeTable::parse_recoverable(self.text);
        if !syntax.is_empty() {
            for e in syntax {
                let span = e.span().unwrap_or(0..0);
                let mut msg = e.message().trim().replace('\n', "; ");
                // Name what the error points at when that is a short bit of one line.
                if let Some(at) = self.text.get(span.clone())
                    && !at.trim().is_empty()
                    && at.len() <= 40
                    && !at.contains('\n')
                {
                    msg.push_str(&format!(" (at `{}`)", at.trim()));
                }
                self.err(span, "syntax", msg);
            }
            // What follows a syntax error is not worth validating.
            return;
        }
        for (k, v) in doc.get_ref() {
            let key = k.get_ref().as_ref();
            if key != "rule" {
                self.err(
                    k.span(),
                    key,
                    "unknown key; a rule file holds only [[rule]] tables",
                );
                continue;
            }
            let DeValue::Array(list) = v.get_ref() else {
                self.err(
                    k.span(),
                    "rule",
                    format!("expected [[rule]] tables, found {}", type_name(v.get_ref())),
                );
                continue;
            };
            for item in list {
                let DeValue::Table(t) = item.get_ref() else {
                    self.err(
                        item.span(),
                        "rule",
                        format!(
                            "expected a [[rule]] table, found {}",
                            type_name(item.get_ref())
                        ),
                    );
                    continue;
                };
                if let Some(r) = self.rule(item.span(), t, names) {
                    rules.push(r);
                }
            }
        }
    }

    pub(super) fn string(&mut self, key: &str, v: &Value) -> Option<String> {
        match v.get_ref() {
            DeValue::String(s) => Some(s.to_string()),
            other => {
                self.err(
                    v.span(),
                    key,
                    format!("expected a string, found {}", type_name(other)),
                );
                None
            }
        }
    }

    /// A string or a non-empty list of strings, each converted by `f`.
    pub(super) fn each<T>(
        &mut self,
        key: &str,
        v: &Value,
        mut f: impl FnMut(&str) -> Result<T, String>,
    ) -> Option<Vec<T>> {
        let items: Vec<&Value> = match v.get_ref() {
            DeValue::Array(a) if a.is_empty() => {
                self.err(v.span(), key, "an empty list (it would never match)");
                return None;
            }
            DeValue::Array(a) => a.iter().collect(),
            _ => vec![v],
        };
        let mut out = Vec::new();
        let mut ok = true;
        for item in items {
            match item.get_ref() {
                DeValue::String(s) => match f(s) {
                    Ok(x) => out.push(x),
                    Err(m) => {
                        self.err(item.span(), key, m);
                        ok = false;
                    }
                },
                other => {
                    self.err(
                        item.span(),
                        key,
                        format!(
                            "expected a string or a list of strings, found {}",
                            type_name(other)
                        ),
                    );
                    ok = false;
                }
            }
        }
        ok.then_some(out)
    }

    /// Revocation reasons by name (`keyCompromise`) or code (`1` or `"1"`).
    pub(super) fn reasons(&mut self, key: &str, v: &Value) -> Option<Vec<RevocationReason>> {
        let items: Vec<&Value> = match v.get_ref() {
            DeValue::Array(a) if a.is_empty() => {
                self.err(v.span(), key, "an empty list (it would never match)");
                return None;
            }
            DeValue::Array(a) => a.iter().collect(),
            _ => vec![v],
        };
        let mut out = Vec::new();
        let mut ok = true;
        for item in items {
            let found = match item.get_ref() {
                DeValue::String(s) => Ok(reason_by_name(s)),
                DeValue::Integer(i) => Ok(u8::from_str_radix(i.as_str(), i.radix())
                    .ok()
                    .and_then(RevocationReason::from_code)),
                other => Err(format!(
                    "expected a reason name or code, found {}",
                    type_name(other)
                )),
            };
            match found {
                Ok(Some(r)) => out.push(r),
                Ok(None) => {
                    let what = match item.get_ref() {
                        DeValue::String(s) => format!("{s:?}"),
                        DeValue::Integer(i) => i.as_str().to_string(),
                        _ => String::new(),
                    };
                    self.err(
                        item.span(),
                        key,
                        format!(
                            "unknown revocation reason {what}; expected one of: {}",
                            quoted_list(RevocationReason::ALL.map(|r| format!(
                                "{} ({})",
                                r.name(),
                                r.code()
                            )))
                        ),
                    );
                    ok = false;
                }
                Err(m) => {
                    self.err(item.span(), key, m);
                    ok = false;
                }
            }
        }
        ok.then_some(out)
    }
}

fn reason_by_name(s: &str) -> Option<RevocationReason> {
    let s = s.trim();
    if let Ok(code) = s.parse::<u8>() {
        return RevocationReason::from_code(code);
    }
    RevocationReason::ALL
        .into_iter()
        .find(|r| r.name().eq_ignore_ascii_case(s))
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::policy::rules::tests::one;

    #[test]
    fn syntax_errors_name_the_line() {
        let e = one("[[rule]]\nfolder = \"A\nhold = true\n").unwrap_err();
        assert!(!e.is_empty());
        assert!(e[0].starts_with("t.toml:2: syntax: "), "{e:?}");
    }

    #[test]
    fn errors_of_several_files_are_all_reported() {
        let e = parse(&[
            ("a.toml".into(), "[[rule]]\nfolder = \"\"\n".into()),
            ("b.toml".into(), "[[rule]]\nfolder = \"ok\"\n".into()),
            ("c.toml".into(), "[[rule]]\nhold = 1\n".into()),
        ])
        .unwrap_err();
        let lines: Vec<String> = e.errors.iter().map(|e| e.to_string()).collect();
        assert_eq!(
            lines,
            [
                "a.toml:2: folder: \"\": an empty folder",
                "c.toml:2: hold: expected true or false, found an integer"
            ]
        );
    }
}
