//! C2SP signed notes (<https://c2sp.org/signed-note>): text followed by one or more signature
//! lines `— <name> base64(key ID || signature)`.
//!
//! Vigil signs its checkpoints with Ed25519 (type 0x01). Verification also understands
//! Ed25519 witness cosignatures (type 0x04, <https://c2sp.org/tlog-cosignature>; made by
//! [`Cosigner`](crate::Cosigner)) and, with the `static-ct` feature, RFC 6962 tree head
//! signatures (type 0x05) of static-ct-api logs.
//!
//! Keys are given as the spec's text forms: a *vkey* `name+hex(key ID)+base64(type || key)` for
//! verifying, and a *skey* `PRIVATE+KEY+name+hex(key ID)+base64(type || seed)` for signing.
//! The crate never draws randomness: new keys come from a caller-supplied 32-byte seed.

use std::collections::HashSet;
use std::fmt;

use ed25519_dalek::{Signer as _, SigningKey, Verifier as _, VerifyingKey};
use sha2::{Digest as _, Sha256};

use crate::hash::{decode_base64, encode_base64};

/// Largest note accepted, in bytes. The spec asks verifiers to bound note size; this leaves
/// room for far more than [`MAX_SIGNATURES`] post-quantum signatures.
pub const MAX_NOTE_SIZE: usize = 1 << 20;
/// Most signature lines accepted on one note (the spec requires at least 16).
pub const MAX_SIGNATURES: usize = 100;

const ALG_ED25519: u8 = 0x01;
pub(crate) const ALG_COSIGNATURE_V1: u8 = 0x04;
const ALG_RFC6962: u8 = 0x05;
pub(crate) const SIG_PREFIX: &str = "\u{2014} ";

/// Why a note, key or signature was refused.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[non_exhaustive]
pub enum NoteError {
    /// The note is larger than [`MAX_NOTE_SIZE`].
    #[error("note is {0} bytes, more than the {MAX_NOTE_SIZE} allowed")]
    TooLarge(usize),
    /// The note has more than [`MAX_SIGNATURES`] signature lines.
    #[error("note has {0} signatures, more than the {MAX_SIGNATURES} allowed")]
    TooManySignatures(usize),
    /// The note does not follow the signed-note format.
    #[error("malformed note: {0}")]
    Malformed(String),
    /// A key name is empty or contains a space or `+`.
    #[error("invalid key name {0:?}")]
    InvalidName(String),
    /// A vkey or skey string does not parse, or its key ID does not match its key.
    #[error("invalid key: {0}")]
    InvalidKey(String),
    /// The key's signature type is not supported by this build.
    #[error("unsupported signature type 0x{0:02x}")]
    UnsupportedKeyType(u8),
    /// Two verifiers share a name and key ID, so signatures could not be attributed.
    #[error("duplicate verifier {name}+{key_id:08x}")]
    DuplicateVerifier {
        /// Key name.
        name: String,
        /// Key ID.
        key_id: u32,
    },
    /// A signature by a known key does not verify: the note was altered or forged.
    #[error("signature by {name}+{key_id:08x} does not verify")]
    BadSignature {
        /// Key name.
        name: String,
        /// Key ID.
        key_id: u32,
    },
    /// No signature on the note is by a key the caller trusts.
    #[error("note has no signature by a known key")]
    NoKnownSignature,
    /// A cosignature timestamp of zero (the spec forbids omitting it) or above 2^63 - 1.
    #[error("cosignature timestamp {0} is not between 1 and 2^63 - 1")]
    InvalidTimestamp(u64),
}

/// The signature algorithms a [`Verifier`] can check.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
#[non_exhaustive]
pub enum SignatureKind {
    /// Ed25519 over the note text (type 0x01): how logs, Vigil included, sign checkpoints.
    Ed25519,
    /// Timestamped Ed25519 checkpoint cosignature (type 0x04), as witnesses make.
    CosignatureV1,
    /// RFC 6962 `TreeHeadSignature` (type 0x05), as static-ct-api logs make.
    Rfc6962,
}

