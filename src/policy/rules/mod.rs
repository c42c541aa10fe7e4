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
//!
//! The files by concern: `parse` reads the TOML and collects errors with
//! their positions, `keys` checks each key of a `[[rule]]` table into a
//! condition or an action, `folders` checks folder paths and keywords, and
//! `matching` holds the checked rules and decides for one mail.

mod folders;
mod keys;
mod matching;
mod parse;
#[cfg(test)]
mod tests;

use std::fmt;

use serde::Serialize;
use time::OffsetDateTime;

use crate::model::{FormKind, RevocationReason, Verdict};

/// What kind of file a mail carries (decided in one place, by intake).
pub use crate::intake::application::AttachmentKind;
pub use folders::{check_folder, check_keyword};
pub use parse::parse;

use matching::Rule;

/// The shipped defaults, used when an instance has no `rules/` folder.
pub const DEFAULT_RULES: &str = include_str!("../../../rules/default.toml");
/// The name the shipped defaults go by in messages.
pub const DEFAULT_FILE: &str = "default.toml";
/// Where a mail goes that could not be processed at all (not rule-driven).
pub const QUARANTINE: &str = "Quarantine";
/// Where a mail waits while maintenance mode is on (verdict `deferred`; not
/// rule-driven either): it leaves it once processed after maintenance.
pub const MAINTENANCE: &str = "Maintenance";

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
        Verdict::Command => "Secretariat/Commands",
        Verdict::Deferred => MAINTENANCE,
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
}
