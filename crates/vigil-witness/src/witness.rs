//! The witness proper: the logs it trusts, the latest checkpoint it cosigned for each, and the
//! `add-checkpoint` rules of C2SP tlog-witness, with the check and the update done under one
//! lock per log so that no interleaving of requests can roll a log back.
//!
//! # State, and what a crash leaves
//! For each log, `STATE/<sha256 hex of origin>` holds the latest cosigned checkpoint: the
//! checkpoint text, the log signatures that verified, and this witness's cosignature (the
//! monitoring endpoint serves it as is). An `add-checkpoint` runs, for one log at a time
//! (an in-process mutex, then `flock` on `STATE/<hex>.lock`, so two processes sharing the
//! directory are serialised too):
//!
//! 1. read the state file and check our own cosignature on it (a file that does not parse or
//!    verify stops this log with an error: starting again from size 0 would allow a rollback);
//! 2. apply the size and consistency rules against it;
//! 3. cosign, and replace the state file durably (temp, fsync, rename, fsync directory). A
//!    crash before the rename leaves the old state and no answer was sent; a crash after it
//!    leaves the new state, and the client's retry gets a 409 naming the new size;
//! 4. answer with the cosignature: it is only ever sent once the state that justifies it is
//!    on disk.
//!
//! A validly signed checkpoint that fails a consistency rule is evidence that the log forked or
//! rewrote its history: its request body is kept under `STATE/refused/<hex>/` (at most
//! [`MAX_REFUSED_PER_LOG`] per log) for the operator to report.

use std::collections::HashMap;
use std::path::{Path, PathBuf};
use std::sync::Mutex;
use std::time::{SystemTime, UNIX_EPOCH};

use sha2::{Digest as _, Sha256};
use vigil_tlog::{
    Checkpoint, Cosigner, EMPTY_ROOT, Note, NoteError, Verifier, Verifiers, verify_consistency,
    verify_cosignatures,
};

use crate::files::{self, FileError, FileLock};
use crate::protocol::{
    AddCheckpointRequest, MAX_BODY, is_origin_hash, origin_hash, parse_add_checkpoint,
};

/// Refused-but-signed requests kept per log, so a misbehaving log cannot fill the disk.
pub const MAX_REFUSED_PER_LOG: usize = 1000;

/// Largest state file read back: a submitted note plus one cosignature line.
const MAX_STATE: usize = MAX_BODY + 1024;

/// Why the witness could not be set up (keys, configuration, directories).
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum SetupError {
    /// A file or directory could not be read or written.
    #[error(transparent)]
    File(#[from] FileError),
    /// A key, vkey or key name is not valid.
    #[error("{0}")]
    Key(String),
    /// The configuration is not valid.
    #[error("{0}")]
    Config(String),
    /// The directory holds no witness key yet.
    #[error("no witness key in {}: run `vigil witness init` first", .0.display())]
    NotInitialised(PathBuf),
}

impl SetupError {
    /// A stable machine-readable code.
    pub fn code(&self) -> &'static str {
        match self {
            SetupError::File(_) => "io",
            SetupError::Key(_) => "bad-key",
            SetupError::Config(_) => "bad-config",
            SetupError::NotInitialised(_) => "not-initialised",
        }
    }
}

/// Why an `add-checkpoint` request was not cosigned. [`AddError::status`] is the HTTP status
/// the spec prescribes for each.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum AddError {
    /// The body is larger than [`MAX_BODY`].
    #[error("request body is larger than {MAX_BODY} bytes")]
    TooLarge,
    /// The body or the checkpoint in it does not follow the format.
    #[error("malformed request: {0}")]
    Malformed(String),
    /// The checkpoint's origin is not a log this witness cosigns.
    #[error("unknown log origin {0:?}")]
    UnknownOrigin(String),
    /// No signature on the checkpoint is by a key trusted for its origin.
    #[error("the checkpoint has no signature by a key trusted for {0:?}")]
    NotSigned(String),
    /// A signature by a trusted key does not verify.
    #[error("a signature by the log key {0} does not verify")]
    BadSignature(String),
    /// The old size is larger than the checkpoint's size.
    #[error("old size {old} is larger than the checkpoint size {size}")]
    OldSizeTooLarge {
        /// The request's old size.
        old: u64,
        /// The checkpoint's size.
        size: u64,
    },
    /// The old size is not the size of the checkpoint this witness cosigned last.
    #[error("the latest checkpoint this witness cosigned for this log has {latest} leaves")]
    Conflict {
        /// The size of the latest cosigned checkpoint (0 if none).
        latest: u64,
    },
    /// A checkpoint of size 0 whose root is not the empty tree's.
    #[error("a checkpoint of size 0 must have the root hash of the empty tree")]
    EmptyTreeRoot,
    /// A consistency proof was given from size 0, where none is needed.
    #[error("the consistency proof from size 0 must be empty")]
    UnexpectedProof,
    /// Same size as the latest cosigned checkpoint, another root: a rewritten history.
    #[error("the checkpoint has the size of the one cosigned last but another root hash")]
    RootMismatch,
    /// The consistency proof does not lead from the latest cosigned checkpoint to this one.
    #[error("the consistency proof does not verify: {0}")]
    Inconsistent(String),
    /// The witness's own state could not be read or written, or is not one it wrote.
    #[error("witness state: {0}")]
    State(String),
    /// A file operation failed.
    #[error(transparent)]
    File(#[from] FileError),
}