impl SignatureKind {
    fn type_byte(self) -> u8 {
        match self {
            SignatureKind::Ed25519 => ALG_ED25519,
            SignatureKind::CosignatureV1 => ALG_COSIGNATURE_V1,
            SignatureKind::Rfc6962 => ALG_RFC6962,
        }
    }
}

/// Key names: non-empty, no Unicode white space, no `+` (which separates vkey fields).
pub(crate) fn check_name(name: &str) -> Result<(), NoteError> {
    if name.is_empty() || name.contains('+') || name.chars().any(char::is_whitespace) {
        return Err(NoteError::InvalidName(name.to_owned()));
    }
    Ok(())
}

/// `SHA-256(name || "\n" || type || key)[:4]`, big-endian: the spec's recommended key ID.
pub(crate) fn key_id(name: &str, type_byte: u8, key: &[u8]) -> u32 {
    let mut h = Sha256::new();
    h.update(name.as_bytes());
    h.update([b'\n', type_byte]);
    h.update(key);
    let d = h.finalize();
    u32::from_be_bytes([d[0], d[1], d[2], d[3]])
}

fn parse_key_id(hex8: &str) -> Option<u32> {
    if hex8.len() != 8
        || !hex8
            .bytes()
            .all(|b| b.is_ascii_digit() || (b'a'..=b'f').contains(&b))
    {
        return None;
    }
    u32::from_str_radix(hex8, 16).ok()
}

/// An Ed25519 note signer (type 0x01): a key name and a private key.
///
/// Holds the secret, so it implements neither `Clone` nor a revealing `Debug`.
pub struct Signer {
    name: String,
    key_id: u32,
    key: SigningKey,
}

impl fmt::Debug for Signer {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "Signer({}+{:08x})", self.name, self.key_id)
    }
}

impl Signer {
    /// A signer whose Ed25519 key is derived from `seed` (RFC 8032 private key).
    ///
    /// To create a new key, draw the seed from the operating system's CSPRNG; the crate does
    /// no I/O and so takes it as an argument.
    pub fn from_seed(name: &str, seed: &[u8; 32]) -> Result<Self, NoteError> {
        check_name(name)?;
        let key = SigningKey::from_bytes(seed);
        let key_id = key_id(name, ALG_ED25519, key.verifying_key().as_bytes());
        Ok(Signer {
            name: name.to_owned(),
            key_id,
            key,
        })
    }

    /// Reads an skey, `PRIVATE+KEY+<name>+<hex key ID>+base64(0x01 || seed)`.
    pub fn from_skey(skey: &str) -> Result<Self, NoteError> {
        let (name, id, seed) = parse_skey(skey, ALG_ED25519)?;
        let signer = Signer::from_seed(name, &seed)?;
        if signer.key_id != id {
            return Err(NoteError::InvalidKey(
                "skey: key ID does not match the key".into(),
            ));
        }
        Ok(signer)
    }

    /// The skey text for this signer, to be stored as a secret.
    pub fn to_skey(&self) -> String {
        format_skey(&self.name, self.key_id, ALG_ED25519, &self.key)
    }

    /// The matching verifier, to publish as a vkey.
    pub fn verifier(&self) -> Verifier {
        Verifier {
            name: self.name.clone(),
            key_id: self.key_id,
            key: VerifierKey::Ed25519(self.key.verifying_key()),
        }
    }

    /// The key name that appears on signature lines.
    pub fn name(&self) -> &str {
        &self.name
    }

    /// The key ID that prefixes each signature.
    pub fn key_id(&self) -> u32 {
        self.key_id
    }

    /// The signature line this signer adds to `text`.
    fn signature_line(&self, text: &str) -> String {
        let mut raw = self.key_id.to_be_bytes().to_vec();
        raw.extend_from_slice(&self.key.sign(text.as_bytes()).to_bytes());
        format!("{SIG_PREFIX}{} {}\n", self.name, encode_base64(&raw))
    }
}

