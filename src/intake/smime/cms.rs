//! CMS parsing: the signature's bytes as a `SignedData`. Mail clients write
//! BER (indefinite lengths, constructed OCTET STRINGs), the `cms` crate reads
//! DER, so the BER→DER conversion lives here too, with the signed content, the
//! embedded certificates, the signer look-up and the signed attributes. Pure
//! decoding: whether the values are acceptable is decided by the other stages.

use cms::cert::CertificateChoices;
use cms::content_info::ContentInfo;
use cms::signed_data::{SignedAttributes, SignedData, SignerIdentifier};
use der::asn1::{GeneralizedTime, ObjectIdentifier, OctetString, UtcTime};
use der::{Decode, Encode};
use openssl::x509::X509;
use time::OffsetDateTime;

use super::Shape;

const OID_SIGNED_DATA: &str = "1.2.840.113549.1.7.2";
const OID_ENVELOPED_DATA: &str = "1.2.840.113549.1.7.3";
const OID_AUTH_ENVELOPED_DATA: &str = "1.2.840.113549.1.9.16.1.23";
const OID_CONTENT_TYPE: &str = "1.2.840.113549.1.9.3";
const OID_MESSAGE_DIGEST: &str = "1.2.840.113549.1.9.4";
const OID_SIGNING_TIME: &str = "1.2.840.113549.1.9.5";

pub(super) fn oid(s: &str) -> ObjectIdentifier {
    ObjectIdentifier::new_unwrap(s)
}

pub(super) fn parse_signed_data(p7: &[u8]) -> Result<SignedData, String> {
    let der = ber_to_der(p7).map_err(|e| format!("the signature is not valid CMS ({e})"))?;
    let ci = ContentInfo::from_der(&der).map_err(|_| "the signature is not valid CMS")?;
    let ct = ci.content_type.to_string();
    if ct == OID_ENVELOPED_DATA || ct == OID_AUTH_ENVELOPED_DATA {
        return Err(
            "encrypted (enveloped-data) mail is not accepted: send the mail signed and not \
             encrypted"
                .into(),
        );
    }
    if ct != OID_SIGNED_DATA {
        return Err(format!("CMS content type {ct} is not signed-data"));
    }
    ci.content
        .decode_as::<SignedData>()
        .map_err(|_| "the CMS signed-data is malformed".into())
}

/// Converts BER (indefinite lengths, constructed OCTET STRINGs, as NSS and OpenSSL's
/// streaming mode write them) to DER so that the `cms` crate can parse it.
fn ber_to_der(input: &[u8]) -> Result<Vec<u8>, &'static str> {
    let mut pos = 0;
    let mut out = Vec::with_capacity(input.len());
    ber_element(input, &mut pos, &mut out, 0)?;
    // Some writers pad with zero bytes after the outer element.
    if input[pos..].iter().any(|&b| b != 0) {
        return Err("trailing data");
    }
    Ok(out)
}

