//! The expiry digest of client certificates: put in the store directly (their
//! issuance is another part), listed by `reminders list`, and sent with a
//! pre-filled 5-4-2 file per download method that reads back, signed and
//! returned as it is, as valid renewals.

use super::*;
use mailra::model::{ApplicationStatus, CaKind, DownloadMethod, Profile};

/// A client certificate of Example University put straight into the store
/// as issuance leaves it (the record and what its 5-4-1 row said), valid
/// until `not_after`. `subject`: the certificate's subject when it differs
/// from the DN applied for (S/MIME). Returns its serial.
#[allow(clippy::too_many_arguments)]
fn put_client(
    f: &Fixture,
    serial: u8,
    applied: &str,
    subject: Option<&str>,
    profile: Profile,
    method: DownloadMethod,
    user_mail: &str,
    p12_name: &str,
    not_after: time::OffsetDateTime,
) -> Serial {
    let inst = store::institutions(&f.env.conn)
        .unwrap()
        .into_iter()
        .find(|i| i.name == EX)
        .unwrap();
    let serial = Serial::from_bytes(&[0x7c, serial]);
    store::insert_certificate(
        &f.env.conn,
        &store::CertRecord {
            serial: serial.clone(),
            institution_id: inst.id,
            profile: Some(profile),
            kind: mailra::model::CertKind::of_profile(profile),
            subject_dn: subject.unwrap_or(applied).to_string(),
            spki_sha256: format!("{:0>64}", serial.to_hex()),
            not_before: not_after - Duration::days(395),
            not_after,
            status: CertStatus::Valid,
            pem: String::new(),
            admin_mail: "taro@example.ac.jp".into(),
            renewed_from: None,
            issued_at: not_after - Duration::days(395),
            mail_id: None,
            ca: Some(CaKind::Rsa),
            import_ca: None,
            imported_at: None,
            applied_dn: subject.map(|_| applied.to_string()),
            user_mail: Some(user_mail.to_string()),
        },
    )
    .unwrap();
    store::set_client_details(
        &f.env.conn,
        &serial,
        &store::ClientDetails {
            admin_name: "国立　太郎".into(),
            admin_dept: "学術基盤推進部".into(),
            user_name: "国立　花子".into(),
            user_dept: "情報学部".into(),
            p12_name: p12_name.into(),
            method,
        },
    )
    .unwrap();
    serial
}

#[test]
fn the_digest_lists_client_certificates_with_a_client_renewal_file_per_download_method() {
    let (mut f, clock) = instance(200);
    let expiry = clock.now() + Duration::days(20);
    let org = "O=Example University,L=Chiyoda-ku,ST=Tokyo,C=JP";
    let client = put_client(
        &f,
        1,
        &format!("CN=KOKURITSU HANAKO,OU=12345678,OU=Informatics,{org}"),
        None,
        Profile::Client13Months,
        DownloadMethod::P12Each,
        "hanako@example.ac.jp",
        "hanako",
        expiry,
    );
    let smime_mail = "jiro@example.ac.jp";
    let smime = put_client(
        &f,
        2,
        &format!("CN={smime_mail},OU=Staff,OU=Library,{org}"),
        Some(&format!("CN={smime_mail}")),
        Profile::Smime25Months,
        DownloadMethod::P12Bundle,
        smime_mail,
        smime_mail,
        expiry,
    );

    // `reminders list` shows the client certificates, at the clock's now and
    // from the command line (which runs on the wall clock, a moment later).
    let listed: Vec<String> = mailra::ops::reminders::list(&f.env.conn, clock.now(), 30)
        .unwrap()
        .into_iter()
        .filter(|r| r.kind == "expiry-digest")
        .map(|r| r.serial)
        .collect();
    assert_eq!(listed, [client.to_string(), smime.to_string()]);
    let dir = f.dir.path().to_str().unwrap().to_string();
    let out = mailra(&["reminders", "list", "--dir", &dir]);
    let t = String::from_utf8_lossy(&out.stdout).into_owned();
    assert!(out.status.success(), "{t}");
    for (serial, cn) in [(&client, "KOKURITSU HANAKO"), (&smime, smime_mail)] {
        assert!(
            t.lines().any(|l| l.contains("expiry-digest")
                && l.contains(&serial.to_string())
                && l.contains(cn)),
            "{serial} {cn} not listed:\n{t}"
        );
    }

    let queued = scheduler::tick(&f.env).unwrap();
    assert_eq!(queued.len(), 1, "{queued:?}");
    assert_eq!(queued[0].serials, [client.to_string(), smime.to_string()]);
    let raw = raw_of(&f, queued[0].outbox_id);
    assert!(verifies(&f, &raw));
    assert!(attachment(&raw, "server-renewal.tsv").is_none());
    let body = text_of(&raw);
    for want in [
        "client-renewal-method1.tsv",
        "client-renewal-method2.tsv",
        "追記は不要",
        "nothing to add",
    ] {
        assert!(body.contains(want), "{want} not in:\n{body}");
    }
    assert!(!body.contains("no renewal row"), "{body}");

    // One file per download method, each a 5-4-2 row complete but for the PIN.
    let mut files = Vec::new();
    for (name, serial, method, dn) in [
        (
            "client-renewal-method1.tsv",
            &client,
            "1",
            format!("CN=KOKURITSU HANAKO,OU=12345678,OU=Informatics,{org}"),
        ),
        (
            "client-renewal-method2.tsv",
            &smime,
            "2",
            format!("CN={smime_mail},OU=Staff,OU=Library,{org}"),
        ),
    ] {
        let file = attachment(&raw, name).unwrap_or_else(|| panic!("{name} attached"));
        let (text, _, bad) = encoding_rs::SHIFT_JIS.decode(&file);
        assert!(!bad && text.ends_with("\r\n"), "{name}");
        let lines: Vec<&str> = text.lines().collect();
        assert_eq!(lines.len(), 1, "{name}: {text}");
        let fields: Vec<&str> = lines[0].split('\t').collect();
        assert_eq!(fields.len(), 15, "{name}: {text}");
        assert_eq!(
            (fields[0], fields[2], fields[3], fields[14]),
            (dn.as_str(), method, serial.to_string().as_str(), ""),
            "{name}"
        );
        assert!(text.contains("国立　花子"), "{name}: {text}");
        files.push(FileSpec {
            name: name.into(),
            data: file,
        });
    }

    // Signed and sent back as they are (a `[check]` dry run here: the
    // issuance of client renewals is another part), both files are valid
    // 5-4-2 renewals.
    let answer =
        kit::mail::application_mail(&f.o1, O1, kit::ROBOT, "[check] 更新", &files, false, now())
            .unwrap();
    let o = ra::process(&mut f.env, &answer, "test", clock.now()).unwrap();
    assert_eq!(o.verdict, Verdict::Checked, "{o:?}");
    let apps = store::applications(
        &f.env.conn,
        &store::ApplicationFilter {
            mail_id: Some(o.mail_id),
            ..Default::default()
        },
    )
    .unwrap();
    assert_eq!(apps.len(), 2);
    for a in &apps {
        assert_eq!(
            (a.form.as_deref(), a.status, a.rows.len()),
            (Some("5-4-2"), ApplicationStatus::Checked, 0),
            "{}: {:?}",
            a.filename,
            a.rows
        );
    }
}

