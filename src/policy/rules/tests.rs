//! Tests of the rule language as a whole: the shipped `rules/default.toml`
//! for every verdict, conditions alone and together, hold rules, and the
//! built-in folders when there are no rules. Also the helpers the other
//! files' tests share.

use super::*;

pub(super) fn at() -> OffsetDateTime {
    time::macros::datetime!(2025-04-01 12:00 UTC)
}

/// Parses one file `t.toml`; the errors as their display lines.
pub(super) fn one(text: &str) -> Result<RuleSet, Vec<String>> {
    parse(&[("t.toml".into(), text.into())])
        .map_err(|e| e.errors.iter().map(|e| e.to_string()).collect())
}

#[test]
fn the_shipped_defaults_are_valid() {
    let r = RuleSet::builtin();
    assert!(r.len() >= 10);
    assert!(r.names().any(|n| n == "hold-key-compromise"));
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
        (Verdict::Command, "Secretariat/Commands"),
    ] {
        let d = empty.evaluate(&facts(v));
        assert_eq!(d.folder, folder);
        assert!(!d.hold && d.rule.is_none() && d.keywords.is_empty());
    }
}
