//! The transparency log side: the key, signed checkpoints, tlog-proof receipts and
//! consistency proofs, all through `vigil_tlog`.

use vigil_tlog::{
    Checkpoint, CheckpointError, Hash, MAX_NOTE_SIZE, NoteError, Receipt, ReceiptError, Verifier,
    Verifiers, open_checkpoint, verify_consistency, verify_receipt,
};

use crate::report::Code;

/// Largest consistency proof file: 64 hashes and a checkpoint note.
pub(crate) const MAX_PROOF_FILE: u64 = MAX_NOTE_SIZE as u64 + 64 * 64 + 64;

/// The log key every signature is checked against.
#[derive(Clone, Debug)]
pub(crate) struct LogKey {
    pub(crate) verifiers: Verifiers,
    pub(crate) origin: String,
    pub(crate) vkey: String,
}

impl LogKey {
    /// Reads a note verifier key (`origin+hash+base64`); the log's origin is the key name.
    pub(crate) fn parse(vkey: &str) -> Result<Self, NoteError> {
        let vkey = vkey.trim();
        let v = Verifier::from_vkey(vkey)?;
        Ok(LogKey {
            origin: v.name().to_owned(),
            vkey: v.to_vkey(),
            verifiers: v.into(),
        })
    }
}

/// A check that failed: its code and a sentence.
pub(crate) type Failure = (Code, String);

/// Opens a signed checkpoint with the key; failures say whether the key is wrong or the
/// text was altered.
pub(crate) fn open(bytes: &[u8], key: &LogKey, what: &str) -> Result<Checkpoint, Failure> {
    open_checkpoint(bytes, &key.origin, &key.verifiers)
        .map(|(cp, _)| cp)
        .map_err(|e| checkpoint_failure(e, key, what))
}

fn checkpoint_failure(e: CheckpointError, key: &LogKey, what: &str) -> Failure {
    match e {
        CheckpointError::OriginMismatch { found, .. } => (
            Code::WrongKey,
            format!(
                "{what} is from the log {found:?}, not from {:?}, the log whose key was used: \
                 it was not signed by that key.",
                key.origin
            ),
        ),
        CheckpointError::Note(NoteError::NoKnownSignature) => (
            Code::WrongKey,
            format!(
                "{what} carries no signature by the key used ({}): it was signed by another \
                 key, so it does not vouch for this log.",
                key.vkey
            ),
        ),
        CheckpointError::Note(NoteError::BadSignature { .. }) => (
            Code::SignatureInvalid,
            format!(
                "{what} carries a signature by the log key that does not verify: its text was \
                 altered after signing, or the signature was forged."
            ),
        ),
        other => (
            Code::CheckpointInvalid,
            format!("{what} is not a well-formed signed checkpoint ({other})."),
        ),
    }
}

/// What a verified receipt proves.
#[derive(Clone, Debug)]
pub(crate) struct ProvenLeaf {
    /// The leaf's index in the log.
    pub(crate) index: u64,
    /// The checkpoint the inclusion proof leads to, signed by the key.
    pub(crate) checkpoint: Checkpoint,
}

/// Verifies a receipt and that the leaf it proves is exactly `leaf_file`.
///
/// Order as `docs/package.md` says: the receipt's signature and inclusion proof of the
/// leaf hash of its `extra` bytes (or, without `extra`, of the leaf file), then the bytes'
/// identity with the leaf file.
pub(crate) fn check_receipt(
    receipt: &[u8],
    leaf_file: &[u8],
    key: &LogKey,
    what: &str,
) -> Result<ProvenLeaf, Failure> {
    let parsed = Receipt::parse(receipt).map_err(|e| {
        (
            Code::ReceiptInvalid,
            format!("The receipt for {what} is not a well-formed tlog-proof ({e})."),
        )
    })?;
    let leaf = parsed.extra.as_deref().unwrap_or(leaf_file);
    let verified = verify_receipt(receipt, &key.origin, &key.verifiers, leaf)
        .map_err(|e| receipt_failure(e, key, what))?;
    if leaf != leaf_file {
        return Err((
            Code::LeafMismatch,
            format!(
                "The receipt proves a log entry for {what}, but the record file in the package \
                 differs from that entry byte for byte: the record file was altered, or belongs \
                 to another entry."
            ),
        ));
    }
    Ok(ProvenLeaf {
        index: verified.index,
        checkpoint: verified.checkpoint,
    })
}

