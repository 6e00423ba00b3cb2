//! C2SP tlog-cosignature (<https://c2sp.org/tlog-cosignature>) Ed25519 cosignatures,
//! `cosignature/v1` (signature type 0x04): a witness's statement that, as of a time, this is
//! the largest tree of the log it has seen, and that it extends every tree it saw before.
//!
//! [`Cosigner`] makes them (the witness side). [`merge_cosignatures`] adds the lines a witness
//! returned to the log's signed checkpoint, and [`verify_cosignatures`] says which of the
//! cosignatures on a note a set of witness keys vouches for (exports, `vigil verify`).
//!
//! The signed message is `cosignature/v1\ntime <timestamp>\n` followed by the whole checkpoint
//! body; the signature is `u64 timestamp (big-endian) || Ed25519 signature`, after the key ID
//! `SHA-256(name || "\n" || 0x04 || public key)[:4]`. The caller supplies the time: this crate
//! reads no clock.

use std::fmt;

use ed25519_dalek::{Signer as _, SigningKey};

use crate::checkpoint::Checkpoint;
use crate::hash::encode_base64;
use crate::note::{
    ALG_COSIGNATURE_V1, MAX_NOTE_SIZE, MAX_SIGNATURES, Note, NoteError, NoteSignature, SIG_PREFIX,
    SignatureKind, Verifier, Verifiers, check_name, check_text, format_skey, key_id, parse_skey,
};

/// An Ed25519 checkpoint cosigner (type 0x04): a witness's key name and private key.
///
/// A key of its own type, distinct from [`Signer`](crate::Signer): the cosignature message does
/// not commit to the cosigner's name, so the spec asks for one key per cosigner, never shared
/// with a log. Holds the secret, so it implements neither `Clone` nor a revealing `Debug`.
pub struct Cosigner {
    name: String,
    key_id: u32,
    key: SigningKey,
}

impl fmt::Debug for Cosigner {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "Cosigner({}+{:08x})", self.name, self.key_id)
    }
}

impl Cosigner {
    /// A cosigner whose Ed25519 key is derived from `seed` (RFC 8032 private key).
    ///
    /// To create a new key, draw the seed from the operating system's CSPRNG.
    pub fn from_seed(name: &str, seed: &[u8; 32]) -> Result<Self, NoteError> {
        check_name(name)?;
        let key = SigningKey::from_bytes(seed);
        let key_id = key_id(name, ALG_COSIGNATURE_V1, key.verifying_key().as_bytes());
        Ok(Cosigner {
            name: name.to_owned(),
            key_id,
            key,
        })
    }

    /// Reads an skey, `PRIVATE+KEY+<name>+<hex key ID>+base64(0x04 || seed)`.
    pub fn from_skey(skey: &str) -> Result<Self, NoteError> {
        let (name, id, seed) = parse_skey(skey, ALG_COSIGNATURE_V1)?;
        let cosigner = Cosigner::from_seed(name, &seed)?;
        if cosigner.key_id != id {
            return Err(NoteError::InvalidKey(
                "skey: key ID does not match the key".into(),
            ));
        }
        Ok(cosigner)
    }

    /// The skey text for this cosigner, to be stored as a secret.
    pub fn to_skey(&self) -> String {
        format_skey(&self.name, self.key_id, ALG_COSIGNATURE_V1, &self.key)
    }

    /// The matching verifier (type 0x04), to publish as the witness's vkey.
    pub fn verifier(&self) -> Verifier {
        Verifier::cosignature_v1(&self.name, self.key.verifying_key().as_bytes())
            .expect("the name was checked when the cosigner was made")
    }

    /// The key name on cosignature lines.
    pub fn name(&self) -> &str {
        &self.name
    }

    /// The key ID that prefixes each cosignature.
    pub fn key_id(&self) -> u32 {
        self.key_id
    }

    /// The cosignature line (`— <name> base64(...)` and a newline) over `checkpoint`, a
    /// checkpoint body (note text, final newline included), at `timestamp` (POSIX seconds).
    ///
    /// The body must parse as a checkpoint, so the key never signs other text; the timestamp
    /// must be between 1 and 2^63 - 1 (tlog-witness forbids omitting it).
    pub fn cosign(&self, checkpoint: &str, timestamp: u64) -> Result<String, NoteError> {
        check_text(checkpoint)?;
        Checkpoint::parse(checkpoint)
            .map_err(|e| NoteError::Malformed(format!("not a checkpoint: {e}")))?;
        if timestamp == 0 || timestamp > i64::MAX as u64 {
            return Err(NoteError::InvalidTimestamp(timestamp));
        }
        let msg = format!("cosignature/v1\ntime {timestamp}\n{checkpoint}");
        let mut raw = Vec::with_capacity(4 + 8 + 64);
        raw.extend_from_slice(&self.key_id.to_be_bytes());
        raw.extend_from_slice(&timestamp.to_be_bytes());
        raw.extend_from_slice(&self.key.sign(msg.as_bytes()).to_bytes());
        Ok(format!(
            "{SIG_PREFIX}{} {}\n",
            self.name,
            encode_base64(&raw)
        ))
    }
}

