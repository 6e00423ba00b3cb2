//! RFC 3161 time-stamps: that a Time-Stamping Authority, an independent third party with its
//! own clock, signed the SHA-256 of some bytes (in a package: of a signed checkpoint) at the
//! time it states.
//!
//! What [`verify_timestamp`] checks, in order:
//!
//! 1. the `TimeStampResp` status is *granted* (or granted with modifications) and it carries a
//!    token, a CMS `SignedData` whose content is a `TSTInfo`;
//! 2. the `TSTInfo`'s message imprint is SHA-256 and equals the digest given;
//! 3. the one `SignerInfo` has signed attributes whose `contentType` is `id-ct-TSTInfo` and
//!    whose `messageDigest` is the SHA-256 of the encapsulated `TSTInfo`; when a
//!    `signingCertificateV2` attribute is present, it names the signer's certificate;
//! 4. the signature over the signed attributes verifies with the signer's certificate (from
//!    the token, or among the trusted roots): ECDSA P-256 with SHA-256, or RSA PKCS #1 v1.5
//!    with SHA-256;
//! 5. that certificate has the critical extended key usage `timeStamping` (and only it, as
//!    RFC 3161 §2.3 requires) and was valid at `genTime`;
//! 6. with trusted roots: the certificate is one of them, or is signed by one of them that was
//!    valid at `genTime` (one level: TSA certificates are issued directly by a CA).
//!
//! Failures of 1–5 are [`TimestampError::Invalid`]; of 6, [`TimestampError::Untrusted`].
//! The structure is walked by hand so that signatures are checked over the exact bytes
//! signed, not a re-encoding.

use const_oid::ObjectIdentifier;
use der::Decode as _;
use sha2::{Digest as _, Sha256};
use spki::SubjectPublicKeyInfoOwned;
use x509_cert::Certificate;
use x509_cert::ext::pkix::{ExtendedKeyUsage, SubjectKeyIdentifier};

use crate::VerifyError;
use crate::report::Code;

/// Largest `TimeStampResp` read (tokens with a certificate chain are a few KiB).
pub const MAX_RESPONSE_SIZE: u64 = 1 << 20;

const ID_SIGNED_DATA: ObjectIdentifier = ObjectIdentifier::new_unwrap("1.2.840.113549.1.7.2");
const ID_CT_TST_INFO: ObjectIdentifier = ObjectIdentifier::new_unwrap("1.2.840.113549.1.9.16.1.4");
const ID_CONTENT_TYPE: ObjectIdentifier = ObjectIdentifier::new_unwrap("1.2.840.113549.1.9.3");
const ID_MESSAGE_DIGEST: ObjectIdentifier = ObjectIdentifier::new_unwrap("1.2.840.113549.1.9.4");
const ID_SIGNING_CERTIFICATE_V2: ObjectIdentifier =
    ObjectIdentifier::new_unwrap("1.2.840.113549.1.9.16.2.47");
const ID_SHA256: ObjectIdentifier = ObjectIdentifier::new_unwrap("2.16.840.1.101.3.4.2.1");
const ID_EC_PUBLIC_KEY: ObjectIdentifier = ObjectIdentifier::new_unwrap("1.2.840.10045.2.1");
const SECP256R1: ObjectIdentifier = ObjectIdentifier::new_unwrap("1.2.840.10045.3.1.7");
const ECDSA_WITH_SHA256: ObjectIdentifier = ObjectIdentifier::new_unwrap("1.2.840.10045.4.3.2");
const RSA_ENCRYPTION: ObjectIdentifier = ObjectIdentifier::new_unwrap("1.2.840.113549.1.1.1");
const SHA256_WITH_RSA: ObjectIdentifier = ObjectIdentifier::new_unwrap("1.2.840.113549.1.1.11");
const ID_CE_EXT_KEY_USAGE: ObjectIdentifier = ObjectIdentifier::new_unwrap("2.5.29.37");
const ID_CE_SUBJECT_KEY_IDENTIFIER: ObjectIdentifier = ObjectIdentifier::new_unwrap("2.5.29.14");
const ID_KP_TIME_STAMPING: ObjectIdentifier = ObjectIdentifier::new_unwrap("1.3.6.1.5.5.7.3.8");

