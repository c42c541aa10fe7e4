//! Known Debian weak keys (CVE-2008-0166): a committed list in the format of
//! Debian's openssl-blacklist, see `debian-weak-rsa-2048.blocklist`.

use openssl::bn::BigNumRef;

const DEBIAN_RSA_2048: &str = include_str!("debian-weak-rsa-2048.blocklist");

/// The list's key for a modulus: the last 80 bits of SHA-1("Modulus=HEX\n"),
/// HEX as `openssl rsa -modulus` prints it (upper case, no leading zeros).
pub(super) fn fingerprint(n: &BigNumRef) -> String {
    let hex = hex::encode_upper(n.to_vec());
    let line = format!("Modulus={}\n", hex.trim_start_matches('0'));
    hex::encode(&openssl::sha::sha1(line.as_bytes())[10..])
}

/// Whether `n` is on the list.
pub(super) fn is_debian_weak(n: &BigNumRef) -> bool {
    let fp = fingerprint(n);
    entries(DEBIAN_RSA_2048).any(|e| e == fp)
}

/// The entries of a list: trimmed lines, without comments and blank lines.
pub(super) fn entries(list: &str) -> impl Iterator<Item = &str> {
    list.lines()
        .map(str::trim)
        .filter(|l| !l.is_empty() && !l.starts_with('#'))
}

#[cfg(test)]
mod tests {
    #[test]
    fn every_entry_is_20_lower_case_hex_digits() {
        let entries: Vec<_> = super::entries(super::DEBIAN_RSA_2048).collect();
        assert!(!entries.is_empty());
        for e in entries {
            assert!(
                e.len() == 20
                    && e.chars()
                        .all(|c| c.is_ascii_digit() || ('a'..='f').contains(&c)),
                "bad entry {e:?}"
            );
        }
    }
}