/// Reads an skey, `PRIVATE+KEY+<name>+<hex key ID>+base64(type || seed)`, of signature type
/// `alg`: its name, key ID (checked by the caller against the key) and Ed25519 seed.
pub(crate) fn parse_skey(skey: &str, alg: u8) -> Result<(&str, u32, [u8; 32]), NoteError> {
    let bad = |why: &str| NoteError::InvalidKey(format!("skey: {why}"));
    let rest = skey
        .strip_prefix("PRIVATE+KEY+")
        .ok_or_else(|| bad("missing PRIVATE+KEY+ prefix"))?;
    // The base64 key may itself contain '+'.
    let mut parts = rest.splitn(3, '+');
    let (Some(name), Some(id), Some(b64), None) =
        (parts.next(), parts.next(), parts.next(), parts.next())
    else {
        return Err(bad("expected name+id+key"));
    };
    let id = parse_key_id(id).ok_or_else(|| bad("key ID is not 8 lowercase hex digits"))?;
    let raw = decode_base64(b64).ok_or_else(|| bad("key is not canonical base64"))?;
    let (&found, seed) = raw.split_first().ok_or_else(|| bad("empty key"))?;
    if found != alg {
        return Err(NoteError::UnsupportedKeyType(found));
    }
    let seed: [u8; 32] = seed
        .try_into()
        .map_err(|_| bad("Ed25519 seed must be 32 bytes"))?;
    Ok((name, id, seed))
}

/// The skey text of an Ed25519 key of signature type `alg`.
pub(crate) fn format_skey(name: &str, key_id: u32, alg: u8, key: &SigningKey) -> String {
    let mut raw = vec![alg];
    raw.extend_from_slice(key.as_bytes());
    format!("PRIVATE+KEY+{name}+{key_id:08x}+{}", encode_base64(&raw))
}

/// Signs `text` with each signer and returns the complete note.
///
/// `text` must itself be valid note text: UTF-8 ending in a newline, no control characters
/// other than newline. Ed25519 is deterministic, so the same key and text give the same note.
pub fn sign_note(text: &str, signers: &[&Signer]) -> Result<String, NoteError> {
    check_text(text)?;
    if signers.is_empty() {
        return Err(NoteError::Malformed("no signers".into()));
    }
    if signers.len() > MAX_SIGNATURES {
        return Err(NoteError::TooManySignatures(signers.len()));
    }
    let mut note = String::with_capacity(text.len() + 1 + signers.len() * 120);
    note.push_str(text);
    note.push('\n');
    for s in signers {
        note.push_str(&s.signature_line(text));
    }
    if note.len() > MAX_NOTE_SIZE {
        return Err(NoteError::TooLarge(note.len()));
    }
    Ok(note)
}

pub(crate) fn check_text(text: &str) -> Result<(), NoteError> {
    if !text.ends_with('\n') {
        return Err(NoteError::Malformed("text must end with a newline".into()));
    }
    if text.bytes().any(|b| b < 0x20 && b != b'\n') {
        return Err(NoteError::Malformed("control character in text".into()));
    }
    Ok(())
}

#[derive(Clone, PartialEq, Eq)]
enum VerifierKey {
    Ed25519(VerifyingKey),
    CosignatureV1(VerifyingKey),
    #[cfg(feature = "static-ct")]
    Rfc6962 {
        spki: Vec<u8>,
    },
}

/// A public key that checks one kind of note signature, with its name and key ID.
#[derive(Clone, PartialEq, Eq)]
pub struct Verifier {
    name: String,
    key_id: u32,
    key: VerifierKey,
}

impl fmt::Debug for Verifier {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "Verifier({})", self.to_vkey())
    }
}

