//! What the demo prints: a verdict table of the mails, then where to look
//! (replies, CAs, CRLs, database, filed mails) and what to try next.

use std::path::{Path, PathBuf};

use crate::config::Config;
use crate::model::CaKind;
use crate::ra;

pub(super) fn print_table(outcomes: &[ra::Outcome]) {
    let mut t = crate::render::table::table(&["mail", "verdict", "folder", "what happened"]);
    for o in outcomes {
        let mut what = o.summary.clone();
        if let Some(c) = &o.check {
            what = format!("[{c}] {what}");
        }
        if !o.issued.is_empty() {
            what.push_str(&format!("; issued {}", o.issued.join(", ")));
        }
        if !o.revoked.is_empty() {
            what.push_str(&format!("; revoked {}", o.revoked.join(", ")));
        }
        t.add_row(vec![
            o.source.trim_end_matches(".eml").to_string(),
            o.verdict.as_str().to_string(),
            o.folder.clone(),
            what,
        ]);
    }
    println!("{}", crate::render::table::text(&t));
}

/// Where the demo left everything, and the commands to go on with.
pub(super) fn print_where(
    dir: &Path,
    cfg: &Config,
    outcomes: &[ra::Outcome],
    crls: &[(CaKind, PathBuf)],
) {
    println!();
    println!("replies (S/MIME-signed .eml): {}", cfg.outbox.display());
    println!(
        "issuing CAs: {} (RSA, profile 3), {} (ECDSA P-384, profile 11: mail 02)",
        cfg.ca_cert.display(),
        cfg.ec_ca
            .as_ref()
            .map(|p| p.cert.display().to_string())
            .unwrap_or_default()
    );
    for (kind, path) in crls {
        println!("CRL of the {kind} issuing CA: {}", path.display());
    }
    println!("database: {}", cfg.database.display());
    println!(
        "mails filed under: {}/.<Folder>/cur (the folders of {})",
        cfg.maildir.display(),
        cfg.rules_dir
            .join(crate::policy::rules::DEFAULT_FILE)
            .display()
    );
    for o in outcomes.iter().filter(|o| o.verdict == ra::Verdict::Held) {
        println!(
            "held for review: mail #{} ({}); carry it out with `mailra review approve --dir {} {}`, or refuse it with `mailra review reject --dir {} {} --reason …`",
            o.mail_id,
            o.source,
            dir.display(),
            o.mail_id,
            dir.display(),
            o.mail_id
        );
    }
    println!(
        "verify a reply:  openssl smime -verify -in {}/<file>.eml -CAfile {}",
        cfg.outbox.display(),
        cfg.officer_ca.display()
    );
    let d = dir.display();
    // Today in Japan, the report's calendar.
    let today = time::OffsetDateTime::now_utc()
        .to_offset(time::UtcOffset::from_hms(9, 0, 0).unwrap_or(time::UtcOffset::UTC))
        .date();
    println!(
        "the secretariat's view: `mailra status --dir {d}`, `mailra applications list --dir {d}`, `mailra cert search --dir {d} --status valid`, `mailra report --dir {d} --from {today} --to {today}`"
    );
}
