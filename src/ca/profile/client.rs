//! Client and S/MIME certificates for keys the CA generates (SPEC §6):
//! profiles 5 / 13 / 14 (client: EKU clientAuth) and 7 / 15 / 16 (S/MIME:
//! EKU emailProtection, the user's mail in subjectAltName rfc822Name). All
//! RSA 2048, sha256WithRSAEncryption, keyUsage digitalSignature +
//! keyEncipherment (critical), basicConstraints CA:FALSE (critical), subject
//! and authority key identifiers, and — as for server certificates — a
//! cRLDistributionPoint and an authorityInfoAccess caIssuers under the
//! instance's publication URL ([`Publication`]).
//!
//! **S/MIME certificates follow the CA/B Forum S/MIME Baseline Requirements,
//! organization-validated, strict generation** (policy 2.23.140.1.5.2.3):
//! `lint_cabf_smime_cert` finds no error in them. Strict, not multipurpose,
//! because the profile's only EKU is emailProtection, which is exactly what
//! the strict generation allows; multipurpose exists for certificates that
//! also carry other EKUs, which these never do. The CA's own policy OID
//! follows with its CPS URL when configured.
//!
//! **The S/MIME subject is not "only the CN"** (SPEC §4 5-4-1 says so): an
//! organization-validated certificate must name the organization
//! (SMBR §7.1.4.2.2: `organizationName` and `organizationIdentifier` SHALL
//! be present). The issue's BR requirement wins, so the subject is `C, ST, L,
//! O` from the row (policy has checked them against the registry),
//! `organizationIdentifier` from the institution's registration (e.g.
//! `NTRJP-` + the 13-digit corporate number, SMBR §7.1.4.2.2 (d)), and `CN` =
//! the user's mail. The row's OUs are left out: the SMBR let them in only
//! after a verification the robot cannot make. Without a registered
//! organizationIdentifier an S/MIME certificate is refused
//! ([`CaError::NoOrganizationIdentifier`]).
//!
//! Client certificates (not under any CA/B Forum profile) carry the row's
//! DN as given and the CA's own policy OID when configured; they pass
//! `lint_pkix_cert`.
//!
//! **Validity** is calendar months added to notBefore (the day clamped to the
//! month's end: 2026-01-31 + 1 month = 2026-02-28), or 823 days for profile
//! 7, under the convention of [`super::validity`].

use der::oid::ObjectIdentifier;
use openssl::nid::Nid;
use openssl::pkey::{PKeyRef, Private};
use openssl::x509::extension::{
    BasicConstraints, ExtendedKeyUsage, KeyUsage, SubjectAlternativeName,
};
use openssl::x509::{X509, X509Name, X509NameBuilder};
use time::{Month, OffsetDateTime};

use super::server::{aia, check_profile_key, crl_dp, policies};
use super::{BACKDATE, Draft};
use crate::ca::{CaError, IssuingCa};
use crate::model::{CaKind, ClientIssueRow, FormFamily, Profile, Serial, Validity};

/// CA/B Forum S/MIME BR reserved policy: organization-validated, strict.
pub const SMIME_OV_STRICT: ObjectIdentifier = ObjectIdentifier::new_unwrap("2.23.140.1.5.2.3");

/// `t` plus `months` calendar months, same time of day; a day the target
/// month lacks becomes its last day (Jan 31 + 1 month = Feb 28 or 29).
pub fn add_months(t: OffsetDateTime, months: u32) -> Result<OffsetDateTime, CaError> {
    let bad = || CaError::BadTime(format!("{t} + {months} months"));
    let total = i64::from(t.year()) * 12 + i64::from(u8::from(t.month()) - 1) + i64::from(months);
    let year = i32::try_from(total.div_euclid(12)).map_err(|_| bad())?;
    let month = Month::try_from(u8::try_from(total.rem_euclid(12) + 1).map_err(|_| bad())?)
        .map_err(|_| bad())?;
    let day = t.day().min(month.length(year));
    let date = time::Date::from_calendar_date(year, month, day).map_err(|_| bad())?;
    Ok(t.replace_date(date))
}

/// The validity in days of a `profile` certificate issued at `issued_at`:
/// notBefore is `issued_at` less [`BACKDATE`], notAfter one second before
/// notBefore plus the profile's months (or days).
pub fn client_days(profile: Profile, issued_at: OffsetDateTime) -> Result<u32, CaError> {
    match profile.validity() {
        Validity::Days(d) => Ok(d),
        Validity::Months(m) => {
            let nb = issued_at - BACKDATE;
            let days = (add_months(nb, m)? - nb).whole_days();
            u32::try_from(days).map_err(|_| CaError::BadTime(format!("{days} days")))
        }
        Validity::BrMaximum => Err(CaError::NotClientProfile(profile.id())),
    }
}

/// The organizationIdentifier syntax check lives in policy (the registry
/// uses it too); the builder re-checks with it before it signs.
pub use crate::policy::orgid::check_organization_identifier;

/// The S/MIME subject: C, ST, L, O of the row (X.509 order), the
/// organizationIdentifier, CN = the user's mail.
fn smime_subject(row: &ClientIssueRow, org_id: &str, mail: &str) -> Result<X509Name, CaError> {
    let mut b = X509NameBuilder::new()?;
    for attr in ["C", "ST", "L", "O"] {
        if let Some(v) = row.dn.get(attr) {
            b.append_entry_by_text(attr, v)
                .map_err(|_| crate::model::DnConvError::Encode {
                    attr: attr.into(),
                    value: v.into(),
                })?;
        }
    }
    b.append_entry_by_text("organizationIdentifier", org_id)?;
    b.append_entry_by_nid(Nid::COMMONNAME, mail)?;
    Ok(b.build())
}

