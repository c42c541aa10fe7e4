//! Fermat's factorisation, bounded: a modulus whose two primes are close
//! together is a² − b² with a just above √n. Boulder's method: start at
//! a = ⌈√n⌉ and, for a fixed number of rounds, test whether a² − n is a
//! perfect square. Most candidates are ruled out by their residues modulo
//! 64, 63, 65 and 11, kept up to date in machine words, before any big
//! number is computed.

use openssl::bn::{BigNum, BigNumContext, BigNumRef};
use openssl::error::ErrorStack;

/// The round (1-based) in which `n` factors, or `None` within `rounds`.
pub(crate) fn factor_round(n: &BigNumRef, rounds: u32) -> Result<Option<u32>, ErrorStack> {
    let mut ctx = BigNumContext::new()?;
    let mut a0 = isqrt(n, &mut ctx)?;
    let mut sq = BigNum::new()?;
    sq.sqr(&a0, &mut ctx)?;
    if sq < *n {
        a0.add_word(1)?;
        sq.sqr(&a0, &mut ctx)?;
    }
    let mut b2 = BigNum::new()?;
    b2.checked_sub(&sq, n)?;
    // Round k tests b2 = (a0 + k − 1)² − n. Its residues modulo the filter
    // moduli follow from the previous round's, (a+1)² − n = (a² − n) + 2a + 1,
    // so the big numbers are only touched for the rare candidate.
    let filters = filters();
    let mut residues = Vec::with_capacity(filters.len());
    for (m, _) in &filters {
        residues.push((a0.mod_word(*m)?, b2.mod_word(*m)?));
    }
    let mut a = BigNum::new()?;
    for round in 1..=rounds {
        let candidate = filters
            .iter()
            .zip(&residues)
            .all(|((_, squares), (_, b))| squares[*b as usize]);
        if candidate {
            let k = BigNum::from_u32(round - 1)?;
            a.checked_add(&a0, &k)?;
            sq.sqr(&a, &mut ctx)?;
            b2.checked_sub(&sq, n)?;
            if is_square(&b2, &mut ctx)? {
                return Ok(Some(round));
            }
        }
        for ((m, _), (a_m, b_m)) in filters.iter().zip(residues.iter_mut()) {
            let m = u64::from(*m);
            *b_m = (*b_m + 2 * *a_m + 1) % m;
            *a_m = (*a_m + 1) % m;
        }
    }
    Ok(None)
}

/// ⌊√n⌋ by Newton's iteration from a power of two above it.
pub(crate) fn isqrt(n: &BigNumRef, ctx: &mut BigNumContext) -> Result<BigNum, ErrorStack> {
    let mut x = BigNum::new()?;
    if n.num_bits() == 0 {
        return Ok(x);
    }
    x.set_bit((n.num_bits() + 1) / 2)?;
    let mut q = BigNum::new()?;
    let mut sum = BigNum::new()?;
    loop {
        q.checked_div(n, &x, ctx)?;
        sum.checked_add(&x, &q)?;
        let mut y = BigNum::new()?;
        y.rshift1(&sum)?;
        if y >= x {
            return Ok(x);
        }
        x = y;
    }
}

/// For m = 64, 63, 65, 11: which residues modulo m squares can have
/// (together they let about 1 in 120 non-squares through).
fn filters() -> Vec<(u32, Vec<bool>)> {
    [64u32, 63, 65, 11]
        .into_iter()
        .map(|m| {
            let mut r = vec![false; m as usize];
            for i in 0..m {
                r[(i * i % m) as usize] = true;
            }
            (m, r)
        })
        .collect()
}

fn is_square(x: &BigNumRef, ctx: &mut BigNumContext) -> Result<bool, ErrorStack> {
    let r = isqrt(x, ctx)?;
    let mut sq = BigNum::new()?;
    sq.sqr(&r, ctx)?;
    Ok(sq == *x)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn isqrt_table() {
        let mut ctx = BigNumContext::new().unwrap();
        for (n, root) in [
            ("0", "0"),
            ("1", "1"),
            ("3", "1"),
            ("4", "2"),
            ("99", "9"),
            ("100", "10"),
            ("101", "10"),
            // (2^64)² − 1 and (2^64)²
            (
                "340282366920938463463374607431768211455",
                "18446744073709551615",
            ),
            (
                "340282366920938463463374607431768211456",
                "18446744073709551616",
            ),
        ] {
            let n = BigNum::from_dec_str(n).unwrap();
            let got = isqrt(&n, &mut ctx).unwrap();
            assert_eq!(got.to_dec_str().unwrap().to_string(), root, "isqrt({n})");
        }
    }

    #[test]
    fn small_fermat_table() {
        for (n, expected) in [
            // 101 · 103: a = 103 − 1 = 102, b = 1 (round 1)
            (10403u32, Some(1)),
            // 11 · 13 = 143, a = 12
            (143, Some(1)),
            // 3 · 101 = 303: a = 52 (b = 49), ⌈√303⌉ = 18 → round 35
            (303, Some(35)),
            // a square: p = q
            (10201, Some(1)),
        ] {
            let n = BigNum::from_u32(n).unwrap();
            assert_eq!(factor_round(&n, 110).unwrap(), expected, "n = {n}");
        }
        // 3 · 101 needs 35 rounds: not found in 34.
        assert_eq!(
            factor_round(&BigNum::from_u32(303).unwrap(), 34).unwrap(),
            None
        );
    }
}
