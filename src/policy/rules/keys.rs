//! The keys of a `[[rule]]` table: each checked and turned into a condition
//! (verdict, check, form, institution, officer, sender, subject, attachment,
//! revocation reason, registration age) or an action (folder, keywords, hold,
//! notify), then the checks across keys (a hold rule never matches a mail
//! that is not carried out; a rule needs an action).

use std::ops::Range;

use toml::de::{DeTable, DeValue};

use super::matching::{Condition, Rule, merge};
use super::parse::{Parser, quoted_list, type_name};
use super::{AttachmentKind, check_folder, check_keyword};
use crate::intake::smime::Check;
use crate::model::{FormKind, Verdict};

/// Check names beyond the S/MIME ones: the signer is not a registered
/// officer; the secretariat refused the mail on review; a mail without any
/// signature (a special case of `structure`).
const EXTRA_CHECKS: [&str; 3] = ["officer", "review", "unsigned"];

const KEYS: [&str; 15] = [
    "name",
    "verdict",
    "check",
    "form",
    "institution",
    "officer",
    "sender",
    "subject",
    "attachment",
    "revocation_reason",
    "officer_registered_within_days",
    "folder",
    "keywords",
    "hold",
    "notify",
];

impl Parser<'_> {
    /// One `[[rule]]` table; None if it has errors (they are recorded).
    pub(super) fn rule(
        &mut self,
        span: Range<usize>,
        t: &DeTable,
        names: &mut Vec<(String, String)>,
    ) -> Option<Rule> {
        let before = self.errors.len();
        let origin = format!("{}:{}", self.file, self.line(span.start));
        let mut rule = Rule {
            name: origin.clone(),
            conditions: vec![],
            folder: None,
            keywords: vec![],
            hold: None,
            notify: vec![],
        };
        let mut verdicts: Option<(Vec<Verdict>, Range<usize>)> = None;
        let mut check_span: Option<Range<usize>> = None;
        for (k, v) in t {
            let key = k.get_ref().as_ref();
            let at = v.span();
            match key {
                "name" => {
                    if let Some(n) = self.string(key, v) {
                        let n = n.trim().to_string();
                        if n.is_empty() {
                            self.err(at, key, "an empty name");
                        } else if let Some((_, first)) = names.iter().find(|(x, _)| *x == n) {
                            let first = first.clone();
                            self.err(
                                at,
                                key,
                                format!("rule name {n:?} is already used at {first}"),
                            );
                        } else {
                            names.push((n.clone(), origin.clone()));
                            rule.name = n;
                        }
                    }
                }
                "verdict" => {
                    let vs = self.each(key, v, |s| match Verdict::from_name(s) {
                        // Kept during maintenance: filed into its holding
                        // folder whatever the rules say, then processed.
                        Some(Verdict::Deferred) => Err(format!(
                            "{s:?}: a mail kept during maintenance is not filed by rules (it waits in {}, then is processed and filed by its verdict then)",
                            super::MAINTENANCE
                        )),
                        Some(v) => Ok(v),
                        None => Err(format!(
                            "unknown verdict {s:?}; expected one of: {}",
                            quoted_list(
                                Verdict::ALL
                                    .into_iter()
                                    .filter(|v| *v != Verdict::Deferred)
                                    .map(Verdict::as_str)
                            )
                        )),
                    });
                    if let Some(vs) = vs {
                        verdicts = Some((vs.clone(), at));
                        rule.conditions.push(Condition::Verdict(vs));
                    }
                }
                "check" => {
                    let known: Vec<&str> = Check::ALL
                        .iter()
                        .map(|c| c.name())
                        .chain(EXTRA_CHECKS)
                        .collect();
                    let cs = self.each(key, v, |s| {
                        if known.contains(&s) {
                            Ok(s.to_string())
                        } else {
                            Err(format!(
                                "unknown check {s:?}; expected one of: {}",
                                quoted_list(&known)
                            ))
                        }
                    });
                    if let Some(cs) = cs {
                        check_span = Some(at);
                        rule.conditions.push(Condition::Check(cs));
                    }
                }
                "form" => {
                    let fs = self.each(key, v, |s| {
                        FormKind::from_code(s).ok_or_else(|| {
                            format!(
                                "unknown form {s:?}; expected one of: {}",
                                quoted_list(FormKind::ALL.map(FormKind::code))
                            )
                        })
                    });
                    if let Some(fs) = fs {
                        rule.conditions.push(Condition::Form(fs));
                    }
                }
                "institution" => {
                    if let Some(xs) = self.each(key, v, |s| non_empty(s).map(str::to_string)) {
                        rule.conditions.push(Condition::Institution(xs));
                    }
                }
                "officer" | "sender" => {
                    if let Some(ps) = self.each(key, v, address_pattern) {
                        rule.conditions.push(if key == "officer" {
                            Condition::Officer(ps)
                        } else {
                            Condition::Sender(ps)
                        });
                    }
                }
                "subject" => {
                    if let Some(xs) = self.each(key, v, |s| non_empty(s).map(str::to_lowercase)) {
                        rule.conditions.push(Condition::Subject(xs));
                    }
                }
                "attachment" => {
                    let ks = self.each(key, v, |s| match s {
                        "tsv" => Ok(Some(AttachmentKind::Tsv)),
                        "xlsx" => Ok(Some(AttachmentKind::Xlsx)),
                        "other" => Ok(Some(AttachmentKind::Other)),
                        "none" => Ok(None),
                        _ => Err(format!(
                            "unknown attachment kind {s:?}; expected one of: tsv, xlsx, other, none"
                        )),
                    });
                    if let Some(ks) = ks {
                        rule.conditions.push(Condition::Attachment(ks));
                    }
                }
                "revocation_reason" => {
                    if let Some(rs) = self.reasons(key, v) {
                        rule.conditions.push(Condition::RevocationReason(rs));
                    }
                }
                "officer_registered_within_days" => match v.get_ref() {
                    DeValue::Integer(i) => {
                        match i64::from_str_radix(i.as_str(), i.radix())
                            .ok()
                            .filter(|d| (1..=3650).contains(d))
                        {
                            Some(d) => rule.conditions.push(Condition::RegisteredWithinDays(d)),
                            None => self.err(at, key, format!("{i} is outside 1..=3650")),
                        }
                    }
                    other => self.err(
                        at,
                        key,
                        format!("expected a number of days, found {}", type_name(other)),
                    ),
                },
                "folder" => {
                    if let Some(s) = self.string(key, v) {
                        match check_folder(&s) {
                            Ok(()) => rule.folder = Some(s),
                            Err(m) => self.err(at, key, format!("{s:?}: {m}")),
                        }
                    }
                }
                "keywords" => {
                    if let Some(ks) = self.each(key, v, |s| check_keyword(s).map(|_| s.to_string()))
                    {
                        rule.keywords = merge(&[], &ks);
                    }
                }
                "hold" => match v.get_ref() {
                    DeValue::Boolean(b) => rule.hold = Some(*b),
                    other => self.err(
                        at,
                        key,
                        format!("expected true or false, found {}", type_name(other)),
                    ),
                },
                "notify" => {
                    let ns = self.each(key, v, |s| {
                        if crate::policy::is_mail_address(s) {
                            Ok(s.to_ascii_lowercase())
                        } else {
                            Err(format!("{s:?} is not a mail address"))
                        }
                    });
                    if let Some(ns) = ns {
                        rule.notify = merge(&[], &ns);
                    }
                }
                _ => self.err(
                    k.span(),
                    key,
                    format!("unknown key; expected one of: {}", quoted_list(KEYS)),
                ),
            }
        }
        // Keys that only make sense together.
        if rule.hold == Some(true) {
            if let Some((vs, at)) = &verdicts {
                let bad: Vec<&str> = vs
                    .iter()
                    .filter(|v| !v.executes())
                    .map(|v| v.as_str())
                    .collect();
                if !bad.is_empty() {
                    self.err(
                        at.clone(),
                        "verdict",
                        format!(
                            "a hold rule matches only mails that would be carried out (accepted, partial), never {}",
                            bad.join(", ")
                        ),
                    );
                }
            }
            if let Some(at) = &check_span {
                self.err(
                    at.clone(),
                    "check",
                    "a hold rule never matches a rejected mail (nothing is carried out to hold)",
                );
            }
        } else if let (Some(at), Some((vs, _))) = (&check_span, &verdicts)
            && !vs.contains(&Verdict::Rejected)
        {
            self.err(
                at.clone(),
                "check",
                "check applies only to rejected mails, and the verdict condition excludes them",
            );
        }
        let has_action = rule.folder.is_some()
            || !rule.keywords.is_empty()
            || rule.hold.is_some()
            || !rule.notify.is_empty();
        let action_keys = ["folder", "keywords", "hold", "notify"];
        if !has_action
            && !t
                .keys()
                .any(|k| action_keys.contains(&k.get_ref().as_ref()))
        {
            self.err(
                span,
                "rule",
                format!(
                    "rule {:?} has no action (folder, keywords, hold or notify)",
                    rule.name
                ),
            );
        }
        (self.errors.len() == before).then_some(rule)
    }
}