/// DER prefix of a P-256 SubjectPublicKeyInfo; the uncompressed point follows.
#[cfg(feature = "static-ct")]
const P256_SPKI_PREFIX: [u8; 26] = [
    0x30, 0x59, 0x30, 0x13, 0x06, 0x07, 0x2a, 0x86, 0x48, 0xce, 0x3d, 0x02, 0x01, 0x06, 0x08, 0x2a,
    0x86, 0x48, 0xce, 0x3d, 0x03, 0x01, 0x07, 0x03, 0x42, 0x00,
];

impl Verifier {
    /// Reads a vkey, `<name>+<hex key ID>+base64(type || public key)`, and checks that the key
    /// ID is the one the spec derives from the name and key.
    pub fn from_vkey(vkey: &str) -> Result<Self, NoteError> {
        let bad = |why: &str| NoteError::InvalidKey(format!("vkey: {why}"));
        // The base64 key may itself contain '+'.
        let mut parts = vkey.splitn(3, '+');
        let (Some(name), Some(id), Some(b64), None) =
            (parts.next(), parts.next(), parts.next(), parts.next())
        else {
            return Err(bad("expected name+id+key"));
        };
        check_name(name)?;
        let id = parse_key_id(id).ok_or_else(|| bad("key ID is not 8 lowercase hex digits"))?;
        let raw = decode_base64(b64).ok_or_else(|| bad("key is not canonical base64"))?;
        let (&alg, material) = raw.split_first().ok_or_else(|| bad("empty key"))?;
        let (key, expected_id) = match alg {
            ALG_ED25519 | ALG_COSIGNATURE_V1 => {
                let bytes: &[u8; 32] = material
                    .try_into()
                    .map_err(|_| bad("Ed25519 key must be 32 bytes"))?;
                let vk = VerifyingKey::from_bytes(bytes)
                    .map_err(|_| bad("not an Ed25519 public key"))?;
                let key = if alg == ALG_ED25519 {
                    VerifierKey::Ed25519(vk)
                } else {
                    VerifierKey::CosignatureV1(vk)
                };
                (key, key_id(name, alg, material))
            }
            #[cfg(feature = "static-ct")]
            ALG_RFC6962 => {
                if material.len() != P256_SPKI_PREFIX.len() + 65
                    || material[..P256_SPKI_PREFIX.len()] != P256_SPKI_PREFIX
                {
                    return Err(bad("only P-256 SubjectPublicKeyInfo is supported"));
                }
                let log_id = Sha256::digest(material);
                let key = VerifierKey::Rfc6962 {
                    spki: material.to_vec(),
                };
                (key, key_id(name, alg, &log_id))
            }
            other => return Err(NoteError::UnsupportedKeyType(other)),
        };
        if expected_id != id {
            return Err(bad("key ID does not match the key"));
        }
        Ok(Verifier {
            name: name.to_owned(),
            key_id: id,
            key,
        })
    }

    /// A verifier for Ed25519 witness cosignatures (type 0x04) by `name` with public `key`.
    pub fn cosignature_v1(name: &str, key: &[u8; 32]) -> Result<Self, NoteError> {
        check_name(name)?;
        let vk = VerifyingKey::from_bytes(key)
            .map_err(|_| NoteError::InvalidKey("not an Ed25519 public key".into()))?;
        Ok(Verifier {
            name: name.to_owned(),
            key_id: key_id(name, ALG_COSIGNATURE_V1, key),
            key: VerifierKey::CosignatureV1(vk),
        })
    }

    /// The vkey text for this verifier.
    pub fn to_vkey(&self) -> String {
        let mut raw = vec![self.kind().type_byte()];
        match &self.key {
            VerifierKey::Ed25519(k) | VerifierKey::CosignatureV1(k) => {
                raw.extend_from_slice(k.as_bytes())
            }
            #[cfg(feature = "static-ct")]
            VerifierKey::Rfc6962 { spki } => raw.extend_from_slice(spki),
        }
        format!("{}+{:08x}+{}", self.name, self.key_id, encode_base64(&raw))
    }

