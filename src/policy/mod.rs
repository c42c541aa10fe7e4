//! Pure decisions on application rows, from rules and registry data.

pub mod dn;
pub mod server;

/// Half-width mail address syntax the forms accept (`local@domain.tld`):
/// printable ASCII local part without spaces, a dotted domain of letters,
/// digits and hyphens.
pub fn is_mail_address(s: &str) -> bool {
    let Some((local, domain)) = s.rsplit_once('@') else {
        return false;
    };
    let local_ok = !local.is_empty()
        && local.len() <= 64
        && local
            .bytes()
            .all(|b| b.is_ascii_alphanumeric() || b"!#$%&'*+-/=?^_`{|}~.".contains(&b))
        && !local.starts_with('.')
        && !local.ends_with('.')
        && !local.contains("..");
    let labels: Vec<&str> = domain.split('.').collect();
    let domain_ok = labels.len() >= 2
        && labels.iter().all(|l| {
            !l.is_empty()
                && l.len() <= 63
                && l.bytes().all(|b| b.is_ascii_alphanumeric() || b == b'-')
                && !l.starts_with('-')
                && !l.ends_with('-')
        });
    local_ok && domain_ok
}

#[cfg(test)]
mod tests {
    #[test]
    fn mail_address_syntax() {
        for (input, ok) in [
            ("taro@example.ac.jp", true),
            ("Taro.Kokuritsu+ra@cc.example.ac.jp", true),
            ("taro@localhost", false),
            ("taro", false),
            ("@example.ac.jp", false),
            ("ta ro@example.ac.jp", false),
            ("taro@-example.ac.jp", false),
            ("taro@example..jp", false),
            (".taro@example.ac.jp", false),
            ("国立@example.ac.jp", false),
        ] {
            assert_eq!(super::is_mail_address(input), ok, "{input}");
        }
    }
}
