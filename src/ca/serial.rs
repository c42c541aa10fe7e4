//! Certificate serial numbers: where they come from (a trait, so tests and
//! the demo can inject a deterministic source) and how they are encoded.

use openssl::asn1::Asn1Integer;
use openssl::bn::BigNum;

use super::CaError;
use crate::model::Serial;

/// Where certificate serial numbers come from.
pub trait SerialSource {
    fn next_serial(&mut self) -> Serial;
}

/// Serials of 119 bits from the OpenSSL CSPRNG (BR: at least 64): 15 random
/// bytes with the top bit cleared (positive in DER without a padding byte)
/// and a first byte that is never zero, so every serial has 30 hex digits:
/// its `0x` spelling (32 characters) fits the serial field of the client
/// forms 5-4-2 and 5-4-3 (at most 32), which officers copy it into.
#[derive(Debug, Default, Clone, Copy)]
pub struct RandomSerials;

impl SerialSource for RandomSerials {
    fn next_serial(&mut self) -> Serial {
        loop {
            let mut b = [0u8; 15];
            // rand_bytes only fails if the CSPRNG cannot be seeded; a CA must
            // not continue with predictable serials then.
            openssl::rand::rand_bytes(&mut b).expect("OpenSSL CSPRNG unavailable");
            b[0] &= 0x7f;
            // Keep at least 64 significant bits (a leading zero byte would
            // otherwise shorten the serial below the BR minimum).
            if b[0] != 0 {
                return Serial::from_bytes(&b);
            }
        }
    }
}

/// A positive serial of at most 20 octets (RFC 5280 §4.1.2.2) as ASN.1.
pub(crate) fn serial_to_asn1(serial: &Serial) -> Result<Asn1Integer, CaError> {
    let b = serial.as_bytes();
    if b.is_empty() || b.len() > 20 || (b.len() == 20 && b[0] & 0x80 != 0) {
        return Err(CaError::BadSerial);
    }
    Ok(BigNum::from_slice(b)?.to_asn1_integer()?)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn random_serials_are_positive_and_long() {
        let mut s = RandomSerials;
        let mut seen = std::collections::HashSet::new();
        for _ in 0..200 {
            let serial = s.next_serial();
            let b = serial.as_bytes();
            assert_eq!(b.len(), 15, "serial {serial}");
            assert_eq!(
                serial.to_string().len(),
                32,
                "fits the client forms: {serial}"
            );
            assert_eq!(b[0] & 0x80, 0, "top bit set in {serial}");
            assert_ne!(b[0], 0);
            assert!(seen.insert(serial));
        }
    }

    #[test]
    fn serial_bounds() {
        let cases: &[(&[u8], bool)] = &[
            (&[], false),
            (&[0, 0], false),
            (&[1], true),
            (&[0x7f; 20], true),
            (&[0x80; 20], false),
            (&[1; 21], false),
        ];
        for (bytes, ok) in cases {
            let r = serial_to_asn1(&Serial::from_bytes(bytes));
            assert_eq!(r.is_ok(), *ok, "{bytes:?}");
        }
    }
}
