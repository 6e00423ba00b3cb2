//! The verdict: findings with stable codes and plain sentences, grouped by what they are about.

use std::fmt::{self, Write as _};

use serde::Serialize;

/// What a check found. Every finding has a stable machine [`Code`], so scripts and courts'
/// technical experts can rely on it, and a sentence for a reader who is not a technician.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, Serialize)]
#[serde(rename_all = "kebab-case")]
#[non_exhaustive]
pub enum Code {
    /// The bag is complete: every payload file is listed and matches, tag files match.
    BagComplete,
    /// `bagit.txt` is missing or does not declare BagIt 1.0 in UTF-8.
    BagitInvalid,
    /// A file a manifest or the index names is not in the package.
    MissingFile,
    /// A payload file is in the package but not in `manifest-sha256.txt`.
    UnlistedFile,
    /// A file's SHA-256 differs from the one its manifest records: it was changed.
    HashMismatch,
    /// A path climbs out of the bag, is absolute, or is a symbolic link: refused, not followed.
    UnsafePath,
    /// A manifest line does not follow RFC 8493.
    ManifestMalformed,
    /// `Payload-Oxum` (byte and file count) differs from the payload.
    OxumMismatch,
    /// `bag-info.txt` lacks a required field or names another package format.
    BagInfoInvalid,
    /// A file could not be read.
    Unreadable,
    /// `data/package.json` is missing, not JSON, or not `vigil.package/v1`.
    PackageInvalid,
    /// The log key was given by the user (out of band), not taken from the package.
    KeyGiven,
    /// No key was given: the package's own key was used, which proves only self-consistency.
    KeyFromPackage,
    /// The package's own key differs from the one the user gave.
    PackageKeyDiffers,
    /// The package's verifier key file is not a valid note verifier key.
    KeyInvalid,
    /// A checkpoint is signed by the trusted key for its log.
    CheckpointVerified,
    /// A checkpoint is not a well-formed signed checkpoint.
    CheckpointInvalid,
    /// A checkpoint or receipt is not signed by the trusted key (or is for another log).
    WrongKey,
    /// A signature by the trusted key does not verify: the signed text was altered.
    SignatureInvalid,
    /// A receipt verified: signed checkpoint, and the leaf is included in its tree.
    ReceiptVerified,
    /// A receipt is malformed, or its signature or inclusion proof does not verify.
    ReceiptInvalid,
    /// The leaf file differs from the bytes the receipt proves, or names another record.
    LeafMismatch,
    /// A leaf file is not a canonical `vigil.capture/v1` or `vigil.derivation/v1` record.
    LeafInvalid,
    /// Two checkpoints are proven to be of the same append-only log.
    Consistent,
    /// Two checkpoints are not of one append-only log: rewritten history or a wrong proof.
    Inconsistent,
    /// No consistency proof links an older checkpoint to the latest one.
    ConsistencyUnproven,
    /// An item's bytes are those a verified log leaf records.
    ItemVerified,
    /// An item's file differs from the digest or size the index claims for it.
    ItemMismatch,
    /// No verified log leaf in the package records this item's digest and size.
    NotLogged,
    /// The index claims a link (item to capture, derivation, size) the signed data does not.
    ClaimMismatch,
    /// A time-stamp verified: the TSA signed this checkpoint's digest at the time given.
    TimestampVerified,
    /// A time-stamp is malformed, not granted, over other bytes, or its signature fails.
    TimestampInvalid,
    /// The TSA certificate does not chain to a CA the user trusts.
    TsaUntrusted,
    /// No trusted CA was given, so the TSA's identity was not checked.
    TsaUnchecked,
    /// The index's `kind` for an item (video, image…) is not what the item's bytes are.
    KindMismatch,
}