/// Why a time-stamp was refused. [`code`](TimestampError::code) gives the stable finding code.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum TimestampError {
    /// Malformed, not granted, over other bytes, or its signature or certificate is wrong:
    /// the token proves nothing about these bytes.
    #[error("{0}")]
    Invalid(String),
    /// The token is sound, but its TSA does not chain to a CA the user trusts, so who made
    /// it is not established.
    #[error("{0}")]
    Untrusted(String),
}

impl TimestampError {
    /// `timestamp-invalid` or `tsa-untrusted`.
    pub fn code(&self) -> Code {
        match self {
            TimestampError::Invalid(_) => Code::TimestampInvalid,
            TimestampError::Untrusted(_) => Code::TsaUntrusted,
        }
    }
}

fn invalid(why: impl Into<String>) -> TimestampError {
    TimestampError::Invalid(why.into())
}

/// What a verified time-stamp establishes.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct VerifiedTimestamp {
    /// The TSA's time (`genTime`), RFC 3339 UTC, with its fraction of a second if any.
    pub gen_time: String,
    /// `genTime` as seconds since the Unix epoch, for comparisons.
    pub unix_seconds: u64,
    /// The fraction of a second of `genTime`, in nanoseconds.
    pub nanos: u32,
    /// The signing certificate's subject (RFC 4514), naming the TSA.
    pub tsa: String,
    /// The TSA's policy OID.
    pub policy: String,
    /// The token's serial number, hex.
    pub serial: String,
    /// The subject of the trusted CA it chained to; `None` when no roots were given.
    pub trusted_root: Option<String>,
}

/// CA certificates the user trusts to vouch for time-stamping authorities.
#[derive(Debug, Clone, Default)]
pub struct TsaRoots {
    certs: Vec<Cert>,
}

impl TsaRoots {
    /// Reads certificates, each file DER or PEM (one or more `CERTIFICATE` blocks).
    pub fn parse(files: &[Vec<u8>]) -> Result<Self, VerifyError> {
        let mut certs = Vec::new();
        for (n, file) in files.iter().enumerate() {
            let bad = |why: String| VerifyError::BadTsaRoot(format!("CA file {}: {why}", n + 1));
            let ders = match std::str::from_utf8(file) {
                Ok(text) if text.contains("-----BEGIN ") => pem_certificates(text).map_err(bad)?,
                _ => vec![file.clone()],
            };
            if ders.is_empty() {
                return Err(bad("it holds no certificate".into()));
            }
            for der in ders {
                certs.push(Cert::parse(der).map_err(|e| bad(e.to_string()))?);
            }
        }
        Ok(TsaRoots { certs })
    }

    /// Whether no CA was given (time-stamps are then checked only against the certificate
    /// in the token).
    pub fn is_empty(&self) -> bool {
        self.certs.is_empty()
    }
}

fn pem_certificates(text: &str) -> Result<Vec<Vec<u8>>, String> {
    let mut out = Vec::new();
    let mut rest = text;
    while let Some(start) = rest.find("-----BEGIN ") {
        let block = &rest[start..];
        let end = block
            .find("-----END ")
            .ok_or("a PEM block has no END line")?;
        let end = block[end..]
            .find('\n')
            .map(|i| end + i + 1)
            .unwrap_or(block.len());
        let (label, der) =
            der::pem::decode_vec(&block.as_bytes()[..end]).map_err(|e| format!("PEM: {e}"))?;
        if label == "CERTIFICATE" {
            out.push(der);
        }
        rest = &block[end..];
    }
    Ok(out)
}

/// A certificate with its exact DER and the exact bytes of its `tbsCertificate`.
#[derive(Debug, Clone)]
struct Cert {
    der: Vec<u8>,
    tbs: std::ops::Range<usize>,
    cert: Certificate,
}

impl Cert {
    fn parse(der: Vec<u8>) -> Result<Self, TimestampError> {
        let (outer, rest) = expect(&der, 0x30)?;
        if !rest.is_empty() {
            return Err(invalid("a certificate has trailing bytes"));
        }
        let (tbs, _) = expect(outer.content, 0x30)?;
        let start = outer.raw.len() - outer.content.len();
        let tbs = start..start + tbs.raw.len();
        let cert = Certificate::from_der(&der)
            .map_err(|e| invalid(format!("a certificate could not be read ({e})")))?;
        Ok(Cert { der, tbs, cert })
    }