fn ber_element(
    input: &[u8],
    pos: &mut usize,
    out: &mut Vec<u8>,
    depth: usize,
) -> Result<(), &'static str> {
    const TRUNC: &str = "truncated";
    if depth > 64 {
        return Err("nesting too deep");
    }
    let tag_start = *pos;
    let first = *input.get(*pos).ok_or(TRUNC)?;
    *pos += 1;
    if first & 0x1f == 0x1f {
        loop {
            let b = *input.get(*pos).ok_or(TRUNC)?;
            *pos += 1;
            if b & 0x80 == 0 {
                break;
            }
        }
    }
    let tag = &input[tag_start..*pos];
    let constructed = first & 0x20 != 0;
    let lb = *input.get(*pos).ok_or(TRUNC)?;
    *pos += 1;
    let len: Option<usize> = if lb == 0x80 {
        None
    } else if lb & 0x80 == 0 {
        Some(lb as usize)
    } else {
        let n = (lb & 0x7f) as usize;
        if n > 4 {
            return Err("length too large");
        }
        let mut l = 0usize;
        for _ in 0..n {
            l = (l << 8) | *input.get(*pos).ok_or(TRUNC)? as usize;
            *pos += 1;
        }
        Some(l)
    };
    if !constructed {
        let l = len.ok_or("indefinite length on a primitive")?;
        let end = pos.checked_add(l).ok_or(TRUNC)?;
        let content = input.get(*pos..end).ok_or(TRUNC)?;
        *pos = end;
        out.extend_from_slice(tag);
        push_len(out, l);
        out.extend_from_slice(content);
        return Ok(());
    }
    let mut inner = Vec::new();
    match len {
        None => loop {
            if input.get(*pos..*pos + 2).ok_or(TRUNC)? == [0, 0] {
                *pos += 2;
                break;
            }
            ber_element(input, pos, &mut inner, depth + 1)?;
        },
        Some(l) => {
            let end = pos.checked_add(l).ok_or(TRUNC)?;
            if end > input.len() {
                return Err(TRUNC);
            }
            while *pos < end {
                ber_element(input, pos, &mut inner, depth + 1)?;
            }
            if *pos != end {
                return Err("length mismatch");
            }
        }
    }
    if first == 0x24 {
        // Constructed OCTET STRING: DER wants the concatenated primitive form.
        let mut flat = Vec::new();
        let mut p = 0;
        while p < inner.len() {
            if inner[p] != 0x04 {
                return Err("bad constructed OCTET STRING");
            }
            let mut q = p + 1;
            let (l, hl) = der_len(&inner[q..]).ok_or(TRUNC)?;
            q += hl;
            flat.extend_from_slice(inner.get(q..q + l).ok_or(TRUNC)?);
            p = q + l;
        }
        out.push(0x04);
        push_len(out, flat.len());
        out.extend_from_slice(&flat);
    } else {
        out.extend_from_slice(tag);
        push_len(out, inner.len());
        out.extend_from_slice(&inner);
    }
    Ok(())
}

fn der_len(b: &[u8]) -> Option<(usize, usize)> {
    let first = *b.first()?;
    if first & 0x80 == 0 {
        return Some((first as usize, 1));
    }
    let n = (first & 0x7f) as usize;
    let mut l = 0usize;
    for i in 0..n {
        l = (l << 8) | *b.get(1 + i)? as usize;
    }
    Some((l, 1 + n))
}

fn push_len(out: &mut Vec<u8>, l: usize) {
    if l < 0x80 {
        out.push(l as u8);
    } else {
        let bytes = l.to_be_bytes();
        let skip = bytes.iter().take_while(|&&b| b == 0).count();
        out.push(0x80 | (bytes.len() - skip) as u8);
        out.extend_from_slice(&bytes[skip..]);
    }
}

/// The SignedData certificates, as parsed (for extensions) and as OpenSSL objects.
pub(super) fn embedded_certs(sd: &SignedData) -> Vec<(x509_cert::Certificate, X509)> {
    let mut out = Vec::new();
    if let Some(set) = &sd.certificates {
        for choice in set.0.iter() {
            if let CertificateChoices::Certificate(c) = choice
                && let Ok(der) = c.to_der()
                && let Ok(x) = X509::from_der(&der)
            {
                out.push((c.clone(), x));
            }
        }
    }
    out
}

pub(super) fn find_signer<'a>(
    sid: &SignerIdentifier,
    certs: &'a [(x509_cert::Certificate, X509)],
) -> Option<&'a (x509_cert::Certificate, X509)> {
    certs.iter().find(|(c, x)| match sid {
        SignerIdentifier::IssuerAndSerialNumber(ias) => {
            c.tbs_certificate.issuer == ias.issuer
                && c.tbs_certificate.serial_number == ias.serial_number
        }
        SignerIdentifier::SubjectKeyIdentifier(ski) => x
            .subject_key_id()
            .is_some_and(|k| k.as_slice() == ski.0.as_bytes()),
    })
}

pub(super) struct AttrValues {
    pub(super) message_digest: Vec<u8>,
    pub(super) signing_time: OffsetDateTime,
}

