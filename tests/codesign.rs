//! The code-signing revocation form carried out by the workflow: a signed
//! mail carrying the filled form (an .xlsx, read in the sandboxed child and
//! recognised by its labels), checked, revoked through the CA's gate, put on
//! the CRL of the instance's CA or kept for export, and answered with the
//! completion notice.

use openssl::x509::X509Crl;
use time::{Duration, OffsetDateTime};

use mailra::ca::KeyPair;
use mailra::config::{Config, RawConfig};
use mailra::intake::codesign::Field;
use mailra::kit::{
    self,
    mail::FileSpec,
    pki::{Eku, Key, Spec, make},
};
use mailra::model::{CaKind, CertKind, CertStatus, Dn, Serial, Verdict};
use mailra::ra::{Env, process};
use mailra::store::{self, CertRecord};

const EX: &str = "Example University";
const O1: &str = "officer@example.ac.jp";

struct Instance {
    dir: tempfile::TempDir,
    env: Env,
    officer: mailra::mail::sign::Signer,
    own_ca: KeyPair,
    import_ca: KeyPair,
}

fn instance() -> Instance {
    let now = OffsetDateTime::now_utc();
    let dir = tempfile::tempdir().unwrap();
    mailra::init::init(
        &mailra::init::InitArgs {
            dir: dir.path().to_path_buf(),
            robot_address: Some(kit::ROBOT.into()),
            ..Default::default()
        },
        now,
    )
    .unwrap();
    let import_ca = make(&Spec::root("Code Signing Import CA", 900), None).unwrap();
    std::fs::write(
        dir.path().join("pki/codesign-ca.pem"),
        import_ca.cert.to_pem().unwrap(),
    )
    .unwrap();
    let toml_path = dir.path().join(mailra::config::FILE_NAME);
    let mut raw: RawConfig = toml::from_str(&std::fs::read_to_string(&toml_path).unwrap()).unwrap();
    raw.ca.key_pool = Some(0);
    raw.ca.import_cas = vec!["pki/codesign-ca.pem".into()];
    std::fs::write(&toml_path, toml::to_string(&raw).unwrap()).unwrap();
    let mut env = Env::open(Config::load(dir.path()).unwrap()).unwrap();
    env.workbooks.exe = env!("CARGO_BIN_EXE_mailra").into();
    store::add_institution(
        &env.conn,
        EX,
        "Tokyo",
        "Chiyoda-ku",
        &["example.ac.jp".into()],
        now,
    )
    .unwrap();
    store::add_officer(&env.conn, O1, EX, now - Duration::days(30)).unwrap();
    let officer_ca = KeyPair::load(
        &dir.path().join("pki/officer-ca.pem"),
        &dir.path().join("pki/officer-ca.key"),
    )
    .unwrap();
    let officer = kit::pki::officer(&officer_ca, O1, "Test Officer", now, 365).unwrap();
    let own_ca = KeyPair::load(
        &dir.path().join("pki/ca.pem"),
        &dir.path().join("pki/ca.key"),
    )
    .unwrap();
    Instance {
        dir,
        env,
        officer,
        own_ca,
        import_ca,
    }
}

/// A code-signing (or `eku`) certificate of Example University, recorded as
/// `mailra registry import-cert` records it.
fn imported(i: &Instance, serial: u32, eku: Eku, own: bool) -> CertRecord {
    let issuer = if own { &i.own_ca } else { &i.import_ca };
    let k = make(
        &Spec {
            cn: "Example University Code Signing",
            org: Some(EX),
            email: None,
            ca: false,
            eku: Some(eku),
            serial,
            from_days: -30,
            to_days: 300,
            key: Key::Rsa(2048),
        },
        Some(issuer),
    )
    .unwrap();
    let now = OffsetDateTime::now_utc();
    let inst = store::institution_by_name(&i.env.conn, EX)
        .unwrap()
        .unwrap();
    let rec = CertRecord {
        serial: Serial::from_bytes(&serial.to_be_bytes()),
        institution_id: inst.id,
        profile: None,
        kind: match eku {
            Eku::CodeSigning => CertKind::CodeSigning,
            Eku::ServerAuth => CertKind::Server,
            Eku::EmailProtection => CertKind::Smime,
        },
        subject_dn: Dn::display_x509_name(k.cert.subject_name()),
        spki_sha256: mailra::ca::cert_spki_sha256(&k.cert),
        not_before: now - Duration::days(30),
        not_after: now + Duration::days(300),
        status: CertStatus::Valid,
        pem: String::from_utf8(k.cert.to_pem().unwrap()).unwrap(),
        admin_mail: String::new(),
        renewed_from: None,
        issued_at: now - Duration::days(30),
        mail_id: None,
        ca: own.then_some(CaKind::Rsa),
        import_ca: (!own).then(|| "codesign-ca".to_string()),
        imported_at: Some(now),
        applied_dn: None,
        user_mail: None,
    };
    store::insert_certificate(&i.env.conn, &rec).unwrap();
    rec
}

/// The form as `mailra forms template codesign-revoke` writes it, filled
/// with the example's values except those `set` changes.
fn form(set: &[(Field, &str)]) -> Vec<u8> {
    mailra::render::xlsx_forms::codesign::filled(&|field| {
        set.iter()
            .find(|(f, _)| *f == field)
            .map(|(_, v)| v.to_string())
            .unwrap_or_else(|| mailra::render::xlsx_forms::codesign::example(field).to_string())
    })
    .unwrap()
}