    fn subject(&self) -> String {
        self.cert.tbs_certificate.subject.to_string()
    }

    fn spki(&self) -> &SubjectPublicKeyInfoOwned {
        &self.cert.tbs_certificate.subject_public_key_info
    }

    fn valid_at(&self, secs: u64) -> bool {
        let v = &self.cert.tbs_certificate.validity;
        v.not_before.to_unix_duration().as_secs() <= secs
            && secs <= v.not_after.to_unix_duration().as_secs()
    }

    fn extension(&self, oid: ObjectIdentifier) -> Option<&x509_cert::ext::Extension> {
        self.cert
            .tbs_certificate
            .extensions
            .as_ref()?
            .iter()
            .find(|e| e.extn_id == oid)
    }

    fn subject_key_id(&self) -> Option<Vec<u8>> {
        let ext = self.extension(ID_CE_SUBJECT_KEY_IDENTIFIER)?;
        let ski = SubjectKeyIdentifier::from_der(ext.extn_value.as_bytes()).ok()?;
        Some(ski.0.as_bytes().to_vec())
    }
}

/// One DER TLV: its tag, its whole encoding, and its content.
#[derive(Clone, Copy, Debug)]
struct Tlv<'a> {
    tag: u8,
    raw: &'a [u8],
    content: &'a [u8],
}

/// Reads one definite-length TLV with a single-byte tag.
fn tlv(input: &[u8]) -> Result<(Tlv<'_>, &[u8]), TimestampError> {
    let bad = || invalid("the token's DER structure is malformed");
    let tag = *input.first().ok_or_else(bad)?;
    if tag & 0x1f == 0x1f {
        return Err(bad());
    }
    let first = *input.get(1).ok_or_else(bad)?;
    let (len, header) = if first < 0x80 {
        (usize::from(first), 2)
    } else {
        let n = usize::from(first & 0x7f);
        if n == 0 || n > 4 {
            return Err(bad());
        }
        let mut len = 0usize;
        for b in input.get(2..2 + n).ok_or_else(bad)? {
            len = (len << 8) | usize::from(*b);
        }
        (len, 2 + n)
    };
    let end = header.checked_add(len).ok_or_else(bad)?;
    let raw = input.get(..end).ok_or_else(bad)?;
    Ok((
        Tlv {
            tag,
            raw,
            content: &raw[header..],
        },
        &input[end..],
    ))
}

fn expect(input: &[u8], tag: u8) -> Result<(Tlv<'_>, &[u8]), TimestampError> {
    let (t, rest) = tlv(input)?;
    if t.tag != tag {
        return Err(invalid(format!(
            "the token's DER structure is not as RFC 3161 defines it (tag 0x{:02x} where 0x{tag:02x} belongs)",
            t.tag
        )));
    }
    Ok((t, rest))
}

fn oid(t: &Tlv<'_>) -> Result<ObjectIdentifier, TimestampError> {
    ObjectIdentifier::from_bytes(t.content)
        .map_err(|_| invalid("an object identifier is malformed"))
}

/// `GeneralizedTime` as RFC 3161 requires it (`YYYYMMDDhhmmss[.f]Z`): seconds since the
/// epoch, nanoseconds, and RFC 3339 text. Fractions are allowed, unlike in certificates.
fn generalized_time(bytes: &[u8]) -> Result<(u64, u32, String), TimestampError> {
    let bad = || invalid("genTime is not a valid UTC GeneralizedTime");
    let s = std::str::from_utf8(bytes).map_err(|_| bad())?;
    let s = s.strip_suffix('Z').ok_or_else(bad)?;
    let (main, frac) = match s.split_once('.') {
        Some((m, f)) => (m, Some(f)),
        None => (s, None),
    };
    if main.len() != 14 || !main.bytes().all(|b| b.is_ascii_digit()) {
        return Err(bad());
    }
    let num = |r: std::ops::Range<usize>| main[r].parse::<u16>().map_err(|_| bad());
    let (y, mo, d, h, mi, se) = (
        num(0..4)?,
        num(4..6)?,
        num(6..8)?,
        num(8..10)?,
        num(10..12)?,
        num(12..14)?,
    );
    let small = |v: u16| u8::try_from(v).map_err(|_| bad());
    let dt = der::DateTime::new(y, small(mo)?, small(d)?, small(h)?, small(mi)?, small(se)?)
        .map_err(|_| bad())?;
    let mut nanos = 0u32;
    let mut frac_text = String::new();
    if let Some(f) = frac {
        if f.is_empty() || !f.bytes().all(|b| b.is_ascii_digit()) {
            return Err(bad());
        }
        let digits: String = f.chars().chain(std::iter::repeat('0')).take(9).collect();
        nanos = digits.parse().map_err(|_| bad())?;
        frac_text = format!(".{f}");
    }
    Ok((
        dt.unix_duration().as_secs(),
        nanos,
        format!("{y:04}-{mo:02}-{d:02}T{h:02}:{mi:02}:{se:02}{frac_text}Z"),
    ))
}

