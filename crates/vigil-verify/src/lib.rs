//! # vigil-verify: check a Vigil evidence package offline
//!
//! A Vigil evidence package (`vigil.package/v1`, described in `docs/package.md`) is a BagIt
//! bag holding original evidence files, the log records of their captures, receipts proving
//! those records are in Vigil's transparency log, the log's signed checkpoints and RFC 3161
//! time-stamps. This crate checks one with nothing but the package, the log's public key and
//! (optionally) the CA certificates of trusted time-stamping authorities: no server, no
//! database, no network, and none of the code that made the package (the log records are
//! read by an independent implementation).
//!
//! [`verify_package`] checks, in the order the format specifies:
//!
//! 1. **The bag** (RFC 8493): `bagit.txt` declares BagIt 1.0; every line of
//!    `manifest-sha256.txt` names a file under `data/` with that SHA-256; no payload file is
//!    unlisted; `tagmanifest-sha256.txt` matches `bagit.txt`, `bag-info.txt` and the manifest;
//!    `Payload-Oxum` matches. Paths with `..`, absolute paths and symbolic links are refused
//!    and never followed. Files are streamed (bounded memory) and hashed on a few threads,
//!    never more bytes than `Payload-Oxum` declares (plus a little): a file grown far beyond
//!    it is reported and not hashed.
//! 2. **The key**: the one given ([`Options::trusted_key`], published by the office out of
//!    band), or else the package's own `log/verifier.vkey`, in which case the verdict says so:
//!    a package can always vouch for itself.
//! 3. **The checkpoint**: `log/checkpoint` is signed by that key for its log.
//! 4. **Each capture** (and derivation): its tlog-proof receipt is signed by the key and its
//!    inclusion proof leads from the leaf to the signed tree; the leaf is byte for byte the
//!    record file in the package, a canonical `vigil.capture/v1` (`vigil.derivation/v1`)
//!    record of that id; the receipt's checkpoint is the latest or proven consistent with it.
//! 5. **Each item**: its file's SHA-256 and size are those a verified record lists (a
//!    derived item: a verified derivation lists it as output); claims of the index that the
//!    signed records do not bear out are failures. What the bytes are (image, video, audio,
//!    by their first bytes, as Vigil tells them) is reported, and a `kind` in the index
//!    they contradict is a failure.
//! 6. **Time-stamps**: each RFC 3161 token is granted, over the SHA-256 of its checkpoint's
//!    exact bytes, signed by a certificate with the `timeStamping` key usage that chains to a
//!    CA the user trusts ([`Options::tsa_roots`]; without one the verdict says the TSA was not
//!    checked against a trusted root); the checkpoint is signed by the key and proven a prefix
//!    of the latest. Every entry below its size then existed no later than the token's
//!    `genTime`; each capture and item gets the earliest such time.
//!
//! The [`Report`] holds a [`Finding`] per check, each with a stable [`Code`] and a sentence
//! a lawyer can read; [`Report::passed`] is true only if nothing failed. `data/package.json`
//! is used as a map, never as proof. Strings from the package are quoted bounded (a few
//! hundred characters) with control characters escaped.
//!
//! ```no_run
//! use vigil_verify::{Options, verify_package};
//! let options = Options {
//!     trusted_key: Some("ombudsman.example/log+1a2b3c4d+AX…".into()),
//!     tsa_roots: vec![std::fs::read("tsa-root.pem")?],
//! };
//! let report = verify_package("export-20261127T120000Z-1".as_ref(), &options)?;
//! print!("{report}");
//! std::process::exit(if report.passed() { 0 } else { 1 });
//! # Ok::<(), Box<dyn std::error::Error>>(())
//! ```

#![deny(missing_docs)]

mod bag;
mod index;
mod leaf;
mod log;
mod report;
mod sniff;
pub mod timestamp;

use std::collections::HashMap;
use std::path::{Path, PathBuf};

use sha2::{Digest as _, Sha256};
use vigil_tlog::{Checkpoint, MAX_NOTE_SIZE, MAX_RECEIPT_SIZE};

pub use report::{
    CaptureVerdict, CheckpointInfo, Code, DerivationVerdict, ExistedBy, Finding, ItemVerdict,
    KeyProvenance, KeySource, Outcome, Report, TimestampVerdict,
};