impl Code {
    /// The stable kebab-case identifier, as in the JSON output.
    pub fn as_str(self) -> &'static str {
        match self {
            Code::BagComplete => "bag-complete",
            Code::BagitInvalid => "bagit-invalid",
            Code::MissingFile => "missing-file",
            Code::UnlistedFile => "unlisted-file",
            Code::HashMismatch => "hash-mismatch",
            Code::UnsafePath => "unsafe-path",
            Code::ManifestMalformed => "manifest-malformed",
            Code::OxumMismatch => "oxum-mismatch",
            Code::BagInfoInvalid => "bag-info-invalid",
            Code::Unreadable => "unreadable",
            Code::PackageInvalid => "package-invalid",
            Code::KeyGiven => "key-given",
            Code::KeyFromPackage => "key-from-package",
            Code::PackageKeyDiffers => "package-key-differs",
            Code::KeyInvalid => "key-invalid",
            Code::CheckpointVerified => "checkpoint-verified",
            Code::CheckpointInvalid => "checkpoint-invalid",
            Code::WrongKey => "wrong-key",
            Code::SignatureInvalid => "signature-invalid",
            Code::ReceiptVerified => "receipt-verified",
            Code::ReceiptInvalid => "receipt-invalid",
            Code::LeafMismatch => "leaf-mismatch",
            Code::LeafInvalid => "leaf-invalid",
            Code::Consistent => "consistent",
            Code::Inconsistent => "inconsistent",
            Code::ConsistencyUnproven => "consistency-unproven",
            Code::ItemVerified => "item-verified",
            Code::ItemMismatch => "item-mismatch",
            Code::NotLogged => "not-logged",
            Code::ClaimMismatch => "claim-mismatch",
            Code::TimestampVerified => "timestamp-verified",
            Code::TimestampInvalid => "timestamp-invalid",
            Code::TsaUntrusted => "tsa-untrusted",
            Code::TsaUnchecked => "tsa-unchecked",
            Code::KindMismatch => "kind-mismatch",
        }
    }
}

impl fmt::Display for Code {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

/// Characters of an untrusted string quoted in a finding ([`shown`]).
pub(crate) const MAX_SHOWN: usize = 200;
/// Characters of a finding's subject.
const MAX_SUBJECT: usize = 300;
/// Characters of a finding's message: a few sentences and the strings they quote.
const MAX_MESSAGE: usize = 2000;

/// A string from the package (a path, a claim) as the report quotes it: at most
/// [`MAX_SHOWN`] characters (then `…`), control characters escaped (`\x1b`).
pub(crate) fn shown(s: &str) -> String {
    bounded(s, MAX_SHOWN)
}

/// `s` with control characters escaped and cut after `max` characters, with `…` and how
/// many more there were.
fn bounded(s: &str, max: usize) -> String {
    if s.len() <= max && !s.chars().any(char::is_control) {
        return s.to_owned();
    }
    let mut out = String::with_capacity(max.min(s.len()) + 32);
    let mut chars = s.chars();
    for c in chars.by_ref().take(max) {
        if c.is_control() {
            out.extend(c.escape_default());
        } else {
            out.push(c);
        }
    }
    let rest = chars.count();
    if rest > 0 {
        out.push_str(&format!("… ({rest} more characters)"));
    }
    out
}

/// Whether a finding is a passed check, a caveat the reader must weigh, or a failure.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize)]
#[serde(rename_all = "lowercase")]
pub enum Outcome {
    /// The check passed.
    Pass,
    /// Not a failure, but it limits what the verdict proves (e.g. the key came from the
    /// package itself).
    Note,
    /// The check failed: the package, or the claim checked, cannot be relied on as is.
    Fail,
}

/// One check's result: what was checked, on what, and what it means.
#[derive(Clone, Debug, PartialEq, Eq, Serialize)]
pub struct Finding {
    /// Stable machine code.
    pub code: Code,
    /// Passed, caveat or failed.
    pub outcome: Outcome,
    /// What it is about: a path in the bag, a capture, a checkpoint (may be empty).
    pub subject: String,
    /// A sentence for a reader who is not a technician.
    pub message: String,
}

impl Finding {
    /// A passed check.
    pub fn pass(code: Code, subject: impl Into<String>, message: impl Into<String>) -> Self {
        Self::new(code, Outcome::Pass, subject, message)
    }

    /// A caveat.
    pub fn note(code: Code, subject: impl Into<String>, message: impl Into<String>) -> Self {
        Self::new(code, Outcome::Note, subject, message)
    }