    /// The key name signatures by this key carry.
    pub fn name(&self) -> &str {
        &self.name
    }

    /// The key ID signatures by this key carry.
    pub fn key_id(&self) -> u32 {
        self.key_id
    }

    /// Which signature algorithm this key checks.
    pub fn kind(&self) -> SignatureKind {
        match self.key {
            VerifierKey::Ed25519(_) => SignatureKind::Ed25519,
            VerifierKey::CosignatureV1(_) => SignatureKind::CosignatureV1,
            #[cfg(feature = "static-ct")]
            VerifierKey::Rfc6962 { .. } => SignatureKind::Rfc6962,
        }
    }

    /// Checks `sig` (without the key ID) over `text`; on success returns the signed timestamp,
    /// if the algorithm has one.
    fn verify(&self, text: &str, sig: &[u8]) -> Result<Option<u64>, ()> {
        match &self.key {
            VerifierKey::Ed25519(k) => {
                let sig = ed25519_dalek::Signature::from_slice(sig).map_err(|_| ())?;
                // Cofactorless RFC 8032 verification, as Go's crypto/ed25519 (which produced
                // most signatures in the wild) does.
                k.verify(text.as_bytes(), &sig).map_err(|_| ())?;
                Ok(None)
            }
            VerifierKey::CosignatureV1(k) => {
                let (ts, sig) = split_cosignature(sig).ok_or(())?;
                let msg = format!("cosignature/v1\ntime {ts}\n{text}");
                let sig = ed25519_dalek::Signature::from_slice(sig).map_err(|_| ())?;
                k.verify(msg.as_bytes(), &sig).map_err(|_| ())?;
                Ok(Some(ts))
            }
            #[cfg(feature = "static-ct")]
            VerifierKey::Rfc6962 { spki } => verify_rfc6962(&self.name, spki, text, sig).map(Some),
        }
    }
}

/// Splits a cosignature/v1 body into its timestamp and Ed25519 signature.
pub(crate) fn split_cosignature(sig: &[u8]) -> Option<(u64, &[u8])> {
    if sig.len() != 8 + 64 {
        return None;
    }
    let (ts, sig) = sig.split_at(8);
    let ts = u64::from_be_bytes(ts.try_into().ok()?);
    (ts <= i64::MAX as u64).then_some((ts, sig))
}

#[cfg(feature = "static-ct")]
fn verify_rfc6962(name: &str, spki: &[u8], text: &str, sig: &[u8]) -> Result<u64, ()> {
    // RFC6962NoteSignature: u64 timestamp, then a TLS DigitallySigned (hash 4 = SHA-256,
    // signature 3 = ECDSA, u16 length, DER signature).
    if sig.len() < 12 || sig[8] != 4 || sig[9] != 3 {
        return Err(());
    }
    let ts = u64::from_be_bytes(sig[..8].try_into().map_err(|_| ())?);
    let len = usize::from(u16::from_be_bytes([sig[10], sig[11]]));
    if sig.len() != 12 + len {
        return Err(());
    }
    // The signed TreeHeadSignature covers size and root only; the origin must be the key name
    // and extension lines are forbidden, as static-ct-api requires.
    let cp = crate::checkpoint::Checkpoint::parse(text).map_err(|_| ())?;
    if cp.origin() != name || !cp.extensions().is_empty() {
        return Err(());
    }
    let mut msg = Vec::with_capacity(2 + 8 + 8 + 32);
    msg.extend_from_slice(&[0, 1]);
    msg.extend_from_slice(&ts.to_be_bytes());
    msg.extend_from_slice(&cp.size().to_be_bytes());
    msg.extend_from_slice(cp.root().as_bytes());
    let point = &spki[P256_SPKI_PREFIX.len()..];
    ring::signature::UnparsedPublicKey::new(&ring::signature::ECDSA_P256_SHA256_ASN1, point)
        .verify(&msg, &sig[12..])
        .map_err(|_| ())?;
    Ok(ts)
}