impl AddError {
    /// The HTTP status code C2SP tlog-witness prescribes (500 for the witness's own faults).
    pub fn status(&self) -> u16 {
        match self {
            AddError::TooLarge => 413,
            AddError::Malformed(_) | AddError::OldSizeTooLarge { .. } => 400,
            AddError::UnknownOrigin(_) => 404,
            AddError::NotSigned(_) | AddError::BadSignature(_) => 403,
            AddError::Conflict { .. } => 409,
            AddError::EmptyTreeRoot
            | AddError::UnexpectedProof
            | AddError::RootMismatch
            | AddError::Inconsistent(_) => 422,
            AddError::State(_) | AddError::File(_) => 500,
        }
    }

    /// A stable machine-readable code.
    pub fn code(&self) -> &'static str {
        match self {
            AddError::TooLarge => "too-large",
            AddError::Malformed(_) => "malformed",
            AddError::UnknownOrigin(_) => "unknown-origin",
            AddError::NotSigned(_) => "not-signed",
            AddError::BadSignature(_) => "bad-signature",
            AddError::OldSizeTooLarge { .. } => "old-size-too-large",
            AddError::Conflict { .. } => "size-mismatch",
            AddError::EmptyTreeRoot => "empty-tree-root",
            AddError::UnexpectedProof => "unexpected-proof",
            AddError::RootMismatch => "root-mismatch",
            AddError::Inconsistent(_) => "inconsistent",
            AddError::State(_) => "state",
            AddError::File(_) => "io",
        }
    }

    /// For a 409, the size of the latest cosigned checkpoint.
    pub fn latest_size(&self) -> Option<u64> {
        match self {
            AddError::Conflict { latest } => Some(*latest),
            _ => None,
        }
    }

    /// Whether a log key signed a checkpoint that contradicts what it signed before.
    fn is_log_misbehaviour(&self) -> bool {
        matches!(
            self,
            AddError::EmptyTreeRoot | AddError::RootMismatch | AddError::Inconsistent(_)
        )
    }
}

/// A log this witness cosigns: its origin line and the keys that sign its checkpoints.
#[derive(Clone, Debug)]
pub struct TrustedLog {
    origin: String,
    keys: Verifiers,
}

impl TrustedLog {
    /// A log `origin` whose checkpoints are signed by one of `keys`.
    pub fn new(origin: &str, keys: Verifiers) -> Result<Self, SetupError> {
        Checkpoint::new(origin, 0, EMPTY_ROOT)
            .map_err(|e| SetupError::Config(format!("origin {origin:?}: {e}")))?;
        if keys.iter().next().is_none() {
            return Err(SetupError::Config(format!("log {origin:?} has no key")));
        }
        Ok(TrustedLog {
            origin: origin.to_owned(),
            keys,
        })
    }

    /// A log whose origin is its key's name, as Vigil's logs are (`vigil log vkey`).
    pub fn from_vkey(vkey: &str) -> Result<Self, SetupError> {
        let key = Verifier::from_vkey(vkey.trim())
            .map_err(|e| SetupError::Key(format!("log vkey: {e}")))?;
        let origin = key.name().to_owned();
        TrustedLog::new(&origin, key.into())
    }

    /// The log's origin line.
    pub fn origin(&self) -> &str {
        &self.origin
    }

