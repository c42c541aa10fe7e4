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

/// ⌊√n⌋ by Newton's iteration from just above the root: the root of n's
/// top bits in floating point, scaled back, is right to some 50 bits, so a
/// 2048-bit modulus takes 6 divisions instead of 11 from a power of two.
pub(crate) fn isqrt(n: &BigNumRef, ctx: &mut BigNumContext) -> Result<BigNum, ErrorStack> {
    let mut x = BigNum::new()?;
    let bits = n.num_bits();
    if bits == 0 {
        return Ok(x);
    }
    if bits <= 104 {
        x.set_bit((bits + 1) / 2)?;
    } else {
        // n = top·2^s + rest with s even and top < 2^104; then
        // √n < √(top + 1)·2^(s/2) ≤ (⌊√top⌋ + 1)·2^(s/2) < (r + 4)·2^(s/2),
        // r the f64 root (off by well under 4 at this size).
        let s = ((bits - 103) + 1) & !1;
        let mut top = BigNum::new()?;
        top.rshift(n, s)?;
        let t = top
            .to_vec()
            .iter()
            .fold(0u128, |a, b| (a << 8) | u128::from(*b));
        let r = (t as f64).sqrt() as u128 + 4;
        let root = BigNum::from_slice(&r.to_be_bytes())?;
        x.lshift(&root, s / 2)?;
    }
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

    /// r² ≤ n < (r + 1)² for random n of every size around the f64 start's
    /// threshold and up to 4096 bits, and for exact squares and their
    /// neighbours (where a start below the root would go wrong).
    #[test]
    fn isqrt_is_the_floor_root_at_every_size() {
        let check = |n: &BigNum| {
            let mut ctx = BigNumContext::new().unwrap();
            let r = isqrt(n, &mut ctx).unwrap();
            let mut sq = BigNum::new().unwrap();
            sq.sqr(&r, &mut ctx).unwrap();
            assert!(sq <= *n, "isqrt({n}) = {r} too large");
            let mut r1 = BigNum::new().unwrap();
            r1.checked_add(&r, &BigNum::from_u32(1).unwrap()).unwrap();
            sq.sqr(&r1, &mut ctx).unwrap();
            assert!(sq > *n, "isqrt({n}) = {r} too small");
        };
        let mut ctx = BigNumContext::new().unwrap();
        for bits in (100..=112).chain([200, 511, 1024, 2047, 2048, 3072, 4096]) {
            for _ in 0..20 {
                let mut n = BigNum::new().unwrap();
                n.rand(bits, openssl::bn::MsbOption::ONE, false).unwrap();
                check(&n);
                let mut sq = BigNum::new().unwrap();
                let mut half = BigNum::new().unwrap();
                half.rand(bits / 2, openssl::bn::MsbOption::ONE, false)
                    .unwrap();
                sq.sqr(&half, &mut ctx).unwrap();
                check(&sq);
                let mut below = BigNum::new().unwrap();
                below
                    .checked_sub(&sq, &BigNum::from_u32(1).unwrap())
                    .unwrap();
                check(&below);
            }
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
