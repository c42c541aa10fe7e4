//! The service layer (`mailra run`'s loops) on an injected clock: what the
//! daemon records and issues is dated by the clock it is given, not by the
//! wall clock, so time-based behaviour is tested without waiting.

mod support;

use std::sync::Arc;

use mailra::clock::FixedClock;
use mailra::ra::Verdict;
use mailra::store;
use support::*;

#[test]
fn the_daemon_runs_on_the_injected_clock() {
    let mut f = Fixture::new();
    // Ten minutes ahead of the wall clock, to the second.
    let at = (now() + time::Duration::minutes(10))
        .replace_nanosecond(0)
        .unwrap();
    f.env.clock = Arc::new(FixedClock::new(at));
    let raw = one_row(&f, "www.example.ac.jp");
    let new = f.path("maildir/new");
    std::fs::create_dir_all(&new).unwrap();
    std::fs::write(new.join("1.eml"), &raw).unwrap();
    fn report(o: &mailra::ra::Outcome) {
        assert_eq!(o.verdict, Verdict::Accepted, "{o:?}");
    }
    mailra::service::daemon::run(&mut f.env, std::time::Duration::from_secs(1), true, report)
        .unwrap();
    let certs = store::certificates(&f.env.conn).unwrap();
    assert_eq!(certs.len(), 1);
    assert_eq!(certs[0].issued_at, at);
    let mail = store::mail(&f.env.conn, certs[0].mail_id.unwrap())
        .unwrap()
        .unwrap();
    assert_eq!(mail.received_at, at);
    assert_eq!(mail.verdict, Verdict::Accepted);
    // The mail was filed into its folder, the reply written.
    let filed = std::fs::read_dir(f.path("maildir/.Processed.Issued/cur")).unwrap();
    assert_eq!(filed.count(), 1);
    assert!(!f.replies().is_empty());
}