pub(super) fn signed_attr_values(
    sa: &SignedAttributes,
    econtent_type: &ObjectIdentifier,
) -> Result<AttrValues, String> {
    let single = |o: &str, name: &str| -> Result<der::Any, String> {
        let found: Vec<_> = sa.iter().filter(|a| a.oid == oid(o)).collect();
        match found.as_slice() {
            [] => Err(format!("{name} attribute missing")),
            [a] if a.values.len() == 1 => Ok(a.values.get(0).cloned().ok_or("")?),
            _ => Err(format!("{name} attribute must occur once with one value")),
        }
    };
    let ct = single(OID_CONTENT_TYPE, "content-type")?
        .decode_as::<ObjectIdentifier>()
        .map_err(|_| "content-type attribute malformed")?;
    if &ct != econtent_type {
        return Err(format!(
            "content-type attribute {ct} differs from the content type {econtent_type}"
        ));
    }
    let md = single(OID_MESSAGE_DIGEST, "message-digest")?
        .decode_as::<OctetString>()
        .map_err(|_| "message-digest attribute malformed")?
        .into_bytes();
    let st_any = single(OID_SIGNING_TIME, "signing-time")?;
    let secs = if let Ok(t) = st_any.decode_as::<UtcTime>() {
        t.to_unix_duration().as_secs()
    } else if let Ok(t) = st_any.decode_as::<GeneralizedTime>() {
        t.to_unix_duration().as_secs()
    } else {
        return Err("signing-time attribute malformed".into());
    };
    let signing_time = OffsetDateTime::from_unix_timestamp(secs as i64)
        .map_err(|_| "signing-time out of range")?;
    Ok(AttrValues {
        message_digest: md,
        signing_time,
    })
}

/// The signed content: the detached part as it arrived, or the content the
/// opaque signed-data carries. A detached signature with content of its own
/// and an opaque one without content are refused.
pub(super) fn signed_content(
    shape: Shape,
    sd: &SignedData,
    detached: Vec<u8>,
) -> Result<Vec<u8>, &'static str> {
    match (shape, &sd.encap_content_info.econtent) {
        (Shape::Detached, Some(_)) => {
            Err("the detached signature (p7s) carries its own content beside the signed part")
        }
        (Shape::Detached, None) => Ok(detached),
        (Shape::Opaque, None) => Err("opaque signed-data without content"),
        (Shape::Opaque, Some(any)) => match any.decode_as::<OctetString>() {
            Ok(o) => Ok(o.into_bytes()),
            Err(_) => Err("signed content is not an OCTET STRING"),
        },
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn ber_to_der_table() {
        let cases: &[(&[u8], Option<&[u8]>)] = &[
            // definite DER passes through
            (
                &[0x30, 0x03, 0x02, 0x01, 0x05],
                Some(&[0x30, 0x03, 0x02, 0x01, 0x05]),
            ),
            // indefinite SEQUENCE
            (
                &[0x30, 0x80, 0x02, 0x01, 0x05, 0x00, 0x00],
                Some(&[0x30, 0x03, 0x02, 0x01, 0x05]),
            ),
            // constructed OCTET STRING flattened
            (
                &[
                    0x24, 0x80, 0x04, 0x01, 0xaa, 0x04, 0x02, 0xbb, 0xcc, 0x00, 0x00,
                ],
                Some(&[0x04, 0x03, 0xaa, 0xbb, 0xcc]),
            ),
            // trailing zero padding tolerated
            (&[0x05, 0x00, 0x00, 0x00], Some(&[0x05, 0x00])),
            // truncated
            (&[0x30, 0x05, 0x02, 0x01], None),
            (&[0x30, 0x80, 0x02, 0x01, 0x05], None),
            // indefinite primitive is invalid
            (&[0x04, 0x80, 0x00, 0x00], None),
            (&[], None),
        ];
        for (input, expected) in cases {
            assert_eq!(ber_to_der(input).ok().as_deref(), *expected, "{input:02x?}");
        }
    }
}
