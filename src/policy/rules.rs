//! Filing rules: where a processed mail goes, which IMAP keywords it gets,
//! whether its request is held for the secretariat's review, and who else is
//! told. Pure: rule files come in as `(name, text)`, facts about a mail come
//! in as [`Facts`], a [`Decision`] goes out.
//!
//! The language (documented for operators in `rules/default.toml`): a file is
//! a list of `[[rule]]` tables, tried top to bottom, file after file; the
//! first rule whose conditions all hold decides (Sieve's `fileinto`, as data).
//! Parsing collects *every* problem of every file, each with its file, line
//! and key, so an operator fixes them in one go.

use std::fmt;
use std::ops::Range;

use serde::Serialize;
use time::OffsetDateTime;
use toml::Spanned;
use toml::de::{DeTable, DeValue};

use crate::intake::smime::Check;
use crate::model::{FormKind, RevocationReason, Verdict};

/// The shipped defaults, used when an instance has no `rules/` folder.
pub const DEFAULT_RULES: &str = include_str!("../../rules/default.toml");
/// The name the shipped defaults go by in messages.
pub const DEFAULT_FILE: &str = "default.toml";
/// Where a mail goes that could not be processed at all (not rule-driven).
pub const QUARANTINE: &str = "Quarantine";

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

/// What kind of file a mail carries.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize)]
#[serde(rename_all = "lowercase")]
pub enum AttachmentKind {
    /// `.tsv` or `.txt`: the TSV forms.
    Tsv,
    /// `.xlsx` or `.xls`: Excel workbooks.
    Xlsx,
    Other,
}

impl AttachmentKind {
    pub fn of(filename: &str) -> AttachmentKind {
        let n = filename.to_ascii_lowercase();
        if n.ends_with(".tsv") || n.ends_with(".txt") {
            AttachmentKind::Tsv
        } else if n.ends_with(".xlsx") || n.ends_with(".xls") {
            AttachmentKind::Xlsx
        } else {
            AttachmentKind::Other
        }
    }
}

/// What the rules may look at of one mail.
#[derive(Debug, Clone)]
pub struct Facts {
    pub verdict: Verdict,
    /// The failed check of a rejected mail (`Check::name()`, `officer`, `review`).
    pub check: Option<String>,
    /// The mail carries no signature at all.
    pub unsigned: bool,
    /// The forms of the mail's application files.
    pub forms: Vec<FormKind>,
    /// The signing officer's institution (registered name).
    pub institution: Option<String>,
    /// The signing officer's address (a registered officer).
    pub officer: Option<String>,
    /// When the signing officer was registered.
    pub officer_registered_at: Option<OffsetDateTime>,
    /// The From address.
    pub sender: Option<String>,
    pub subject: Option<String>,
    pub attachments: Vec<AttachmentKind>,
    /// The reasons of the mail's revocation rows.
    pub revocation_reasons: Vec<RevocationReason>,
    pub now: OffsetDateTime,
}

impl Facts {
    /// Facts with only a verdict (everything else unknown).
    pub fn new(verdict: Verdict, now: OffsetDateTime) -> Facts {
        Facts {
            verdict,
            check: None,
            unsigned: false,
            forms: vec![],
            institution: None,
            officer: None,
            officer_registered_at: None,
            sender: None,
            subject: None,
            attachments: vec![],
            revocation_reasons: vec![],
            now,
        }
    }
}

/// What the rules decided for one mail.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct Decision {
    /// The deciding rule (for a held mail: the rule that held it); None when
    /// no rule matched and the built-in fallback applied.
    pub rule: Option<String>,
    /// IMAP folder path, `/`-separated.
    pub folder: String,
    pub keywords: Vec<String>,
    /// Hold the request for review instead of carrying it out.
    pub hold: bool,
    /// Extra addresses copied on the reply to the officer.
    pub notify: Vec<String>,
}

impl Decision {
    /// The built-in filing of a verdict when no rule matches.
    pub fn fallback(verdict: Verdict) -> Decision {
        Decision {
            rule: None,
            folder: fallback_folder(verdict).into(),
            keywords: vec![],
            hold: false,
            notify: vec![],
        }
    }
}

/// The folder of a verdict when no rule matches.
pub fn fallback_folder(verdict: Verdict) -> &'static str {
    match verdict {
        Verdict::Accepted | Verdict::Partial => "Processed",
        Verdict::Checked => "Checked",
        Verdict::Invalid => "Invalid",
        Verdict::Rejected => "Rejected",
        Verdict::Duplicate => "Duplicate",
        Verdict::Ignored => "Ignored",
        Verdict::Held => "Review",
    }
}

