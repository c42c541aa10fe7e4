//! The one conversion between [`Dn`] and OpenSSL's `X509Name`, and the one DN
//! equality. They sit beside the type so that every layer (intake's signer
//! names, policy's CSR checks, the CA's subjects, the store's records) reads
//! and writes names the same way.

use openssl::nid::Nid;
use openssl::x509::{X509Name, X509NameBuilder, X509NameRef};

use super::Dn;

/// A name that cannot be converted, with the attribute at fault.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum DnConvError {
    #[error("DN attribute {attr}={value} cannot be encoded")]
    Encode { attr: String, value: String },
    #[error("DN attribute {attr} is not readable text")]
    Unreadable { attr: String },
    #[error("openssl: {0}")]
    Openssl(String),
}

impl Dn {
    /// Builds an X.509 name from a form-order (CN-first) DN, in X.509 order
    /// (C, ST, L, O, OU, CN), i.e. the reverse of the form order.
    pub fn to_x509_name(&self) -> Result<X509Name, DnConvError> {
        let mut b = X509NameBuilder::new().map_err(|e| DnConvError::Openssl(e.to_string()))?;
        for (attr, value) in self.0.iter().rev() {
            b.append_entry_by_text(attr, value)
                .map_err(|_| DnConvError::Encode {
                    attr: attr.clone(),
                    value: value.clone(),
                })?;
        }
        Ok(b.build())
    }

    /// Reads an X.509 name in its encoded order (for a conventional
    /// certificate or CSR: C first). Attributes get OpenSSL short names (`CN`,
    /// `O`, `OU`, `L`, `ST`, `C`, `emailAddress`) or, when unknown, the dotted OID.
    pub fn from_x509_name(name: &X509NameRef) -> Result<Dn, DnConvError> {
        let mut parts = Vec::new();
        for e in name.entries() {
            let obj = e.object();
            let attr = match obj.nid().short_name() {
                Ok(s) if obj.nid() != Nid::UNDEF => s.to_string(),
                _ => obj.to_string(),
            };
            let value = e
                .data()
                .to_string()
                .map_err(|_| DnConvError::Unreadable { attr: attr.clone() })?
                .to_string();
            parts.push((attr, value));
        }
        Ok(Dn(parts))
    }

    /// [`Dn::from_x509_name`] turned into the forms' CN-first order: a name in
    /// X.509 order (C first) is reversed, one already written CN-first (some
    /// CSR tools do) is kept, so both orders the forms accept give the same `Dn`.
    pub fn from_x509_name_cn_first(name: &X509NameRef) -> Result<Dn, DnConvError> {
        let mut dn = Dn::from_x509_name(name)?;
        if dn.0.first().is_none_or(|(a, _)| a != "CN") {
            dn.0.reverse();
        }
        Ok(dn)
    }

    /// For messages and logs: the name CN-first, or a placeholder when a
    /// value is not readable text.
    pub fn display_x509_name(name: &X509NameRef) -> String {
        Dn::from_x509_name_cn_first(name)
            .map(|d| d.to_string())
            .unwrap_or_else(|e| format!("<{e}>"))
    }

    /// The one DN equality: the same attributes with the same values, in the
    /// same order or exactly reversed (form order against X.509 order);
    /// attribute names compare case-insensitively, values exactly.
    pub fn same_as(&self, other: &Dn) -> bool {
        let eq = |x: &(String, String), y: &(String, String)| {
            x.0.eq_ignore_ascii_case(&y.0) && x.1 == y.1
        };
        self.0.len() == other.0.len()
            && (self.0.iter().zip(&other.0).all(|(x, y)| eq(x, y))
                || self
                    .0
                    .iter()
                    .zip(other.0.iter().rev())
                    .all(|(x, y)| eq(x, y)))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn dn(pairs: &[(&str, &str)]) -> Dn {
        Dn(pairs
            .iter()
            .map(|(a, v)| (a.to_string(), v.to_string()))
            .collect())
    }

    #[test]
    fn name_round_trip_and_order() {
        let form = dn(&[
            ("CN", "www.example.ac.jp"),
            ("OU", "Lab"),
            ("O", "Example University"),
            ("L", "Chiyoda-ku"),
            ("ST", "Tokyo"),
            ("C", "JP"),
        ]);
        let name = form.to_x509_name().unwrap();
        let order: Vec<String> = Dn::from_x509_name(&name)
            .unwrap()
            .0
            .into_iter()
            .map(|(a, _)| a)
            .collect();
        assert_eq!(order, ["C", "ST", "L", "O", "OU", "CN"]);
        assert_eq!(Dn::from_x509_name_cn_first(&name).unwrap(), form);

        // A CN-first encoded name maps to the same Dn.
        let mut b = X509NameBuilder::new().unwrap();
        for (a, v) in &form.0 {
            b.append_entry_by_text(a, v).unwrap();
        }
        assert_eq!(Dn::from_x509_name_cn_first(&b.build()).unwrap(), form);
    }

    #[test]
    fn name_with_unknown_attribute_is_rejected() {
        let bad = dn(&[("CN", "a.example.ac.jp"), ("NOPE", "x")]);
        assert!(matches!(
            bad.to_x509_name(),
            Err(DnConvError::Encode { attr, .. }) if attr == "NOPE"
        ));
    }

    #[test]
    fn dn_equality() {
        let a = dn(&[("CN", "x"), ("O", "o"), ("C", "JP")]);
        let cases = [
            (dn(&[("cn", "x"), ("o", "o"), ("c", "JP")]), true),
            // X.509 order against form order.
            (dn(&[("C", "JP"), ("O", "o"), ("CN", "x")]), true),
            (dn(&[("CN", "X"), ("O", "o"), ("C", "JP")]), false),
            (dn(&[("O", "o"), ("CN", "x"), ("C", "JP")]), false),
            (dn(&[("CN", "x"), ("O", "o")]), false),
        ];
        for (b, expected) in cases {
            assert_eq!(a.same_as(&b), expected, "{b}");
            assert_eq!(b.same_as(&a), expected, "{b} (swapped)");
        }
    }
}