/// Signs a client (5/13/14) or S/MIME (7/15/16) certificate for `row`
/// over the generated `key`. The gate ([`crate::ca::issue_generated_checked`])
/// has checked the key and the row; this refuses what it cannot build: a
/// profile of another family, an S/MIME row without a user mail or without
/// the institution's `org_id`, a CA without publication URLs.
pub(crate) fn sign(
    ca: &IssuingCa,
    row: &ClientIssueRow,
    org_id: Option<&str>,
    key: &PKeyRef<Private>,
    serial: Serial,
    issued_at: OffsetDateTime,
) -> Result<X509, CaError> {
    let profile = row.profile;
    if profile.family() != FormFamily::Client {
        return Err(CaError::NotClientProfile(profile.id()));
    }
    check_profile_key(profile, key)?;
    let publication = ca.publication().ok_or(CaError::NoPublication)?;
    let days = client_days(profile, issued_at)?;
    let kind = CaKind::for_profile(profile);

    let smime_mail = if profile.is_smime() {
        Some(row.user_mail.as_deref().ok_or(CaError::SmimeMail {
            cn: row.dn.cn().unwrap_or_default().to_string(),
            mail: String::new(),
        })?)
    } else {
        None
    };
    let subject = match smime_mail {
        Some(mail) => {
            let org_id = org_id.ok_or(CaError::NoOrganizationIdentifier)?;
            check_organization_identifier(org_id).map_err(|why| {
                CaError::BadOrganizationIdentifier {
                    value: org_id.to_string(),
                    why,
                }
            })?;
            smime_subject(row, org_id, mail)?
        }
        None => row.dn.to_x509_name()?,
    };

    let mut d = Draft::new(
        &serial,
        ca.cert().subject_name(),
        &subject,
        key,
        issued_at,
        days,
    )?;
    d.add(BasicConstraints::new().critical().build()?)?;
    d.add(
        KeyUsage::new()
            .critical()
            .digital_signature()
            .key_encipherment()
            .build()?,
    )?;
    let mut eku = ExtendedKeyUsage::new();
    match smime_mail {
        Some(_) => eku.email_protection(),
        None => eku.client_auth(),
    };
    d.add(eku.build()?)?;
    if let Some(mail) = smime_mail {
        let san = SubjectAlternativeName::new()
            .email(mail)
            .build(&d.builder().x509v3_context(Some(ca.cert()), None))?;
        d.add(san)?;
    }
    let reserved = smime_mail.map(|_| SMIME_OV_STRICT);
    if let Some(p) = policies(reserved, publication)? {
        d.add_der(&p, false)?;
    }
    d.add_der(&crl_dp(&publication.crl_url(kind))?, false)?;
    d.add_der(&aia(&publication.issuer_url(kind))?, false)?;
    d.key_ids(Some(ca.cert()))?;
    d.sign(ca.key())
}

#[cfg(test)]
mod tests {
    use super::*;
    use time::macros::datetime;

    #[test]
    fn months_are_calendar_months_clamped_to_the_month_end() {
        let cases = [
            (
                datetime!(2026-01-31 08:00 UTC),
                1,
                datetime!(2026-02-28 08:00 UTC),
            ),
            (
                datetime!(2028-01-31 08:00 UTC),
                1,
                datetime!(2028-02-29 08:00 UTC),
            ),
            (
                datetime!(2026-03-31 23:59:59 UTC),
                13,
                datetime!(2027-04-30 23:59:59 UTC),
            ),
            (
                datetime!(2026-11-15 00:00 UTC),
                2,
                datetime!(2027-01-15 00:00 UTC),
            ),
            (
                datetime!(2026-04-01 08:00 UTC),
                48,
                datetime!(2030-04-01 08:00 UTC),
            ),
            (
                datetime!(2026-12-31 12:00 UTC),
                25,
                datetime!(2029-01-31 12:00 UTC),
            ),
            (
                datetime!(2026-05-10 12:00 UTC),
                0,
                datetime!(2026-05-10 12:00 UTC),
            ),
        ];
        for (t, m, want) in cases {
            assert_eq!(add_months(t, m).unwrap(), want, "{t} + {m}");
        }
    }

    #[test]
    fn validity_days_per_profile() {
        // notBefore = issued_at - 1 h = 2026-01-31 08:00.
        let at = datetime!(2026-01-31 09:00 UTC);
        let cases = [
            (Profile::Smime823Days, 823),
            // 2027-02-28: 365 + 28
            (Profile::Client13Months, 393),
            (Profile::Smime13Months, 393),
            // 2028-02-29 (leap year): 365 + 365 + 29
            (Profile::Client25Months, 759),
            (Profile::Smime25Months, 759),
            // 2030-01-31
            (Profile::Client48Months, 1461),
        ];
        for (p, days) in cases {
            assert_eq!(client_days(p, at).unwrap(), days, "{p:?}");
        }
        assert!(matches!(
            client_days(Profile::ServerRsa2048, at),
            Err(CaError::NotClientProfile(3))
        ));
    }
}