/// The keys a caller trusts, looked up by name and key ID.
#[derive(Clone, Debug, Default)]
pub struct Verifiers {
    list: Vec<Verifier>,
}

impl Verifiers {
    /// An empty set: every signature is from an unknown key.
    pub fn new() -> Self {
        Verifiers::default()
    }

    /// Adds a key; refuses a second key with the same name and key ID.
    pub fn push(&mut self, v: Verifier) -> Result<(), NoteError> {
        if self.find(&v.name, v.key_id).is_some() {
            return Err(NoteError::DuplicateVerifier {
                name: v.name,
                key_id: v.key_id,
            });
        }
        self.list.push(v);
        Ok(())
    }

    /// Reads a set of vkeys.
    pub fn from_vkeys<S: AsRef<str>>(vkeys: &[S]) -> Result<Self, NoteError> {
        let mut out = Verifiers::new();
        for v in vkeys {
            out.push(Verifier::from_vkey(v.as_ref())?)?;
        }
        Ok(out)
    }

    /// The trusted keys.
    pub fn iter(&self) -> impl Iterator<Item = &Verifier> {
        self.list.iter()
    }

    fn find(&self, name: &str, key_id: u32) -> Option<&Verifier> {
        self.list
            .iter()
            .find(|v| v.key_id == key_id && v.name == name)
    }
}

impl From<Verifier> for Verifiers {
    fn from(v: Verifier) -> Self {
        Verifiers { list: vec![v] }
    }
}

/// One signature line of a note, not yet checked.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct NoteSignature {
    /// Key name on the line.
    pub name: String,
    /// Key ID, the first four bytes of the decoded signature.
    pub key_id: u32,
    /// The signature proper, after the key ID.
    pub signature: Vec<u8>,
}

impl NoteSignature {
    /// The timestamp of a cosignature/v1 signature (type 0x04), if this line has that shape.
    ///
    /// Unauthenticated until the signature is verified; useful for display and triage.
    pub fn cosignature_timestamp(&self) -> Option<u64> {
        split_cosignature(&self.signature).map(|(ts, _)| ts)
    }

    /// The line as it appears on a note: `— <name> base64(key ID || signature)` and a newline.
    pub fn to_line(&self) -> String {
        let mut raw = self.key_id.to_be_bytes().to_vec();
        raw.extend_from_slice(&self.signature);
        format!("{SIG_PREFIX}{} {}\n", self.name, encode_base64(&raw))
    }
}

/// A parsed signed note: its text and signature lines, structurally valid but not yet trusted.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Note {
    text: String,
    signatures: Vec<NoteSignature>,
}

impl Note {
    /// Parses a signed note, enforcing the size limits and line rules of the spec.
    pub fn parse(note: &[u8]) -> Result<Self, NoteError> {
        let malformed = |why: &str| NoteError::Malformed(why.to_owned());
        if note.len() > MAX_NOTE_SIZE {
            return Err(NoteError::TooLarge(note.len()));
        }
        let note = std::str::from_utf8(note).map_err(|_| malformed("not UTF-8"))?;
        if note.bytes().any(|b| b < 0x20 && b != b'\n') {
            return Err(malformed("control character"));
        }
        if !note.ends_with('\n') {
            return Err(malformed("does not end with a newline"));
        }
        let split = note
            .rfind("\n\n")
            .ok_or_else(|| malformed("no blank line before the signatures"))?;
        let (text, sigs) = (&note[..split + 1], &note[split + 2..]);
        if sigs.is_empty() {
            return Err(malformed("no signature lines"));
        }
        let lines: Vec<&str> = sigs[..sigs.len() - 1].split('\n').collect();
        if lines.len() > MAX_SIGNATURES {
            return Err(NoteError::TooManySignatures(lines.len()));
        }
        let mut signatures = Vec::with_capacity(lines.len());
        for line in lines {
            let rest = line
                .strip_prefix(SIG_PREFIX)
                .ok_or_else(|| malformed("signature line does not start with an em dash"))?;
            let (name, b64) = rest
                .split_once(' ')
                .ok_or_else(|| malformed("signature line has no space after the name"))?;
            check_name(name)?;
            let raw =
                decode_base64(b64).ok_or_else(|| malformed("signature is not canonical base64"))?;
            if raw.len() < 5 {
                return Err(malformed("signature shorter than a key ID"));
            }
            signatures.push(NoteSignature {
                name: name.to_owned(),
                key_id: u32::from_be_bytes([raw[0], raw[1], raw[2], raw[3]]),
                signature: raw[4..].to_vec(),
            });
        }
        Ok(Note {
            text: text.to_owned(),
            signatures,
        })
    }

