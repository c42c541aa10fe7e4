//! A certificate look-up that fails stops the check of the whole file: the
//! look-up error comes back instead of a verdict, never as "no certificate
//! with serial …" or a key that seems free. Each form against each failing
//! method; a form that does not consult that method is checked as usual.

use super::*;
use crate::policy::check::fake::{CAUSE, Failing, Method};

/// The form and its rows, or the error that stopped the check.
type Outcome = Result<(Option<FormKind>, Vec<String>, usize), String>;

#[test]
fn a_failed_look_up_is_never_a_row_error() {
    let i = inst();
    let store = Certs(vec![summary(1, CertStatus::Valid, 7, rsa2048())]);
    let new_key = csr(DN, rsa2048_b());
    let issue = issue_fields(&new_key);
    let mut renew = issue_fields(&new_key);
    renew[3] = "1".into();
    let mut revoke = vec![String::new(); 13];
    revoke[0] = DN.into();
    revoke[3] = "1".into();
    revoke[4] = "5".into();
    // A second row with an error of its own: the failure still wins, no
    // partial list of errors is told.
    let mut bad_reason = revoke.clone();
    bad_reason[3] = "2".into();
    bad_reason[4] = "2".into();

    let stopped: Outcome = Err(format!("certificate look-up failed: {CAUSE}"));
    let clean = |k| -> Outcome { Ok((Some(k), vec![], 1)) };
    let cases: Vec<(Vec<&Vec<String>>, Method, Outcome)> = vec![
        (vec![&issue], Method::BySerial, clean(FormKind::ServerIssue)),
        // Key reuse: the key's holders cannot be known.
        (vec![&issue], Method::KeyHolders, stopped.clone()),
        (vec![&renew], Method::BySerial, stopped.clone()),
        (vec![&renew], Method::KeyHolders, stopped.clone()),
        (vec![&revoke], Method::BySerial, stopped.clone()),
        (
            vec![&bad_reason, &revoke],
            Method::BySerial,
            stopped.clone(),
        ),
        (
            vec![&revoke],
            Method::KeyHolders,
            clean(FormKind::ServerRevoke),
        ),
    ];
    for (n, (rows, method, expected)) in cases.into_iter().enumerate() {
        let failing = Failing {
            method,
            certs: &store,
        };
        let ctx = Context {
            institution: Some(&i),
            certs: Some(&failing),
            ecdsa_ca: None,
            reserved_keys: &[],
        };
        let rows: Vec<Vec<String>> = rows.into_iter().cloned().collect();
        let got: Outcome = crate::policy::forms::check_file("test.tsv", &file(&rows), &ctx)
            .map(|c| (c.kind, lines(&c), c.rows.len()))
            .map_err(|e| e.to_string());
        assert_eq!(got, expected, "case {n}: {method:?} failing");
    }
}