    /// A failed check.
    pub fn fail(code: Code, subject: impl Into<String>, message: impl Into<String>) -> Self {
        Self::new(code, Outcome::Fail, subject, message)
    }

    fn new(
        code: Code,
        outcome: Outcome,
        subject: impl Into<String>,
        message: impl Into<String>,
    ) -> Self {
        // Subjects are often paths the package names, and messages quote what it says: both
        // are bounded and escaped here, whatever a caller forgot (a manifest line may hold
        // a 60 MB path; a name may hold terminal escapes).
        Finding {
            code,
            outcome,
            subject: bounded(&subject.into(), MAX_SUBJECT),
            message: bounded(&message.into(), MAX_MESSAGE),
        }
    }

    /// Whether this finding is a failure.
    pub fn failed(&self) -> bool {
        self.outcome == Outcome::Fail
    }
}

/// Where the log key the verdict rests on came from; the verdict is only as good as the key.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize)]
#[serde(rename_all = "lowercase")]
pub enum KeySource {
    /// Given by the user (`--key`), obtained from the office out of band.
    Given,
    /// Read from the package's own `log/verifier.vkey`.
    Package,
}

/// The key every signature was checked against, and its provenance.
#[derive(Clone, Debug, PartialEq, Eq, Serialize)]
pub struct KeyProvenance {
    /// Given by the user or taken from the package.
    pub source: KeySource,
    /// The note verifier key, `<origin>+<key id>+<base64 key>`, printed for comparison with
    /// the one the office publishes.
    pub vkey: String,
    /// The log's name (origin), the key's name.
    pub origin: String,
    /// The package's own key file, when it could be read (for comparison).
    pub package_vkey: Option<String>,
}

/// The latest signed checkpoint in the package: the tree every receipt is tied to.
#[derive(Clone, Debug, PartialEq, Eq, Serialize)]
pub struct CheckpointInfo {
    /// The log's name.
    pub origin: String,
    /// Number of entries in the tree.
    pub size: u64,
    /// Merkle root, base64.
    pub root: String,
    /// Whether its signature verified against the key.
    pub verified: bool,
}

/// The earliest verified RFC 3161 time-stamp covering a log entry.
#[derive(Clone, Debug, PartialEq, Eq, Serialize)]
pub struct ExistedBy {
    /// The TSA's time (`genTime`), RFC 3339 UTC.
    pub time: String,
    /// The time-stamped checkpoint's tree size.
    pub checkpoint_size: u64,
    /// The TSA certificate's subject.
    pub tsa: String,
    /// Whether the TSA chained to a CA the user trusts (false: checked only against the
    /// certificate in the token).
    pub tsa_trusted: bool,
    #[serde(skip)]
    pub(crate) sort_key: (u64, u32),
}

/// What the package says about a capture and what was proven about it.
#[derive(Clone, Debug, PartialEq, Eq, Serialize)]
pub struct CaptureVerdict {
    /// The capture's id in Vigil's catalog.
    pub id: i64,
    /// The leaf's position in the log, once its receipt verified.
    pub leaf_index: Option<u64>,
    /// What was captured (URL or source), as logged.
    pub source: Option<String>,
    /// When, by the collector's clock, as logged.
    pub captured_at: Option<String>,
    /// Who captured it, as logged.
    pub collector: Option<String>,
    /// How (tooling), as logged.
    pub method: Option<String>,
    /// The capture's status as logged (`ok`, or a failure).
    pub status: Option<String>,
    /// The earliest independent time-stamp covering its leaf.
    pub existed_by: Option<ExistedBy>,
    /// The checks on it.
    pub findings: Vec<Finding>,
}

impl CaptureVerdict {
    /// Whether every check on this capture passed.
    pub fn passed(&self) -> bool {
        !self.findings.iter().any(Finding::failed)
    }
}

/// What the package says about a derivation (a thumbnail, keyframes…) and what was proven.
#[derive(Clone, Debug, PartialEq, Eq, Serialize)]
pub struct DerivationVerdict {
    /// The derivation's id in Vigil's catalog.
    pub id: i64,
    /// The leaf's position in the log, once its receipt verified.
    pub leaf_index: Option<u64>,
    /// The SHA-256 of the item it was made from, as logged.
    pub source_sha256: Option<String>,
    /// The tool that made it, as logged.
    pub tool: Option<String>,
    /// When it was made, as logged.
    pub created_at: Option<String>,
    /// The earliest independent time-stamp covering its leaf.
    pub existed_by: Option<ExistedBy>,
    /// The checks on it.
    pub findings: Vec<Finding>,
}

impl DerivationVerdict {
    /// Whether every check on this derivation passed.
    pub fn passed(&self) -> bool {
        !self.findings.iter().any(Finding::failed)
    }
}

/// The verdict on one item (an original file or a derived picture).
#[derive(Clone, Debug, PartialEq, Eq, Serialize)]
pub struct ItemVerdict {
    /// The SHA-256 the index claims.
    pub sha256: String,
    /// Its file, relative to `data/`.
    pub file: String,
    /// Its size as claimed.
    pub size: u64,
    /// Its kind as the index claims it (video, image…): a claim, see `detected_kind`.
    pub kind: Option<String>,
    /// What its bytes are (`image`, `video`, `audio`, `other`), read from its first bytes;
    /// `None` when the file could not be read.
    pub detected_kind: Option<String>,
    /// The format its bytes are in (`jpeg`, `mp4`…), when recognised.
    pub detected_format: Option<String>,
    /// For a derived item, the item it was made from.
    pub derived_from: Option<String>,
    /// Verified captures whose logged record lists exactly these bytes.
    pub held_by_captures: Vec<i64>,
    /// Verified derivations whose logged record lists exactly these bytes as output.
    pub held_by_derivations: Vec<i64>,
    /// The earliest independent time-stamp covering a leaf that holds it.
    pub existed_by: Option<ExistedBy>,
    /// The checks on it.
    pub findings: Vec<Finding>,
}

impl ItemVerdict {
    /// Whether every check on this item passed.
    pub fn passed(&self) -> bool {
        !self.findings.iter().any(Finding::failed)
    }
}

/// The verdict on one RFC 3161 time-stamp of an earlier checkpoint.
#[derive(Clone, Debug, PartialEq, Eq, Serialize)]
pub struct TimestampVerdict {
    /// The time-stamped checkpoint's tree size (as the index claims it).
    pub size: u64,
    /// The checkpoint file, relative to `data/`.
    pub checkpoint: String,
    /// The TimeStampResp file, relative to `data/`.
    pub timestamp: String,
    /// The TSA's time, when the token verified.
    pub gen_time: Option<String>,
    /// The TSA certificate's subject, when the token verified.
    pub tsa: Option<String>,
    /// Whether the TSA chained to a CA the user trusts.
    pub tsa_trusted: bool,
    /// The checks on it.
    pub findings: Vec<Finding>,
}

impl TimestampVerdict {
    /// Whether every check on this time-stamp passed.
    pub fn passed(&self) -> bool {
        !self.findings.iter().any(Finding::failed)
    }
}

/// Everything checked in a package, grouped as the verdict is read: the bag, the key, the
/// checkpoint, the captures and derivations, the items, the time-stamps.
#[derive(Clone, Debug, Default, PartialEq, Eq, Serialize)]
pub struct Report {
    /// The package checked, as given.
    pub package: String,
    /// The export's id, from `bag-info.txt` or the index.
    pub export_id: Option<String>,
    /// BagIt findings (files, manifests, Payload-Oxum) and the index's.
    pub bag: Vec<Finding>,
    /// The key signatures were checked against, once one could be read.
    pub key: Option<KeyProvenance>,
    /// The latest checkpoint, once it could be read.
    pub checkpoint: Option<CheckpointInfo>,
    /// Findings on the key and the latest checkpoint.
    pub log: Vec<Finding>,
    /// Per capture.
    pub captures: Vec<CaptureVerdict>,
    /// Per derivation.
    pub derivations: Vec<DerivationVerdict>,
    /// Per item.
    pub items: Vec<ItemVerdict>,
    /// Per time-stamp.
    pub timestamps: Vec<TimestampVerdict>,
}

impl Report {
    /// Whether every check passed: the only verdict on which the package may be relied on.
    pub fn passed(&self) -> bool {
        self.failures().next().is_none()
    }

