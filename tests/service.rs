//! The service layer (`mailra run`'s loops) on an injected clock and serial
//! source: what the daemon records and issues is dated by the clock it is
//! given and numbered by the source it is given, not by the wall clock or the
//! CSPRNG, so time-based behaviour is tested without waiting.

mod support;

use std::sync::Arc;

use mailra::ca::SerialSource;
use mailra::clock::FixedClock;
use mailra::model::Serial;
use mailra::ra::Verdict;
use mailra::store;
use support::*;

/// Serials 0x4d41494c5241…01, …02, … ("MAILRA"), 64 bits and more.
struct Counting(u8);

impl SerialSource for Counting {
    fn next_serial(&mut self) -> Serial {
        self.0 += 1;
        Serial::from_bytes(&[0x4d, 0x41, 0x49, 0x4c, 0x52, 0x41, 0, 0, 0, self.0])
    }
}

#[test]
fn the_daemon_runs_on_the_injected_clock_and_serials() {
    let mut f = Fixture::new();
    // Ten minutes ahead of the wall clock, to the second.
    let at = (now() + time::Duration::minutes(10))
        .replace_nanosecond(0)
        .unwrap();
    f.env.clock = Arc::new(FixedClock::new(at));
    f.env.serials = Box::new(Counting(0));
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
    assert_eq!(certs[0].serial.to_hex(), "4D41494C524100000001");
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
