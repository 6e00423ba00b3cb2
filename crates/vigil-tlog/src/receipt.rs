//! C2SP tlog-proof (<https://c2sp.org/tlog-proof>): an offline-verifiable receipt that an entry
//! is in a log: index, inclusion proof and the signed checkpoint, in one text file.
//!
//! ```text
//! c2sp.org/tlog-proof@v1
//! extra <base64 opaque data>          (optional)
//! index 73894
//! <base64 hash>                        (zero or more, leaf's sibling first)
//!
//! <signed checkpoint, verbatim>
//! ```
//!
//! The `extra` line is *not* authenticated. Vigil puts the exact leaf bytes there (the canonical
//! capture record) so a receipt is self-contained, but a verifier must still decide for itself
//! that those bytes describe the evidence it holds: [`verify_receipt`] takes the leaf bytes
//! from the caller, and [`verify_receipt_from_extra`] uses the `extra` bytes only after a
//! caller-supplied check accepts them.

use crate::checkpoint::{Checkpoint, CheckpointError, open_checkpoint};
use crate::hash::{Hash, decode_base64, encode_base64, leaf_hash};
use crate::note::{MAX_NOTE_SIZE, Note, NoteError, VerifiedNote, Verifiers};
use crate::proof::{ProofError, verify_inclusion};
use crate::tiles::parse_decimal;

/// First line of every receipt.
pub const RECEIPT_HEADER: &str = "c2sp.org/tlog-proof@v1";
/// Largest receipt accepted, in bytes: a checkpoint note, a full-height proof and up to about
/// 2 MiB of extra data.
pub const MAX_RECEIPT_SIZE: usize = 4 << 20;
/// A `u64`-sized tree is at most 64 levels high.
const MAX_PROOF_HASHES: usize = 64;

/// Why a receipt did not verify. Each variant has a stable [`code`](ReceiptError::code).
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum ReceiptError {
    /// The receipt text, or the checkpoint inside it, is not well formed.
    #[error("malformed receipt: {0}")]
    Malformed(String),
    /// The checkpoint is from a different log than expected.
    #[error("receipt is for log {found:?}, expected {expected:?}")]
    OriginMismatch {
        /// The origin the caller trusts.
        expected: String,
        /// The origin on the checkpoint.
        found: String,
    },
    /// No signature on the checkpoint is by one of the trusted log keys.
    #[error("checkpoint is not signed by a known log key")]
    UnknownKey,
    /// A signature by a trusted key is invalid: the checkpoint was altered or forged.
    #[error("bad checkpoint signature by {name}")]
    BadSignature {
        /// Key name on the failing signature.
        name: String,
    },
    /// The leaf bytes were rejected by the caller's check, or the receipt has no `extra` line
    /// to take them from.
    #[error("leaf does not match: {0}")]
    LeafMismatch(String),
    /// The inclusion proof does not lead from the leaf to the checkpoint's root.
    #[error("inclusion proof invalid: {0}")]
    ProofInvalid(#[from] ProofError),
}

impl ReceiptError {
    /// A short stable identifier for reports and APIs.
    pub fn code(&self) -> &'static str {
        match self {
            ReceiptError::Malformed(_) => "malformed",
            ReceiptError::OriginMismatch { .. } => "origin-mismatch",
            ReceiptError::UnknownKey => "unknown-key",
            ReceiptError::BadSignature { .. } => "bad-signature",
            ReceiptError::LeafMismatch(_) => "leaf-mismatch",
            ReceiptError::ProofInvalid(_) => "proof-invalid",
        }
    }
}

impl From<CheckpointError> for ReceiptError {
    fn from(e: CheckpointError) -> Self {
        match e {
            CheckpointError::OriginMismatch { expected, found } => {
                ReceiptError::OriginMismatch { expected, found }
            }
            CheckpointError::Note(n) => n.into(),
            other => ReceiptError::Malformed(other.to_string()),
        }
    }
}

impl From<NoteError> for ReceiptError {
    fn from(e: NoteError) -> Self {
        match e {
            NoteError::NoKnownSignature => ReceiptError::UnknownKey,
            NoteError::BadSignature { name, .. } => ReceiptError::BadSignature { name },
            other => ReceiptError::Malformed(format!("checkpoint note: {other}")),
        }
    }
}

/// A parsed tlog-proof: where the entry is, the path to the root, and the signed checkpoint.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Receipt {
    /// Opaque, unauthenticated application data (Vigil: the exact leaf bytes).
    pub extra: Option<Vec<u8>>,
    /// Zero-based index of the entry in the log.
    pub index: u64,
    /// RFC 9162 inclusion proof, from the leaf's sibling up to the root's child.
    pub proof: Vec<Hash>,
    /// The signed checkpoint note, verbatim.
    pub checkpoint: String,
}

