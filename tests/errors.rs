//! Internal errors are told to the operator, never to the officer: a failed
//! look-up in the store must not read as "no certificate with serial …",
//! and the mail must be processed again once the store is back.

mod support;

use mailra::kit::forms::{csr_field, issue_line, revoke_line};
use mailra::model::CertStatus;
use mailra::ra::{self, Verdict};
use mailra::store;
use support::*;

#[test]
fn a_database_error_is_never_told_to_the_officer_as_a_rejection() {
    let (mut f, raw) = issued_and_a_revocation();
    let replies_before = f.replies().len();

    // The certificates table is unreadable for a moment (a broken disk, a
    // migration gone wrong): sabotage for the test's sake.
    f.env
        .conn
        .execute_batch("ALTER TABLE certificates RENAME TO certificates_away")
        .unwrap();
    fails_untold(&mut f, &raw, replies_before, "certificates");

    // Back again: the same mail is carried out as if nothing had happened.
    f.env
        .conn
        .execute_batch("ALTER TABLE certificates_away RENAME TO certificates")
        .unwrap();
    let o = f.process(&raw);
    assert_eq!(o.verdict, Verdict::Accepted, "{o:?}");
    assert_eq!(o.revoked.len(), 1);
    assert_eq!(
        store::certificates(&f.env.conn).unwrap()[0].status,
        CertStatus::Revoked
    );
}

#[test]
fn a_damaged_stored_dn_is_not_told_to_the_officer_as_a_dn_mismatch() {
    let (mut f, raw) = issued_and_a_revocation();
    let replies_before = f.replies().len();
    // The stored DN of the certificate is damaged (sabotage for the test's
    // sake). Read as an empty DN it would be answered "the DN differs".
    f.env
        .conn
        .execute_batch("UPDATE certificates SET subject_dn = 'not a DN'")
        .unwrap();
    fails_untold(&mut f, &raw, replies_before, "certificate DN");
}

#[test]
fn a_damaged_stored_dn_is_not_told_to_the_officer_as_key_reuse() {
    // A certificate for www, then a second request for www with the same
    // key: allowed (same subject), once the key's holder can be read.
    let mut f = Fixture::new();
    let key = rsa();
    let line = issue_tsv_key("www.example.ac.jp", &key, 3);
    assert_eq!(f.process(&f.mail(&f.o1, O1, "発行", &line)).issued.len(), 1);
    let raw = f.mail(&f.o1, O1, "再発行", &line);
    let replies_before = f.replies().len();
    // The holder's stored DN is damaged (sabotage for the test's sake):
    // neither "another subject holds this key" nor "the key is free".
    f.env
        .conn
        .execute_batch("UPDATE certificates SET subject_dn = 'not a DN'")
        .unwrap();
    fails_untold(&mut f, &raw, replies_before, "certificate DN");
}

/// Processing `raw` stops with an internal error naming `what`, and nothing
/// is recorded or answered: the officer is told nothing false.
fn fails_untold(f: &mut Fixture, raw: &[u8], replies_before: usize, what: &str) {
    let err = ra::process(&mut f.env, raw, "test", now()).unwrap_err();
    assert!(err.to_string().contains(what), "{err}");
    assert_eq!(f.replies().len(), replies_before);
    assert!(
        store::mail_by_raw(&f.env.conn, &ra_sha(raw))
            .unwrap()
            .is_none()
    );
}

/// An instance with one issued certificate, and a signed mail revoking it.
fn issued_and_a_revocation() -> (Fixture, Vec<u8>) {
    let mut f = Fixture::new();
    let dn = ex_dn("www.example.ac.jp");
    let line = issue_line(
        &dn,
        3,
        &csr_field(&rsa(), &dn).unwrap(),
        "",
        "admin@example.ac.jp",
        "",
    );
    let serial = f
        .process(&f.mail(&f.o1, O1, "発行", &line))
        .issued
        .remove(0);
    let raw = f.mail(&f.o1, O1, "失効", &revoke_line(&dn, &serial, 4, ""));
    (f, raw)
}

fn ra_sha(raw: &[u8]) -> String {
    hex::encode(openssl::sha::sha256(raw))
}

#[test]
fn an_unreadable_stored_revocation_stops_crl_publication() {
    let (mut f, raw) = issued_and_a_revocation();
    let o = f.process(&raw);
    assert_eq!(o.revoked.len(), 1);
    let crl = std::fs::read(f.path("crl/ca.crl")).unwrap();

    // The stored reason is damaged (sabotage for the test's sake); the CA
    // must not sign a CRL that silently leaves the certificate off.
    f.env
        .conn
        .execute_batch("UPDATE revocations SET reason = 99")
        .unwrap();
    let later = now() + time::Duration::days(30);
    let err = ra::refresh_crl(&mut f.env, later).unwrap_err();
    assert!(
        err.to_string().contains("unreadable revocation reason"),
        "{err}"
    );
    assert_eq!(
        std::fs::read(f.path("crl/ca.crl")).unwrap(),
        crl,
        "no new CRL published"
    );
}
