//! Which reminders are due at a given time, as pure functions of the
//! certificate records, the reminders already sent and `now` (the reminder
//! jobs in `ra::reminders` read those from the store, and the scheduler
//! chooses `now` from the injected clock):
//!
//! - 2-2-9: a server renewal whose old certificate is still neither revoked
//!   nor expired [`RENEWAL_REVOKE_AFTER`] after the renewal was issued gets one
//!   reminder, never a second;
//! - the expiry digest: the valid certificates that expire within the window,
//!   not renewed yet and not listed in a digest before, grouped per
//!   institution; an institution gets at most one digest a day
//!   ([`DIGEST_EVERY`]) and none when it opted out.

use std::collections::{BTreeMap, HashMap, HashSet};

use time::{Duration, OffsetDateTime};

use crate::model::{CertKind, Serial};

/// How long after a renewal the old certificate may stay unrevoked (2-2-9).
pub const RENEWAL_REVOKE_AFTER: Duration = Duration::days(14);
/// At most one expiry digest per institution in this time.
pub const DIGEST_EVERY: Duration = Duration::days(1);

/// What the selection needs of a certificate.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct CertState {
    pub serial: Serial,
    pub institution_id: i64,
    pub kind: CertKind,
    pub not_after: OffsetDateTime,
    pub issued_at: OffsetDateTime,
    pub revoked: bool,
    /// The certificate this one renewed.
    pub renewed_from: Option<Serial>,
}

/// A renewal whose old certificate is still valid: a 2-2-9 reminder, sent or
/// to be sent.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct RenewalReminder {
    pub old: Serial,
    pub new: Serial,
    pub institution_id: i64,
    /// When it is due: the renewal's issuance plus [`RENEWAL_REVOKE_AFTER`].
    pub due_at: OffsetDateTime,
    pub sent: bool,
}

impl RenewalReminder {
    /// Whether it is to be sent now.
    pub fn due(&self, now: OffsetDateTime) -> bool {
        !self.sent && now >= self.due_at
    }
}

/// The open 2-2-9 reminders at `now`: every server renewal whose old
/// certificate is neither revoked nor expired, with whether its reminder was
/// sent (`sent`: the old serials reminded of). When an old certificate was
/// renewed more than once, the first renewal counts.
pub fn renewal_reminders(
    certs: &[CertState],
    sent: &HashSet<Serial>,
    now: OffsetDateTime,
) -> Vec<RenewalReminder> {
    let by_serial: HashMap<&Serial, &CertState> = certs.iter().map(|c| (&c.serial, c)).collect();
    let mut first: BTreeMap<&Serial, &CertState> = BTreeMap::new();
    for c in certs {
        let Some(old) = &c.renewed_from else {
            continue;
        };
        if c.kind != CertKind::Server {
            continue;
        }
        let e = first.entry(old).or_insert(c);
        if (c.issued_at, &c.serial) < (e.issued_at, &e.serial) {
            *e = c;
        }
    }
    let mut out: Vec<RenewalReminder> = first
        .into_iter()
        .filter_map(|(old, new)| {
            let o = by_serial.get(old)?;
            (!o.revoked && o.not_after > now).then(|| RenewalReminder {
                old: old.clone(),
                new: new.serial.clone(),
                institution_id: o.institution_id,
                due_at: new.issued_at + RENEWAL_REVOKE_AFTER,
                sent: sent.contains(old),
            })
        })
        .collect();
    out.sort_by(|a, b| (a.due_at, &a.old).cmp(&(b.due_at, &b.old)));
    out
}

/// Whether a certificate valid until `not_after` expires within `days` days
/// of `now` (and has not expired yet): the window's far edge is included.
pub fn in_digest_window(not_after: OffsetDateTime, now: OffsetDateTime, days: u32) -> bool {
    not_after > now && not_after <= now + Duration::days(days.into())
}

/// What the digest selection knows besides the certificates.
#[derive(Debug, Clone, Default)]
pub struct DigestHistory {
    /// Certificates listed in a digest already.
    pub listed: HashSet<Serial>,
    /// When each institution was last sent a digest.
    pub last_sent: HashMap<i64, OffsetDateTime>,
    /// Institutions that opted out.
    pub opted_out: HashSet<i64>,
}

/// The certificates of each institution that go into its next digest, in
/// expiry order: valid, in the window, not renewed by another certificate,
/// not listed before. `due` tells whether the institution may be sent its
/// digest now (not opted out, none in the last [`DIGEST_EVERY`]).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct DigestPlan {
    pub institution_id: i64,
    pub serials: Vec<Serial>,
    pub due: bool,
}

