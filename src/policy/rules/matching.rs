//! Checked rules and how they decide: a rule is a list of conditions (all
//! must hold) and its actions; the first rule that matches a mail's facts
//! decides its folder, keywords, hold and notify. A hold rule files the held
//! mail by the rules again, as verdict `held`. Kept apart from the parsing so
//! the meaning of a rule can be read in one place.

use super::{AttachmentKind, Decision, Facts, RuleSet, fallback_folder};
use crate::model::{FormKind, RevocationReason, Verdict};

#[derive(Debug, Clone)]
pub(super) struct Rule {
    pub(super) name: String,
    pub(super) conditions: Vec<Condition>,
    pub(super) folder: Option<String>,
    pub(super) keywords: Vec<String>,
    pub(super) hold: Option<bool>,
    pub(super) notify: Vec<String>,
}

#[derive(Debug, Clone)]
pub(super) enum Condition {
    Verdict(Vec<Verdict>),
    Check(Vec<String>),
    Form(Vec<FormKind>),
    Institution(Vec<String>),
    Officer(Vec<String>),
    Sender(Vec<String>),
    Subject(Vec<String>),
    /// `None` stands for "no attachment at all".
    Attachment(Vec<Option<AttachmentKind>>),
    RevocationReason(Vec<RevocationReason>),
    RegisteredWithinDays(i64),
}

impl Condition {
    fn holds(&self, f: &Facts) -> bool {
        let addr = |pats: &[String], a: &Option<String>| {
            a.as_deref()
                .is_some_and(|a| pats.iter().any(|p| glob(p, &a.to_ascii_lowercase())))
        };
        match self {
            Condition::Verdict(v) => v.contains(&f.verdict),
            Condition::Check(names) => {
                f.verdict == Verdict::Rejected
                    && names.iter().any(|n| {
                        f.check.as_deref() == Some(n.as_str()) || (n == "unsigned" && f.unsigned)
                    })
            }
            Condition::Form(forms) => f.forms.iter().any(|k| forms.contains(k)),
            Condition::Institution(names) => f
                .institution
                .as_deref()
                .is_some_and(|i| names.iter().any(|n| n.eq_ignore_ascii_case(i))),
            Condition::Officer(p) => addr(p, &f.officer),
            Condition::Sender(p) => addr(p, &f.sender),
            Condition::Subject(needles) => f.subject.as_deref().is_some_and(|s| {
                let s = s.to_lowercase();
                needles.iter().any(|n| s.contains(n.as_str()))
            }),
            Condition::Attachment(kinds) => kinds.iter().any(|k| match k {
                None => f.attachments.is_empty(),
                Some(k) => f.attachments.contains(k),
            }),
            Condition::RevocationReason(r) => f.revocation_reasons.iter().any(|x| r.contains(x)),
            Condition::RegisteredWithinDays(days) => f
                .officer_registered_at
                .is_some_and(|t| f.now - t < time::Duration::days(*days)),
        }
    }
}

impl Rule {
    fn matches(&self, f: &Facts, allow_hold: bool) -> bool {
        if self.hold == Some(true) && !(allow_hold && f.verdict.executes()) {
            return false;
        }
        self.conditions.iter().all(|c| c.holds(f))
    }
}

/// `*` matches any run of characters; everything else itself (the pattern is
/// lower-case, so is the address).
fn glob(pattern: &str, s: &str) -> bool {
    let parts: Vec<&str> = pattern.split('*').collect();
    if parts.len() == 1 {
        return pattern == s;
    }
    let (first, last) = (parts[0], parts[parts.len() - 1]);
    if !s.starts_with(first) || s.len() < first.len() + last.len() || !s.ends_with(last) {
        return false;
    }
    let mut rest = &s[first.len()..s.len() - last.len()];
    for mid in &parts[1..parts.len() - 1] {
        match rest.find(mid) {
            Some(i) => rest = &rest[i + mid.len()..],
            None => return false,
        }
    }
    true
}

pub(super) fn merge(a: &[String], b: &[String]) -> Vec<String> {
    let mut out = a.to_vec();
    for x in b {
        if !out.contains(x) {
            out.push(x.clone());
        }
    }
    out
}

impl RuleSet {
    pub(super) fn decide(&self, f: &Facts, allow_hold: bool) -> Decision {
        let Some(r) = self.rules.iter().find(|r| r.matches(f, allow_hold)) else {
            return Decision::fallback(f.verdict);
        };
        if r.hold == Some(true) {
            let filed = self.decide(
                &Facts {
                    verdict: Verdict::Held,
                    ..f.clone()
                },
                false,
            );
            return Decision {
                rule: Some(r.name.clone()),
                folder: r.folder.clone().unwrap_or(filed.folder),
                keywords: merge(&r.keywords, &filed.keywords),
                hold: true,
                notify: merge(&r.notify, &filed.notify),
            };
        }
        Decision {
            rule: Some(r.name.clone()),
            folder: r
                .folder
                .clone()
                .unwrap_or_else(|| fallback_folder(f.verdict).into()),
            keywords: r.keywords.clone(),
            hold: false,
            notify: r.notify.clone(),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn globs() {
        for (p, s, ok) in [
            ("*@example.ac.jp", "a@example.ac.jp", true),
            ("*@example.ac.jp", "a@sub.example.ac.jp", false),
            ("*@*.example.ac.jp", "a@sub.example.ac.jp", true),
            ("a@b.jp", "a@b.jp", true),
            ("a@b.jp", "aa@b.jp", false),
            ("a*a@b.jp", "a@b.jp", false),
            ("a*a@b.jp", "aa@b.jp", true),
        ] {
            assert_eq!(glob(p, s), ok, "{p} {s}");
        }
    }
}