/// Appends signature `lines` (each `— <name> <base64>` and a newline, as a witness returns
/// them) to `signed_note`, skipping any whose key (name and key ID) already signed it.
///
/// The lines are not verified here: pass only lines a witness client has checked. Refuses a
/// result beyond [`MAX_SIGNATURES`] or [`MAX_NOTE_SIZE`], so a merged note always parses.
pub fn merge_cosignatures(signed_note: &str, lines: &str) -> Result<String, NoteError> {
    let mut note = Note::parse(signed_note.as_bytes())?;
    if lines.is_empty() {
        return Ok(note.to_text());
    }
    // Parsed behind a placeholder text: the same line rules as any note's.
    let extra = Note::parse(format!("-\n\n{lines}").as_bytes())?;
    for sig in extra.signatures() {
        if !note
            .signatures()
            .iter()
            .any(|s| s.name == sig.name && s.key_id == sig.key_id)
        {
            note.push_signature(sig.clone());
        }
    }
    if note.signatures().len() > MAX_SIGNATURES {
        return Err(NoteError::TooManySignatures(note.signatures().len()));
    }
    let text = note.to_text();
    if text.len() > MAX_NOTE_SIZE {
        return Err(NoteError::TooLarge(text.len()));
    }
    Ok(text)
}

/// A cosignature that verified against a witness key the caller trusts.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Cosignature {
    /// The witness's key name.
    pub name: String,
    /// The witness's key ID.
    pub key_id: u32,
    /// When the witness cosigned (POSIX seconds), as it signed it.
    pub timestamp: u64,
}

/// The cosignatures on a note, sorted by whether a trusted witness key vouches for them.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct CosignatureCheck {
    /// The note text the cosignatures cover.
    pub text: String,
    /// Cosignatures by the witness keys given, each verified (one per key).
    pub verified: Vec<Cosignature>,
    /// Every other signature line (the log's own, other witnesses'): neither checked nor
    /// trusted here.
    pub other: Vec<NoteSignature>,
}