use crate::bag::Bag;
use crate::index::{Index, PACKAGE_FORMAT};
use crate::leaf::{CaptureLeaf, DerivationLeaf, LeafItem, MAX_LEAF_SIZE};
use crate::log::{Failure, LogKey};
use crate::report::shown;
use crate::timestamp::{MAX_RESPONSE_SIZE, TsaRoots, verify_timestamp};

/// What the verifier is told to trust, from outside the package.
#[derive(Clone, Debug, Default)]
pub struct Options {
    /// The log's note verifier key (`<origin>+<key id>+<base64>`), as the office publishes
    /// it. Without it, the package's own key is used and the verdict says so, because a
    /// package signed with a key of its own making would otherwise pass.
    pub trusted_key: Option<String>,
    /// CA certificates (DER or PEM) of time-stamping authorities the user trusts. Without
    /// any, time-stamp signatures are checked only against the certificate in the token.
    pub tsa_roots: Vec<Vec<u8>>,
}

/// Why no verdict could be given at all (as opposed to a verdict that the package failed).
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum VerifyError {
    /// Nothing at the path given.
    #[error("there is no package at {0}")]
    NotFound(PathBuf),
    /// The path is not a directory (an unpacked bag).
    #[error("{0} is not a directory; unpack the package first")]
    NotADirectory(PathBuf),
    /// The key given is not a note verifier key.
    #[error("the log key given is not a valid verifier key: {0}")]
    BadKey(String),
    /// A CA certificate given could not be read.
    #[error("a time-stamping CA certificate given could not be read: {0}")]
    BadTsaRoot(String),
}

/// A capture or derivation whose receipt and record verified.
struct Proven<T> {
    index: u64,
    record: T,
}

/// The state shared by the steps after the bag.
struct Ctx<'a> {
    bag: &'a Bag,
    index: &'a Index,
    key: &'a LogKey,
    latest: Option<Checkpoint>,
    consistency_cache: HashMap<(u64, [u8; 32]), Result<(), Failure>>,
}

impl Ctx<'_> {
    /// The consistency proof file for tree size `size`, if the package has one.
    fn proof_file(&self, size: u64) -> Option<Vec<u8>> {
        let named = self
            .index
            .log
            .timestamped_checkpoints
            .iter()
            .filter(|t| t.size == size)
            .find_map(|t| t.consistency.clone());
        let path = named.unwrap_or_else(|| format!("log/consistency/{size}.proof"));
        self.bag.read(&path, log::MAX_PROOF_FILE).ok()
    }

    /// Whether `cp` (verified) is proven to be an earlier state of the latest checkpoint.
    fn consistent(&mut self, cp: &Checkpoint) -> Result<(), Failure> {
        let Some(latest) = self.latest.clone() else {
            return Err((
                Code::ConsistencyUnproven,
                "The package's latest checkpoint did not verify, so this checkpoint could not be \
                 tied to it."
                    .into(),
            ));
        };
        let k = (cp.size(), cp.root().0);
        if let Some(r) = self.consistency_cache.get(&k) {
            return r.clone();
        }
        let proof = if cp.size() < latest.size() {
            self.proof_file(cp.size())
        } else {
            None
        };
        let r = log::check_consistent(cp, &latest, proof.as_deref(), self.key);
        self.consistency_cache.insert(k, r.clone());
        r
    }

    /// Reads a record and its receipt and verifies them; findings go to `findings`.
    fn prove(
        &mut self,
        what: &str,
        leaf_path: &str,
        receipt_path: &str,
        findings: &mut Vec<Finding>,
    ) -> Option<(u64, Vec<u8>, Checkpoint)> {
        let leaf = match self.bag.read(leaf_path, MAX_LEAF_SIZE) {
            Ok(b) => b,
            Err(e) => {
                findings.push(Finding::fail(
                    e.code(),
                    format!("data/{leaf_path}"),
                    format!("The log record of {what} could not be read: {e}."),
                ));
                return None;
            }
        };
        let receipt = match self.bag.read(receipt_path, MAX_RECEIPT_SIZE as u64) {
            Ok(b) => b,
            Err(e) => {
                findings.push(Finding::fail(
                    e.code(),
                    format!("data/{receipt_path}"),
                    format!(
                        "The receipt of {what} could not be read: {e}. Without it nothing shows \
                         the record is in the log."
                    ),
                ));
                return None;
            }
        };
        match log::check_receipt(&receipt, &leaf, self.key, what) {
            Ok(p) => Some((p.index, leaf, p.checkpoint)),
            Err((code, message)) => {
                findings.push(Finding::fail(code, format!("data/{receipt_path}"), message));
                None
            }
        }
    }

    /// After a receipt verified: ties its checkpoint to the latest one.
    fn tie(&mut self, cp: &Checkpoint, receipt_path: &str, findings: &mut Vec<Finding>) {
        match self.consistent(cp) {
            Ok(()) if self.latest.as_ref().is_some_and(|l| l.size() == cp.size()) => {}
            Ok(()) => findings.push(Finding::pass(
                Code::Consistent,
                format!("data/{receipt_path}"),
                format!(
                    "The receipt's checkpoint ({} entries) is proven to be an earlier state of \
                     the package's latest checkpoint: the log only grew since, nothing in it \
                     was changed.",
                    cp.size()
                ),
            )),
            Err((code, message)) => {
                findings.push(Finding::fail(code, format!("data/{receipt_path}"), message))
            }
        }
    }
}

