//! The row checks of the three server forms: issue (5-3-1), renew (5-3-2)
//! and revoke (5-3-3), each collecting every error of its row (the collector
//! and the rules every family shares are in `policy::rows`). A row check
//! that consults the certificates returns `Err` when a look-up fails.

use super::csr::{CsrError, check_csr, decode_csr_field};
use super::fields::{
    MAX_COMMENT_LEN, MAX_DNS_FIELD_LEN, MAX_DNS_NAMES, MAX_NAME_LEN, MAX_SERIAL_LEN,
    MAX_SOFTWARE_LEN,
};
use crate::model::{Dn, FormFamily, IssueRow, LookupError, Profile, RenewRow, RevokeRow};
use crate::policy::check::Context;
use crate::policy::dn;
use crate::policy::keyreuse;
use crate::policy::rows::RowCheck;

impl RowCheck<'_> {
    /// Field 1 parsed; with `server_rules` the 2-1-1 and institution rules too.
    fn dn(&mut self, ctx: &Context, server_rules: bool) -> Option<Dn> {
        let dn = match dn::parse(self.f(1)) {
            Ok(d) => d,
            Err(e) => {
                self.err(1, e.to_string());
                return None;
            }
        };
        if !server_rules {
            return Some(dn);
        }
        let mut errs = dn::check_server(&dn);
        if let Some(i) = ctx.institution {
            errs.extend(dn::check_institution(&dn, &i.name, &i.st, &i.l, &i.domains));
        }
        let ok = errs.is_empty();
        for e in errs {
            self.err(1, e.to_string());
        }
        ok.then_some(dn)
    }

    /// Fields shared by 5-3-1 and 5-3-2; returns the row and the CSR's key hash.
    fn request(&mut self, ctx: &Context) -> Result<Option<(IssueRow, String)>, LookupError> {
        let dn = self.dn(ctx, true);
        let profile = match self.f(2) {
            "" => {
                self.err(2, "is required");
                None
            }
            v => match v
                .parse::<u8>()
                .ok()
                .and_then(Profile::from_id)
                .filter(|p| p.family() == FormFamily::Server)
            {
                Some(p @ Profile::ServerP384) if ctx.ecdsa_ca == Some(false) => {
                    self.err(
                        2,
                        "profile 11 (ECDSA P-384) is not offered: no ECDSA issuing CA is configured; use profile 3 (RSA 2048) or ask the secretariat",
                    );
                    // Still checked against profile 11, so every other error is reported too.
                    Some(p)
                }
                Some(p) => Some(p),
                None => {
                    self.err(
                        2,
                        format!("must be 3 (RSA 2048) or 11 (ECDSA P-384), not `{v}`"),
                    );
                    None
                }
            },
        };
        let csr_der = match decode_csr_field(self.f(7)) {
            Ok(d) => Some(d),
            Err(e) => {
                self.err(7, e.to_string());
                None
            }
        };
        let mut spki = None;
        if let (Some(der), Some(p)) = (&csr_der, profile) {
            match check_csr(der, p) {
                Ok(csr) => {
                    if let Some(dn) = &dn
                        && let Err(e) = dn::check_csr_subject(dn, &csr.subject)
                    {
                        self.err(1, e.to_string());
                    }
                    let same = |other: &Dn| dn.as_ref().is_some_and(|d| d.same_as(other));
                    let same: Option<&dyn Fn(&Dn) -> bool> = dn.is_some().then_some(&same);
                    if let Err(e) =
                        keyreuse::check(&csr.spki_sha256, same, ctx.certs, ctx.reserved_keys)?
                    {
                        self.err(7, CsrError::Reused(e).to_string());
                    }
                    spki = Some(csr.spki_sha256);
                }
                Err(es) => {
                    for e in es {
                        self.err(7, e.to_string());
                    }
                }
            }
        }
        self.length(8, MAX_NAME_LEN, false);
        self.length(9, MAX_NAME_LEN, false);
        self.mail(10, true);
        let fqdn = self.f(11).to_string();
        if fqdn.is_empty() {
            self.err(11, "is required");
        } else if let Err(e) = dn::check_fqdn(&fqdn, dn::MAX_CN_LEN) {
            self.err(11, e.to_string());
        } else if let Some(cn) = dn.as_ref().and_then(Dn::cn)
            && !cn.eq_ignore_ascii_case(&fqdn)
        {
            self.err(11, format!("must equal the CN of field 1 ({cn})"));
        }
        self.length(12, MAX_SOFTWARE_LEN, true);
        let dns_names = dn
            .as_ref()
            .and_then(Dn::cn)
            .and_then(|cn| self.dns_names(cn, ctx));

        let (Some(dn), Some(profile), Some(csr_der), Some(spki), Some(dns_names)) =
            (dn, profile, csr_der, spki, dns_names)
        else {
            return Ok(None);
        };
        if !self.errors.is_empty() {
            return Ok(None);
        }
        Ok(Some((
            IssueRow {
                line: self.rec.line,
                dn,
                profile,
                csr_der,
                admin_name: self.f(8).to_string(),
                admin_dept: self.f(9).to_string(),
                admin_mail: self.f(10).to_string(),
                fqdn,
                software: self.f(12).to_string(),
                dns_names,
            },
            spki,
        )))
    }

    /// Field 13: `dNSName=a,dNSName=b`; returns the SAN list with the CN first.
    fn dns_names(&mut self, cn: &str, ctx: &Context) -> Option<Vec<String>> {
        let v = self.f(13).to_string();
        let mut names = vec![cn.to_string()];
        if v.is_empty() {
            return Some(names);
        }
        if v.ends_with(',') {
            self.err(13, "must not end with ','");
            return None;
        }
        let mut ok = true;
        let mut given = 0;
        for part in v.split(',') {
            given += 1;
            let Some(name) = part
                .get(..8)
                .filter(|p| p.eq_ignore_ascii_case("dNSName="))
                .map(|_| &part[8..])
            else {
                self.err(
                    13,
                    format!("each entry must be written dNSName=host, not `{part}`"),
                );
                ok = false;
                continue;
            };
            if let Err(e) = dn::check_fqdn(name, MAX_DNS_FIELD_LEN) {
                self.err(13, format!("dNSName `{name}` {e}"));
                ok = false;
                continue;
            }
            if let Some(i) = ctx.institution
                && !dn::in_domains(name, &i.domains)
            {
                self.err(
                    13,
                    format!(
                        "dNSName {name} is not inside the institution's domains ({})",
                        i.domains.join(", ")
                    ),
                );
                ok = false;
            }
            if !names.iter().any(|n| n.eq_ignore_ascii_case(name)) {
                names.push(name.to_string());
            }
        }
        if given > MAX_DNS_NAMES {
            self.err(
                13,
                format!("has {given} dNSNames, at most {MAX_DNS_NAMES} allowed"),
            );
            ok = false;
        }
        let total = names.iter().map(|n| n.len() + 8).sum::<usize>() + names.len() - 1;
        if total > MAX_DNS_FIELD_LEN {
            self.err(
                13,
                format!(
                    "is {total} characters with the CN added, at most {MAX_DNS_FIELD_LEN} allowed"
                ),
            );
            ok = false;
        }
        ok.then_some(names)
    }

    pub(super) fn issue(&mut self, ctx: &Context) -> Result<Option<IssueRow>, LookupError> {
        self.must_be_empty(&[3, 4, 5, 6]);
        Ok(self.request(ctx)?.map(|(r, _)| r))
    }

    pub(super) fn renew(&mut self, ctx: &Context) -> Result<Option<RenewRow>, LookupError> {
        self.must_be_empty(&[3, 5, 6]);
        let serial = self.serial(MAX_SERIAL_LEN);
        let req = self.request(ctx)?;
        let Some(serial) = serial else {
            return Ok(None);
        };
        if let Some(certs) = ctx.certs {
            let Some(old) = self.existing(certs, &serial, ctx)? else {
                return Ok(None);
            };
            if let Some((row, spki)) = &req {
                if !row.dn.same_as(&old.dn) {
                    self.err(
                        1,
                        format!(
                            "must equal the DN of the certificate being renewed ({})",
                            old.dn
                        ),
                    );
                }
                if *spki == old.spki_sha256 {
                    self.err(
                        7,
                        "reuses the key of the certificate being renewed; generate a new key pair",
                    );
                }
            }
        }
        let Some((request, _)) = req else {
            return Ok(None);
        };
        Ok(self.errors.is_empty().then_some(RenewRow {
            request,
            old_serial: serial,
        }))
    }

    pub(super) fn revoke(&mut self, ctx: &Context) -> Result<Option<RevokeRow>, LookupError> {
        self.must_be_empty(&[2, 3, 7, 8, 9, 11, 12, 13]);
        let dn = self.dn(ctx, false);
        let serial = self.serial(MAX_SERIAL_LEN);
        let reason = self.reason();
        self.length(6, MAX_COMMENT_LEN, false);
        self.mail(10, false);
        if let (Some(certs), Some(s)) = (ctx.certs, &serial)
            && let Some(cert) = self.existing(certs, s, ctx)?
            && let Some(dn) = &dn
            && !dn.same_as(&cert.dn)
        {
            self.err(
                1,
                format!(
                    "must equal the DN of the certificate being revoked ({})",
                    cert.dn
                ),
            );
        }
        let (Some(dn), Some(serial), Some(reason)) = (dn, serial, reason) else {
            return Ok(None);
        };
        let mail = self.f(10).to_string();
        Ok(self.errors.is_empty().then(|| RevokeRow {
            line: self.rec.line,
            dn,
            serial,
            reason,
            comment: self.f(6).to_string(),
            admin_mail: (!mail.is_empty()).then_some(mail),
        }))
    }
}