    /// The signed text, including its final newline. Not to be trusted before [`Note::verify`].
    pub fn text(&self) -> &str {
        &self.text
    }

    /// The signature lines, in order.
    pub fn signatures(&self) -> &[NoteSignature] {
        &self.signatures
    }

    /// Appends a signature line (merging cosignatures); the caller keeps the limits.
    pub(crate) fn push_signature(&mut self, sig: NoteSignature) {
        self.signatures.push(sig);
    }

    /// The note in its text form.
    pub fn to_text(&self) -> String {
        let mut s = self.text.clone();
        s.push('\n');
        for sig in &self.signatures {
            s.push_str(&sig.to_line());
        }
        s
    }

    /// Checks the signatures against the trusted keys, per the spec: signatures by unknown keys
    /// are set aside, a signature by a known key that fails rejects the whole note, and at
    /// least one known signature must verify.
    pub fn verify(&self, verifiers: &Verifiers) -> Result<VerifiedNote, NoteError> {
        let mut verified = Vec::new();
        let mut unverified = Vec::new();
        let mut seen = HashSet::new();
        for sig in &self.signatures {
            let Some(v) = verifiers.find(&sig.name, sig.key_id) else {
                unverified.push(sig.clone());
                continue;
            };
            let timestamp =
                v.verify(&self.text, &sig.signature)
                    .map_err(|()| NoteError::BadSignature {
                        name: sig.name.clone(),
                        key_id: sig.key_id,
                    })?;
            if seen.insert((sig.name.as_str(), sig.key_id)) {
                verified.push(VerifiedSignature {
                    name: sig.name.clone(),
                    key_id: sig.key_id,
                    kind: v.kind(),
                    timestamp,
                });
            }
        }
        if verified.is_empty() {
            return Err(NoteError::NoKnownSignature);
        }
        Ok(VerifiedNote {
            text: self.text.clone(),
            verified,
            unverified,
        })
    }
}

/// Parses and verifies a signed note in one step.
pub fn open_note(note: &[u8], verifiers: &Verifiers) -> Result<VerifiedNote, NoteError> {
    Note::parse(note)?.verify(verifiers)
}

/// A signature that verified against a trusted key.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct VerifiedSignature {
    /// Key name.
    pub name: String,
    /// Key ID.
    pub key_id: u32,
    /// Algorithm of the key that verified it.
    pub kind: SignatureKind,
    /// Signed timestamp (seconds for cosignatures, milliseconds for RFC 6962), if any.
    pub timestamp: Option<u64>,
}

/// A note whose text is vouched for by at least one trusted key.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct VerifiedNote {
    /// The signed text, including its final newline.
    pub text: String,
    /// Signatures by trusted keys, each of which verified (duplicates listed once).
    pub verified: Vec<VerifiedSignature>,
    /// Signatures by keys the caller did not list: neither checked nor trusted.
    pub unverified: Vec<NoteSignature>,
}

#[cfg(test)]
mod tests {
    use super::*;

