//! The `[ca]` keys that say where the instance publishes its CA material
//! (`publish_url`) and which policy its server certificates state
//! (`policy_oid`, `cps_url`), checked into a [`Publication`].
//!
//! `publish_url` has no default: it goes into every server certificate
//! (cRLDistributionPoints, authorityInfoAccess caIssuers), so a guessed URL
//! would be a broken promise to every relying party. `mailra init` writes one
//! (from `--publish-url`, else derived from the robot's domain, to be
//! checked); an instance made before the key existed is refused with a
//! message saying what to add.

use der::oid::ObjectIdentifier;

use crate::ca::Publication;

/// Checks the publication keys, pushing each problem (with its key) onto `problems`.
pub(super) fn check(
    problems: &mut Vec<String>,
    f: &str,
    publish_url: Option<&str>,
    policy_oid: Option<&str>,
    cps_url: Option<&str>,
) -> Publication {
    let base_url = match publish_url {
        None => {
            problems.push(format!(
                "{f}: key ca.publish_url: missing: the http:// URL where a web server publishes the \
                 CRL folder (paths.crl_dir); every server certificate names its CRL and CA \
                 certificate there (CA/B Forum TLS BR 7.1.2.7), e.g. publish_url = \
                 \"http://certs.example.ac.jp/mailra/\" (see README, \"Publishing CRLs\")"
            ));
            String::new()
        }
        Some(u) => match base_url(u) {
            Ok(u) => u,
            Err(why) => {
                problems.push(format!("{f}: key ca.publish_url: {u:?} {why}"));
                String::new()
            }
        },
    };
    let policy_oid = policy_oid.and_then(|o| match o.parse::<ObjectIdentifier>() {
        Ok(oid) if o.starts_with("2.23.140.") => {
            problems.push(format!(
                "{f}: key ca.policy_oid: {oid} is under the CA/B Forum's arc; give the CA's own policy OID (2.23.140.1.2.2 is always included)"
            ));
            None
        }
        Ok(oid) => Some(oid),
        Err(_) => {
            problems.push(format!(
                "{f}: key ca.policy_oid: {o:?} is not a dotted OID (e.g. 1.3.6.1.4.1.99999.1.1)"
            ));
            None
        }
    });
    let cps_url = cps_url.and_then(|u| match url::Url::parse(u) {
        Ok(p) if matches!(p.scheme(), "http" | "https") && p.host().is_some() && u.is_ascii() => {
            Some(u.to_string())
        }
        _ => {
            problems.push(format!(
                "{f}: key ca.cps_url: {u:?} is not an http:// or https:// URL"
            ));
            None
        }
    });
    Publication {
        base_url,
        policy_oid,
        cps_url,
    }
}

/// An `http://host/path/` URL ending in `/` (one is added), or why not.
fn base_url(u: &str) -> Result<String, &'static str> {
    let p = url::Url::parse(u).map_err(|_| "is not a URL")?;
    if p.scheme() != "http" {
        return Err("must be an http:// URL (the BRs require http for CRL and caIssuers URLs)");
    }
    if p.host().is_none() || !p.username().is_empty() || p.password().is_some() {
        return Err("needs a host and no user name");
    }
    if p.query().is_some() || p.fragment().is_some() {
        return Err("must not have a query or fragment (file names are appended to it)");
    }
    let mut s = p.to_string();
    if !s.ends_with('/') {
        s.push('/');
    }
    Ok(s)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn publish_url_forms() {
        let cases = [
            (
                "http://certs.example.ac.jp/mailra/",
                Ok("http://certs.example.ac.jp/mailra/"),
            ),
            (
                "http://certs.example.ac.jp/mailra",
                Ok("http://certs.example.ac.jp/mailra/"),
            ),
            (
                "http://certs.example.ac.jp",
                Ok("http://certs.example.ac.jp/"),
            ),
            (
                "https://certs.example.ac.jp/",
                Err("must be an http:// URL"),
            ),
            ("http://u@certs.example.ac.jp/", Err("needs a host")),
            (
                "http://certs.example.ac.jp/?x=1",
                Err("must not have a query"),
            ),
            ("certs.example.ac.jp/crl", Err("is not a URL")),
        ];
        for (input, expected) in cases {
            match (base_url(input), expected) {
                (Ok(got), Ok(want)) => assert_eq!(got, want, "{input}"),
                (Err(got), Err(want)) => assert!(got.starts_with(want), "{input}: {got}"),
                (got, want) => panic!("{input}: {got:?}, expected {want:?}"),
            }
        }
    }

    #[test]
    fn policy_keys_are_checked_each_with_its_key() {
        // (publish_url, policy_oid, cps_url, keys reported)
        type Case<'a> = (
            Option<&'a str>,
            Option<&'a str>,
            Option<&'a str>,
            &'a [&'a str],
        );
        let cases: [Case; 4] = [
            (None, None, None, &["ca.publish_url: missing"]),
            (
                Some("http://c.example.ac.jp/"),
                Some("1.3.6.1.4.1.99999.1"),
                Some("https://c.example.ac.jp/cps"),
                &[],
            ),
            (
                Some("http://c.example.ac.jp/"),
                Some("2.23.140.1.2.2"),
                Some("ftp://x"),
                &["ca.policy_oid", "ca.cps_url"],
            ),
            (
                Some("http://c.example.ac.jp/"),
                Some("one.two"),
                None,
                &["ca.policy_oid"],
            ),
        ];
        for (url, oid, cps, want) in cases {
            let mut problems = Vec::new();
            let p = check(&mut problems, "mailra.toml", url, oid, cps);
            assert_eq!(problems.len(), want.len(), "{problems:?}");
            for (got, w) in problems.iter().zip(want) {
                assert!(got.contains(w), "{got} lacks {w}");
            }
            if want.is_empty() {
                assert_eq!(p.policy_oid.unwrap().to_string(), "1.3.6.1.4.1.99999.1");
            }
        }
    }
}