/// Verifies `signature` over `message` with the key in `spki`, for the algorithm `alg`.
fn verify_signature(
    spki: &SubjectPublicKeyInfoOwned,
    alg: &ObjectIdentifier,
    message: &[u8],
    signature: &[u8],
) -> Result<(), String> {
    let key = spki.subject_public_key.raw_bytes();
    if spki.algorithm.oid == ID_EC_PUBLIC_KEY {
        let curve = spki
            .algorithm
            .parameters
            .as_ref()
            .and_then(|p| p.decode_as::<ObjectIdentifier>().ok());
        if curve != Some(SECP256R1) {
            return Err("the key is on an elliptic curve other than P-256, not supported".into());
        }
        if *alg != ECDSA_WITH_SHA256 && *alg != ID_EC_PUBLIC_KEY {
            return Err(format!(
                "signature algorithm {alg} is not supported with P-256"
            ));
        }
        use p256::ecdsa::signature::Verifier as _;
        let vk = p256::ecdsa::VerifyingKey::from_sec1_bytes(key)
            .map_err(|_| "the P-256 public key is invalid".to_owned())?;
        let sig = p256::ecdsa::Signature::from_der(signature)
            .map_err(|_| "the ECDSA signature is malformed".to_owned())?;
        vk.verify(message, &sig)
            .map_err(|_| "the ECDSA signature does not verify".to_owned())
    } else if spki.algorithm.oid == RSA_ENCRYPTION {
        if *alg != RSA_ENCRYPTION && *alg != SHA256_WITH_RSA {
            return Err(format!(
                "signature algorithm {alg} is not supported with RSA"
            ));
        }
        use rsa::pkcs1::DecodeRsaPublicKey as _;
        let pk = rsa::RsaPublicKey::from_pkcs1_der(key)
            .map_err(|_| "the RSA public key is invalid".to_owned())?;
        pk.verify(
            rsa::Pkcs1v15Sign::new::<Sha256>(),
            &Sha256::digest(message),
            signature,
        )
        .map_err(|_| "the RSA signature does not verify".to_owned())
    } else {
        Err(format!(
            "the key type {} is not supported (only P-256 and RSA)",
            spki.algorithm.oid
        ))
    }
}

/// The parts of a `TimeStampResp` that are checked, borrowed from its bytes.
struct Token<'a> {
    tst_info: &'a [u8],
    certs: Vec<&'a [u8]>,
    signer_info: &'a [u8],
    signed_attrs: Option<&'a [u8]>,
}

