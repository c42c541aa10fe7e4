//! `mailra demo`: a complete, self-contained run on the embedded defaults.
//!
//! Creates an instance with a fresh PKI, registers two institutions and
//! their officers, seeds two certificates issued "last year", writes
//! realistic signed application mails (and bad ones) into the Maildir inbox,
//! runs one processing pass and prints what happened to each mail.
//!
//! The mail-building helpers here are public: the integration tests and the
//! benchmark build their mails the same way.

use std::path::Path;

use anyhow::{Context, Result, bail};
use lettre::message::header::ContentType;
use lettre::message::{Attachment, MultiPart, SinglePart};
use openssl::pkey::{PKey, Private};
use time::OffsetDateTime;

use crate::ca;
use crate::ca::{KeyKind, KeyPair};
use crate::config::Config;
use crate::init::{self, InitArgs};
use crate::mail::sign::{self, Signer};
use crate::model::{Dn, IssueRow, Profile};
use crate::ra::{self, Env};
use crate::store;

const MARKER: &str = ".mailra-demo";
pub const ROBOT: &str = "mailra@certs.example.ac.jp";

/// A file attached to an application mail.
pub struct FileSpec {
    pub name: String,
    pub data: Vec<u8>,
}

/// Builds an officer's application mail: a text part and the files, signed
/// (detached, or opaque when `opaque`) by `signer`, with outer headers.
pub fn application_mail(
    signer: &Signer,
    from: &str,
    to: &str,
    subject: &str,
    files: &[FileSpec],
    opaque: bool,
    date: OffsetDateTime,
) -> Result<Vec<u8>> {
    let text = SinglePart::builder()
        .header(ContentType::TEXT_PLAIN)
        .body("事務局御中\r\n申請ファイルを送付します。よろしくお願いいたします。\r\n".to_string());
    let mut mp = MultiPart::mixed().singlepart(text);
    for f in files {
        mp = mp.singlepart(Attachment::new(f.name.clone()).body(
            f.data.clone(),
            ContentType::parse("text/tab-separated-values").unwrap(),
        ));
    }
    let entity = mp.formatted();
    let signed = if opaque {
        sign::sign_opaque(&entity, signer)?
    } else {
        sign::sign_detached(&entity, signer)?
    };
    let msgid = crate::mail::compose::new_message_id(from);
    let date = date.format(&time::format_description::well_known::Rfc2822)?;
    let headers = [
        ("From", from.to_string()),
        ("To", to.to_string()),
        ("Subject", subject.to_string()),
        ("Date", date),
        ("Message-ID", msgid),
    ];
    Ok(sign::assemble(&headers, &signed))
}

/// An unsigned mail with the same files (what a careless client sends).
pub fn unsigned_mail(from: &str, to: &str, subject: &str, files: &[FileSpec]) -> Result<Vec<u8>> {
    let mut mp =
        MultiPart::mixed().singlepart(SinglePart::plain("申請ファイルを送付します。".to_string()));
    for f in files {
        mp = mp.singlepart(Attachment::new(f.name.clone()).body(
            f.data.clone(),
            ContentType::parse("text/tab-separated-values").unwrap(),
        ));
    }
    let msg = lettre::Message::builder()
        .from(from.parse()?)
        .to(to.parse()?)
        .subject(subject)
        .multipart(mp)?;
    Ok(msg.formatted())
}

/// Encodes TSV text as Shift_JIS (Windows-31J) with CRLF line ends.
pub fn sjis(text: &str) -> Vec<u8> {
    let crlf = text.replace("\r\n", "\n").replace('\n', "\r\n");
    encoding_rs::SHIFT_JIS.encode(&crlf).0.into_owned()
}

/// The one-line CSR body the forms want (PEM without BEGIN/END, no line breaks).
pub fn csr_field(key: &PKey<Private>, dn: &Dn) -> Result<String> {
    csr_one_line(&ca::new_server_csr(dn, key)?)
}

/// A CSR as field 7 carries it: the PEM body on one line.
pub fn csr_one_line(req: &openssl::x509::X509Req) -> Result<String> {
    let pem = String::from_utf8(req.to_pem()?)?;
    Ok(pem.lines().filter(|l| !l.starts_with("-----")).collect())
}

pub fn server_dn(cn: &str, org: &str, l: &str, st: &str) -> Dn {
    Dn(vec![
        ("CN".into(), cn.into()),
        ("O".into(), org.into()),
        ("L".into(), l.into()),
        ("ST".into(), st.into()),
        ("C".into(), "JP".into()),
    ])
}

/// One 5-3-1 row (13 fields).
pub fn issue_line(
    dn: &Dn,
    profile: u8,
    csr: &str,
    admin_name: &str,
    admin_mail: &str,
    dns: &str,
) -> String {
    let cn = dn.cn().unwrap_or_default();
    format!(
        "{dn}\t{profile}\t\t\t\t\t{csr}\t{admin_name}\t情報基盤センター\t{admin_mail}\t{cn}\tApache httpd 2.4\t{dns}"
    )
}