fn mail(i: &Instance, form: Vec<u8>) -> Vec<u8> {
    kit::mail::application_mail(
        &i.officer,
        O1,
        kit::ROBOT,
        "コード署名用証明書失効申請",
        &[FileSpec {
            name: "codesign.xlsx".into(),
            data: form,
        }],
        false,
        OffsetDateTime::now_utc(),
    )
    .unwrap()
}

/// (recipients, subject) of the completion notices of a mail.
fn notices(i: &Instance, mail_id: i64) -> Vec<(Vec<String>, String)> {
    store::outbox_for_mail(&i.env.conn, mail_id)
        .unwrap()
        .into_iter()
        .filter(|m| m.subject.contains("コード署名用証明書失効完了通知"))
        .map(|m| (m.recipients, m.subject))
        .collect()
}

#[test]
fn a_code_signing_form_revokes_an_import_ca_certificate_for_export_and_notifies_officer_and_admin()
{
    let mut i = instance();
    // An EV code-signing subject carries attributes no form names: the
    // stored DN does not parse as a form DN, the certificate is read instead.
    let mut c = imported(&i, 0x4001, Eku::CodeSigning, false);
    c.subject_dn = format!("1.3.6.1.4.1.311.60.2.1.3=JP,{}", c.subject_dn);
    i.env
        .conn
        .execute(
            "UPDATE certificates SET subject_dn = ?1 WHERE serial = ?2",
            rusqlite::params![c.subject_dn, c.serial.to_hex()],
        )
        .unwrap();
    assert!(mailra::policy::dn::parse(&c.subject_dn).is_err());
    let serial = c.serial.to_string();
    let raw = mail(&i, form(&[(Field::Serial, &serial)]));
    let o = process(&mut i.env, &raw, "test", OffsetDateTime::now_utc()).unwrap();
    assert_eq!(o.verdict, Verdict::Accepted, "{o:?}");
    assert_eq!(o.revoked, vec![serial.clone()]);
    let after = store::certificate(&i.env.conn, &c.serial).unwrap().unwrap();
    assert_eq!(after.status, CertStatus::Revoked);
    let r = store::revocation(&i.env.conn, &c.serial).unwrap().unwrap();
    assert_eq!(r.reason.code(), 5);
    // Not on the instance's CRLs: kept for the import CA's export.
    assert!(
        store::revocations(&i.env.conn, CaKind::Rsa)
            .unwrap()
            .is_empty()
    );
    assert!(!i.dir.path().join("crl/ca.crl").exists());
    assert_eq!(
        store::import_ca_revocations(&i.env.conn, "codesign-ca")
            .unwrap()
            .len(),
        1
    );
    let n = notices(&i, o.mail_id);
    assert_eq!(n.len(), 1, "{n:?}");
    let mut to = n[0].0.clone();
    to.sort();
    assert_eq!(
        to,
        vec![O1.to_string(), "taro.kokuritsu@example.ac.jp".to_string()]
    );
    assert!(
        n[0].1.contains("Example University Code Signing"),
        "{}",
        n[0].1
    );

    // The same form again: the certificate is revoked already.
    let again = mail(
        &i,
        form(&[(Field::Serial, &serial), (Field::Comment, "again")]),
    );
    let o = process(&mut i.env, &again, "test", OffsetDateTime::now_utc()).unwrap();
    assert_eq!(o.verdict, Verdict::Invalid, "{o:?}");
    assert!(o.revoked.is_empty());
}

#[test]
fn a_code_signing_certificate_of_the_instance_ca_goes_on_its_crl_and_the_officer_alone_is_told() {
    let mut i = instance();
    let c = imported(&i, 0x4002, Eku::CodeSigning, true);
    let serial = c.serial.to_string();
    let raw = mail(
        &i,
        form(&[
            (Field::Serial, &c.serial.to_decimal()),
            (Field::AdminMail, ""),
        ]),
    );
    let o = process(&mut i.env, &raw, "test", OffsetDateTime::now_utc()).unwrap();
    assert_eq!(o.verdict, Verdict::Accepted, "{o:?}");
    assert_eq!(o.revoked, vec![serial]);
    let pem = std::fs::read(i.dir.path().join("crl/ca.crl.pem")).unwrap();
    let crl = X509Crl::from_pem(&pem).unwrap();
    assert!(crl.verify(&i.own_ca.cert.public_key().unwrap()).unwrap());
    let listed: Vec<Serial> = crl
        .get_revoked()
        .unwrap()
        .iter()
        .map(|r| Serial::from_bytes(&r.serial_number().to_bn().unwrap().to_vec()))
        .collect();
    assert_eq!(listed, vec![c.serial.clone()]);
    let n = notices(&i, o.mail_id);
    assert_eq!(n.len(), 1, "{n:?}");
    assert_eq!(n[0].0, vec![O1.to_string()]);
}

#[test]
fn a_code_signing_form_naming_a_server_certificate_revokes_nothing() {
    let mut i = instance();
    let c = imported(&i, 0x4003, Eku::ServerAuth, true);
    let raw = mail(&i, form(&[(Field::Serial, &c.serial.to_string())]));
    let o = process(&mut i.env, &raw, "test", OffsetDateTime::now_utc()).unwrap();
    assert_eq!(o.verdict, Verdict::Invalid, "{o:?}");
    assert!(o.revoked.is_empty());
    let after = store::certificate(&i.env.conn, &c.serial).unwrap().unwrap();
    assert_eq!(after.status, CertStatus::Valid);
    assert!(notices(&i, o.mail_id).is_empty());
}