/// The whole loop for a client certificate: issued through a signed 5-4-1
/// mail, listed in the digest 20 days before it expires (13 months later on
/// the injected clock), the attached 5-4-2 file signed and sent back as it
/// is: the certificate is renewed exactly once, a new P12 and its PIN go
/// out, and later digests leave it out.
#[test]
fn a_returned_client_digest_renews_the_listed_certificate_once() {
    let (mut f, clock) = instance(40);
    // The officer's certificate must still be valid 13 months on, and the
    // mail (signed by openssl with the wall clock's time) old enough.
    f.o1 = kit::pki::officer(&f.officer_ca, O1, "Test Officer", now(), 900).unwrap();
    f.env.trust.max_age = Duration::days(500);
    let dn = kit::forms::client_dn(
        "Hanako Suzuki",
        &["Science", "S1234"],
        EX,
        "Chiyoda-ku",
        "Tokyo",
    );
    let ask = kit::forms::ClientLine {
        profile: 13,
        method: 1,
        admin_mail: "admin@example.ac.jp",
        p12_name: "hanako",
        user_mail: "hanako@example.ac.jp",
        ..Default::default()
    };
    let raw = mail_at(&f.o1, O1, &kit::forms::client_issue_line(&dn, &ask));
    let o = accept(&mut f, &clock, &raw);
    let old = mailra::cli::parse_serial(&o.issued[0]).unwrap();
    let not_after = store::certificate(&f.env.conn, &old)
        .unwrap()
        .unwrap()
        .not_after;

    clock.set(not_after - Duration::days(20));
    let queued = scheduler::tick(&f.env).unwrap();
    let digest = queued
        .iter()
        .find(|q| q.kind == "expiry-digest")
        .expect("a digest");
    let raw = raw_of(&f, digest.outbox_id);
    let file = attachment(&raw, "client-renewal-method1.tsv").expect("the client renewal file");

    let back = mail_bytes(&f.o1, O1, file);
    let o = accept(&mut f, &clock, &back);
    assert_eq!(o.issued.len(), 1, "{o:?}");
    let renewals: Vec<_> = store::certificates(&f.env.conn)
        .unwrap()
        .into_iter()
        .filter(|c| c.renewed_from.as_ref() == Some(&old))
        .collect();
    assert_eq!(renewals.len(), 1, "renewed once");
    assert_eq!(
        renewals[0].user_mail.as_deref(),
        Some("hanako@example.ac.jp")
    );
    assert_eq!(
        o.replies, 3,
        "the receipt, the P12 mail and the PIN mail: {o:?}"
    );

    for days in [0, 1, 10] {
        clock.set(not_after - Duration::days(20) + Duration::days(days));
        let q = scheduler::tick(&f.env).unwrap();
        assert!(
            q.iter().all(|q| q.kind != "expiry-digest"),
            "day +{days}: {q:?}"
        );
    }
}