    /// The log's keys.
    pub fn keys(&self) -> &Verifiers {
        &self.keys
    }
}

/// One trusted log and the lock that orders its updates within this process.
#[derive(Debug)]
struct Slot {
    keys: Verifiers,
    hash: String,
    lock: Mutex<()>,
}

/// A C2SP tlog-witness: cosigns checkpoints of trusted logs that extend what it saw before.
///
/// Safe to share between threads; the methods do blocking file I/O (fsync), so async callers
/// run them on a blocking thread ([`crate::serve`] does).
#[derive(Debug)]
pub struct Witness {
    cosigner: Cosigner,
    own: Verifiers,
    logs: HashMap<String, Slot>,
    state: PathBuf,
}

impl Witness {
    /// A witness signing with `cosigner`, cosigning `logs`, keeping its state in `state_dir`
    /// (created owner-only if missing).
    pub fn new(
        cosigner: Cosigner,
        logs: Vec<TrustedLog>,
        state_dir: &Path,
    ) -> Result<Self, SetupError> {
        files::create_private_dir(state_dir)?;
        let mut map = HashMap::with_capacity(logs.len());
        for log in logs {
            let slot = Slot {
                hash: origin_hash(&log.origin),
                keys: log.keys,
                lock: Mutex::new(()),
            };
            if map.insert(log.origin.clone(), slot).is_some() {
                return Err(SetupError::Config(format!(
                    "log {:?} is listed twice",
                    log.origin
                )));
            }
        }
        Ok(Witness {
            own: cosigner.verifier().into(),
            cosigner,
            logs: map,
            state: state_dir.to_path_buf(),
        })
    }

    /// The witness's key name.
    pub fn name(&self) -> &str {
        self.cosigner.name()
    }

    /// The witness's public key as a vkey (type 0x04), for logs and verifiers to configure.
    pub fn vkey(&self) -> String {
        self.cosigner.verifier().to_vkey()
    }

    /// The origins of the logs this witness cosigns, sorted.
    pub fn origins(&self) -> Vec<&str> {
        let mut v: Vec<&str> = self.logs.keys().map(String::as_str).collect();
        v.sort_unstable();
        v
    }

    /// Handles an `add-checkpoint` request body, cosigning at the current time. Returns the
    /// cosignature lines (each ending in a newline) once the new state is durable.
    pub fn add_checkpoint(&self, body: &[u8]) -> Result<Vec<String>, AddError> {
        let now = SystemTime::now()
            .duration_since(UNIX_EPOCH)
            .map_err(|_| AddError::State("the clock is before 1970".into()))?;
        self.add_checkpoint_at(body, now.as_secs())
    }

    /// [`Witness::add_checkpoint`] with the cosignature's timestamp given (POSIX seconds).
    pub fn add_checkpoint_at(&self, body: &[u8], timestamp: u64) -> Result<Vec<String>, AddError> {
        if body.len() > MAX_BODY {
            return Err(AddError::TooLarge);
        }
        let req = parse_add_checkpoint(body).map_err(AddError::Malformed)?;
        let note = Note::parse(req.checkpoint.as_bytes())
            .map_err(|e| AddError::Malformed(format!("checkpoint: {e}")))?;
        let cp = Checkpoint::parse(note.text())
            .map_err(|e| AddError::Malformed(format!("checkpoint: {e}")))?;
        let slot = self
            .logs
            .get(cp.origin())
            .ok_or_else(|| AddError::UnknownOrigin(cp.origin().to_owned()))?;
        let signed = note.verify(&slot.keys).map_err(|e| match e {
            NoteError::NoKnownSignature => AddError::NotSigned(cp.origin().to_owned()),
            NoteError::BadSignature { name, key_id } => {
                AddError::BadSignature(format!("{name}+{key_id:08x}"))
            }
            other => AddError::Malformed(format!("checkpoint: {other}")),
        })?;
        if req.old_size > cp.size() {
            return Err(AddError::OldSizeTooLarge {
                old: req.old_size,
                size: cp.size(),
            });
        }
        let outcome = if cp.size() == 0 && *cp.root() != EMPTY_ROOT {
            Err(AddError::EmptyTreeRoot)
        } else if req.old_size == 0 && !req.proof.is_empty() {
            Err(AddError::UnexpectedProof)
        } else {
            // The check and the update, one request at a time per log.
            let _in_process = slot.lock.lock().unwrap_or_else(|p| p.into_inner());
            let _across_processes = FileLock::acquire(&self.lock_path(&slot.hash))?;
            self.check_and_update(slot, &req, &cp, &note, &signed, timestamp)
        };
        if let Err(e) = &outcome
            && e.is_log_misbehaviour()
        {
            self.keep_refused(&slot.hash, body, timestamp);
        }
        outcome
    }

