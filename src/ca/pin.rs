//! Access PINs for the PKCS#12 files of generated keys (client and S/MIME
//! certificates, issue 9): where they come from is a trait, like serials, so
//! tests and the daemon can be given a deterministic source.
//!
//! Generated PINs are at least 22 characters from a CSPRNG (the service
//! raised generated passwords to 22+ in 2024), ASCII only (some importers
//! break on anything else), from an alphabet without look-alikes.

/// Where access PINs come from.
pub trait PinSource {
    fn next_pin(&mut self) -> String;
}

/// No 0/O, 1/l/I: 57 symbols, so 22 characters carry over 128 bits.
pub const PIN_ALPHABET: &[u8] = b"ABCDEFGHJKLMNPQRSTUVWXYZabcdefghijkmnopqrstuvwxyz23456789";

/// Length of a generated PIN.
pub const PIN_LEN: usize = 22;

/// PINs from the OpenSSL CSPRNG, drawn without modulo bias.
#[derive(Debug, Default, Clone, Copy)]
pub struct RandomPins;

impl PinSource for RandomPins {
    fn next_pin(&mut self) -> String {
        let n = PIN_ALPHABET.len();
        // The largest multiple of n below 256: bytes above it are redrawn.
        let limit = 256 - 256 % n;
        let mut out = String::with_capacity(PIN_LEN);
        while out.len() < PIN_LEN {
            let mut b = [0u8; 32];
            openssl::rand::rand_bytes(&mut b).expect("OpenSSL CSPRNG unavailable");
            for x in b {
                if (x as usize) < limit && out.len() < PIN_LEN {
                    out.push(PIN_ALPHABET[x as usize % n] as char);
                }
            }
        }
        out
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn generated_pins_are_long_ascii_without_look_alikes() {
        let mut src = RandomPins;
        let pins: Vec<String> = (0..200).map(|_| src.next_pin()).collect();
        for p in &pins {
            assert_eq!(p.len(), PIN_LEN, "{p}");
            assert!(p.bytes().all(|b| PIN_ALPHABET.contains(&b)), "{p}");
            assert!(!p.contains(['0', 'O', '1', 'l', 'I']), "{p}");
        }
        let mut distinct = pins.clone();
        distinct.sort();
        distinct.dedup();
        assert_eq!(distinct.len(), pins.len());
    }

    #[test]
    fn the_alphabet_has_no_look_alikes_and_no_duplicates() {
        let mut a = PIN_ALPHABET.to_vec();
        a.sort();
        a.dedup();
        assert_eq!(a.len(), PIN_ALPHABET.len());
        assert_eq!(PIN_ALPHABET.len(), 57);
    }
}
