//! The RSA checks, in Boulder's order after the blocklist: exponent, small
//! factors, ROCA, Fermat.

use openssl::bn::{BigNum, BigNumRef};

use super::{FERMAT_ROUNDS, SMALLEST_PRIME_FACTOR, WeakKey, blocklist};

mod fermat;
mod roca;

pub(super) fn check(n: &BigNumRef, e: &BigNumRef) -> Result<(), WeakKey> {
    // A listed modulus is compromised whatever its exponent: say so first.
    if blocklist::is_debian_weak(n) {
        return Err(WeakKey::DebianWeak);
    }
    // Boulder: one exponent only. The BRs allow any odd e >= 3 but only
    // SHOULD 2^16+1..2^256-1; 65537 is what every current tool makes.
    let f4 = BigNum::from_u32(65537)?;
    if *e != *f4 {
        return Err(WeakKey::Exponent(e.to_dec_str()?.to_string()));
    }
    if let Some(p) = small_factor(n)? {
        return Err(WeakKey::SmallFactor(p));
    }
    if roca::has_fingerprint(n)? {
        return Err(WeakKey::Roca);
    }
    if let Some(round) = fermat::factor_round(n, FERMAT_ROUNDS)? {
        return Err(WeakKey::Fermat(round));
    }
    Ok(())
}

/// The primes below [`SMALLEST_PRIME_FACTOR`] (a sieve; 133 of them, 2 to 751, as in Boulder).
pub(super) fn small_primes() -> Vec<u32> {
    let limit = SMALLEST_PRIME_FACTOR as usize;
    let mut composite = vec![false; limit];
    let mut primes = Vec::new();
    for i in 2..limit {
        if !composite[i] {
            primes.push(i as u32);
            for j in (i * i..limit).step_by(i) {
                composite[j] = true;
            }
        }
    }
    primes
}

/// The smallest prime below 752 dividing `n`, if any. Boulder takes one gcd
/// with the product of these primes, but OpenSSL 3's gcd is constant-time
/// and costs a millisecond; instead one remainder is taken per group of
/// primes whose product fits a machine word, and the primes of the group
/// divide that remainder exactly when they divide `n`.
fn small_factor(n: &BigNumRef) -> Result<Option<u32>, openssl::error::ErrorStack> {
    let mut group: Vec<u32> = Vec::new();
    let mut product: u64 = 1;
    let primes = small_primes();
    for (i, &p) in primes.iter().enumerate() {
        group.push(p);
        product *= u64::from(p);
        let next_fits = primes
            .get(i + 1)
            .is_some_and(|&q| product * u64::from(q) <= u64::from(u32::MAX));
        if !next_fits {
            // product <= u32::MAX by construction.
            let r = n.mod_word(product as u32)?;
            if let Some(&f) = group.iter().find(|&&f| r % u64::from(f) == 0) {
                return Ok(Some(f));
            }
            group.clear();
            product = 1;
        }
    }
    Ok(None)
}