/// Checks the package (an unpacked bag) at `path` and returns the verdict on everything in
/// it. An `Err` means no verdict could be given (no package there, or unusable options);
/// every problem *in* the package is a failed [`Finding`] in the [`Report`].
pub fn verify_package(path: &Path, options: &Options) -> Result<Report, VerifyError> {
    let meta = std::fs::metadata(path).map_err(|_| VerifyError::NotFound(path.to_owned()))?;
    if !meta.is_dir() {
        return Err(VerifyError::NotADirectory(path.to_owned()));
    }
    let given_key = options
        .trusted_key
        .as_deref()
        .map(LogKey::parse)
        .transpose()
        .map_err(|e| VerifyError::BadKey(e.to_string()))?;
    let roots = TsaRoots::parse(&options.tsa_roots)?;

    let mut report = Report {
        package: path.display().to_string(),
        ..Report::default()
    };
    let (bag, info) = bag::check_bag(path, &mut report.bag);
    report.export_id = info.external_id;

    // The index.
    let index = match bag.read("package.json", index::MAX_INDEX_SIZE) {
        Ok(bytes) => match serde_json::from_slice::<Index>(&bytes) {
            Ok(i) if i.format == PACKAGE_FORMAT => Some(i),
            Ok(i) => {
                report.bag.push(Finding::fail(
                    Code::PackageInvalid,
                    "data/package.json",
                    format!(
                        "The index says format {:?}, not {PACKAGE_FORMAT}: this verifier does \
                         not know how to read it.",
                        shown(&i.format)
                    ),
                ));
                None
            }
            Err(e) => {
                report.bag.push(Finding::fail(
                    Code::PackageInvalid,
                    "data/package.json",
                    format!("The index is not a valid {PACKAGE_FORMAT} index ({e})."),
                ));
                None
            }
        },
        Err(e) => {
            report.bag.push(Finding::fail(
                if e.code() == Code::MissingFile {
                    Code::PackageInvalid
                } else {
                    e.code()
                },
                "data/package.json",
                format!("The package's index could not be read: {e}."),
            ));
            None
        }
    };
    let Some(index) = index else {
        return Ok(report);
    };
    if report.export_id.is_none() {
        report.export_id = index.export_id.as_deref().map(shown);
    }

    // The key.
    let vkey_path = index
        .log
        .verifier_key
        .clone()
        .unwrap_or_else(|| "log/verifier.vkey".into());
    let package_key = bag
        .read(&vkey_path, 64 << 10)
        .map_err(|e| (e.code(), e.to_string()))
        .and_then(|b| {
            let text = String::from_utf8_lossy(&b).trim().to_owned();
            LogKey::parse(&text)
                .map_err(|e| (Code::KeyInvalid, format!("it is not a verifier key ({e})")))
        });
    let key = match (given_key, &package_key) {
        (Some(k), pk) => {
            report.log.push(Finding::pass(
                Code::KeyGiven,
                "",
                format!(
                    "Signatures were checked against the key you gave ({}), so the verdict does \
                     not depend on anything the package says about itself.",
                    shown(&k.vkey)
                ),
            ));
            if let Ok(pk) = pk
                && pk.vkey != k.vkey
            {
                report.log.push(Finding::note(
                    Code::PackageKeyDiffers,
                    format!("data/{vkey_path}"),
                    format!(
                        "The package names another key ({}); it was not used.",
                        shown(&pk.vkey)
                    ),
                ));
            }
            k
        }
        (None, Ok(pk)) => {
            report.log.push(Finding::note(
                Code::KeyFromPackage,
                format!("data/{vkey_path}"),
                format!(
                    "No key was given, so the package's own key was used: {}. This shows only \
                     that the package is consistent with itself. Compare this key with the one \
                     the office publishes (or pass it with --key): only then do the signatures \
                     show the records are in that office's log.",
                    shown(&pk.vkey)
                ),
            ));
            pk.clone()
        }
        (None, Err((code, why))) => {
            report.log.push(Finding::fail(
                if *code == Code::MissingFile {
                    Code::KeyInvalid
                } else {
                    *code
                },
                format!("data/{vkey_path}"),
                format!(
                    "No key was given and the package's own key could not be used ({why}); no \
                     signature could be checked, so nothing ties the evidence to the log."
                ),
            ));
            return Ok(report);
        }
    };
    report.key = Some(KeyProvenance {
        source: if options.trusted_key.is_some() {
            KeySource::Given
        } else {
            KeySource::Package
        },
        vkey: shown(&key.vkey),
        origin: shown(&key.origin),
        package_vkey: package_key.as_ref().ok().map(|k| shown(&k.vkey)),
    });

    // The latest checkpoint.
    let cp_path = index
        .log
        .checkpoint
        .clone()
        .unwrap_or_else(|| "log/checkpoint".into());
    let latest = match bag.read(&cp_path, MAX_NOTE_SIZE as u64) {
        Ok(bytes) => match log::open(&bytes, &key, "The package's latest checkpoint") {
            Ok(cp) => {
                report.log.push(Finding::pass(
                    Code::CheckpointVerified,
                    format!("data/{cp_path}"),
                    format!(
                        "The latest checkpoint is signed by the key: the log {} vouches that \
                             its first {} entries are exactly those under root {}.",
                        shown(cp.origin()),
                        cp.size(),
                        cp.root().to_base64()
                    ),
                ));
                report.checkpoint = Some(CheckpointInfo {
                    origin: shown(cp.origin()),
                    size: cp.size(),
                    root: cp.root().to_base64(),
                    verified: true,
                });
                Some(cp)
            }
            Err((code, message)) => {
                report.checkpoint = unverified_checkpoint(&bytes);
                report
                    .log
                    .push(Finding::fail(code, format!("data/{cp_path}"), message));
                None
            }
        },
        Err(e) => {
            report.log.push(Finding::fail(
                e.code(),
                format!("data/{cp_path}"),
                format!("The latest checkpoint could not be read: {e}."),
            ));
            None
        }
    };

    let mut ctx = Ctx {
        bag: &bag,
        index: &index,
        key: &key,
        latest,
        consistency_cache: HashMap::new(),
    };

    // Captures.
    let mut captures: HashMap<i64, Proven<CaptureLeaf>> = HashMap::new();
    for entry in &index.captures {
        let what = format!("capture #{}", entry.id);
        let mut v = CaptureVerdict {
            id: entry.id,
            leaf_index: None,
            source: None,
            captured_at: None,
            collector: None,
            method: None,
            status: None,
            existed_by: None,
            findings: Vec::new(),
        };
        if let Some((index_no, leaf_bytes, cp)) =
            ctx.prove(&what, &entry.leaf, &entry.receipt, &mut v.findings)
        {
            match leaf_filed_as(
                leaf::parse_capture(&leaf_bytes),
                |c| c.id,
                ("capture", "vigil.capture/v1"),
                (entry.id, &entry.leaf),
                &mut v.findings,
            ) {
                None => {}
                Some(c) => {
                    v.leaf_index = Some(index_no);
                    v.source = Some(shown(&c.source));
                    v.captured_at = Some(shown(&c.captured_at));
                    v.collector = c.collector.as_deref().map(shown);
                    v.method = c.method.as_deref().map(shown);
                    v.status = c.status.as_deref().map(shown);
                    v.findings.push(Finding::pass(
                        Code::ReceiptVerified,
                        format!("data/{}", entry.receipt),
                        format!(
                            "The receipt verifies: a checkpoint of {} entries signed by the key, \
                             and an inclusion proof showing that the record of capture #{} \
                             (byte for byte data/{}) is entry {index_no} of the log. The record \
                             was logged as it is and has not changed since.",
                            cp.size(),
                            entry.id,
                            shown(&entry.leaf)
                        ),
                    ));
                    ctx.tie(&cp, &entry.receipt, &mut v.findings);
                    captures.insert(
                        entry.id,
                        Proven {
                            index: index_no,
                            record: c,
                        },
                    );
                }
            }
        }
        report.captures.push(v);
    }

    // Derivations.
    let mut derivations: HashMap<i64, Proven<DerivationLeaf>> = HashMap::new();
    for entry in &index.derivations {
        let what = format!("derivation #{}", entry.id);
        let mut v = DerivationVerdict {
            id: entry.id,
            leaf_index: None,
            source_sha256: None,
            tool: None,
            created_at: None,
            existed_by: None,
            findings: Vec::new(),
        };
        if let Some((index_no, leaf_bytes, cp)) =
            ctx.prove(&what, &entry.leaf, &entry.receipt, &mut v.findings)
        {
            match leaf_filed_as(
                leaf::parse_derivation(&leaf_bytes),
                |d| d.id,
                ("derivation", "vigil.derivation/v1"),
                (entry.id, &entry.leaf),
                &mut v.findings,
            ) {
                None => {}
                Some(d) => {
                    v.leaf_index = Some(index_no);
                    v.source_sha256 = Some(shown(&d.source_sha256));
                    v.tool = d.tool.as_deref().map(shown);
                    v.created_at = d.created_at.as_deref().map(shown);
                    v.findings.push(Finding::pass(
                        Code::ReceiptVerified,
                        format!("data/{}", entry.receipt),
                        format!(
                            "The receipt verifies: the record of derivation #{} (byte for byte \
                             data/{}) is entry {index_no} of the log under a checkpoint of {} \
                             entries signed by the key.",
                            entry.id,
                            shown(&entry.leaf),
                            cp.size()
                        ),
                    ));
                    ctx.tie(&cp, &entry.receipt, &mut v.findings);
                    derivations.insert(
                        entry.id,
                        Proven {
                            index: index_no,
                            record: d,
                        },
                    );
                }
            }
        }
        report.derivations.push(v);
    }

    // Time-stamps (before items, so items can carry their times).
    let mut stamps: Vec<(u64, ExistedBy)> = Vec::new();
    for t in &index.log.timestamped_checkpoints {
        let (verdict, existed) = check_timestamp(&mut ctx, t, &roots);
        if let Some(e) = existed {
            stamps.push((t.size, e));
        }
        report.timestamps.push(verdict);
    }
    let earliest = |leaf: u64| {
        stamps
            .iter()
            .filter(|(size, _)| leaf < *size)
            .map(|(_, e)| e)
            .min_by_key(|e| e.sort_key)
            .cloned()
    };
    for c in &mut report.captures {
        if c.passed() {
            c.existed_by = c.leaf_index.and_then(earliest);
        }
    }
    for d in &mut report.derivations {
        if d.passed() {
            d.existed_by = d.leaf_index.and_then(earliest);
        }
    }
    let passed_captures: HashMap<i64, bool> =
        report.captures.iter().map(|c| (c.id, c.passed())).collect();
    let passed_derivations: HashMap<i64, bool> = report
        .derivations
        .iter()
        .map(|d| (d.id, d.passed()))
        .collect();

    // Items.
    for it in &index.items {
        let mut v = ItemVerdict {
            sha256: shown(&it.sha256),
            file: shown(&it.file),
            size: it.size,
            kind: it.kind.as_deref().map(shown),
            detected_kind: None,
            detected_format: None,
            derived_from: it.derived_from.as_ref().map(|d| shown(&d.item)),
            held_by_captures: Vec::new(),
            held_by_derivations: Vec::new(),
            existed_by: None,
            findings: Vec::new(),
        };
        let (digest, size) = match bag.digest(&it.file) {
            Ok(d) => d,
            Err(e) => {
                v.findings.push(Finding::fail(
                    e.code(),
                    format!("data/{}", it.file),
                    format!("The item's file could not be checked: {e}."),
                ));
                report.items.push(v);
                continue;
            }
        };
        let digest = hex::encode(digest);
        if digest != it.sha256.to_ascii_lowercase() || size != it.size {
            v.findings.push(Finding::fail(
                Code::ItemMismatch,
                format!("data/{}", it.file),
                format!(
                    "The index says this item is SHA-256 {} of {} bytes, but its file is SHA-256 \
                     {digest} of {size} bytes: the file is not the item it is presented as.",
                    shown(&it.sha256),
                    it.size
                ),
            ));
        }
        if let Ok(head) = bag.head(&it.file, sniff::SNIFF_LEN) {
            let got = sniff::sniff(&head);
            v.detected_kind = Some(got.kind.to_owned());
            v.detected_format = got.format.map(str::to_owned);
            if let Some(claimed) = &it.kind
                && !claimed.eq_ignore_ascii_case(got.kind)
            {
                v.findings.push(Finding::fail(
                    Code::KindMismatch,
                    format!("data/{}", it.file),
                    format!(
                        "The index calls this item {:?}, but its bytes are {}: the package \
                         misdescribes it. Go by what the file is, not by what the index says.",
                        shown(claimed),
                        match got.format {
                            Some(f) => format!("{} ({f})", got.kind),
                            None => "not a recognised image, video or audio file".to_owned(),
                        }
                    ),
                ));
            }
        }
        if let Some(m) = &it.metadata
            && !bag.exists(m)
        {
            v.findings.push(Finding::fail(
                Code::MissingFile,
                format!("data/{m}"),
                "The index names this metadata file for the item, but it is not in the package."
                    .to_string(),
            ));
        }
        let this = LeafItem {
            sha256: digest.clone(),
            size,
        };
        let mut holders_text = Vec::new();
        match &it.derived_from {
            None => {
                let mut ids: Vec<i64> = captures
                    .iter()
                    .filter(|(_, p)| p.record.items.contains(&this))
                    .map(|(id, _)| *id)
                    .collect();
                ids.sort_unstable();
                for id in &ids {
                    if let Some(p) = captures.get(id) {
                        let c = &p.record;
                        holders_text.push(format!(
                            "capture #{id} of {} (captured {}{}{}, log entry {})",
                            shown(&c.source),
                            shown(&c.captured_at),
                            c.collector
                                .as_deref()
                                .map(|x| format!(" by {x}"))
                                .unwrap_or_default(),
                            c.method
                                .as_deref()
                                .map(|x| format!(" with {x}"))
                                .unwrap_or_default(),
                            p.index
                        ));
                    }
                }
                for claimed in &it.captures {
                    let known = index.captures.iter().any(|c| c.id == *claimed);
                    if !known {
                        v.findings.push(Finding::fail(
                            Code::ClaimMismatch,
                            format!("data/{}", it.file),
                            format!(
                                "The index says capture #{claimed} holds this item, but the \
                                 package has no record of capture #{claimed}."
                            ),
                        ));
                    } else if captures.contains_key(claimed) && !ids.contains(claimed) {
                        v.findings.push(Finding::fail(
                            Code::ClaimMismatch,
                            format!("data/{}", it.file),
                            format!(
                                "The index says capture #{claimed} holds this item, but the \
                                 logged record of capture #{claimed} lists no file with these \
                                 bytes."
                            ),
                        ));
                    }
                }
                v.existed_by = ids
                    .iter()
                    .filter(|id| passed_captures.get(id) == Some(&true))
                    .filter_map(|id| captures.get(id))
                    .filter_map(|p| earliest(p.index))
                    .min_by_key(|e| e.sort_key);
                v.held_by_captures = ids;
            }
            Some(from) => {
                let mut ids: Vec<i64> = derivations
                    .iter()
                    .filter(|(_, p)| p.record.items.contains(&this))
                    .map(|(id, _)| *id)
                    .collect();
                ids.sort_unstable();
                for id in &ids {
                    if let Some(p) = derivations.get(id) {
                        holders_text.push(format!(
                            "derivation #{id} (made from item {}{}, log entry {})",
                            shown(&p.record.source_sha256),
                            p.record
                                .tool
                                .as_deref()
                                .map(|x| format!(" by {x}"))
                                .unwrap_or_default(),
                            p.index
                        ));
                    }
                }
                match derivations.get(&from.derivation) {
                    Some(p) if !ids.contains(&from.derivation) => {
                        v.findings.push(Finding::fail(
                            Code::ClaimMismatch,
                            format!("data/{}", it.file),
                            format!(
                                "The index says derivation #{} made this item, but its logged \
                                 record lists no output with these bytes.",
                                from.derivation
                            ),
                        ));
                        let _ = p;
                    }
                    Some(p) if p.record.source_sha256 != from.item.to_ascii_lowercase() => {
                        v.findings.push(Finding::fail(
                            Code::ClaimMismatch,
                            format!("data/{}", it.file),
                            format!(
                                "The index says this item was made from {}, but derivation #{} \
                                 logged it as made from {}.",
                                shown(&from.item),
                                from.derivation,
                                shown(&p.record.source_sha256)
                            ),
                        ));
                    }
                    Some(_) => {}
                    None if !index.derivations.iter().any(|d| d.id == from.derivation) => {
                        v.findings.push(Finding::fail(
                            Code::ClaimMismatch,
                            format!("data/{}", it.file),
                            format!(
                                "The index says derivation #{} made this item, but the package \
                                 has no record of it.",
                                from.derivation
                            ),
                        ));
                    }
                    None => {}
                }
                v.existed_by = ids
                    .iter()
                    .filter(|id| passed_derivations.get(id) == Some(&true))
                    .filter_map(|id| derivations.get(id))
                    .filter_map(|p| earliest(p.index))
                    .min_by_key(|e| e.sort_key);
                v.held_by_derivations = ids;
            }
        }
        if holders_text.is_empty() {
            v.findings.push(Finding::fail(
                Code::NotLogged,
                format!("data/{}", it.file),
                format!(
                    "No {} whose receipt verified records a file with this SHA-256 ({digest}) \
                     and size ({size} bytes): nothing in the log vouches for these bytes.",
                    if it.derived_from.is_some() {
                        "derivation"
                    } else {
                        "capture"
                    }
                ),
            ));
        } else {
            v.findings.push(Finding::pass(
                Code::ItemVerified,
                format!("data/{}", it.file),
                format!(
                    "Its SHA-256 ({digest}) and size ({size} bytes) are exactly those recorded \
                     by {}, {} proven to be in the log: this file is, byte for byte, the one {}.",
                    holders_text.join(" and by "),
                    if holders_text.len() == 1 {
                        "a record"
                    } else {
                        "records"
                    },
                    if it.derived_from.is_some() {
                        "Vigil made and logged"
                    } else {
                        "that was captured and logged"
                    }
                ),
            ));
        }
        report.items.push(v);
    }
    Ok(report)
}