/// One 5-3-2 row.
pub fn renew_line(
    dn: &Dn,
    profile: u8,
    old_serial: &str,
    csr: &str,
    admin_name: &str,
    admin_mail: &str,
) -> String {
    let cn = dn.cn().unwrap_or_default();
    format!(
        "{dn}\t{profile}\t\t{old_serial}\t\t\t{csr}\t{admin_name}\t情報基盤センター\t{admin_mail}\t{cn}\tnginx 1.24\t"
    )
}

/// One 5-3-3 row.
pub fn revoke_line(dn: &Dn, serial: &str, reason: u8, comment: &str) -> String {
    format!("{dn}\t\t\t{serial}\t{reason}\t{comment}\t\t\t\t\t\t\t")
}

struct Officer {
    email: String,
    signer: Signer,
}

fn officer(ca: &KeyPair, email: &str, name: &str, now: OffsetDateTime) -> Result<Officer> {
    let kp = ca::new_mail_cert(ca, email, name, now, 730)?;
    Ok(Officer {
        email: email.into(),
        signer: Signer {
            cert: kp.cert,
            key: kp.key,
            chain: vec![ca.cert.clone()],
        },
    })
}

/// Seeds a certificate as if issued earlier (the secretariat's existing stock).
fn seed_cert(
    env: &mut Env,
    inst_name: &str,
    dn: &Dn,
    key: &PKey<Private>,
    admin: &str,
    now: OffsetDateTime,
) -> Result<String> {
    let inst = store::institution_by_name(&env.conn, inst_name)?.context("institution")?;
    let req = ca::new_server_csr(dn, key)?;
    let row = IssueRow {
        line: 0,
        dn: dn.clone(),
        profile: Profile::ServerRsa2048,
        csr_der: req.to_der()?,
        admin_name: String::new(),
        admin_dept: String::new(),
        admin_mail: admin.into(),
        fqdn: dn.cn().unwrap_or_default().into(),
        software: "seed".into(),
        dns_names: vec![dn.cn().unwrap_or_default().into()],
    };
    let serial = env.serials.next_serial();
    let issued_at = now - time::Duration::days(300);
    let (ca_kind, issuing) = env.ca_for_profile(row.profile)?;
    let x509 = ca::issue_checked(issuing, &inst, &row, serial.clone(), issued_at, 396)?;
    let (not_before, not_after) =
        ca::profile::validity(issued_at, 396.min(ca::max_server_days(issued_at)))?;
    store::insert_certificate(
        &env.conn,
        &store::CertRecord {
            serial: serial.clone(),
            institution_id: inst.id,
            profile: Profile::ServerRsa2048,
            subject_dn: dn.to_string(),
            spki_sha256: ca::cert_spki_sha256(&x509),
            not_before,
            not_after,
            status: crate::model::CertStatus::Valid,
            pem: String::from_utf8(x509.to_pem()?)?,
            admin_mail: admin.into(),
            renewed_from: None,
            issued_at,
            mail_id: None,
            ca: ca_kind,
        },
    )?;
    store::audit(
        &env.conn,
        now,
        "demo",
        "import",
        None,
        Some(&serial),
        &format!("seeded {dn}"),
    )?;
    Ok(serial.to_string())
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

    // Two certificates issued last year: one to renew, one to revoke.
    let old_www_dn = server_dn("portal.example.ac.jp", ex, "Chiyoda-ku", "Tokyo");
    let old_www = seed_cert(
        &mut env,
        ex,
        &old_www_dn,
        &ca::new_key(KeyKind::Rsa2048)?,
        "portal-admin@example.ac.jp",
        now,
    )?;
    let old_mail_dn = server_dn("mail.example.ac.jp", ex, "Chiyoda-ku", "Tokyo");
    let old_mail = seed_cert(
        &mut env,
        ex,
        &old_mail_dn,
        &ca::new_key(KeyKind::Rsa2048)?,
        "mail-admin@example.ac.jp",
        now,
    )?;
    let old_wiki_dn = server_dn("wiki.example.ac.jp", ex, "Chiyoda-ku", "Tokyo");
    let old_wiki = seed_cert(
        &mut env,
        ex,
        &old_wiki_dn,
        &ca::new_key(KeyKind::Rsa2048)?,
        "wiki-admin@example.ac.jp",
        now,
    )?;

    let rsa_dn = server_dn("www.example.ac.jp", ex, "Chiyoda-ku", "Tokyo");
    let ec_dn = server_dn("lms.example.ac.jp", ex, "Chiyoda-ku", "Tokyo");
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

    let to = ROBOT;
    let file = |name: &str, text: &str| {
        vec![FileSpec {
            name: name.into(),
            data: sjis(text),
        }]
    };
    let mut mails: Vec<(&str, Vec<u8>)> = vec![
        (
            "01-issue-rsa2048",
            application_mail(
                &o1.signer,
                &o1.email,
                to,
                "サーバ証明書発行申請",
                &file("server-issue.tsv", &issue_rsa),
                false,
                now,
            )?,
        ),
        (
            "02-issue-p384-opaque",
            application_mail(
                &o1.signer,
                &o1.email,
                to,
                "サーバ証明書発行申請 (ECDSA)",
                &file("server-issue-ec.tsv", &issue_ec),
                true,
                now,
            )?,
        ),
        (
            "03-renewal",
            application_mail(
                &o1.signer,
                &o1.email,
                to,
                "サーバ証明書更新申請",
                &file("server-renew.tsv", &renew),
                false,
                now,
            )?,
        ),
        (
            "04-revocation",
            application_mail(
                &o1.signer,
                &o1.email,
                to,
                "サーバ証明書失効申請",
                &file("server-revoke.tsv", &revoke),
                false,
                now,
            )?,
        ),
        (
            "05-dry-run",
            application_mail(
                &o1.signer,
                &o1.email,
                to,
                "[check] サーバ証明書発行申請",
                &file("server-issue.tsv", &issue_ec),
                false,
                now,
            )?,
        ),
        (
            "06-unsigned",
            unsigned_mail(
                &o1.email,
                to,
                "サーバ証明書発行申請",
                &file("server-issue.tsv", &issue_rsa),
            )?,
        ),
        (
            "08-other-ca",
            application_mail(
                &rogue.signer,
                &rogue.email,
                to,
                "サーバ証明書発行申請",
                &file("server-issue.tsv", &issue_rsa),
                false,
                now,
            )?,
        ),
        (
            "09-from-mismatch",
            application_mail(
                &o1.signer,
                "someone-else@example.ac.jp",
                to,
                "サーバ証明書発行申請",
                &file("server-issue.tsv", &issue_rsa),
                false,
                now,
            )?,
        ),
        (
            "10-other-institution",
            application_mail(
                &o2.signer,
                &o2.email,
                to,
                "サーバ証明書発行申請",
                &file("server-issue.tsv", &foreign),
                false,
                now,
            )?,
        ),
        (
            "11-broken-rows",
            application_mail(
                &o1.signer,
                &o1.email,
                to,
                "サーバ証明書申請",
                &file("server-broken.tsv", &broken),
                false,
                now,
            )?,
        ),
    ];
    mails.push((
        "13-key-compromise",
        application_mail(
            &o1.signer,
            &o1.email,
            to,
            "サーバ証明書失効申請(鍵漏洩)",
            &file("server-revoke.tsv", &compromised),
            false,
            now,
        )?,
    ));
    // Tampered: a signed mail altered after signing (the file name inside the signed part).
    let mut tampered = application_mail(
        &o1.signer,
        &o1.email,
        to,
        "サーバ証明書発行申請",
        &file("server-issue.tsv", &issue_ec),
        false,
        now,
    )?;
    let pos = find(&tampered, b"server-issue.tsv").context("tamper point")?;
    tampered[pos + 7] = b'X';
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
    print_table(&outcomes);
    let crls = ra::refresh_crl(&mut env, OffsetDateTime::now_utc())?;
    println!();
    println!("replies (S/MIME-signed .eml): {}", env.cfg.outbox.display());
    println!(
        "issuing CAs: {} (RSA, profile 3), {} (ECDSA P-384, profile 11: mail 02)",
        env.cfg.ca_cert.display(),
        env.cfg
            .ec_ca
            .as_ref()
            .map(|p| p.cert.display().to_string())
            .unwrap_or_default()
    );
    for (kind, path) in &crls {
        println!("CRL of the {kind} issuing CA: {}", path.display());
    }
    println!("database: {}", env.cfg.database.display());
    println!(
        "mails filed under: {}/.<Folder>/cur (the folders of {})",
        env.cfg.maildir.display(),
        env.cfg
            .rules_dir
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
        env.cfg.outbox.display(),
        env.cfg.officer_ca.display()
    );
    Ok(())
}

fn find(hay: &[u8], needle: &[u8]) -> Option<usize> {
    hay.windows(needle.len()).position(|w| w == needle)
}

fn print_table(outcomes: &[ra::Outcome]) {
    println!(
        "{:<28} {:<10} {:<20} what happened",
        "mail", "verdict", "folder"
    );
    println!("{}", "-".repeat(120));
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
        println!(
            "{:<28} {:<10} {:<20} {}",
            o.source.trim_end_matches(".eml"),
            o.verdict.as_str(),
            o.folder,
            what
        );
    }
}