    /// Every finding, in the order of the verdict.
    pub fn findings(&self) -> impl Iterator<Item = &Finding> {
        self.bag
            .iter()
            .chain(&self.log)
            .chain(self.captures.iter().flat_map(|c| &c.findings))
            .chain(self.derivations.iter().flat_map(|d| &d.findings))
            .chain(self.items.iter().flat_map(|i| &i.findings))
            .chain(self.timestamps.iter().flat_map(|t| &t.findings))
    }

    /// The failed findings only.
    pub fn failures(&self) -> impl Iterator<Item = &Finding> {
        self.findings().filter(|f| f.failed())
    }

    /// Whether some finding carries `code` (handy for scripts and tests).
    pub fn has(&self, code: Code) -> bool {
        self.findings().any(|f| f.code == code)
    }

    /// The JSON form: the report with a top-level `passed`.
    pub fn to_json(&self) -> serde_json::Value {
        let mut v = serde_json::to_value(self).unwrap_or(serde_json::Value::Null);
        if let serde_json::Value::Object(map) = &mut v {
            map.insert("passed".into(), self.passed().into());
        }
        v
    }
}

fn mark(o: Outcome) -> &'static str {
    match o {
        Outcome::Pass => "[ok]    ",
        Outcome::Note => "[note]  ",
        Outcome::Fail => "[FAILED]",
    }
}

