//! `mailra demo`: a complete, self-contained run on the embedded defaults.
//!
//! Creates an instance with a fresh PKI, registers two institutions and
//! their officers, seeds two certificates issued "last year", writes
//! realistic signed application mails (and bad ones) into the Maildir inbox,
//! runs one processing pass and prints what happened to each mail.
//!
//! The mails, the forms and the officers' PKI come from [`crate::kit`], which
//! the integration tests and the benchmarks build with too.

use std::path::Path;

use anyhow::{Context, Result, bail};
use time::OffsetDateTime;

use crate::ca;
use crate::ca::{KeyKind, KeyPair};
use crate::config::Config;
use crate::init::{self, InitArgs};
use crate::kit::forms::{csr_field, issue_line, renew_line, revoke_line, server_dn, sjis};
use crate::kit::mail::{FileSpec, altered, application_mail, unsigned_mail};
use crate::kit::{self, ROBOT};
use crate::mail::sign::Signer;
use crate::model::Dn;
use crate::ra::{self, Env};

mod report;
mod seed;
use crate::store;
use seed::seed_cert;

const MARKER: &str = ".mailra-demo";

struct Officer {
    email: String,
    signer: Signer,
}

fn officer(ca: &KeyPair, email: &str, name: &str, now: OffsetDateTime) -> Result<Officer> {
    Ok(Officer {
        email: email.into(),
        signer: kit::pki::officer(ca, email, name, now, 730)?,
    })
}

