//! EC public-key validation (NIST SP 800-56A §5.6.2.3, as Boulder does it):
//! not the identity, on the curve, and of the group's order.

use openssl::bn::{BigNum, BigNumContext};
use openssl::ec::{EcGroupRef, EcKeyRef};
use openssl::pkey::Public;

use super::WeakKey;

pub(super) fn check(ec: &EcKeyRef<Public>, curve: &'static str) -> Result<(), WeakKey> {
    let group = ec.group();
    let point = ec.public_key();
    if point.is_infinity(group) {
        return Err(WeakKey::EcIdentity);
    }
    let mut ctx = BigNumContext::new()?;
    if !point.is_on_curve(group, &mut ctx)? {
        return Err(WeakKey::EcOffCurve(curve));
    }
    // n·Q = O. With cofactor 1 (P-256, P-384, P-521) every point on the curve
    // other than the identity has order n, so the scalar multiplication
    // (about a signature's cost) is only done for other curves.
    let mut cofactor = BigNum::new()?;
    group.cofactor(&mut cofactor, &mut ctx)?;
    if cofactor != BigNum::from_u32(1)? && ec.check_key().is_err() {
        return Err(WeakKey::EcInvalid(curve));
    }
    Ok(())
}

/// Why the SPKI bits of an EC key did not decode on `group`: a well-formed
/// uncompressed point (0x04 ‖ X ‖ Y of the field's size) that OpenSSL refused
/// is off the curve (or has a coordinate ≥ p); anything else is malformed
/// (`None`: not a key at all).
pub fn undecodable_point(group: &EcGroupRef, bits: &[u8]) -> Option<WeakKey> {
    let field_bytes = (group.degree() as usize).div_ceil(8);
    let curve = group.curve_name().map(super::curve_name).unwrap_or("named");
    (bits.len() == 1 + 2 * field_bytes && bits[0] == 0x04).then_some(WeakKey::EcOffCurve(curve))
}
