//! A certificate look-up that fails stops the check of the whole file: the
//! look-up error comes back instead of a verdict, never as "no certificate
//! with serial …". Each form against each failing method; the client forms
//! carry no key (the CA generates it), so only renewal and revocation look
//! certificates up.

use super::*;
use crate::policy::check::fake::{CAUSE, Failing, Method};

/// The form and its rows, or the error that stopped the check.
type Outcome = Result<(Option<FormKind>, Vec<String>, usize), String>;

#[test]
fn a_failed_look_up_is_never_a_row_error() {
    let i = inst();
    let store = Certs(vec![summary(
        1,
        CertStatus::Valid,
        7,
        Profile::Client13Months,
    )]);
    let issue = issue_fields();
    let renew = with(issue_fields(), &[(4, "1")]);
    let revoke = revoke_fields("1");
    // A second row with an error of its own: the failure still wins, no
    // partial list of errors is told.
    let bad_reason = with(revoke_fields("2"), &[(5, "2")]);

    let stopped: Outcome = Err(format!("certificate look-up failed: {CAUSE}"));
    let clean = |k| -> Outcome { Ok((Some(k), vec![], 1)) };
    let cases: Vec<(Vec<&Vec<String>>, Method, Outcome)> = vec![
        (vec![&issue], Method::BySerial, clean(FormKind::ClientIssue)),
        (
            vec![&issue],
            Method::KeyHolders,
            clean(FormKind::ClientIssue),
        ),
        (vec![&renew], Method::BySerial, stopped.clone()),
        (
            vec![&renew],
            Method::KeyHolders,
            clean(FormKind::ClientRenew),
        ),
        (vec![&revoke], Method::BySerial, stopped.clone()),
        (
            vec![&bad_reason, &revoke],
            Method::BySerial,
            stopped.clone(),
        ),
        (
            vec![&revoke],
            Method::KeyHolders,
            clean(FormKind::ClientRevoke),
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
            ..Context::default()
        };
        let rows: Vec<Vec<String>> = rows.into_iter().cloned().collect();
        let got: Outcome = crate::policy::forms::check_file("test.tsv", &file(&rows), &ctx)
            .map(|c| (c.kind, lines(&c), c.rows.len()))
            .map_err(|e| e.to_string());
        assert_eq!(got, expected, "case {n}: {method:?} failing");
    }
}