/// Runs the demo in `dir` (recreated on every run; only a folder this demo made is ever removed).
pub fn run(dir: &Path) -> Result<()> {
    if dir.exists() {
        if !dir.join(MARKER).exists() {
            bail!(
                "{} exists and was not made by `mailra demo`; choose another --dir",
                dir.display()
            );
        }
        std::fs::remove_dir_all(dir)
            .with_context(|| format!("removing the old demo in {}", dir.display()))?;
    }
    std::fs::create_dir_all(dir)?;
    std::fs::write(
        dir.join(MARKER),
        "made by mailra demo; removed and recreated by the next run\n",
    )?;
    let now = OffsetDateTime::now_utc();
    println!("mailra demo: creating an instance in {}", dir.display());
    init::init(
        &InitArgs {
            dir: dir.to_path_buf(),
            robot_address: Some(ROBOT.into()),
            secretariat: Some("secretariat@certs.example.ac.jp".into()),
            ..Default::default()
        },
        now,
    )?;
    let officer_ca = KeyPair::load(
        &dir.join("pki/officer-ca.pem"),
        &dir.join("pki/officer-ca.key"),
    )?;
    let cfg = Config::load(dir)?;
    let mut env = Env::open(cfg)?;
    env.commands = Some(std::sync::Arc::new(crate::ops::commands::MailCommands));
    let (ex, sample) = ("Example University", "Sample Institute of Technology");
    // Registered last year, like the seeded certificates: the default rule
    // that holds requests from officers registered in the last 7 days does
    // not hold the demo's mails (only mail 13's keyCompromise is held).
    let last_year = now - time::Duration::days(300);
    store::add_institution(
        &env.conn,
        ex,
        "Tokyo",
        "Chiyoda-ku",
        &["example.ac.jp".into()],
        last_year,
    )?;
    store::add_institution(
        &env.conn,
        sample,
        "Osaka",
        "Suita-shi",
        &["sample-tech.ac.jp".into()],
        last_year,
    )?;
    // Their corporate numbers: S/MIME certificates name the organization.
    store::set_organization_identifier(&env.conn, ex, Some("NTRJP-9234567890123"))?;
    store::set_organization_identifier(&env.conn, sample, Some("NTRJP-8234567890124"))?;
    store::add_officer(&env.conn, "ra-officer@example.ac.jp", ex, last_year)?;
    store::add_officer(&env.conn, "tanto@sample-tech.ac.jp", sample, last_year)?;
    let o1 = officer(
        &officer_ca,
        "ra-officer@example.ac.jp",
        "Kokuritsu Taro",
        now,
    )?;
    let o2 = officer(
        &officer_ca,
        "tanto@sample-tech.ac.jp",
        "Shinsei Hanako",
        now,
    )?;
    let rogue_ca = ca::new_ca("Rogue CA", "Not the officer CA", now, 365, KeyKind::Rsa2048)?;
    let rogue = officer(&rogue_ca, "ra-officer@example.ac.jp", "Kokuritsu Taro", now)?;

    // Three certificates issued last year: one to renew, one to revoke, one
    // to revoke for keyCompromise.
    let ex_dn = |cn: &str| server_dn(cn, ex, "Chiyoda-ku", "Tokyo");
    let mut seed = |cn: &str, admin: &str| -> Result<(Dn, String)> {
        let dn = ex_dn(cn);
        let key = ca::new_key(KeyKind::Rsa2048)?;
        let serial = seed_cert(&mut env, ex, &dn, &key, admin, now)?;
        Ok((dn, serial))
    };
    let (old_www_dn, old_www) = seed("portal.example.ac.jp", "portal-admin@example.ac.jp")?;
    let (old_mail_dn, old_mail) = seed("mail.example.ac.jp", "mail-admin@example.ac.jp")?;
    let (old_wiki_dn, old_wiki) = seed("wiki.example.ac.jp", "wiki-admin@example.ac.jp")?;

    let rsa_dn = ex_dn("www.example.ac.jp");
    let ec_dn = ex_dn("lms.example.ac.jp");
    let issue_rsa = [issue_line(
        &rsa_dn,
        3,
        &csr_field(&ca::new_key(KeyKind::Rsa2048)?, &rsa_dn)?,
        "国立　太郎",
        "www-admin@example.ac.jp",
        "dNSName=www.example.ac.jp,dNSName=example.ac.jp",
    )]
    .join("\n");
    let issue_ec = issue_line(
        &ec_dn,
        11,
        &csr_field(&ca::new_key(KeyKind::P384)?, &ec_dn)?,
        "学術　花子",
        "lms-admin@example.ac.jp",
        "",
    );
    let renew = renew_line(
        &old_www_dn,
        3,
        &old_www,
        &csr_field(&ca::new_key(KeyKind::Rsa2048)?, &old_www_dn)?,
        "国立　太郎",
        "portal-admin@example.ac.jp",
    );
    let revoke = revoke_line(&old_mail_dn, &old_mail, 4, "サーバ移行のため");
    let compromised = revoke_line(&old_wiki_dn, &old_wiki, 1, "秘密鍵漏洩の疑い");
    let foreign_dn = server_dn("www.example.ac.jp", sample, "Suita-shi", "Osaka");
    let foreign = issue_line(
        &foreign_dn,
        3,
        &csr_field(&ca::new_key(KeyKind::Rsa2048)?, &foreign_dn)?,
        "申請　次郎",
        "admin@sample-tech.ac.jp",
        "",
    );
    let bad_dn = server_dn("bad_host.example.ac.jp", ex, "Minato-ku", "Tokyo");
    let broken = [
        issue_line(
            &rsa_dn,
            11,
            &csr_field(&ca::new_key(KeyKind::Rsa2048)?, &rsa_dn)?,
            "国立　太郎",
            "www-admin@example.ac.jp",
            "",
        ),
        issue_line(
            &bad_dn,
            3,
            "MIIBnotacsr",
            "国立　太郎",
            "not-a-mail-address",
            "",
        ),
        revoke_line(&old_mail_dn, "0xZZ", 2, ""),
    ]
    .join("\n");

    let signed = |o: &Officer, from: &str, subject: &str, file: &str, text: &str, opaque: bool| {
        let files = [FileSpec {
            name: file.into(),
            data: sjis(text),
        }];
        application_mail(&o.signer, from, ROBOT, subject, &files, opaque, now)
    };
    let (e1, e2) = (o1.email.as_str(), o2.email.as_str());
    let (issue, tsv) = ("サーバ証明書発行申請", "server-issue.tsv");
    let mut mails: Vec<(&str, Vec<u8>)> = vec![
        (
            "01-issue-rsa2048",
            signed(&o1, e1, issue, tsv, &issue_rsa, false)?,
        ),
        (
            "02-issue-p384-opaque",
            signed(
                &o1,
                e1,
                "サーバ証明書発行申請 (ECDSA)",
                "server-issue-ec.tsv",
                &issue_ec,
                true,
            )?,
        ),
        (
            "03-renewal",
            signed(
                &o1,
                e1,
                "サーバ証明書更新申請",
                "server-renew.tsv",
                &renew,
                false,
            )?,
        ),
        (
            "04-revocation",
            signed(
                &o1,
                e1,
                "サーバ証明書失効申請",
                "server-revoke.tsv",
                &revoke,
                false,
            )?,
        ),
        (
            "05-dry-run",
            signed(
                &o1,
                e1,
                "[check] サーバ証明書発行申請",
                tsv,
                &issue_ec,
                false,
            )?,
        ),
        (
            "06-unsigned",
            unsigned_mail(
                e1,
                ROBOT,
                issue,
                &[FileSpec {
                    name: tsv.into(),
                    data: sjis(&issue_rsa),
                }],
            )?,
        ),
        (
            "08-other-ca",
            signed(&rogue, &rogue.email, issue, tsv, &issue_rsa, false)?,
        ),
        (
            "09-from-mismatch",
            signed(
                &o1,
                "someone-else@example.ac.jp",
                issue,
                tsv,
                &issue_rsa,
                false,
            )?,
        ),
        (
            "10-other-institution",
            signed(&o2, e2, issue, tsv, &foreign, false)?,
        ),
        (
            "11-broken-rows",
            signed(
                &o1,
                e1,
                "サーバ証明書申請",
                "server-broken.tsv",
                &broken,
                false,
            )?,
        ),
        (
            "13-key-compromise",
            signed(
                &o1,
                e1,
                "サーバ証明書失効申請(鍵漏洩)",
                "server-revoke.tsv",
                &compromised,
                false,
            )?,
        ),
    ];
    // Tampered: a signed mail altered after signing (the file name inside the signed part).
    let tampered = altered(
        &signed(&o1, e1, issue, tsv, &issue_ec, false)?,
        b"server-issue.tsv",
        b"server-Xssue.tsv",
    )
    .context("tamper point")?;
    mails.push(("07-tampered", tampered));
    // The first mail again, as a mail server may deliver twice.
    let replay = mails[0].1.clone();
    mails.push(("12-replay-of-01", replay));
    mails.sort_by(|a, b| a.0.cmp(b.0));
    for (name, raw) in &mails {
        crate::mail::maildir::deliver(&env.cfg.maildir, &format!("{name}.eml"), raw)?;
    }
    println!(
        "mailra demo: {} mails delivered to {}; processing…\n",
        mails.len(),
        env.cfg.maildir.join("new").display()
    );
    let outcomes = crate::service::maildir::process(&mut env, &|| false)?;
    report::print_table(&outcomes);
    let crls = ra::refresh_crl(&mut env, OffsetDateTime::now_utc())?;
    report::print_where(dir, &env.cfg, &outcomes, &crls);
    Ok(())
}