fn non_empty(s: &str) -> Result<&str, String> {
    let t = s.trim();
    if t.is_empty() {
        Err("an empty text (it would match everything or nothing)".into())
    } else {
        Ok(t)
    }
}

/// A mail address, or a pattern with `*` such as `*@example.ac.jp`.
fn address_pattern(s: &str) -> Result<String, String> {
    let p = s.trim().to_ascii_lowercase();
    let probe = p.replace('*', "x");
    if p.contains('@') && crate::policy::is_mail_address(&probe) {
        Ok(p)
    } else {
        Err(format!(
            "{s:?} is neither a mail address nor a pattern like \"*@example.ac.jp\""
        ))
    }
}

#[cfg(test)]
mod tests {
    use crate::policy::rules::tests::one;

    #[test]
    fn valid_rules_parse() {
        for text in [
            "",
            "[[rule]]\nfolder = \"A\"\n",
            "[[rule]]\nverdict = [\"accepted\", \"partial\"]\nhold = true\n",
            "[[rule]]\nhold = false\n",
            "[[rule]]\nrevocation_reason = [1, \"superseded\", \"5\"]\nkeywords = [\"x\"]\n",
            "[[rule]]\nsender = \"*@example.ac.jp\"\nnotify = \"sec@example.ac.jp\"\n",
            "[[rule]]\ncheck = [\"unsigned\", \"chain\"]\nverdict = \"rejected\"\nfolder = \"Rejected/X y\"\n",
            "[[rule]]\nattachment = \"none\"\nsubject = \"[urgent]\"\nfolder = \"Junk\"\n",
            "[[rule]]\nofficer_registered_within_days = 7\nofficer = \"a@b.ac.jp\"\ninstitution = \"Example University\"\nform = \"5-3-3\"\nhold = true\n",
            "[[rule]]\nfolder = \"受信/処理済み\"\n",
        ] {
            assert!(one(text).is_ok(), "{text}: {:?}", one(text).err());
        }
    }