/// Reads a checkpoint's fields without trusting it, for the report when it did not verify.
fn unverified_checkpoint(bytes: &[u8]) -> Option<CheckpointInfo> {
    let note = vigil_tlog::Note::parse(bytes).ok()?;
    let cp = Checkpoint::parse(note.text()).ok()?;
    Some(CheckpointInfo {
        origin: shown(cp.origin()),
        size: cp.size(),
        root: cp.root().to_base64(),
        verified: false,
    })
}

/// Checks one time-stamped checkpoint; returns its verdict and, when everything passed,
/// the time it proves.
fn check_timestamp(
    ctx: &mut Ctx<'_>,
    t: &index::TimestampEntry,
    roots: &TsaRoots,
) -> (TimestampVerdict, Option<ExistedBy>) {
    let mut v = TimestampVerdict {
        size: t.size,
        checkpoint: shown(&t.checkpoint),
        timestamp: shown(&t.timestamp),
        gen_time: None,
        tsa: None,
        tsa_trusted: false,
        findings: Vec::new(),
    };
    let fail = |v: &mut TimestampVerdict, code: Code, path: &str, message: String| {
        v.findings
            .push(Finding::fail(code, format!("data/{path}"), message));
    };
    let cp_bytes = match ctx.bag.read(&t.checkpoint, MAX_NOTE_SIZE as u64) {
        Ok(b) => b,
        Err(e) => {
            fail(
                &mut v,
                e.code(),
                &t.checkpoint,
                format!("The time-stamped checkpoint could not be read: {e}."),
            );
            return (v, None);
        }
    };
    let cp = match log::open(&cp_bytes, ctx.key, "The time-stamped checkpoint") {
        Ok(cp) => cp,
        Err((code, message)) => {
            fail(&mut v, code, &t.checkpoint, message);
            return (v, None);
        }
    };
    if cp.size() != t.size {
        fail(
            &mut v,
            Code::ClaimMismatch,
            &t.checkpoint,
            format!(
                "The index files this as the checkpoint of {} entries, but it is of {}.",
                t.size,
                cp.size()
            ),
        );
    }
    let tsr = match ctx.bag.read(&t.timestamp, MAX_RESPONSE_SIZE) {
        Ok(b) => b,
        Err(e) => {
            fail(
                &mut v,
                e.code(),
                &t.timestamp,
                format!("The time-stamp could not be read: {e}."),
            );
            return (v, None);
        }
    };
    let digest: [u8; 32] = Sha256::digest(&cp_bytes).into();
    let ts = match verify_timestamp(&tsr, &digest, roots) {
        Ok(ts) => ts,
        Err(e) => {
            let message = match &e {
                timestamp::TimestampError::Untrusted(why) => format!(
                    "The time-stamp is well formed and signed, but {why}: it is not shown to come \
                     from a time-stamping authority you trust."
                ),
                timestamp::TimestampError::Invalid(why) => {
                    format!("The time-stamp does not prove when this checkpoint existed: {why}.")
                }
            };
            fail(&mut v, e.code(), &t.timestamp, message);
            return (v, None);
        }
    };
    v.gen_time = Some(shown(&ts.gen_time));
    v.tsa = Some(shown(&ts.tsa));
    v.tsa_trusted = ts.trusted_root.is_some();
    if let Err((code, message)) = ctx.consistent(&cp) {
        let path = t
            .consistency
            .clone()
            .unwrap_or_else(|| format!("log/consistency/{}.proof", t.size));
        fail(&mut v, code, &path, message);
    }
    let trust = match &ts.trusted_root {
        Some(root) => format!("whose certificate was issued by {root}, a CA you trust"),
        None => "whose certificate came with the token".to_owned(),
    };
    if v.passed() {
        v.findings.push(Finding::pass(
            Code::TimestampVerified,
            format!("data/{}", t.timestamp),
            format!(
                "The time-stamping authority {} ({trust}) signed the SHA-256 of this signed \
                 checkpoint at {}, and the checkpoint is proven an earlier state of the latest \
                 one: the first {} entries of the log existed no later than that time.",
                shown(&ts.tsa),
                shown(&ts.gen_time),
                cp.size()
            ),
        ));
    }
    if ts.trusted_root.is_none() {
        v.findings.push(Finding::note(
            Code::TsaUnchecked,
            format!("data/{}", t.timestamp),
            format!(
                "No trusted CA was given (--tsa-ca), so the signature was checked only against \
                 the certificate in the token, which names {}; who made the time-stamp is not \
                 established.",
                shown(&ts.tsa)
            ),
        ));
    }
    let existed = v.passed().then(|| ExistedBy {
        time: shown(&ts.gen_time),
        checkpoint_size: cp.size(),
        tsa: shown(&ts.tsa),
        tsa_trusted: ts.trusted_root.is_some(),
        sort_key: (ts.unix_seconds, ts.nanos),
    });
    (v, existed)
}

/// A proven leaf read as the record of `kind` (`capture`, `derivation`) it is filed as:
/// `None`, with a finding saying why, when it cannot be read or is another record's.
fn leaf_filed_as<T>(
    parsed: Result<T, String>,
    id_of: impl Fn(&T) -> i64,
    (kind, format): (&str, &str),
    (filed_id, leaf_file): (i64, &str),
    findings: &mut Vec<Finding>,
) -> Option<T> {
    match parsed {
        Err(why) => {
            findings.push(Finding::fail(
                Code::LeafInvalid,
                format!("data/{leaf_file}"),
                format!(
                    "The log entry is proven, but it is not a readable {format} record: {why}."
                ),
            ));
            None
        }
        Ok(record) if id_of(&record) != filed_id => {
            findings.push(Finding::fail(
                Code::LeafMismatch,
                format!("data/{leaf_file}"),
                format!(
                    "The log record filed as {kind} #{filed_id} is the record of {kind} #{}: \
                     the index does not match the log.",
                    id_of(&record)
                ),
            ));
            None
        }
        Ok(record) => Some(record),
    }
}