fn receipt_failure(e: ReceiptError, key: &LogKey, what: &str) -> Failure {
    match e {
        ReceiptError::OriginMismatch { found, .. } => (
            Code::WrongKey,
            format!(
                "The receipt for {what} is from the log {found:?}, not {:?}, the log whose key \
                 was used.",
                key.origin
            ),
        ),
        ReceiptError::UnknownKey => (
            Code::WrongKey,
            format!(
                "The receipt for {what} is not signed by the key used ({}): it does not show \
                 the entry is in this log.",
                key.vkey
            ),
        ),
        ReceiptError::BadSignature { .. } => (
            Code::ReceiptInvalid,
            format!(
                "The checkpoint inside the receipt for {what} carries a log signature that does \
                 not verify: the receipt was altered."
            ),
        ),
        ReceiptError::ProofInvalid(p) => (
            Code::ReceiptInvalid,
            format!(
                "The receipt for {what} is signed, but its inclusion proof does not lead from \
                 the record to the signed tree ({p}): the record or the proof was altered, so \
                 the log does not vouch for this record."
            ),
        ),
        other => (
            Code::ReceiptInvalid,
            format!("The receipt for {what} did not verify ({other})."),
        ),
    }
}

/// A parsed consistency proof file: `old <size>`, base64 hashes, a blank line, the newer
/// signed checkpoint (the form of `vigil log consistency`).
struct ConsistencyFile<'a> {
    old_size: u64,
    hashes: Vec<Hash>,
    note: &'a str,
}

fn parse_consistency(bytes: &[u8]) -> Result<ConsistencyFile<'_>, String> {
    let text = std::str::from_utf8(bytes).map_err(|_| "it is not UTF-8 text".to_owned())?;
    let (head, note) = text
        .split_once("\n\n")
        .ok_or("it has no blank line before its checkpoint")?;
    let mut lines = head.split('\n');
    let old_size = lines
        .next()
        .and_then(|l| l.strip_prefix("old "))
        .filter(|n| !n.is_empty() && n.bytes().all(|b| b.is_ascii_digit()))
        .and_then(|n| n.parse::<u64>().ok())
        .ok_or("it does not start with `old <size>`")?;
    let mut hashes = Vec::new();
    for l in lines {
        if hashes.len() == 64 {
            return Err("it has more hashes than any tree needs".into());
        }
        hashes.push(Hash::from_base64(l).map_err(|e| format!("a proof hash is invalid ({e})"))?);
    }
    Ok(ConsistencyFile {
        old_size,
        hashes,
        note,
    })
}

/// Proves that `old` (a verified checkpoint) is a prefix of `latest` (the package's
/// verified latest checkpoint), with `proof` (a consistency proof file) when sizes differ.
pub(crate) fn check_consistent(
    old: &Checkpoint,
    latest: &Checkpoint,
    proof: Option<&[u8]>,
    key: &LogKey,
) -> Result<(), Failure> {
    if old.size() == latest.size() {
        if old.root() == latest.root() {
            return Ok(());
        }
        return Err((
            Code::Inconsistent,
            format!(
                "Two checkpoints signed by the log key both have {} entries but different \
                 roots: the log presented two different histories (a fork), so it cannot be \
                 relied on.",
                old.size()
            ),
        ));
    }
    if old.size() > latest.size() {
        return Err((
            Code::Inconsistent,
            format!(
                "A checkpoint of {} entries is newer than the package's latest checkpoint of \
                 {}: the package's latest checkpoint is not the latest.",
                old.size(),
                latest.size()
            ),
        ));
    }
    let Some(proof) = proof else {
        return Err((
            Code::ConsistencyUnproven,
            format!(
                "The package has no consistency proof from the tree of {} entries to the latest \
                 of {}, so it is not shown that the later log still contains the earlier one \
                 unchanged.",
                old.size(),
                latest.size()
            ),
        ));
    };
    let f = parse_consistency(proof).map_err(|why| {
        (
            Code::Inconsistent,
            format!(
                "The consistency proof from {} entries is malformed: {why}.",
                old.size()
            ),
        )
    })?;
    if f.old_size != old.size() {
        return Err((
            Code::Inconsistent,
            format!(
                "The consistency proof starts from {} entries, not from the {} of the checkpoint \
                 it is filed for.",
                f.old_size,
                old.size()
            ),
        ));
    }
    let new = open(
        f.note.as_bytes(),
        key,
        "The checkpoint in the consistency proof",
    )?;
    if new.size() != latest.size() || new.root() != latest.root() {
        return Err((
            Code::Inconsistent,
            format!(
                "The consistency proof from {} entries leads to a tree of {} entries that is not \
                 the package's latest checkpoint ({} entries).",
                old.size(),
                new.size(),
                latest.size()
            ),
        ));
    }
    verify_consistency(
        old.size(),
        latest.size(),
        old.root(),
        latest.root(),
        &f.hashes,
    )
    .map_err(|e| {
        (
            Code::Inconsistent,
            format!(
                "The consistency proof does not show that the tree of {} entries is the start \
                 of the tree of {} ({e}): the log was rewritten, or the proof is wrong.",
                old.size(),
                latest.size()
            ),
        )
    })
}