impl Receipt {
    /// Parses the text form, checking its layout (not yet its signature or proof).
    pub fn parse(text: &[u8]) -> Result<Self, ReceiptError> {
        let malformed = |why: &str| ReceiptError::Malformed(why.to_owned());
        if text.len() > MAX_RECEIPT_SIZE {
            return Err(malformed("too large"));
        }
        let text = std::str::from_utf8(text).map_err(|_| malformed("not UTF-8"))?;
        let (head, checkpoint) = text
            .split_once("\n\n")
            .ok_or_else(|| malformed("no blank line before the checkpoint"))?;
        let mut lines = head.split('\n');
        if lines.next() != Some(RECEIPT_HEADER) {
            return Err(malformed("first line is not c2sp.org/tlog-proof@v1"));
        }
        let mut line = lines
            .next()
            .ok_or_else(|| malformed("missing index line"))?;
        let mut extra = None;
        if let Some(b64) = line.strip_prefix("extra ") {
            let bytes = decode_base64(b64)
                .filter(|b| !b.is_empty())
                .ok_or_else(|| malformed("extra is not non-empty canonical base64"))?;
            extra = Some(bytes);
            line = lines
                .next()
                .ok_or_else(|| malformed("missing index line"))?;
        }
        let index = line
            .strip_prefix("index ")
            .and_then(parse_decimal)
            .ok_or_else(|| malformed("index line is not `index <decimal>`"))?;
        let mut proof = Vec::new();
        for l in lines {
            if proof.len() == MAX_PROOF_HASHES {
                return Err(malformed("too many proof hashes"));
            }
            proof.push(Hash::from_base64(l).map_err(|e| malformed(&format!("proof hash: {e}")))?);
        }
        if checkpoint.len() > MAX_NOTE_SIZE {
            return Err(malformed("checkpoint too large"));
        }
        // Structural check now, so that a receipt that parses has a well-formed checkpoint.
        let note = Note::parse(checkpoint.as_bytes())?;
        Checkpoint::parse(note.text())?;
        Ok(Receipt {
            extra,
            index,
            proof,
            checkpoint: checkpoint.to_owned(),
        })
    }

    /// The text form, as written to a `.tlog-proof` file.
    pub fn to_text(&self) -> String {
        let mut s = String::with_capacity(64 + self.proof.len() * 45 + self.checkpoint.len());
        s.push_str(RECEIPT_HEADER);
        s.push('\n');
        if let Some(extra) = &self.extra {
            s.push_str("extra ");
            s.push_str(&encode_base64(extra));
            s.push('\n');
        }
        s.push_str(&format!("index {}\n", self.index));
        for h in &self.proof {
            s.push_str(&h.to_base64());
            s.push('\n');
        }
        s.push('\n');
        s.push_str(&self.checkpoint);
        s
    }
}

/// What a successful verification establishes.
#[derive(Clone, Debug)]
pub struct VerifiedReceipt {
    /// The checkpoint, signed by a trusted log key.
    pub checkpoint: Checkpoint,
    /// Where the entry is in the log.
    pub index: u64,
    /// The RFC 9162 leaf hash that was proven included.
    pub leaf_hash: Hash,
    /// The receipt's `extra` bytes, still unauthenticated unless they were the leaf.
    pub extra: Option<Vec<u8>>,
    /// Signature details, including cosignatures by keys not given (for witness policy).
    pub note: VerifiedNote,
}

/// Verifies that `leaf` (the entry's bytes, known to the caller) is in the log `origin`, by a
/// checkpoint signed with one of `log_keys`. The `extra` line is returned, not used.
///
/// Order, per the spec: leaf hash, origin and log signature, then the inclusion proof. Witness
/// cosignature policy is left to the caller (see [`VerifiedReceipt::note`]).
pub fn verify_receipt(
    receipt: &[u8],
    origin: &str,
    log_keys: &Verifiers,
    leaf: &[u8],
) -> Result<VerifiedReceipt, ReceiptError> {
    let r = Receipt::parse(receipt)?;
    verify_parsed(r, origin, log_keys, leaf_hash(leaf))
}