fn walk_response(der: &[u8]) -> Result<Token<'_>, TimestampError> {
    let (resp, rest) = expect(der, 0x30)?;
    if !rest.is_empty() {
        return Err(invalid("the response has bytes after its end"));
    }
    let (status_info, after) = expect(resp.content, 0x30)?;
    let (status, _) = expect(status_info.content, 0x02)?;
    match status.content {
        [0] | [1] => {}
        other => {
            return Err(invalid(format!(
                "the TSA did not grant a time-stamp (status {})",
                other.first().copied().unwrap_or(0xff)
            )));
        }
    }
    if after.is_empty() {
        return Err(invalid("the response is granted but carries no token"));
    }
    // ContentInfo { contentType id-signedData, content [0] EXPLICIT SignedData }
    let (token, _) = expect(after, 0x30)?;
    let (ct, rest) = expect(token.content, 0x06)?;
    if oid(&ct)? != ID_SIGNED_DATA {
        return Err(invalid("the token is not CMS SignedData"));
    }
    let (explicit, _) = expect(rest, 0xa0)?;
    let (sd, _) = expect(explicit.content, 0x30)?;
    let (_version, rest) = expect(sd.content, 0x02)?;
    let (_digest_algorithms, rest) = expect(rest, 0x31)?;
    let (encap, mut rest) = expect(rest, 0x30)?;
    let (ect, r) = expect(encap.content, 0x06)?;
    if oid(&ect)? != ID_CT_TST_INFO {
        return Err(invalid("the token's content is not a TSTInfo"));
    }
    let (econtent, _) = expect(r, 0xa0)?;
    let (octets, _) = expect(econtent.content, 0x04)?;
    let mut certs = Vec::new();
    if rest.first() == Some(&0xa0) {
        let (set, r) = tlv(rest)?;
        let mut inner = set.content;
        while !inner.is_empty() {
            let (c, r2) = tlv(inner)?;
            if c.tag == 0x30 {
                certs.push(c.raw);
            }
            inner = r2;
        }
        rest = r;
    }
    if rest.first() == Some(&0xa1) {
        rest = tlv(rest)?.1;
    }
    let (signer_infos, _) = expect(rest, 0x31)?;
    let (si, more) = expect(signer_infos.content, 0x30)?;
    if !more.is_empty() {
        return Err(invalid("the token has more than one signer"));
    }
    // SignerInfo { version, sid, digestAlgorithm, [0] signedAttrs, ... }
    let (_v, r) = tlv(si.content)?;
    let (_sid, r) = tlv(r)?;
    let (_digest_alg, r) = expect(r, 0x30)?;
    let signed_attrs = match tlv(r)? {
        (t, _) if t.tag == 0xa0 => Some(t.raw),
        _ => None,
    };
    Ok(Token {
        tst_info: octets.content,
        certs,
        signer_info: si.raw,
        signed_attrs,
    })
}

/// The fields of `TSTInfo` that are checked: policy, imprint, serial and `genTime`.
struct TstInfo {
    policy: ObjectIdentifier,
    imprint_alg: ObjectIdentifier,
    imprint: Vec<u8>,
    serial: Vec<u8>,
    gen_time: (u64, u32, String),
}

fn parse_tst_info(der: &[u8]) -> Result<TstInfo, TimestampError> {
    let (seq, rest) = expect(der, 0x30)?;
    if !rest.is_empty() {
        return Err(invalid("the TSTInfo has bytes after its end"));
    }
    let (version, r) = expect(seq.content, 0x02)?;
    if version.content != [1] {
        return Err(invalid("the TSTInfo is not version 1"));
    }
    let (policy, r) = expect(r, 0x06)?;
    let (mi, r) = expect(r, 0x30)?;
    let (alg, r2) = expect(mi.content, 0x30)?;
    let (alg_oid, _) = expect(alg.content, 0x06)?;
    let (hashed, _) = expect(r2, 0x04)?;
    let (serial, r) = expect(r, 0x02)?;
    let (time, _) = expect(r, 0x18)?;
    Ok(TstInfo {
        policy: oid(&policy)?,
        imprint_alg: oid(&alg_oid)?,
        imprint: hashed.content.to_vec(),
        serial: serial.content.to_vec(),
        gen_time: generalized_time(time.content)?,
    })
}

/// Checks a `signingCertificateV2` attribute (RFC 5816) names `cert` by its SHA-256.
fn check_signing_certificate_v2(value: &der::Any, cert: &Cert) -> Result<(), TimestampError> {
    let bad = || invalid("the signingCertificateV2 attribute is malformed");
    let (certs, _) = expect(value.value(), 0x30).map_err(|_| bad())?;
    let (first, _) = expect(certs.content, 0x30).map_err(|_| bad())?;
    let mut r = first.content;
    let mut alg = ID_SHA256;
    if r.first() == Some(&0x30) {
        let (a, rest) = expect(r, 0x30)?;
        alg = oid(&expect(a.content, 0x06)?.0)?;
        r = rest;
    }
    if alg != ID_SHA256 {
        return Ok(()); // another hash; the signature check below still binds the key
    }
    let (hash, _) = expect(r, 0x04)?;
    if hash.content != &Sha256::digest(&cert.der)[..] {
        return Err(invalid(
            "the signed attributes name a different signing certificate than the one used",
        ));
    }
    Ok(())
}