/// One problem in a rule file.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct RuleError {
    pub file: String,
    /// 1-based; 0 when the file as a whole is meant (it could not be read).
    pub line: usize,
    /// The key concerned (`rule` for the rule as a whole, `syntax` for a TOML
    /// syntax error).
    pub key: String,
    pub message: String,
}

impl fmt::Display for RuleError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        if self.line == 0 {
            write!(f, "{}: {}", self.file, self.message)
        } else {
            write!(
                f,
                "{}:{}: {}: {}",
                self.file, self.line, self.key, self.message
            )
        }
    }
}

/// Every problem found in a set of rule files.
#[derive(Debug, Clone, thiserror::Error)]
pub struct RulesError {
    pub errors: Vec<RuleError>,
}

impl fmt::Display for RulesError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{} error(s) in the filing rules:", self.errors.len())?;
        for e in &self.errors {
            write!(f, "\n{e}")?;
        }
        Ok(())
    }
}

/// A checked set of rules, in evaluation order.
#[derive(Debug, Clone, Default)]
pub struct RuleSet {
    rules: Vec<Rule>,
}

#[derive(Debug, Clone)]
struct Rule {
    name: String,
    conditions: Vec<Condition>,
    folder: Option<String>,
    keywords: Vec<String>,
    hold: Option<bool>,
    notify: Vec<String>,
}

#[derive(Debug, Clone)]
enum Condition {
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

fn merge(a: &[String], b: &[String]) -> Vec<String> {
    let mut out = a.to_vec();
    for x in b {
        if !out.contains(x) {
            out.push(x.clone());
        }
    }
    out
}

impl RuleSet {
    /// The shipped defaults (`rules/default.toml`, embedded).
    pub fn builtin() -> RuleSet {
        parse(&[(DEFAULT_FILE.to_string(), DEFAULT_RULES.to_string())])
            .expect("the shipped default rules are valid (a unit test checks them)")
    }

    pub fn len(&self) -> usize {
        self.rules.len()
    }

    pub fn is_empty(&self) -> bool {
        self.rules.is_empty()
    }

    /// The rule names, in evaluation order.
    pub fn names(&self) -> impl Iterator<Item = &str> {
        self.rules.iter().map(|r| r.name.as_str())
    }

    /// Decides what happens to a mail: first matching rule wins. When that
    /// rule holds the mail, the held mail is filed by the rules again (as
    /// verdict `held`), the hold rule's own folder taking precedence.
    pub fn evaluate(&self, f: &Facts) -> Decision {
        self.decide(f, true)
    }

    /// As [`evaluate`](Self::evaluate), for a mail the secretariat approved:
    /// no rule holds it again.
    pub fn evaluate_approved(&self, f: &Facts) -> Decision {
        self.decide(f, false)
    }

    fn decide(&self, f: &Facts, allow_hold: bool) -> Decision {
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

// ------------------------------------------------------------------ parsing

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

struct Parser<'a> {
    file: &'a str,
    text: &'a str,
    /// (byte offset, error), sorted by offset per file at the end.
    errors: Vec<(usize, RuleError)>,
}

type Value<'i> = Spanned<DeValue<'i>>;

fn type_name(v: &DeValue) -> &'static str {
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

fn quoted_list(names: impl IntoIterator<Item = impl fmt::Display>) -> String {
    names
        .into_iter()
        .map(|n| n.to_string())
        .collect::<Vec<_>>()
        .join(", ")
}

impl Parser<'_> {
    fn line(&self, pos: usize) -> usize {
        let pos = pos.min(self.text.len());
        self.text.as_bytes()[..pos]
            .iter()
            .filter(|&&b| b == b'\n')
            .count()
            + 1
    }