    #[test]
    fn every_error_is_reported_with_file_line_and_key() {
        let cases: &[(&str, &[&str])] = &[
            (
                "[[rule]]\nverdict = \"acepted\"\nfolder = \"A\"\n",
                &[
                    "t.toml:2: verdict: unknown verdict \"acepted\"; expected one of: accepted, partial, invalid, rejected, duplicate, checked, ignored, held, command",
                ],
            ),
            (
                "[[rule]]\nverdict = \"deferred\"\nfolder = \"A\"\n",
                &[
                    "t.toml:2: verdict: \"deferred\": a mail kept during maintenance is not filed by rules (it waits in Maintenance, then is processed and filed by its verdict then)",
                ],
            ),
            (
                "[[rule]]\nfolder = \"/A\"\n[[rule]]\nfolder = \"A//B\"\n[[rule]]\nfolder = \"A/../B\"\n",
                &[
                    "t.toml:2: folder: \"/A\": starts with /: give the path from the top, e.g. \"Processed/Issued\"",
                    "t.toml:4: folder: \"A//B\": an empty folder name between slashes",
                    "t.toml:6: folder: \"A/../B\": \"..\" is not a folder name",
                ],
            ),
            (
                "[[rule]]\nname = \"x\"\n",
                &["t.toml:1: rule: rule \"x\" has no action (folder, keywords, hold or notify)"],
            ),
            (
                "[[rule]]\ncolour = \"red\"\nfolder = \"A\"\n",
                &[
                    "t.toml:2: colour: unknown key; expected one of: name, verdict, check, form, institution, officer, sender, subject, attachment, revocation_reason, officer_registered_within_days, folder, keywords, hold, notify",
                ],
            ),
            (
                "[[rule]]\nkeywords = [\"ok\", \"not ok\", \"\\\\Seen\"]\n",
                &[
                    "t.toml:2: keywords: \"not ok\": ' ' is not allowed in an IMAP keyword (letters, digits and -_.$ etc., no spaces)",
                    "t.toml:2: keywords: \\Seen is a system flag, not a keyword (\\Seen, \\Flagged, … cannot be set by rules)",
                ],
            ),
            (
                "[[rule]]\nhold = \"yes\"\nnotify = [\"not-an-address\"]\n",
                &[
                    "t.toml:2: hold: expected true or false, found a string",
                    "t.toml:3: notify: \"not-an-address\" is not a mail address",
                ],
            ),
            (
                "[[rule]]\nverdict = \"rejected\"\nhold = true\n",
                &[
                    "t.toml:2: verdict: a hold rule matches only mails that would be carried out (accepted, partial), never rejected",
                ],
            ),
            (
                "[[rule]]\nform = \"5-9-9\"\nrevocation_reason = 2\nofficer_registered_within_days = 0\nfolder = \"A\"\n",
                &[
                    "t.toml:2: form: unknown form \"5-9-9\"; expected one of: 5-3-1, 5-3-2, 5-3-3, 5-4-1, 5-4-2, 5-4-3, 4-2",
                    "t.toml:3: revocation_reason: unknown revocation reason 2; expected one of: unspecified (0), keyCompromise (1), affiliationChanged (3), superseded (4), cessationOfOperation (5)",
                    "t.toml:4: officer_registered_within_days: 0 is outside 1..=3650",
                ],
            ),
            (
                "[[rule]]\nname = \"a\"\nfolder = \"A\"\n[[rule]]\nname = \"a\"\nfolder = \"B\"\n",
                &["t.toml:5: name: rule name \"a\" is already used at t.toml:1"],
            ),
            (
                "[rule]\nfolder = \"A\"\n",
                &["t.toml:1: rule: expected [[rule]] tables, found a table"],
            ),
            (
                "rules = 1\n",
                &["t.toml:1: rules: unknown key; a rule file holds only [[rule]] tables"],
            ),
            (
                "[[rule]]\nsender = \"*\"\nfolder = \"INBOX/x\"\n",
                &[
                    "t.toml:2: sender: \"*\" is neither a mail address nor a pattern like \"*@example.ac.jp\"",
                    "t.toml:3: folder: \"INBOX/x\": filing into INBOX would make the robot read the mail again",
                ],
            ),
        ];
        for (text, expected) in cases {
            assert_eq!(
                one(text).err().unwrap_or_default(),
                expected.iter().map(|s| s.to_string()).collect::<Vec<_>>(),
                "{text}"
            );
        }
    }
}