/// Verifies an RFC 3161 `TimeStampResp` (DER) over `digest` (the SHA-256 of the
/// time-stamped bytes). See the module documentation for the checks.
pub fn verify_timestamp(
    response: &[u8],
    digest: &[u8; 32],
    roots: &TsaRoots,
) -> Result<VerifiedTimestamp, TimestampError> {
    if response.len() as u64 > MAX_RESPONSE_SIZE {
        return Err(invalid("the response is too large"));
    }
    let token = walk_response(response)?;
    let tst = parse_tst_info(token.tst_info)?;
    if tst.imprint_alg != ID_SHA256 {
        return Err(invalid(format!(
            "the token time-stamps a {} digest, not SHA-256",
            tst.imprint_alg
        )));
    }
    if tst.imprint != digest {
        return Err(invalid(format!(
            "the token time-stamps the SHA-256 {}, not {}, the SHA-256 of the checkpoint it \
             is filed with: it is a time-stamp of other bytes",
            hex::encode(&tst.imprint),
            hex::encode(digest)
        )));
    }
    let (gen_secs, gen_nanos, gen_text) = tst.gen_time.clone();

    let signer = cms::signed_data::SignerInfo::from_der(token.signer_info)
        .map_err(|e| invalid(format!("the token's signer information is malformed ({e})")))?;
    if signer.digest_alg.oid != ID_SHA256 {
        return Err(invalid(format!(
            "the token is signed with digest {}, only SHA-256 is supported",
            signer.digest_alg.oid
        )));
    }
    let (Some(attrs), Some(attrs_raw)) = (signer.signed_attrs.as_ref(), token.signed_attrs) else {
        return Err(invalid("the token has no signed attributes"));
    };
    let attr = |oid: ObjectIdentifier| {
        attrs
            .iter()
            .find(|a| a.oid == oid)
            .and_then(|a| a.values.iter().next())
    };
    let content_type = attr(ID_CONTENT_TYPE)
        .and_then(|v| v.decode_as::<ObjectIdentifier>().ok())
        .ok_or_else(|| invalid("the signed attributes have no content type"))?;
    if content_type != ID_CT_TST_INFO {
        return Err(invalid("the signed content type is not TSTInfo"));
    }
    let message_digest = attr(ID_MESSAGE_DIGEST)
        .ok_or_else(|| invalid("the signed attributes have no message digest"))?;
    if message_digest.value() != &Sha256::digest(token.tst_info)[..] {
        return Err(invalid(
            "the signed message digest is not that of the TSTInfo: the time-stamp content was \
             altered",
        ));
    }

    // The signer's certificate: in the token, or given as a root.
    let token_certs: Vec<Cert> = token
        .certs
        .iter()
        .filter_map(|c| Cert::parse(c.to_vec()).ok())
        .collect();
    let is_signer = |c: &Cert| match &signer.sid {
        cms::signed_data::SignerIdentifier::IssuerAndSerialNumber(ias) => {
            c.cert.tbs_certificate.issuer == ias.issuer
                && c.cert.tbs_certificate.serial_number == ias.serial_number
        }
        cms::signed_data::SignerIdentifier::SubjectKeyIdentifier(ski) => {
            c.subject_key_id().as_deref() == Some(ski.0.as_bytes())
        }
    };
    let cert = token_certs
        .iter()
        .chain(roots.certs.iter())
        .find(|c| is_signer(c))
        .ok_or_else(|| {
            invalid(
                "the token does not include the TSA's certificate, and it is not among the \
                 certificates given, so its signature cannot be checked",
            )
        })?;
    if let Some(v) = attr(ID_SIGNING_CERTIFICATE_V2) {
        check_signing_certificate_v2(v, cert)?;
    }
    let mut signed = attrs_raw.to_vec();
    if let Some(tag) = signed.first_mut() {
        *tag = 0x31; // the signature is over the SET OF, not the [0] IMPLICIT tagging
    }
    verify_signature(
        cert.spki(),
        &signer.signature_algorithm.oid,
        &signed,
        signer.signature.as_bytes(),
    )
    .map_err(|why| {
        invalid(format!(
            "the TSA's signature over the time-stamp does not verify ({why}): the token was \
             altered or forged"
        ))
    })?;

    // The certificate must be a time-stamping certificate, valid at genTime.
    let eku = cert
        .extension(ID_CE_EXT_KEY_USAGE)
        .ok_or_else(|| invalid("the signing certificate has no extended key usage"))?;
    let purposes = ExtendedKeyUsage::from_der(eku.extn_value.as_bytes())
        .map_err(|_| invalid("the signing certificate's extended key usage is malformed"))?;
    if !eku.critical || purposes.0 != [ID_KP_TIME_STAMPING] {
        return Err(invalid(
            "the signing certificate is not a time-stamping certificate (RFC 3161 requires the \
             critical extended key usage timeStamping, alone)",
        ));
    }
    if !cert.valid_at(gen_secs) {
        return Err(invalid(format!(
            "the signing certificate was not valid at {gen_text}, the time the token states"
        )));
    }

    let trusted_root = if roots.is_empty() {
        None
    } else {
        Some(chain_to_root(cert, roots, gen_secs, &gen_text)?)
    };
    Ok(VerifiedTimestamp {
        gen_time: gen_text,
        unix_seconds: gen_secs,
        nanos: gen_nanos,
        tsa: cert.subject(),
        policy: tst.policy.to_string(),
        serial: hex::encode(&tst.serial),
        trusted_root,
    })
}