/// Checks the cosignatures on `signed_note` against `witnesses` (cosignature/v1 keys only).
///
/// A note without any cosignature from these witnesses is not an error: `verified` is empty
/// and the caller's policy (a quorum, say) decides. A line that claims a trusted witness's
/// key but does not verify is an error, as the signed-note spec requires: the note was altered.
/// The log's own signature is not checked here; open the checkpoint with the log key for that.
pub fn verify_cosignatures(
    signed_note: &[u8],
    witnesses: &Verifiers,
) -> Result<CosignatureCheck, NoteError> {
    if let Some(v) = witnesses
        .iter()
        .find(|v| v.kind() != SignatureKind::CosignatureV1)
    {
        return Err(NoteError::InvalidKey(format!(
            "{}+{:08x} is not a cosignature/v1 (type 0x04) witness key",
            v.name(),
            v.key_id()
        )));
    }
    let note = Note::parse(signed_note)?;
    match note.verify(witnesses) {
        Ok(checked) => Ok(CosignatureCheck {
            text: checked.text,
            verified: checked
                .verified
                .into_iter()
                .map(|s| Cosignature {
                    name: s.name,
                    key_id: s.key_id,
                    timestamp: s.timestamp.unwrap_or_default(),
                })
                .collect(),
            other: checked.unverified,
        }),
        Err(NoteError::NoKnownSignature) => Ok(CosignatureCheck {
            text: note.text().to_owned(),
            verified: Vec::new(),
            other: note.signatures().to_vec(),
        }),
        Err(e) => Err(e),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::hash::EMPTY_ROOT;
    use crate::note::{Signer, open_note};

    const CHECKPOINT: &str =
        "example.com/behind-the-sofa\n20852163\nCsUYapGGPo4dkMgIAUqom/Xajj7h2fB2MPA3j2jxq2I=\n";

    /// Computed independently with Python `cryptography` 48.0.0 (Ed25519 is deterministic):
    /// seed 00 01 … 1f, name `witness.example/w1`, the spec's example checkpoint and time.
    const PY_SKEY: &str =
        "PRIVATE+KEY+witness.example/w1+e75f6532+BAABAgMEBQYHCAkKCwwNDg8QERITFBUWFxgZGhscHR4f";
    const PY_VKEY: &str =
        "witness.example/w1+e75f6532+BAOhB7/zzhC+HXDdGOdLwJln5NYwm6UNXx3chmQSVTG4";
    const PY_LINE: &str = "\u{2014} witness.example/w1 519lMgAAAABkGFDLBuRDazBLVac2NE+Y+IjbjQOcXLfF9CSDZVUIoS83rE1nFZsVE8YiWV6Ngr7lV8H6bdoBQGP/l73euDMQ9k+bBQ==\n";

    fn seed() -> [u8; 32] {
        std::array::from_fn(|i| i as u8)
    }

    #[test]
    fn matches_an_independent_implementation_byte_for_byte() {
        let c = Cosigner::from_seed("witness.example/w1", &seed()).expect("cosigner");
        assert_eq!(c.to_skey(), PY_SKEY);
        assert_eq!(c.verifier().to_vkey(), PY_VKEY);
        assert_eq!(c.cosign(CHECKPOINT, 1679315147).expect("cosign"), PY_LINE);
        let again = Cosigner::from_skey(PY_SKEY).expect("skey");
        assert_eq!(again.verifier(), c.verifier());
        assert_eq!(again.key_id(), 0xe75f6532);
    }

    #[test]
    fn round_trips_through_the_verifier() {
        let c = Cosigner::from_seed("witness.example/w1", &[3; 32]).expect("cosigner");
        let vkey = Verifier::from_vkey(&c.verifier().to_vkey()).expect("vkey");
        assert_eq!(vkey.kind(), SignatureKind::CosignatureV1);
        let line = c.cosign(CHECKPOINT, 1_700_000_000).expect("cosign");
        let note = format!("{CHECKPOINT}\n{line}");
        let got = open_note(note.as_bytes(), &vkey.clone().into()).expect("verify");
        assert_eq!(got.verified[0].timestamp, Some(1_700_000_000));
        assert_eq!(got.verified[0].kind, SignatureKind::CosignatureV1);
        // The signature covers the timestamp and every line of the body.
        let parsed = Note::parse(note.as_bytes()).expect("parse");
        let mut sig = parsed.signatures()[0].clone();
        sig.signature[7] ^= 1;
        let forged = format!("{CHECKPOINT}\n{}", sig.to_line());
        assert!(matches!(
            open_note(forged.as_bytes(), &vkey.clone().into()),
            Err(NoteError::BadSignature { .. })
        ));
        let other_body = note.replace("20852163", "20852164");
        assert!(open_note(other_body.as_bytes(), &vkey.clone().into()).is_err());
        // An Ed25519 note key with the same seed and name is another key: its verifier
        // ignores the cosignature.
        let signer = Signer::from_seed("witness.example/w1", &[3; 32]).expect("signer");
        assert_eq!(
            open_note(note.as_bytes(), &signer.verifier().into()),
            Err(NoteError::NoKnownSignature)
        );
    }

    #[test]
    fn refuses_what_it_must_not_sign() {
        let c = Cosigner::from_seed("w", &[1; 32]).expect("cosigner");
        assert_eq!(c.cosign(CHECKPOINT, 0), Err(NoteError::InvalidTimestamp(0)));
        assert_eq!(
            c.cosign(CHECKPOINT, 1 << 63),
            Err(NoteError::InvalidTimestamp(1 << 63))
        );
        assert!(c.cosign(CHECKPOINT, i64::MAX as u64).is_ok());
        for bad in ["hello\n", "o\n1\n", "o\n01\nAAAA\n", "no newline"] {
            assert!(c.cosign(bad, 1).is_err(), "{bad:?}");
        }
        assert!(Cosigner::from_seed("bad name", &[0; 32]).is_err());
        // A log's skey (type 0x01) is not a cosigner key, nor the reverse.
        let log = Signer::from_seed("w", &[1; 32]).expect("signer");
        assert_eq!(
            Cosigner::from_skey(&log.to_skey()).map(|c| c.key_id()),
            Err(NoteError::UnsupportedKeyType(0x01))
        );
        assert_eq!(
            Signer::from_skey(&c.to_skey()).map(|s| s.key_id()),
            Err(NoteError::UnsupportedKeyType(0x04))
        );
        let wrong_id = c
            .to_skey()
            .replace(&format!("{:08x}", c.key_id()), "00000000");
        assert!(Cosigner::from_skey(&wrong_id).is_err());
        assert_eq!(format!("{c:?}"), format!("Cosigner(w+{:08x})", c.key_id()));
    }

    #[test]
    fn merge_appends_new_keys_once() {
        let log = Signer::from_seed("example.com/log", &[5; 32]).expect("signer");
        let cp = Checkpoint::new("example.com/log", 0, EMPTY_ROOT).expect("checkpoint");
        let signed = cp.sign(&[&log]).expect("sign");
        let w1 = Cosigner::from_seed("w1.example", &[6; 32]).expect("w1");
        let w2 = Cosigner::from_seed("w2.example", &[7; 32]).expect("w2");
        let l1 = w1.cosign(&cp.to_text(), 10).expect("w1");
        let l2 = w2.cosign(&cp.to_text(), 11).expect("w2");
        let merged = merge_cosignatures(&signed, &l1).expect("merge");
        let merged = merge_cosignatures(&merged, &format!("{l1}{l2}")).expect("merge");
        assert_eq!(merged, format!("{signed}{l1}{l2}"));
        // The same witness again, later: the first cosignature stays.
        let later = w1.cosign(&cp.to_text(), 12).expect("w1");
        assert_eq!(merge_cosignatures(&merged, &later).expect("merge"), merged);
        assert_eq!(merge_cosignatures(&merged, "").expect("merge"), merged);
        assert!(merge_cosignatures(&merged, "not a line\n").is_err());
        assert!(merge_cosignatures(&merged, l1.trim_end()).is_err());
        assert!(merge_cosignatures("not a note", &l1).is_err());

        // The log's key still opens the merged checkpoint.
        let keys: Verifiers = log.verifier().into();
        let (got, _) =
            crate::open_checkpoint(merged.as_bytes(), "example.com/log", &keys).expect("open");
        assert_eq!(got, cp);

        // Never beyond the note limits.
        let many: String = (0..MAX_SIGNATURES)
            .map(|i| {
                Cosigner::from_seed(&format!("w{i}"), &[9; 32])
                    .and_then(|c| c.cosign(&cp.to_text(), 1))
                    .expect("cosign")
            })
            .collect();
        assert!(matches!(
            merge_cosignatures(&signed, &many),
            Err(NoteError::TooManySignatures(n)) if n == MAX_SIGNATURES + 1
        ));
    }

    #[test]
    fn verify_sorts_trusted_cosignatures_from_the_rest() {
        let log = Signer::from_seed("example.com/log", &[5; 32]).expect("signer");
        let cp = Checkpoint::new("example.com/log", 3, EMPTY_ROOT).expect("checkpoint");
        let w1 = Cosigner::from_seed("w1.example", &[6; 32]).expect("w1");
        let w2 = Cosigner::from_seed("w2.example", &[7; 32]).expect("w2");
        let lines = format!(
            "{}{}",
            w1.cosign(&cp.to_text(), 100).expect("w1"),
            w2.cosign(&cp.to_text(), 200).expect("w2")
        );
        let note = merge_cosignatures(&cp.sign(&[&log]).expect("sign"), &lines).expect("merge");

        let only_w2: Verifiers = w2.verifier().into();
        let got = verify_cosignatures(note.as_bytes(), &only_w2).expect("verify");
        assert_eq!(
            got.verified,
            vec![Cosignature {
                name: "w2.example".into(),
                key_id: w2.key_id(),
                timestamp: 200,
            }]
        );
        assert_eq!(got.other.len(), 2);
        assert_eq!(got.text, cp.to_text());

        let both = Verifiers::from_vkeys(&[w1.verifier().to_vkey(), w2.verifier().to_vkey()])
            .expect("vkeys");
        assert_eq!(
            verify_cosignatures(note.as_bytes(), &both)
                .expect("verify")
                .verified
                .len(),
            2
        );
        // No cosignature by these witnesses: an empty answer, not an error.
        let stranger: Verifiers = Cosigner::from_seed("w3", &[8; 32])
            .expect("w3")
            .verifier()
            .into();
        let none = verify_cosignatures(note.as_bytes(), &stranger).expect("verify");
        assert!(none.verified.is_empty());
        assert_eq!(none.other.len(), 3);
        // A cosignature moved onto another checkpoint is a forgery.
        let moved = note.replace("\n3\n", "\n4\n");
        assert!(matches!(
            verify_cosignatures(moved.as_bytes(), &only_w2),
            Err(NoteError::BadSignature { .. })
        ));
        // The log's own key is not a witness key.
        assert!(matches!(
            verify_cosignatures(note.as_bytes(), &log.verifier().into()),
            Err(NoteError::InvalidKey(_))
        ));
    }
}