/// The next digest of every institution that has certificates for one.
pub fn digest_plans(
    certs: &[CertState],
    history: &DigestHistory,
    now: OffsetDateTime,
    days: u32,
) -> Vec<DigestPlan> {
    let renewed: HashSet<&Serial> = certs
        .iter()
        .filter_map(|c| c.renewed_from.as_ref())
        .collect();
    let mut per: BTreeMap<i64, Vec<&CertState>> = BTreeMap::new();
    for c in certs {
        if !c.revoked
            && !renewed.contains(&c.serial)
            && !history.listed.contains(&c.serial)
            && in_digest_window(c.not_after, now, days)
        {
            per.entry(c.institution_id).or_default().push(c);
        }
    }
    per.into_iter()
        .filter(|(inst, _)| !history.opted_out.contains(inst))
        .map(|(inst, mut cs)| {
            cs.sort_by(|a, b| (a.not_after, &a.serial).cmp(&(b.not_after, &b.serial)));
            DigestPlan {
                institution_id: inst,
                serials: cs.into_iter().map(|c| c.serial.clone()).collect(),
                due: history
                    .last_sent
                    .get(&inst)
                    .is_none_or(|t| now >= *t + DIGEST_EVERY),
            }
        })
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;
    use time::macros::datetime;

    const T0: OffsetDateTime = datetime!(2026-01-10 09:00 UTC);

    fn s(n: u8) -> Serial {
        Serial::from_bytes(&[n])
    }

    fn cert(n: u8, inst: i64, not_after: OffsetDateTime) -> CertState {
        CertState {
            serial: s(n),
            institution_id: inst,
            kind: CertKind::Server,
            not_after,
            issued_at: T0 - Duration::days(300),
            revoked: false,
            renewed_from: None,
        }
    }

    /// Old certificate 1 renewed by 2 at T0.
    fn renewal(old_revoked: bool, old_not_after: OffsetDateTime) -> Vec<CertState> {
        let mut old = cert(1, 1, old_not_after);
        old.revoked = old_revoked;
        let mut new = cert(2, 1, T0 + Duration::days(398));
        new.issued_at = T0;
        new.renewed_from = Some(s(1));
        vec![old, new]
    }

    #[test]
    fn the_2_2_9_reminder_is_due_from_day_14_and_only_while_unsent() {
        let far = T0 + Duration::days(90);
        let sent: HashSet<Serial> = [s(1)].into();
        // (days after the renewal, old revoked, old not_after, sent, expected due)
        let table = [
            (13, false, far, false, Some(false)),
            (14, false, far, false, Some(true)),
            (15, false, far, false, Some(true)),
            (15, false, far, true, Some(false)),
            (14, true, far, false, None),
            // The old certificate expired meanwhile: nothing to revoke.
            (14, false, T0 + Duration::days(10), false, None),
        ];
        for (day, revoked, not_after, was_sent, expected) in table {
            let now = T0 + Duration::days(day);
            let empty = HashSet::new();
            let open = renewal_reminders(
                &renewal(revoked, not_after),
                if was_sent { &sent } else { &empty },
                now,
            );
            let got = open.first().map(|r| r.due(now));
            assert_eq!(
                got, expected,
                "day {day}, revoked {revoked}, sent {was_sent}"
            );
            if let Some(r) = open.first() {
                assert_eq!((&r.old, &r.new), (&s(1), &s(2)));
                assert_eq!(r.due_at, T0 + Duration::days(14));
            }
        }
    }

    #[test]
    fn certificates_that_are_not_renewals_have_no_2_2_9_reminder() {
        let certs = [cert(1, 1, T0 + Duration::days(90))];
        assert!(renewal_reminders(&certs, &HashSet::new(), T0 + Duration::days(30)).is_empty());
    }

    #[test]
    fn the_digest_window_includes_its_far_edge() {
        let not_after = T0 + Duration::days(30);
        // (days before expiry, in a 30-day window)
        for (before, expected) in [(31, false), (30, true), (29, true), (0, false), (-1, false)] {
            let now = not_after - Duration::days(before);
            assert_eq!(
                in_digest_window(not_after, now, 30),
                expected,
                "{before} days before"
            );
        }
    }

    #[test]
    fn a_digest_leaves_out_renewed_revoked_listed_and_opted_out_certificates() {
        let soon = T0 + Duration::days(20);
        let mut revoked = cert(3, 1, soon);
        revoked.revoked = true;
        let mut renewer = cert(5, 1, T0 + Duration::days(400));
        renewer.renewed_from = Some(s(4));
        let certs = vec![
            cert(1, 1, T0 + Duration::days(25)),
            cert(2, 1, soon),
            revoked,
            cert(4, 1, soon),
            renewer,
            cert(6, 1, soon),
            cert(7, 1, T0 + Duration::days(45)),
            cert(8, 2, soon),
            cert(9, 3, soon),
        ];
        let history = DigestHistory {
            listed: [s(6)].into(),
            last_sent: [(3, T0 - Duration::hours(2))].into(),
            opted_out: [2].into(),
        };
        let plans = digest_plans(&certs, &history, T0, 30);
        assert_eq!(
            plans,
            vec![
                DigestPlan {
                    institution_id: 1,
                    serials: vec![s(2), s(1)],
                    due: true
                },
                DigestPlan {
                    institution_id: 3,
                    serials: vec![s(9)],
                    due: false
                },
            ]
        );
        // A day after its last digest, institution 3 is due again.
        let later = digest_plans(&certs, &history, T0 + Duration::hours(22), 30);
        assert!(later.iter().any(|p| p.institution_id == 3 && p.due));
    }
}