/// The trusted root `cert` is, or is directly issued by; its subject.
fn chain_to_root(
    cert: &Cert,
    roots: &TsaRoots,
    gen_secs: u64,
    gen_text: &str,
) -> Result<String, TimestampError> {
    if let Some(r) = roots.certs.iter().find(|r| r.der == cert.der) {
        return Ok(r.subject());
    }
    let issuer = &cert.cert.tbs_certificate.issuer;
    let mut why = format!(
        "the TSA certificate ({}) was issued by {issuer}, which is not among the CAs given",
        cert.subject()
    );
    for root in roots
        .certs
        .iter()
        .filter(|r| &r.cert.tbs_certificate.subject == issuer)
    {
        let tbs = cert.der.get(cert.tbs.clone()).unwrap_or_default();
        match verify_signature(
            root.spki(),
            &cert.cert.signature_algorithm.oid,
            tbs,
            cert.cert.signature.raw_bytes(),
        ) {
            Ok(()) if root.valid_at(gen_secs) => return Ok(root.subject()),
            Ok(()) => {
                why = format!(
                    "the CA {} that issued the TSA certificate was not valid at {gen_text}",
                    root.subject()
                )
            }
            Err(e) => {
                why = format!(
                    "the TSA certificate is not signed by the CA given under the name {} ({e})",
                    root.subject()
                )
            }
        }
    }
    Err(TimestampError::Untrusted(why))
}

/// The DER of a certificate's public key info, for tests.
#[cfg(test)]
fn spki_der(c: &Cert) -> Vec<u8> {
    use der::Encode as _;
    c.spki().to_der().unwrap_or_default()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn generalized_times() {
        let (s, n, t) = generalized_time(b"20261125172203Z").expect("time");
        assert_eq!(t, "2026-11-25T17:22:03Z");
        assert_eq!(n, 0);
        assert_eq!(s, 1_795_627_323);
        let (_, n, t) = generalized_time(b"20261125172203.25Z").expect("fraction");
        assert_eq!((n, t.as_str()), (250_000_000, "2026-11-25T17:22:03.25Z"));
        for bad in [
            &b"20261125172203"[..],
            b"2026112517220Z",
            b"20261325172203Z",
            b"20261125172203.Z",
        ] {
            assert!(generalized_time(bad).is_err());
        }
    }

    #[test]
    fn certificate_parts() {
        let dir = vigil_testdata::vectors().join("rfc3161");
        let pem = std::fs::read(dir.join("tsa.crt")).expect("tsa.crt");
        let roots = TsaRoots::parse(&[pem]).expect("parse");
        let c = &roots.certs[0];
        assert_eq!(c.subject(), "CN=Test TSA");
        assert!(!spki_der(c).is_empty());
        assert!(c.subject_key_id().is_some());
    }
}