    fn err(&mut self, span: Range<usize>, key: &str, message: impl Into<String>) {
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

    /// One `[[rule]]` table; None if it has errors (they are recorded).
    fn rule(
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
                    let vs = self.each(key, v, |s| {
                        Verdict::from_name(s).ok_or_else(|| {
                            format!(
                                "unknown verdict {s:?}; expected one of: {}",
                                quoted_list(Verdict::ALL.map(Verdict::as_str))
                            )
                        })
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

    fn string(&mut self, key: &str, v: &Value) -> Option<String> {
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
    fn each<T>(
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
    fn reasons(&mut self, key: &str, v: &Value) -> Option<Vec<RevocationReason>> {
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

/// An IMAP folder path: names separated by `/`.
pub fn check_folder(f: &str) -> Result<(), String> {
    if f.is_empty() {
        return Err("an empty folder".into());
    }
    if f.starts_with('/') {
        return Err("starts with /: give the path from the top, e.g. \"Processed/Issued\"".into());
    }
    if f.chars().count() > 200 {
        return Err("longer than 200 characters".into());
    }
    if let Some(c) = f.chars().find(|c| c.is_control()) {
        return Err(format!("the control character {c:?} is not printable"));
    }
    if let Some(c) = f.chars().find(|c| matches!(c, '*' | '%' | '\\' | '"')) {
        return Err(format!("{c:?} is not allowed in a folder name"));
    }
    let segments: Vec<&str> = f.split('/').collect();
    for s in &segments {
        if s.is_empty() {
            return Err("an empty folder name between slashes".into());
        }
        if *s == "." || *s == ".." {
            return Err(format!("{s:?} is not a folder name"));
        }
        if s.contains('.') {
            return Err(
                "'.' is not allowed in a folder name (Maildir++ separates folders with it); use / for sub-folders"
                    .into(),
            );
        }
        if s.trim() != *s {
            return Err(format!("{s:?} begins or ends with a space"));
        }
    }
    if segments[0].eq_ignore_ascii_case("INBOX") {
        return Err("filing into INBOX would make the robot read the mail again".into());
    }
    if segments[0].eq_ignore_ascii_case(QUARANTINE) {
        return Err("Quarantine is reserved for mails that could not be processed at all".into());
    }
    Ok(())
}

/// An IMAP keyword: an atom (RFC 3501) that is not a system flag.
pub fn check_keyword(k: &str) -> Result<(), String> {
    if k.is_empty() {
        return Err("an empty keyword".into());
    }
    if k.starts_with('\\') {
        return Err(format!(
            "{k} is a system flag, not a keyword (\\Seen, \\Flagged, … cannot be set by rules)"
        ));
    }
    if k.len() > 64 {
        return Err(format!("{k:?} is longer than 64 characters"));
    }
    if let Some(c) = k
        .chars()
        .find(|c| !c.is_ascii_graphic() || "(){%*\"\\]".contains(*c))
    {
        return Err(format!(
            "{k:?}: {c:?} is not allowed in an IMAP keyword (letters, digits and -_.$ etc., no spaces)"
        ));
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    fn at() -> OffsetDateTime {
        time::macros::datetime!(2025-04-01 12:00 UTC)
    }

    fn one(text: &str) -> Result<RuleSet, Vec<String>> {
        parse(&[("t.toml".into(), text.into())])
            .map_err(|e| e.errors.iter().map(|e| e.to_string()).collect())
    }

    #[test]
    fn the_shipped_defaults_are_valid() {
        let r = RuleSet::builtin();
        assert!(r.len() >= 10);
        assert!(r.names().any(|n| n == "hold-key-compromise"));
    }

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
                    "t.toml:2: verdict: unknown verdict \"acepted\"; expected one of: accepted, partial, invalid, rejected, duplicate, checked, ignored, held",
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
                "[[rule]]\nform = \"5-4-1\"\nrevocation_reason = 2\nofficer_registered_within_days = 0\nfolder = \"A\"\n",
                &[
                    "t.toml:2: form: unknown form \"5-4-1\"; expected one of: 5-3-1, 5-3-2, 5-3-3",
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

    #[test]
    fn folders_and_keywords() {
        for (f, ok) in [
            ("Processed/Issued", true),
            ("Review", true),
            ("Rejected/Bad Signature", true),
            ("", false),
            ("/Processed", false),
            ("Processed/", false),
            ("a..b", false),
            ("a.b", false),
            ("Quarantine", false),
            ("inbox", false),
            ("A/*", false),
            ("A\tB", false),
            (" A", false),
        ] {
            assert_eq!(check_folder(f).is_ok(), ok, "{f:?}");
        }
        for (k, ok) in [
            ("mailra-issued", true),
            ("$Important", true),
            ("NonJunk", true),
            ("", false),
            ("\\Seen", false),
            ("a b", false),
            ("a(b", false),
            ("a]", false),
            ("日本", false),
        ] {
            assert_eq!(check_keyword(k).is_ok(), ok, "{k:?}");
        }
    }

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

    struct Expect {
        rule: Option<&'static str>,
        folder: &'static str,
        keywords: &'static [&'static str],
        hold: bool,
    }

    fn facts(verdict: Verdict) -> Facts {
        Facts::new(verdict, at())
    }

    #[test]
    fn the_default_rules_file_every_verdict() {
        let rules = RuleSet::builtin();
        let officer = |mut f: Facts, days_ago: i64| {
            f.officer = Some("ra@example.ac.jp".into());
            f.sender = f.officer.clone();
            f.institution = Some("Example University".into());
            f.officer_registered_at = Some(at() - time::Duration::days(days_ago));
            f.attachments = vec![AttachmentKind::Tsv];
            f
        };
        let with_form = |mut f: Facts, forms: &[FormKind]| {
            f.forms = forms.to_vec();
            f
        };
        let rejected = |check: &str, unsigned: bool| {
            let mut f = facts(Verdict::Rejected);
            f.check = Some(check.into());
            f.unsigned = unsigned;
            f
        };
        let mut kc = with_form(
            officer(facts(Verdict::Accepted), 100),
            &[FormKind::ServerRevoke],
        );
        kc.revocation_reasons = vec![
            RevocationReason::Superseded,
            RevocationReason::KeyCompromise,
        ];
        let mut superseded = kc.clone();
        superseded.revocation_reasons = vec![RevocationReason::Superseded];
        let cases: Vec<(Facts, Expect)> = vec![
            (
                with_form(
                    officer(facts(Verdict::Accepted), 100),
                    &[FormKind::ServerIssue],
                ),
                Expect {
                    rule: Some("issued"),
                    folder: "Processed/Issued",
                    keywords: &["mailra-issued"],
                    hold: false,
                },
            ),
            (
                with_form(
                    officer(facts(Verdict::Accepted), 100),
                    &[FormKind::ServerRenew, FormKind::ServerRevoke],
                ),
                Expect {
                    rule: Some("issued"),
                    folder: "Processed/Issued",
                    keywords: &["mailra-issued"],
                    hold: false,
                },
            ),
            (
                superseded,
                Expect {
                    rule: Some("revoked"),
                    folder: "Processed/Revoked",
                    keywords: &["mailra-revoked"],
                    hold: false,
                },
            ),
            (
                kc.clone(),
                Expect {
                    rule: Some("hold-key-compromise"),
                    folder: "Review",
                    keywords: &["mailra-key-compromise", "mailra-held"],
                    hold: true,
                },
            ),
            (
                with_form(
                    officer(facts(Verdict::Partial), 3),
                    &[FormKind::ServerIssue],
                ),
                Expect {
                    rule: Some("hold-new-officer"),
                    folder: "Review",
                    keywords: &["mailra-new-officer", "mailra-held"],
                    hold: true,
                },
            ),
            (
                with_form(
                    officer(facts(Verdict::Partial), 8),
                    &[FormKind::ServerIssue],
                ),
                Expect {
                    rule: Some("partial"),
                    folder: "Processed/Partial",
                    keywords: &["mailra-partial"],
                    hold: false,
                },
            ),
            (
                // A new officer's dry run is not held: nothing would be carried out.
                with_form(
                    officer(facts(Verdict::Checked), 1),
                    &[FormKind::ServerIssue],
                ),
                Expect {
                    rule: Some("checked"),
                    folder: "Checked",
                    keywords: &["mailra-checked"],
                    hold: false,
                },
            ),
            (
                with_form(
                    officer(facts(Verdict::Invalid), 1),
                    &[FormKind::ServerRevoke],
                ),
                Expect {
                    rule: Some("invalid"),
                    folder: "Rejected/Invalid",
                    keywords: &["mailra-invalid"],
                    hold: false,
                },
            ),
            (
                rejected("structure", true),
                Expect {
                    rule: Some("unsigned"),
                    folder: "Rejected/Unsigned",
                    keywords: &["mailra-rejected", "mailra-unsigned"],
                    hold: false,
                },
            ),
            (
                rejected("structure", false),
                Expect {
                    rule: Some("bad-signature"),
                    folder: "Rejected/Signature",
                    keywords: &["mailra-rejected"],
                    hold: false,
                },
            ),
            (
                rejected("officer", false),
                Expect {
                    rule: Some("bad-signature"),
                    folder: "Rejected/Signature",
                    keywords: &["mailra-rejected"],
                    hold: false,
                },
            ),
            (
                rejected("review", false),
                Expect {
                    rule: Some("refused-on-review"),
                    folder: "Rejected/Review",
                    keywords: &["mailra-rejected", "mailra-refused"],
                    hold: false,
                },
            ),
            (
                facts(Verdict::Duplicate),
                Expect {
                    rule: Some("duplicate"),
                    folder: "Duplicate",
                    keywords: &["mailra-duplicate"],
                    hold: false,
                },
            ),
            (
                facts(Verdict::Ignored),
                Expect {
                    rule: Some("ignored"),
                    folder: "Ignored",
                    keywords: &["mailra-ignored"],
                    hold: false,
                },
            ),
            (
                facts(Verdict::Held),
                Expect {
                    rule: Some("held"),
                    folder: "Review",
                    keywords: &["mailra-held"],
                    hold: false,
                },
            ),
        ];
        for (f, e) in cases {
            let d = rules.evaluate(&f);
            assert_eq!(
                (d.rule.as_deref(), d.folder.as_str(), d.hold),
                (e.rule, e.folder, e.hold),
                "{f:?}"
            );
            assert_eq!(d.keywords, e.keywords, "{f:?}");
        }
        // Approved by the secretariat: filed as carried out, never held again.
        let d = rules.evaluate_approved(&kc);
        assert_eq!(
            (d.rule.as_deref(), d.folder.as_str(), d.hold),
            (Some("revoked"), "Processed/Revoked", false)
        );
    }

    #[test]
    fn conditions_each_and_together() {
        let rules = one(r#"
[[rule]]
name = "sender-glob"
sender = "*@partner.ac.jp"
subject = "URGENT"
folder = "Urgent"

[[rule]]
name = "institution"
institution = "example university"
attachment = ["xlsx", "other"]
folder = "Excel"
notify = ["Office@certs.example.ac.jp"]

[[rule]]
name = "no-files"
attachment = "none"
verdict = ["rejected", "invalid"]
folder = "Empty"

[[rule]]
name = "code"
revocation_reason = 4
hold = true
folder = "Hold/Superseded"
notify = "a@certs.example.ac.jp"

[[rule]]
name = "held"
verdict = "held"
keywords = ["h"]
notify = "b@certs.example.ac.jp"

[[rule]]
name = "keywords-only"
officer = "ra@example.ac.jp"
keywords = ["k"]
"#)
        .unwrap();
        let base = || {
            let mut f = Facts::new(Verdict::Accepted, at());
            f.officer = Some("ra@example.ac.jp".into());
            f
        };
        let mut f = base();
        f.sender = Some("Someone@Partner.ac.jp".into());
        f.subject = Some("Re: urgent request".into());
        assert_eq!(rules.evaluate(&f).folder, "Urgent");
        f.subject = Some("request".into());
        assert_eq!(rules.evaluate(&f).rule.as_deref(), Some("keywords-only"));

        let mut f = base();
        f.institution = Some("Example University".into());
        f.attachments = vec![AttachmentKind::Tsv, AttachmentKind::Other];
        let d = rules.evaluate(&f);
        assert_eq!(d.folder, "Excel");
        assert_eq!(d.notify, ["office@certs.example.ac.jp"]);

        let mut f = Facts::new(Verdict::Rejected, at());
        assert_eq!(rules.evaluate(&f).folder, "Empty");
        f.attachments = vec![AttachmentKind::Tsv];
        assert_eq!(rules.evaluate(&f), Decision::fallback(Verdict::Rejected));

        // The hold rule's folder wins; keywords and notify combine with the held rule's.
        let mut f = base();
        f.revocation_reasons = vec![RevocationReason::Superseded];
        let d = rules.evaluate(&f);
        assert_eq!(
            d,
            Decision {
                rule: Some("code".into()),
                folder: "Hold/Superseded".into(),
                keywords: vec!["h".into()],
                hold: true,
                notify: vec![
                    "a@certs.example.ac.jp".into(),
                    "b@certs.example.ac.jp".into()
                ],
            }
        );
        // Not for a dry run; and after approval the next rule decides.
        f.verdict = Verdict::Checked;
        assert_eq!(rules.evaluate(&f).rule.as_deref(), Some("keywords-only"));
        f.verdict = Verdict::Accepted;
        let d = rules.evaluate_approved(&f);
        assert_eq!(
            (d.rule.as_deref(), d.folder.as_str()),
            (Some("keywords-only"), "Processed")
        );
    }

    #[test]
    fn no_rules_means_the_built_in_folders() {
        let empty = RuleSet::default();
        for (v, folder) in [
            (Verdict::Accepted, "Processed"),
            (Verdict::Partial, "Processed"),
            (Verdict::Invalid, "Invalid"),
            (Verdict::Rejected, "Rejected"),
            (Verdict::Duplicate, "Duplicate"),
            (Verdict::Checked, "Checked"),
            (Verdict::Ignored, "Ignored"),
            (Verdict::Held, "Review"),
        ] {
            let d = empty.evaluate(&facts(v));
            assert_eq!(d.folder, folder);
            assert!(!d.hold && d.rule.is_none() && d.keywords.is_empty());
        }
    }
}
