//! Pure decisions on application rows, from rules and registry data.

pub mod check;
pub mod client;
pub mod codesign;
pub mod dn;
pub mod forms;
pub mod goodkey;
pub mod keyreuse;
pub mod orgid;
pub mod reminders;
mod rows;
pub mod rules;
pub mod server;
pub mod values;

use crate::model::Dn;

/// Half-width mail address syntax the forms accept (the rule of field 10).
pub fn is_mail_address(s: &str) -> bool {
    values::check_mail(s).is_ok()
}

/// Checks an institution before it is registered: its name, ST and L must
/// be usable verbatim in a server DN, and each domain must be a host name.
pub fn check_institution_registration(
    name: &str,
    st: &str,
    l: &str,
    domains: &[String],
) -> Vec<String> {
    let mut out = Vec::new();
    for d in domains {
        if let Err(e) = dn::check_fqdn(d, 64) {
            out.push(format!("--domain {d}: {e}"));
        }
    }
    let cn = domains
        .first()
        .cloned()
        .unwrap_or_else(|| "www.example.ac.jp".into());
    let probe = Dn(vec![
        ("CN".into(), cn),
        ("O".into(), name.into()),
        ("L".into(), l.into()),
        ("ST".into(), st.into()),
        ("C".into(), "JP".into()),
    ]);
    for e in dn::check_server(&probe) {
        let text = e.to_string();
        if !text.contains("CN") {
            out.push(text);
        }
    }
    out
}

#[cfg(test)]
mod tests {
    #[test]
    fn institution_registration_rules() {
        let ok = super::check_institution_registration(
            "Example University",
            "Tokyo",
            "Chiyoda-ku",
            &["example.ac.jp".into()],
        );
        assert!(ok.is_empty(), "{ok:?}");
        let bad = super::check_institution_registration(
            "例大学",
            "Tokyo",
            "",
            &["exa mple.ac.jp".into()],
        );
        assert_eq!(bad.len(), 3, "{bad:?}");
    }
}