/// Verifies a receipt whose `extra` line carries the leaf bytes, as Vigil writes them.
///
/// `accept_leaf` sees those bytes first and must confirm they describe what the caller holds
/// (for Vigil: parse the capture record and compare its item digests with the evidence file);
/// the spec forbids trusting `extra` implicitly. A missing `extra` line or a refusal is
/// [`ReceiptError::LeafMismatch`].
pub fn verify_receipt_from_extra(
    receipt: &[u8],
    origin: &str,
    log_keys: &Verifiers,
    accept_leaf: impl FnOnce(&[u8]) -> bool,
) -> Result<VerifiedReceipt, ReceiptError> {
    let r = Receipt::parse(receipt)?;
    let leaf = r
        .extra
        .as_deref()
        .ok_or_else(|| ReceiptError::LeafMismatch("receipt has no extra line".into()))?;
    if !accept_leaf(leaf) {
        return Err(ReceiptError::LeafMismatch(
            "leaf bytes in extra were not accepted".into(),
        ));
    }
    let h = leaf_hash(leaf);
    verify_parsed(r, origin, log_keys, h)
}

fn verify_parsed(
    r: Receipt,
    origin: &str,
    log_keys: &Verifiers,
    leaf: Hash,
) -> Result<VerifiedReceipt, ReceiptError> {
    let (checkpoint, note) = open_checkpoint(r.checkpoint.as_bytes(), origin, log_keys)?;
    verify_inclusion(
        &leaf,
        r.index,
        checkpoint.size(),
        &r.proof,
        checkpoint.root(),
    )?;
    Ok(VerifiedReceipt {
        checkpoint,
        index: r.index,
        leaf_hash: leaf,
        extra: r.extra,
        note,
    })
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::note::Signer;
    use crate::proof::{inclusion_proof, root_from_leaves};

    fn fixture() -> (Vec<Vec<u8>>, Signer, Receipt) {
        let entries: Vec<Vec<u8>> = (0..10u8).map(|i| vec![i; 3]).collect();
        let leaves: Vec<Hash> = entries.iter().map(|e| leaf_hash(e)).collect();
        let s = Signer::from_seed("vigil.example/log", &[3; 32]).expect("signer");
        let cp = Checkpoint::new("vigil.example/log", 10, root_from_leaves(&leaves)).expect("cp");
        let r = Receipt {
            extra: Some(entries[6].clone()),
            index: 6,
            proof: inclusion_proof(6, 10, &leaves[..]).expect("proof"),
            checkpoint: cp.sign(&[&s]).expect("sign"),
        };
        (entries, s, r)
    }

    #[test]
    fn verify_and_reject() {
        let (entries, s, r) = fixture();
        let keys: Verifiers = s.verifier().into();
        let text = r.to_text();
        assert_eq!(Receipt::parse(text.as_bytes()).expect("parse"), r);
        let ok = verify_receipt(text.as_bytes(), "vigil.example/log", &keys, &entries[6]);
        assert_eq!(ok.expect("verifies").index, 6);
        let from_extra =
            verify_receipt_from_extra(text.as_bytes(), "vigil.example/log", &keys, |b| {
                b == entries[6]
            });
        assert!(from_extra.is_ok());

        let code = |res: Result<VerifiedReceipt, ReceiptError>| res.err().map(|e| e.code());
        let v =
            |t: &str, leaf: &[u8]| verify_receipt(t.as_bytes(), "vigil.example/log", &keys, leaf);
        assert_eq!(code(v(&text, &entries[5])), Some("proof-invalid"));
        assert_eq!(
            code(verify_receipt(text.as_bytes(), "other", &keys, &entries[6])),
            Some("origin-mismatch")
        );
        let other = Signer::from_seed("vigil.example/log", &[4; 32]).expect("signer");
        assert_eq!(
            code(verify_receipt(
                text.as_bytes(),
                "vigil.example/log",
                &other.verifier().into(),
                &entries[6]
            )),
            Some("unknown-key")
        );
        let forged = text.replace("\n10\n", "\n11\n");
        assert_eq!(code(v(&forged, &entries[6])), Some("bad-signature"));
        assert_eq!(
            code(verify_receipt_from_extra(
                text.as_bytes(),
                "vigil.example/log",
                &keys,
                |_| false
            )),
            Some("leaf-mismatch")
        );
        for bad in [
            text.replace(RECEIPT_HEADER, "c2sp.org/tlog-proof@v2"),
            text.replace("index 6", "index 06"),
            text.replace("index 6", "index  6"),
            text.replacen("\n\n", "\n", 1),
            text.replace("extra ", "extra"),
            format!("{RECEIPT_HEADER}\nextra \nindex 6\n\n{}", r.checkpoint),
        ] {
            assert_eq!(code(v(&bad, &entries[6])), Some("malformed"), "{bad:?}");
        }
        let no_extra = Receipt { extra: None, ..r };
        assert_eq!(
            code(verify_receipt_from_extra(
                no_extra.to_text().as_bytes(),
                "vigil.example/log",
                &keys,
                |_| true
            )),
            Some("leaf-mismatch")
        );
        assert!(v(&no_extra.to_text(), &entries[6]).is_ok());
    }
}