fn write_findings(out: &mut String, findings: &[Finding], indent: &str) {
    for f in findings {
        let subject = if f.subject.is_empty() {
            String::new()
        } else {
            format!("{}: ", f.subject)
        };
        let _ = writeln!(
            out,
            "{indent}{} {subject}{} ({})",
            mark(f.outcome),
            f.message,
            f.code
        );
    }
}

fn existed(e: &Option<ExistedBy>) -> String {
    match e {
        Some(e) => format!(
            "; existed no later than {} (RFC 3161 time-stamp by {}{}, on the checkpoint of {} entries)",
            e.time,
            e.tsa,
            if e.tsa_trusted {
                ", a TSA you trust"
            } else {
                ", not checked against a trusted CA"
            },
            e.checkpoint_size
        ),
        None => String::new(),
    }
}

/// The readable verdict: a heading with the overall result, then each group with a line
/// per check.
impl fmt::Display for Report {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let mut out = String::new();
        let _ = writeln!(out, "Vigil evidence package: {}", self.package);
        if let Some(id) = &self.export_id {
            let _ = writeln!(out, "Export: {id}");
        }
        let failed = self.failures().count();
        if failed == 0 {
            let _ = writeln!(
                out,
                "VERDICT: PASSED. Every check below passed; read the notes, if any, for what \
                 they do not prove."
            );
        } else {
            let _ = writeln!(
                out,
                "VERDICT: FAILED. {failed} check{} failed (marked FAILED below); the parts \
                 concerned cannot be relied on as they are.",
                if failed == 1 { "" } else { "s" }
            );
        }
        out.push_str("\nThe package (BagIt bag)\n");
        write_findings(&mut out, &self.bag, "  ");
        out.push_str("\nThe log key and checkpoint\n");
        if let Some(k) = &self.key {
            let _ = writeln!(
                out,
                "  Key ({}): {}",
                match k.source {
                    KeySource::Given => "given by you",
                    KeySource::Package => "taken from the package itself",
                },
                k.vkey
            );
        }
        if let Some(c) = &self.checkpoint {
            let _ = writeln!(
                out,
                "  Latest checkpoint: log {}, {} entries, root {}",
                c.origin, c.size, c.root
            );
        }
        write_findings(&mut out, &self.log, "  ");
        if !self.captures.is_empty() {
            out.push_str("\nCaptures\n");
        }
        for c in &self.captures {
            let _ = writeln!(
                out,
                "  Capture #{}{}{}{}{}{}{}",
                c.id,
                c.source
                    .as_deref()
                    .map(|s| format!(" of {s}"))
                    .unwrap_or_default(),
                c.captured_at
                    .as_deref()
                    .map(|s| format!(", captured {s}"))
                    .unwrap_or_default(),
                c.collector
                    .as_deref()
                    .map(|s| format!(" by {s}"))
                    .unwrap_or_default(),
                c.method
                    .as_deref()
                    .map(|s| format!(" with {s}"))
                    .unwrap_or_default(),
                c.leaf_index
                    .map(|i| format!(", log entry {i}"))
                    .unwrap_or_default(),
                existed(&c.existed_by)
            );
            write_findings(&mut out, &c.findings, "    ");
        }
        if !self.derivations.is_empty() {
            out.push_str("\nDerivations\n");
        }
        for d in &self.derivations {
            let _ = writeln!(
                out,
                "  Derivation #{}{}{}{}{}",
                d.id,
                d.source_sha256
                    .as_deref()
                    .map(|s| format!(" from item {s}"))
                    .unwrap_or_default(),
                d.tool
                    .as_deref()
                    .map(|s| format!(" by {s}"))
                    .unwrap_or_default(),
                d.leaf_index
                    .map(|i| format!(", log entry {i}"))
                    .unwrap_or_default(),
                existed(&d.existed_by)
            );
            write_findings(&mut out, &d.findings, "    ");
        }
        if !self.items.is_empty() {
            out.push_str("\nItems\n");
        }
        for i in &self.items {
            let _ = writeln!(
                out,
                "  {} {} ({} bytes{}): {}{}",
                if i.passed() {
                    "VERIFIED"
                } else {
                    "NOT VERIFIED"
                },
                i.file,
                i.size,
                item_kind(i),
                item_sentence(i),
                existed(&i.existed_by)
            );
            write_findings(&mut out, &i.findings, "    ");
        }
        if !self.timestamps.is_empty() {
            out.push_str("\nTime-stamps\n");
        }
        for t in &self.timestamps {
            let _ = writeln!(
                out,
                "  Checkpoint of {} entries{}",
                t.size,
                match (&t.gen_time, &t.tsa) {
                    (Some(time), Some(tsa)) => format!(", time-stamped {time} by {tsa}"),
                    _ => String::new(),
                }
            );
            write_findings(&mut out, &t.findings, "    ");
        }
        f.write_str(&out)
    }
}