    /// Steps 1–3 of the module docs; the caller holds both locks of this log.
    fn check_and_update(
        &self,
        slot: &Slot,
        req: &AddCheckpointRequest<'_>,
        cp: &Checkpoint,
        note: &Note,
        signed: &vigil_tlog::VerifiedNote,
        timestamp: u64,
    ) -> Result<Vec<String>, AddError> {
        let latest = self.read_state(&slot.hash, cp.origin())?;
        let latest_size = latest.as_ref().map_or(0, Checkpoint::size);
        if req.old_size != latest_size {
            return Err(AddError::Conflict {
                latest: latest_size,
            });
        }
        if let Some(latest) = latest.as_ref().filter(|l| l.size() > 0) {
            if cp.size() == latest.size() && cp.root() != latest.root() {
                return Err(AddError::RootMismatch);
            }
            verify_consistency(
                latest.size(),
                cp.size(),
                latest.root(),
                cp.root(),
                &req.proof,
            )
            .map_err(|e| AddError::Inconsistent(e.to_string()))?;
        }
        let line = self
            .cosigner
            .cosign(note.text(), timestamp)
            .map_err(|e| AddError::State(format!("cosigning: {e}")))?;
        // What the monitoring endpoint serves: the text, the log signatures that verified,
        // and this cosignature (other witnesses' lines were not checked, so not kept).
        let mut state = format!("{}\n", note.text());
        for v in &signed.verified {
            if let Some(sig) = note
                .signatures()
                .iter()
                .find(|s| s.name == v.name && s.key_id == v.key_id)
            {
                state.push_str(&sig.to_line());
            }
        }
        state.push_str(&line);
        files::write_durable(&self.state_path(&slot.hash), state.as_bytes())?;
        Ok(vec![line])
    }

    /// The latest cosigned checkpoint of `origin` (log signatures and this witness's
    /// cosignature included), if any.
    pub fn latest_checkpoint(&self, origin: &str) -> Result<Option<String>, AddError> {
        self.latest_checkpoint_by_hash(&origin_hash(origin))
    }

    /// The same, by the lowercase hex SHA-256 of the origin (the monitoring URL's form).
    /// Anything but 64 lowercase hex digits is `None`.
    pub fn latest_checkpoint_by_hash(&self, hash: &str) -> Result<Option<String>, AddError> {
        if !is_origin_hash(hash) {
            return Ok(None);
        }
        // Replaced by rename, so a reader sees the old file or the new one: no lock needed.
        let Some(bytes) = files::read_bounded(&self.state_path(hash), MAX_STATE)? else {
            return Ok(None);
        };
        String::from_utf8(bytes)
            .map(Some)
            .map_err(|_| AddError::State(format!("{hash}: not UTF-8")))
    }

    /// Step 1: the latest cosigned checkpoint of a log, checked to be one this witness wrote.
    fn read_state(&self, hash: &str, origin: &str) -> Result<Option<Checkpoint>, AddError> {
        let path = self.state_path(hash);
        let Some(bytes) = files::read_bounded(&path, MAX_STATE)? else {
            return Ok(None);
        };
        let corrupt = |why: String| {
            AddError::State(format!(
                "{} is not a checkpoint this witness cosigned ({why}); refusing to cosign \
                 {origin:?} until an operator restores it",
                path.display()
            ))
        };
        let check = verify_cosignatures(&bytes, &self.own).map_err(|e| corrupt(e.to_string()))?;
        if check.verified.is_empty() {
            return Err(corrupt("no cosignature by this witness's key".into()));
        }
        let cp = Checkpoint::parse(&check.text).map_err(|e| corrupt(e.to_string()))?;
        if cp.origin() != origin {
            return Err(corrupt(format!("it is for {:?}", cp.origin())));
        }
        Ok(Some(cp))
    }