    fn signer() -> Signer {
        Signer::from_seed("example.com/log", &[7; 32]).expect("signer")
    }

    #[test]
    fn sign_and_verify_round_trip() {
        let s = signer();
        let note = sign_note("hello\n", &[&s]).expect("sign");
        let v = open_note(note.as_bytes(), &s.verifier().into()).expect("verify");
        assert_eq!(v.text, "hello\n");
        assert_eq!(v.verified.len(), 1);
        let skey = s.to_skey();
        let again = Signer::from_skey(&skey).expect("skey");
        assert_eq!(again.verifier(), s.verifier());
        let vkey = s.verifier().to_vkey();
        assert_eq!(Verifier::from_vkey(&vkey).expect("vkey"), s.verifier());
        assert_eq!(Note::parse(note.as_bytes()).expect("parse").to_text(), note);
    }

    #[test]
    fn malformed_notes() {
        let s = signer();
        let good = sign_note("a\n\nb\n", &[&s]).expect("sign");
        let vs: Verifiers = s.verifier().into();
        assert!(open_note(good.as_bytes(), &vs).is_ok());
        for bad in [
            good.trim_end().to_owned(),
            good.replace('\u{2014}', "-"),
            good.replace("\u{2014} ", "\u{2014}  "),
            good.replace("a\n", "a\r\n"),
            "a\n".to_owned(),
            "a\n\n".to_owned(),
            format!("{good}\n"),
            format!("{good}extra\n"),
        ] {
            assert!(Note::parse(bad.as_bytes()).is_err(), "{bad:?}");
        }
        assert!(Note::parse(&[0xff, b'\n', b'\n']).is_err());
        let big = format!("{}\n\n{}", "x".repeat(MAX_NOTE_SIZE), good);
        assert!(matches!(
            Note::parse(big.as_bytes()),
            Err(NoteError::TooLarge(_))
        ));
        let line = good
            .rsplit_once("\n\n")
            .map(|x| x.1)
            .unwrap_or_default()
            .to_owned();
        let many = format!("a\n\n{}", line.repeat(MAX_SIGNATURES + 1));
        assert!(matches!(
            Note::parse(many.as_bytes()),
            Err(NoteError::TooManySignatures(_))
        ));
        let sixteen = format!("a\n\nb\n\n{}", line.repeat(16));
        assert_eq!(
            Note::parse(sixteen.as_bytes()).map(|n| n.signatures().len()),
            Ok(16)
        );
        assert!(sign_note("no newline", &[&s]).is_err());
        assert!(Signer::from_seed("bad name", &[0; 32]).is_err());
        assert!(Signer::from_seed("bad+name", &[0; 32]).is_err());
        assert!(Signer::from_seed("", &[0; 32]).is_err());
    }

    #[test]
    fn cosignature_v1_round_trip() {
        let seed = [9u8; 32];
        let sk = SigningKey::from_bytes(&seed);
        let pk = sk.verifying_key().to_bytes();
        let v = Verifier::cosignature_v1("witness.example", &pk).expect("verifier");
        let text = "example.com/log\n1\nAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAA=\n";
        let ts = 1_700_000_000u64;
        let msg = format!("cosignature/v1\ntime {ts}\n{text}");
        let mut raw = v.key_id().to_be_bytes().to_vec();
        raw.extend_from_slice(&ts.to_be_bytes());
        raw.extend_from_slice(&sk.sign(msg.as_bytes()).to_bytes());
        let note = format!("{text}\n\u{2014} witness.example {}\n", encode_base64(&raw));
        let got = open_note(note.as_bytes(), &v.clone().into()).expect("verify");
        assert_eq!(got.verified[0].timestamp, Some(ts));
        assert_eq!(got.verified[0].kind, SignatureKind::CosignatureV1);
        assert_eq!(Verifier::from_vkey(&v.to_vkey()).expect("vkey"), v);
    }
}