/// The item's kind as its bytes show it (the index's claim only when they could not be read).
fn item_kind(i: &ItemVerdict) -> String {
    match (&i.detected_kind, &i.detected_format, &i.kind) {
        (Some(k), Some(f), _) => format!(", {k} ({f})"),
        (Some(k), None, _) => format!(", {k}"),
        (None, _, Some(k)) => format!(", {k} as the index says"),
        (None, _, None) => String::new(),
    }
}

fn list(ids: &[i64], what: &str) -> String {
    let ids: Vec<String> = ids.iter().map(|i| format!("#{i}")).collect();
    format!(
        "{what}{} {}",
        if ids.len() == 1 { "" } else { "s" },
        ids.join(", ")
    )
}

fn item_sentence(i: &ItemVerdict) -> String {
    let misdescribed = i.findings.iter().any(|f| f.code == Code::KindMismatch);
    let tied = i
        .findings
        .iter()
        .all(|f| !f.failed() || f.code == Code::KindMismatch);
    if !tied {
        return "this file could not be tied to the log; see below.".into();
    }
    let mut who = Vec::new();
    if !i.held_by_captures.is_empty() {
        who.push(list(&i.held_by_captures, "capture"));
    }
    if !i.held_by_derivations.is_empty() {
        who.push(list(&i.held_by_derivations, "derivation"));
    }
    format!(
        "these exact bytes (SHA-256 {}) are those recorded in the log by {}{}",
        i.sha256,
        who.join(" and "),
        if misdescribed {
            ", but the index misdescribes what they are (see below)"
        } else {
            ""
        }
    )
}