    /// Keeps a validly signed request that contradicts the state: evidence of a fork or a
    /// rewrite. Best effort and bounded; a failure is logged, the answer stays the same.
    fn keep_refused(&self, hash: &str, body: &[u8], timestamp: u64) {
        let dir = self.state.join("refused").join(hash);
        let digest = hex::encode(&Sha256::digest(body)[..8]);
        let path = dir.join(format!("{timestamp}-{digest}"));
        let kept = std::fs::read_dir(&dir).map_or(0, |d| d.take(MAX_REFUSED_PER_LOG).count());
        tracing::warn!(
            log = hash,
            file = %path.display(),
            "a checkpoint signed by the log contradicts the one cosigned before"
        );
        if kept >= MAX_REFUSED_PER_LOG || path.exists() {
            return;
        }
        if let Err(e) =
            files::create_private_dir(&dir).and_then(|()| files::write_durable(&path, body))
        {
            tracing::error!("keeping the refused checkpoint: {e}");
        }
    }

    fn state_path(&self, hash: &str) -> PathBuf {
        self.state.join(hash)
    }

    fn lock_path(&self, hash: &str) -> PathBuf {
        self.state.join(format!("{hash}.lock"))
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::protocol::format_add_checkpoint;
    use crate::testlog::{ORIGIN, TestLog, cosigner, witness};
    use vigil_tlog::{Signer, leaf_hash, open_checkpoint};

    fn status(r: Result<Vec<String>, AddError>) -> u16 {
        match r {
            Ok(_) => 200,
            Err(e) => e.status(),
        }
    }

    #[test]
    fn a_growing_log_is_cosigned_and_its_state_served() {
        let tmp = tempfile::tempdir().expect("tempdir");
        let log = TestLog::new(20, 0);
        let w = witness(tmp.path(), &log);
        assert_eq!(w.latest_checkpoint(ORIGIN).expect("read"), None);
        // The empty tree, then growth from 0 (no proof), then with proofs.
        for (old, size, ts) in [(0, 0, 10), (0, 5, 11), (5, 8, 12), (8, 8, 13), (8, 20, 14)] {
            let lines = w
                .add_checkpoint_at(log.body(old, size).as_bytes(), ts)
                .unwrap_or_else(|e| panic!("{old} -> {size}: {e}"));
            assert_eq!(lines.len(), 1);
            assert!(
                lines[0].starts_with("\u{2014} witness.example/w1 ") && lines[0].ends_with('\n')
            );
            // The line verifies with the witness's vkey over this checkpoint, at this time.
            let note = format!("{}{}", log.checkpoint(size), lines[0]);
            let keys = Verifiers::from_vkeys(&[w.vkey()]).expect("vkey");
            let check = verify_cosignatures(note.as_bytes(), &keys).expect("verify");
            assert_eq!(check.verified[0].timestamp, ts);
            // Monitoring: the log's signature and the cosignature, both verifying.
            let latest = w.latest_checkpoint(ORIGIN).expect("read").expect("some");
            assert_eq!(latest, note);
            let log_keys = log.signer.verifier().into();
            let (cp, _) = open_checkpoint(latest.as_bytes(), ORIGIN, &log_keys).expect("open");
            assert_eq!(cp.size(), size);
        }
        assert!(
            w.latest_checkpoint_by_hash(&origin_hash(ORIGIN))
                .expect("read")
                .is_some()
        );
        assert_eq!(w.latest_checkpoint_by_hash("../state").expect("read"), None);
    }

    #[test]
    fn every_refusal_has_the_status_the_spec_gives_and_changes_nothing() {
        let tmp = tempfile::tempdir().expect("tempdir");
        let log = TestLog::new(16, 0);
        let w = witness(tmp.path(), &log);
        w.add_checkpoint_at(log.body(0, 8).as_bytes(), 1)
            .expect("first");
        let before = w.latest_checkpoint(ORIGIN).expect("read");
        let add = |body: &str| w.add_checkpoint_at(body.as_bytes(), 2);
        let good = log.body(8, 12);
        let proof_line = log.proof(8, 12)[0].to_base64();

        // 413: too large, before anything is parsed.
        let big = format!("{good}{}", "x".repeat(MAX_BODY));
        assert!(matches!(add(&big), Err(AddError::TooLarge)));
        assert_eq!(status(add(&big)), 413);

        // 400: malformed bodies and checkpoints.
        for bad in [
            good.replacen("old 8", "old 08", 1),
            good.replacen(&proof_line, "not base64!", 1),
            good.replacen(&proof_line, &leaf_hash(b"x").to_hex(), 1),
            format!(
                "old 8\n{}\n{}",
                format!("{proof_line}\n").repeat(64),
                log.checkpoint(12)
            ),
            good.replace("\n\n\u{2014}", "\n\u{2014}"),
            good.replace(&log.root(12).to_base64(), "AAAA"),
            format!("old 8\n\n{}", "not a note\n"),
            "no blank line".to_owned(),
        ] {
            let r = add(&bad);
            assert!(matches!(r, Err(AddError::Malformed(_))), "{bad:?}: {r:?}");
        }
        assert_eq!(status(w.add_checkpoint_at(&[0xff, b'\n', b'\n'], 2)), 400);
        let r = add(&format_add_checkpoint(13, &[], &log.checkpoint(8)));
        assert!(
            matches!(r, Err(AddError::OldSizeTooLarge { old: 13, size: 8 })),
            "{r:?}"
        );
        assert_eq!(status(r), 400);

        // 404: a log this witness does not know.
        let stranger = Signer::from_seed("other.example/log", &[1; 32]).expect("signer");
        let foreign = vigil_tlog::Checkpoint::new("other.example/log", 1, log.root(1))
            .and_then(|c| c.sign(&[&stranger]))
            .expect("sign");
        let r = add(&format_add_checkpoint(0, &[], &foreign));
        assert!(matches!(r, Err(AddError::UnknownOrigin(ref o)) if o == "other.example/log"));
        assert_eq!(status(r), 404);

        // 403: signed by another key with the log's name; a trusted signature that fails.
        let impostor = Signer::from_seed(ORIGIN, &[9; 32]).expect("signer");
        let forged = vigil_tlog::Checkpoint::new(ORIGIN, 12, log.root(12))
            .and_then(|c| c.sign(&[&impostor]))
            .expect("sign");
        let r = add(&format_add_checkpoint(8, &log.proof(8, 12), &forged));
        assert!(matches!(r, Err(AddError::NotSigned(_))), "{r:?}");
        assert_eq!(status(r), 403);
        let altered = good.replacen("\n12\n", "\n11\n", 1);
        let r = add(&altered);
        assert!(matches!(r, Err(AddError::BadSignature(_))), "{r:?}");
        assert_eq!(status(r), 403);

        // 409: the old size is not what was cosigned last; the answer names it.
        for old in [0, 5, 12] {
            let r = add(&format_add_checkpoint(
                old,
                &log.proof(old, 12),
                &log.checkpoint(12),
            ));
            assert_eq!(
                r.as_ref().err().and_then(AddError::latest_size),
                Some(8),
                "{old}"
            );
            assert_eq!(status(r), 409);
        }

        // 422: the empty tree's root, a proof from 0, a failing proof, a rewritten history.
        let bogus_empty = vigil_tlog::Checkpoint::new(ORIGIN, 0, log.root(1))
            .and_then(|c| c.sign(&[&log.signer]))
            .expect("sign");
        let r = add(&format_add_checkpoint(0, &[], &bogus_empty));
        assert!(matches!(r, Err(AddError::EmptyTreeRoot)), "{r:?}");
        assert_eq!(status(r), 422);
        let r = add(&format_add_checkpoint(
            0,
            &log.proof(8, 12),
            &log.checkpoint(12),
        ));
        assert!(matches!(r, Err(AddError::UnexpectedProof)), "{r:?}");
        assert_eq!(status(r), 422);
        let mut proof = log.proof(8, 12);
        proof[0] = leaf_hash(b"tampered");
        let r = add(&format_add_checkpoint(8, &proof, &log.checkpoint(12)));
        assert!(matches!(r, Err(AddError::Inconsistent(_))), "{r:?}");
        assert_eq!(status(r), 422);
        let r = add(&format_add_checkpoint(8, &[], &log.checkpoint(12)));
        assert!(
            matches!(r, Err(AddError::Inconsistent(_))),
            "an empty proof: {r:?}"
        );
        let fork = TestLog::new(16, 1);
        let r = add(&fork.body(8, 8));
        assert!(matches!(r, Err(AddError::RootMismatch)), "{r:?}");
        assert_eq!(status(r), 422);
        // The fork's own proof from its 8 to its 12 does not lead from the cosigned root.
        let r = add(&fork.body(8, 12));
        assert!(matches!(r, Err(AddError::Inconsistent(_))), "{r:?}");
        // A proof from the same size must be empty.
        let r = add(&format_add_checkpoint(
            8,
            &log.proof(4, 8),
            &log.checkpoint(8),
        ));
        assert_eq!(status(r), 422);

        // Nothing changed, and the signed contradictions were kept as evidence.
        assert_eq!(w.latest_checkpoint(ORIGIN).expect("read"), before);
        let kept = std::fs::read_dir(tmp.path().join("refused").join(origin_hash(ORIGIN)))
            .expect("refused")
            .count();
        assert_eq!(
            kept, 6,
            "empty root, tampered proof, empty proof, fork at 8, fork to 12, proof at 8"
        );
        // And the real next checkpoint is still accepted.
        assert_eq!(status(add(&good)), 200);
        for code in [
            AddError::TooLarge.code(),
            AddError::Conflict { latest: 1 }.code(),
            AddError::RootMismatch.code(),
        ] {
            assert!(!code.is_empty() && !code.contains(' '));
        }
    }

    #[test]
    fn state_survives_a_restart() {
        let tmp = tempfile::tempdir().expect("tempdir");
        let log = TestLog::new(10, 0);
        {
            let w = witness(tmp.path(), &log);
            w.add_checkpoint_at(log.body(0, 6).as_bytes(), 1)
                .expect("add");
        }
        let w = witness(tmp.path(), &log);
        let r = w.add_checkpoint_at(log.body(0, 10).as_bytes(), 2);
        assert_eq!(r.err().and_then(|e| e.latest_size()), Some(6));
        let fork = TestLog::new(10, 1);
        assert_eq!(
            status(w.add_checkpoint_at(fork.body(6, 6).as_bytes(), 2)),
            422
        );
        w.add_checkpoint_at(log.body(6, 10).as_bytes(), 3)
            .expect("continues from the stored size");
        // Only the state file, its lock and the refused evidence: no temp files.
        let mut names: Vec<String> = std::fs::read_dir(tmp.path())
            .expect("ls")
            .map(|e| e.expect("entry").file_name().to_string_lossy().into_owned())
            .collect();
        names.sort();
        let h = origin_hash(ORIGIN);
        assert_eq!(
            names,
            vec![h.clone(), format!("{h}.lock"), "refused".to_owned()]
        );
    }

    #[test]
    fn a_damaged_state_file_stops_that_log_instead_of_starting_over() {
        let tmp = tempfile::tempdir().expect("tempdir");
        let log = TestLog::new(10, 0);
        let w = witness(tmp.path(), &log);
        w.add_checkpoint_at(log.body(0, 6).as_bytes(), 1)
            .expect("add");
        let path = tmp.path().join(origin_hash(ORIGIN));
        let good = std::fs::read_to_string(&path).expect("read");
        // Rolled back by hand to an older checkpoint the log signed: no cosignature of ours.
        for bad in [
            log.checkpoint(2),
            good.replace("\n6\n", "\n2\n"),
            "garbage".to_owned(),
        ] {
            std::fs::write(&path, &bad).expect("write");
            let r = w.add_checkpoint_at(log.body(2, 10).as_bytes(), 2);
            assert!(matches!(r, Err(AddError::State(_))), "{r:?}");
            assert_eq!(status(r), 500);
        }
        // Another witness's key over a good state is not ours either.
        let other = Witness::new(
            Cosigner::from_seed("witness.example/w2", &[3; 32]).expect("cosigner"),
            vec![log.trusted()],
            tmp.path(),
        )
        .expect("witness");
        std::fs::write(&path, &good).expect("write");
        assert_eq!(
            status(other.add_checkpoint_at(log.body(6, 10).as_bytes(), 2)),
            500
        );
        assert_eq!(
            status(w.add_checkpoint_at(log.body(6, 10).as_bytes(), 2)),
            200
        );
    }

    #[test]
    fn setup_is_checked() {
        let tmp = tempfile::tempdir().expect("tempdir");
        let log = TestLog::new(1, 0);
        assert!(matches!(
            Witness::new(cosigner(), vec![log.trusted(), log.trusted()], tmp.path()),
            Err(SetupError::Config(_))
        ));
        assert!(TrustedLog::new("", log.trusted().keys().clone()).is_err());
        assert!(TrustedLog::new("o", Verifiers::new()).is_err());
        assert!(TrustedLog::from_vkey("nope").is_err());
    }
}
