//! The transparency log: every committed capture is one leaf; after each capture batch the
//! tree is extended and a new checkpoint signed. Receipts and consistency proofs come from
//! here, and so do the offline checks a third party runs on them.
//!
//! # Sequencing, and what a crash leaves
//! The leaf is written by the catalog in the capture's own transaction, so a capture exists
//! exactly when its leaf does. Publishing the tree is a separate step, [`Log::publish`], run
//! under the store's sequencer lock (one process at a time):
//!
//! 0. check that the key is the one the catalog records as signing, and anchor the audit
//!    trail's head when it moved (a leaf, written in its own transaction; a crash after it
//!    leaves one more leaf for the next run to sign);
//! 1. read the latest signed checkpoint (size `m`) and the number of leaves `n`;
//! 2. build the tiles for leaves `m..n` from the catalog's leaf hashes and write them durably.
//!    A crash here leaves extra tiles; tiles are named by their content's extent, so the
//!    retry writes the same bytes;
//! 3. check that the new tree extends the last signed one (a consistency proof from the
//!    tiles, verified against the old root): a damaged tile can never lead to a checkpoint that
//!    contradicts an earlier one;
//! 4. sign the checkpoint for `n` and record it in the catalog. A crash before the record
//!    leaves nothing anyone has seen; signing again gives the same bytes (Ed25519 is
//!    deterministic);
//! 5. append it to the journal of published checkpoints, `log/checkpoints` (a crash before
//!    this leaves the journal one checkpoint short, which `vigil verify` never reports), then
//!    publish it as `log/checkpoint` (atomic rename). A crash before this is repaired by the
//!    next run, which finds the recorded checkpoint newer than the file;
//! 6. remove partial tiles the new tree superseded.
//!
//! Every later checkpoint is therefore built on the leaves of every earlier one: the log never
//! contradicts itself, and `vigil verify` re-derives it all from the catalog.

use std::collections::{HashMap, HashSet};
use std::path::PathBuf;
use std::time::Duration;

use serde::Serialize;
use vigil_store::{
    Catalog, LeafSubject, LogDir, LogEventKind, LogLeaf, LoggedCapture, Sha256Digest, StoreLayout,
    StoredCheckpoint, decode_capture_leaf, now_rfc3339,
};
use vigil_tlog::{
    Checkpoint, CompactRange, Hash, Receipt, ReceiptError, Signer, Tile, TileCache, TileNodes,
    TileReader, Verifier, Verifiers, build_tiles, consistency_proof, inclusion_proof,
    open_checkpoint, partial_tiles, verify_consistency, verify_inclusion,
    verify_receipt_from_extra,
};

use crate::CoreError;
use crate::config::LogConfig;
use crate::verify::Problem;

/// Leaves read from the catalog per step when extending or re-deriving the tree: a multiple
/// of 256² so the two lowest tile levels are complete at every step boundary.
const LEAVES_PER_STEP: u64 = 1 << 16;

/// First line of a consistency proof file: the `add-checkpoint` body of C2SP tlog-witness.
const OLD_SIZE_PREFIX: &str = "old ";

/// A store's transparency log: its key, its tiles and its checkpoints.
pub struct Log {
    dir: LogDir,
    signer: Signer,
    cache: TileCache,
    tsa: Option<(String, Duration)>,
}

/// The default log origin for a new store: names this machine and a random store id, so two
/// stores never share an origin.
pub fn default_origin() -> Result<String, CoreError> {
    let host: String = whoami::fallible::hostname()
        .unwrap_or_else(|_| "localhost".to_owned())
        .chars()
        .filter(|c| c.is_ascii_alphanumeric() || matches!(c, '-' | '.'))
        .collect();
    let mut id = [0u8; 8];
    getrandom::fill(&mut id).map_err(|e| CoreError::Usage(format!("no randomness: {e}")))?;
    let host = if host.is_empty() {
        "localhost".to_owned()
    } else {
        host.to_ascii_lowercase()
    };
    Ok(format!("{host}/vigil/{}", hex::encode(id)))
}

impl Log {
    /// Creates the log key (owner-only) unless the store has one. Returns whether it did.
    pub fn create_key(layout: &StoreLayout, origin: &str) -> Result<bool, CoreError> {
        let path = layout.log_key();
        if path.exists() {
            return Ok(false);
        }
        let mut seed = [0u8; 32];
        getrandom::fill(&mut seed).map_err(|e| CoreError::Usage(format!("no randomness: {e}")))?;
        let signer = Signer::from_seed(origin, &seed)
            .map_err(|e| CoreError::Usage(format!("log origin {origin:?}: {e}")))?;
        Log::write_key(layout, &signer)
    }

    /// Writes `signer` as the store's key (owner-only) unless a key file exists. Returns
    /// whether it did.
    fn write_key(layout: &StoreLayout, signer: &Signer) -> Result<bool, CoreError> {
        let path = layout.log_key();
        // Written to a private temp file, then linked into place: linking fails if another
        // process created a key meanwhile, and that key wins (a store has one key).
        let io = |path: PathBuf| move |source| CoreError::Io { path, source };
        let temp = layout
            .root()
            .join(format!(".log.key.{}.tmp", std::process::id()));
        let _ = std::fs::remove_file(&temp);
        {
            let mut f = vigil_store::private_file(&temp).map_err(io(temp.clone()))?;
            std::io::Write::write_all(&mut f, format!("{}\n", signer.to_skey()).as_bytes())
                .and_then(|_| f.sync_all())
                .map_err(io(temp.clone()))?;
        }
        let linked = std::fs::hard_link(&temp, &path);
        let _ = std::fs::remove_file(&temp);
        match linked {
            Ok(()) => {
                vigil_store::fsync_dir(layout.root())?;
                Ok(true)
            }
            Err(e) if e.kind() == std::io::ErrorKind::AlreadyExists => Ok(false),
            Err(e) => Err(io(path)(e)),
        }
    }

    /// Opens the log of a store whose log holds `history` leaves (or checkpoints). A store
    /// made before the log existed (no history) gets its key here unless the store is opened
    /// read-only (`writable` false: nothing is created);
    /// a log with history whose key is gone is refused ([`CoreError::LogKeyMissing`]): a new
    /// key only ever comes from [`Log::rotate_key`], recorded in the log. With
    /// `config.tsa_url`, every checkpoint signed from now on is also time-stamped by that
    /// RFC 3161 authority.
    pub fn open(
        layout: &StoreLayout,
        config: &LogConfig,
        history: u64,
        writable: bool,
    ) -> Result<Log, CoreError> {
        let path = layout.log_key();
        if !path.exists() {
            if history > 0 || !writable {
                return Err(CoreError::LogKeyMissing {
                    path,
                    leaves: history,
                });
            }
            Log::create_key(layout, &default_origin()?)?;
        }
        let text = std::fs::read_to_string(&path).map_err(|source| CoreError::Io {
            path: path.clone(),
            source,
        })?;
        let signer = Signer::from_skey(text.trim()).map_err(|e| {
            CoreError::Usage(format!("{}: not a log signing key: {e}", path.display()))
        })?;
        Ok(Log {
            dir: if writable {
                LogDir::open(&layout.log())?
            } else {
                LogDir::existing(&layout.log())
            },
            signer,
            cache: TileCache::new(64),
            tsa: config
                .tsa_url
                .as_ref()
                .filter(|u| !u.is_empty())
                .map(|u| (u.clone(), Duration::from_secs(config.tsa_timeout_secs))),
        })
    }

    /// Replaces the log's signing key with a new one under `new_origin` (default: a new
    /// random origin), recorded in the log itself: a `key-rotation` leaf naming the old and new
    /// verifier keys and `reason`, then a checkpoint signed by the new key and, when the old
    /// key file is still there and is the recorded one, by the old key too, so a holder of the
    /// old verifier key sees the hand-over. The old key file is kept beside as
    /// `log.key.retired-<unix time>`.
    ///
    /// Steps and what a crash leaves: (1) the old key file is renamed aside and the new one
    /// written, durably; a crash here leaves a key the catalog does not record, which every
    /// command refuses, and running this again completes the rotation. (2) The rotation leaf
    /// and the new key's record are one catalog transaction. (3) The checkpoint is published
    /// as by [`Log::publish`].
    pub async fn rotate_key(
        layout: &StoreLayout,
        config: &LogConfig,
        catalog: &Catalog,
        new_origin: Option<&str>,
        reason: &str,
    ) -> Result<KeyRotation, CoreError> {
        let reason = reason.trim();
        if reason.is_empty() || reason.len() > 1000 {
            return Err(CoreError::Usage(
                "a key rotation needs a reason of 1 to 1000 bytes (--reason)".into(),
            ));
        }
        let dir = LogDir::open(&layout.log())?;
        let _lock = tokio::task::block_in_place(|| dir.lock())?;
        let key_path = layout.log_key();
        let held = std::fs::read_to_string(&key_path)
            .ok()
            .and_then(|t| Signer::from_skey(t.trim()).ok());
        let mut recorded = catalog.log_keys().await?;
        if recorded.is_empty()
            && let Some(old) = &held
        {
            catalog
                .adopt_first_log_key(old.name(), &old.verifier().to_vkey())
                .await?;
            recorded = catalog.log_keys().await?;
        }
        let current = recorded.last().cloned();
        // Only the recorded key may cosign the hand-over; any other file is not the log's.
        let old_signer = held.filter(|h| {
            current
                .as_ref()
                .is_some_and(|c| c.vkey == h.verifier().to_vkey())
        });
        let new_origin = match new_origin {
            Some(o) => o.to_owned(),
            None => default_origin()?,
        };
        if recorded.iter().any(|k| k.origin == new_origin) {
            return Err(CoreError::Usage(format!(
                "the origin {new_origin:?} has signed this log before: a new key needs a new origin"
            )));
        }
        let mut seed = [0u8; 32];
        getrandom::fill(&mut seed).map_err(|e| CoreError::Usage(format!("no randomness: {e}")))?;
        let signer = Signer::from_seed(&new_origin, &seed)
            .map_err(|e| CoreError::Usage(format!("log origin {new_origin:?}: {e}")))?;
        if key_path.exists() {
            let retired = layout.root().join(format!(
                "log.key.retired-{}",
                time::OffsetDateTime::now_utc().unix_timestamp()
            ));
            std::fs::rename(&key_path, &retired).map_err(|source| CoreError::Io {
                path: retired.clone(),
                source,
            })?;
        }
        if !Log::write_key(layout, &signer)? {
            return Err(CoreError::Usage(
                "another process wrote a log key meanwhile; run the rotation again".into(),
            ));
        }
        let detail = serde_json::json!({
            "old_origin": current.as_ref().map(|c| c.origin.clone()),
            "old_vkey": current.as_ref().map(|c| c.vkey.clone()),
            "new_origin": new_origin,
            "new_vkey": signer.verifier().to_vkey(),
            "reason": reason,
            "old_key_signed": old_signer.is_some(),
        });
        let first_size = catalog
            .record_key_rotation(&new_origin, &signer.verifier().to_vkey(), &detail)
            .await?;
        let log = Log::open(layout, config, first_size, true)?;
        let cosigners: Vec<&Signer> = old_signer.iter().collect();
        let checkpoint = log.publish_signed_by(catalog, &cosigners).await?;
        Ok(KeyRotation {
            old_origin: current.map(|c| c.origin),
            new_origin,
            vkey: log.vkey(),
            old_key_signed: old_signer.is_some(),
            checkpoint,
        })
    }

    /// The log's origin line (also its key name).
    pub fn origin(&self) -> &str {
        self.signer.name()
    }

    /// The verifier key, in C2SP vkey form, that third parties use to check checkpoints.
    pub fn vkey(&self) -> String {
        self.signer.verifier().to_vkey()
    }

    /// Extends the tree to every committed leaf and signs a checkpoint for it (see the module
    /// docs for the steps). Returns the latest checkpoint; when nothing is new, the current one.
    pub async fn publish(&self, catalog: &Catalog) -> Result<StoredCheckpoint, CoreError> {
        let _lock = tokio::task::block_in_place(|| self.dir.lock())?;
        self.publish_locked(catalog).await
    }

    /// Before anything is signed: the key must be the one the catalog records as signing this
    /// log (a log whose keys were never recorded adopts the key it holds), and the audit
    /// trail's head, when it moved since the last anchor, is appended as an `audit-anchor`
    /// leaf, so the checkpoint about to be signed commits to the trail as it stands.
    async fn prepare_signing(&self, catalog: &Catalog) -> Result<(), CoreError> {
        let keys = catalog.log_keys().await?;
        match keys.last() {
            None => {
                catalog
                    .adopt_first_log_key(self.origin(), &self.vkey())
                    .await?
            }
            Some(k) if k.vkey != self.vkey() => {
                return Err(CoreError::LogKeyMismatch {
                    found: self.origin().to_owned(),
                    expected: k.origin.clone(),
                });
            }
            Some(_) => {}
        }
        if let Some((id, hash)) = catalog.audit_head().await?
            && catalog.latest_audit_anchor().await? != Some((id, hash))
        {
            catalog
                .append_log_event(
                    LogEventKind::AuditAnchor,
                    &serde_json::json!({ "audit_event": id, "audit_hash": hex::encode(hash) }),
                )
                .await?;
        }
        Ok(())
    }

    async fn publish_locked(&self, catalog: &Catalog) -> Result<StoredCheckpoint, CoreError> {
        self.publish_signed_by(catalog, &[]).await
    }

    /// [`Log::publish_locked`], with `cosigners` adding their signatures to a new checkpoint
    /// (the old key, when a rotation can still use it).
    async fn publish_signed_by(
        &self,
        catalog: &Catalog,
        cosigners: &[&Signer],
    ) -> Result<StoredCheckpoint, CoreError> {
        self.prepare_signing(catalog).await?;
        let latest = catalog.latest_checkpoint().await?;
        let size = catalog.log_size().await?;
        if let Some(c) = &latest
            && c.tree_size == size
        {
            if self.dir.read_checkpoint()?.as_deref() != Some(c.signed_note.as_str()) {
                self.dir.write_checkpoint(&c.signed_note)?;
            }
            return Ok(c.clone());
        }
        let old_size = latest.as_ref().map_or(0, |c| c.tree_size);
        if old_size > size {
            return Err(log_damaged(format!(
                "a checkpoint for {old_size} leaves is recorded but the catalog holds {size}"
            )));
        }
        // In steps, so memory stays bounded however many leaves wait (at least one step, so
        // an empty log gets its first checkpoint too).
        let mut cur = old_size;
        let mut passed = vec![old_size];
        let root = loop {
            let end = (cur + LEAVES_PER_STEP).min(size);
            let hashes = catalog.leaf_hashes(cur, end).await?;
            let update = tokio::task::block_in_place(|| -> Result<_, CoreError> {
                let update = build_tiles(cur, &hashes, &self.dir).map_err(tile_error)?;
                self.dir.write_tiles(&update.tiles)?;
                Ok(update)
            })?;
            cur = end;
            passed.push(cur);
            if cur >= size {
                break update.root;
            }
        };
        if let Some(old) = &latest {
            self.check_extends(old, size, &root)?;
        }
        let checkpoint = Checkpoint::new(self.origin(), size, root)
            .map_err(|e| CoreError::Usage(format!("checkpoint: {e}")))?;
        let mut signers = vec![&self.signer];
        signers.extend(cosigners);
        let signed_note = checkpoint
            .sign(&signers)
            .map_err(|e| CoreError::Usage(format!("signing the checkpoint: {e}")))?;
        let timestamp_token = self.timestamp(&signed_note).await;
        let stored = StoredCheckpoint {
            tree_size: size,
            root,
            signed_note,
            signed_at: now_rfc3339(),
            timestamp_token,
        };
        catalog.record_checkpoint(&stored).await?;
        // A crash before the journal line leaves it one checkpoint short: never a false alarm.
        self.dir.journal_checkpoint(size, &stored.signed_note)?;
        self.dir.write_checkpoint(&stored.signed_note)?;
        let keep: HashSet<Tile> = partial_tiles(size).into_iter().collect();
        let superseded: Vec<Tile> = passed
            .iter()
            .flat_map(|s| partial_tiles(*s))
            .filter(|t| !keep.contains(t))
            .collect();
        self.dir.remove_tiles(&superseded);
        Ok(stored)
    }

    /// An RFC 3161 time-stamp over the signed note, when a TSA is configured. A TSA that is
    /// down must not stop evidence from being logged: the failure is reported and the
    /// checkpoint recorded without one.
    async fn timestamp(&self, signed_note: &str) -> Option<Vec<u8>> {
        let (url, timeout) = self.tsa.as_ref()?;
        let digest = Sha256Digest::of(signed_note.as_bytes());
        match vigil_capture::tsa::request_timestamp(url, &digest.0, *timeout).await {
            Ok(t) => Some(t.response),
            Err(e) => {
                tracing::warn!("checkpoint not time-stamped: {e}");
                None
            }
        }
    }

    /// The RFC 3161 time-stamp response of the checkpoint of `size` leaves (the latest when
    /// `None`), with that checkpoint: verify with
    /// `openssl ts -verify -data CHECKPOINT -in TSR -CAfile TSA-CA.pem`.
    pub async fn timestamp_of(
        &self,
        catalog: &Catalog,
        size: Option<u64>,
    ) -> Result<(StoredCheckpoint, Vec<u8>), CoreError> {
        let all = catalog.checkpoints().await?;
        let found = match size {
            Some(n) => all.into_iter().find(|c| c.tree_size == n),
            None => all.into_iter().last(),
        }
        .ok_or_else(|| CoreError::Usage("no such checkpoint".into()))?;
        match found.timestamp_token.clone() {
            Some(t) => Ok((found, t)),
            None => Err(CoreError::Usage(format!(
                "the checkpoint of {} leaves has no time-stamp (set [log] tsa_url, or --tsa)",
                found.tree_size
            ))),
        }
    }

    /// Refuses to sign a tree that does not extend the last signed one.
    fn check_extends(
        &self,
        old: &StoredCheckpoint,
        size: u64,
        root: &Hash,
    ) -> Result<(), CoreError> {
        if old.tree_size == 0 {
            return Ok(());
        }
        let nodes = TileNodes::new(&self.dir, size);
        let proof = consistency_proof(old.tree_size, size, &nodes)
            .map_err(|e| log_damaged(format!("tiles cannot prove consistency: {e}")))?;
        verify_consistency(old.tree_size, size, &old.root, root, &proof).map_err(|e| {
            log_damaged(format!(
                "the tree of {size} leaves does not extend the signed tree of {} leaves: {e}",
                old.tree_size
            ))
        })
    }

    /// A C2SP tlog-proof receipt for one capture, against the latest checkpoint (published
    /// first if the capture is newer). Its `extra` line is the capture's exact leaf bytes.
    /// Refused when the capture's row and its logged leaf disagree, or the leaf is not the
    /// one the tree holds: a receipt is never written for an edited record.
    pub async fn receipt(&self, catalog: &Catalog, capture_id: i64) -> Result<String, CoreError> {
        let leaf = catalog
            .log_leaf_of_capture(capture_id)
            .await?
            .ok_or_else(|| {
                CoreError::Usage(format!(
                    "capture #{capture_id} has no log leaf (no such capture, or a row Vigil did \
                     not commit: run `vigil verify`)"
                ))
            })?;
        let record = catalog.capture(capture_id).await?;
        if record.is_none_or(|c| vigil_store::encode_capture_leaf(c.id, &c.record) != leaf.leaf) {
            return Err(CoreError::Usage(format!(
                "no receipt: capture #{capture_id}'s catalog row differs from the record logged \
                 as leaf {} (run `vigil verify`)",
                leaf.index
            )));
        }
        let _lock = tokio::task::block_in_place(|| self.dir.lock())?;
        let checkpoint = self.publish_locked(catalog).await?;
        self.receipt_at(&leaf, &checkpoint)
    }

    /// Receipts for `leaves` and consistency proofs from each of `earlier` tree sizes, all
    /// against one checkpoint (the latest, published first), made under the sequencer lock so
    /// that no tile they read is superseded meanwhile: what an export ships.
    pub async fn proofs_for_export(
        &self,
        catalog: &Catalog,
        leaves: &[LogLeaf],
        earlier: &[u64],
    ) -> Result<ExportProofs, CoreError> {
        let _lock = tokio::task::block_in_place(|| self.dir.lock())?;
        let checkpoint = self.publish_locked(catalog).await?;
        let receipts = leaves
            .iter()
            .map(|leaf| self.receipt_at(leaf, &checkpoint))
            .collect::<Result<Vec<_>, _>>()?;
        let consistency = earlier
            .iter()
            .map(|from| self.consistency_at(*from, &checkpoint))
            .collect::<Result<Vec<_>, _>>()?;
        Ok(ExportProofs {
            checkpoint,
            receipts,
            consistency,
        })
    }

    /// A receipt for `leaf` against `checkpoint`; the caller holds the sequencer lock.
    fn receipt_at(
        &self,
        leaf: &LogLeaf,
        checkpoint: &StoredCheckpoint,
    ) -> Result<String, CoreError> {
        if leaf.index >= checkpoint.tree_size {
            return Err(CoreError::Usage(format!(
                "leaf {} is not in the checkpoint of {} leaves",
                leaf.index, checkpoint.tree_size
            )));
        }
        let nodes = TileNodes::new(&self.dir, checkpoint.tree_size).with_cache(&self.cache);
        let proof = tokio::task::block_in_place(|| {
            inclusion_proof(leaf.index, checkpoint.tree_size, &nodes)
        })
        .map_err(|e| log_damaged(format!("inclusion proof for leaf {}: {e}", leaf.index)))?;
        // The receipt must hold for its bytes: a leaf row edited in the catalog (bytes and
        // stored hash alike) is not the leaf the signed tree holds.
        verify_inclusion(
            &vigil_tlog::leaf_hash(&leaf.leaf),
            leaf.index,
            checkpoint.tree_size,
            &proof,
            &checkpoint.root,
        )
        .map_err(|e| {
            CoreError::Usage(format!(
                "no receipt: leaf {} as the catalog holds it is not the leaf the signed tree \
                 holds ({e}; run `vigil verify`)",
                leaf.index
            ))
        })?;
        Ok(Receipt {
            extra: Some(leaf.leaf.clone()),
            index: leaf.index,
            proof,
            checkpoint: checkpoint.signed_note.clone(),
        }
        .to_text())
    }

    /// A consistency proof from tree size `from` to the latest checkpoint, as the body of a
    /// C2SP tlog-witness `add-checkpoint` request: `old N`, the proof hashes, a blank line,
    /// the signed checkpoint.
    pub async fn consistency(&self, catalog: &Catalog, from: u64) -> Result<String, CoreError> {
        let _lock = tokio::task::block_in_place(|| self.dir.lock())?;
        let checkpoint = self.publish_locked(catalog).await?;
        self.consistency_at(from, &checkpoint)
    }

    /// The same proof to `checkpoint`; the caller holds the sequencer lock.
    fn consistency_at(
        &self,
        from: u64,
        checkpoint: &StoredCheckpoint,
    ) -> Result<String, CoreError> {
        let size = checkpoint.tree_size;
        if from > size {
            return Err(CoreError::Usage(format!(
                "the log has {size} leaves; there is no tree of {from} to prove consistency from"
            )));
        }
        let proof = if from == 0 || from == size {
            Vec::new()
        } else {
            let nodes = TileNodes::new(&self.dir, size).with_cache(&self.cache);
            tokio::task::block_in_place(|| consistency_proof(from, size, &nodes))
                .map_err(|e| log_damaged(format!("consistency proof: {e}")))?
        };
        let mut out = format!("{OLD_SIZE_PREFIX}{from}\n");
        for h in proof {
            out.push_str(&h.to_base64());
            out.push('\n');
        }
        out.push('\n');
        out.push_str(&checkpoint.signed_note);
        Ok(out)
    }

    /// Re-derives the whole log from the catalog and compares: each leaf with its capture row,
    /// every signed checkpoint (signature and root), the tiles, and the published file.
    pub async fn audit(&self, catalog: &Catalog) -> Result<LogAudit, CoreError> {
        let mut audit = LogAudit::default();
        // Each checkpoint is checked with the key that signs at its size (after a rotation,
        // the new key; before any key was recorded, the key this store holds).
        let mut keys: Vec<(u64, String, Verifiers)> = Vec::new();
        let recorded = catalog.log_keys().await?;
        for k in &recorded {
            match Verifier::from_vkey(&k.vkey) {
                Ok(v) => keys.push((k.first_size, k.origin.clone(), v.into())),
                Err(e) => audit.problem(
                    format!("log key {}", k.origin),
                    format!("the recorded verifier key is not valid: {e}"),
                ),
            }
        }
        if keys.is_empty() {
            keys.push((0, self.origin().to_owned(), self.signer.verifier().into()));
        }
        if let Some(k) = recorded.last()
            && k.vkey != self.vkey()
        {
            audit.problem(
                "log.key".into(),
                format!(
                    "is not the key that signs this log (its origin is {:?}, the log's is {:?})",
                    self.origin(),
                    k.origin
                ),
            );
        }
        let key_at = |size: u64| {
            keys.iter()
                .rev()
                .find(|(first, _, _)| *first <= size)
                .or(keys.first())
        };
        let checkpoints = catalog.checkpoints().await?;
        // Roots the catalog's leaves must give at given sizes: every recorded checkpoint's,
        // and every published one's from the journal (a second record of what was published).
        let mut expected: Vec<ExpectedRoot> = Vec::new();
        for c in &checkpoints {
            expected.push(ExpectedRoot {
                size: c.tree_size,
                root: c.root,
                subject: format!("checkpoint {}", c.tree_size),
                published: false,
            });
            let Some((_, origin, verifiers)) = key_at(c.tree_size) else {
                continue;
            };
            match open_checkpoint(c.signed_note.as_bytes(), origin, verifiers) {
                Ok((parsed, _)) if parsed.size() != c.tree_size || parsed.root() != &c.root => {
                    audit.problem(
                        format!("checkpoint {}", c.tree_size),
                        "the signed note and the recorded size or root differ".into(),
                    );
                }
                Ok(_) => {}
                Err(e) => audit.problem(
                    format!("checkpoint {}", c.tree_size),
                    format!("does not verify with the log key: {e}"),
                ),
            }
        }
        let recorded: HashMap<u64, Hash> =
            checkpoints.iter().map(|c| (c.tree_size, c.root)).collect();
        let journal = self.dir.journaled_checkpoints()?;
        for line in journal.unreadable_lines {
            audit.problem(
                "log/checkpoints".into(),
                format!("line {line} is not a journaled checkpoint"),
            );
        }
        for (n, (size, note)) in journal.checkpoints.iter().enumerate() {
            let subject = format!("published checkpoint {size}");
            let Some((_, origin, verifiers)) = key_at(*size) else {
                continue;
            };
            let root = match open_checkpoint(note.as_bytes(), origin, verifiers) {
                Ok((parsed, _)) if parsed.size() == *size => *parsed.root(),
                Ok(_) => {
                    audit.problem(
                        subject,
                        format!("log/checkpoints line {} names another size", n + 1),
                    );
                    continue;
                }
                Err(e) => {
                    audit.problem(subject, format!("does not verify with the log key: {e}"));
                    continue;
                }
            };
            match recorded.get(size) {
                None => audit.problem(
                    subject.clone(),
                    "was published (log/checkpoints) but has vanished from the catalog".into(),
                ),
                Some(r) if *r != root => audit.problem(
                    subject.clone(),
                    "the catalog's checkpoint of that size has another root: the history was \
                     rewritten after it was published"
                        .into(),
                ),
                Some(_) => {}
            }
            expected.push(ExpectedRoot {
                size: *size,
                root,
                subject,
                published: true,
            });
        }
        expected.sort_by_key(|e| e.size);
        let latest = checkpoints.last();
        let signed_size = latest.map_or(0, |c| c.tree_size);
        let size = catalog.log_size().await?;
        audit.leaves = size;
        audit.checkpoints = checkpoints.len() as u64;
        audit.signed_size = signed_size;
        let captures = catalog.capture_count().await?.max(0) as u64;
        let derivations = catalog.derivation_count().await?.max(0) as u64;
        let events = catalog.log_event_count().await?.max(0) as u64;
        if captures + derivations + events != size {
            audit.problem(
                "log".into(),
                format!(
                    "{captures} captures, {derivations} derivations and {events} log events \
                     but {size} leaves: each must have one"
                ),
            );
        }
        // Vigil writes a capture and its leaf in one transaction: a capture without one was
        // put into the catalog by other means. It is reported, never logged.
        let unlogged = catalog.unlogged_captures().await?;
        for id in unlogged.iter().take(MAX_NAMED) {
            audit.problem(
                format!("capture #{id}"),
                "has no leaf in the transparency log: Vigil did not commit it (a row inserted \
                 by other means), or the store predates the log (`vigil upgrade`)"
                    .into(),
            );
        }
        if unlogged.len() > MAX_NAMED {
            audit.problem(
                "captures".into(),
                format!("{} more captures have no leaf", unlogged.len() - MAX_NAMED),
            );
        }
        self.audit_anchors(catalog, &mut audit).await?;
        let mut wanted = expected.iter().peekable();
        let mut range = CompactRange::new();
        let mut tiles: HashMap<Tile, Vec<u8>> = HashMap::new();
        while let Some(c) = wanted.next_if(|c| c.size == 0) {
            if c.root != range.root() {
                audit.problem(c.subject.clone(), "the empty tree has another root".into());
            }
        }
        while range.size() < size {
            let from = range.size();
            let page = catalog.log_leaves(from, LEAVES_PER_STEP).await?;
            let mut signed_hashes = Vec::with_capacity(page.len());
            for leaf in &page {
                if leaf.index != range.size() {
                    break;
                }
                self.audit_leaf(catalog, leaf, &mut audit).await;
                range.append(leaf.leaf_hash);
                if range.size() <= signed_size {
                    signed_hashes.push(leaf.leaf_hash);
                }
                while let Some(c) = wanted.next_if(|c| c.size == range.size()) {
                    if range.root() != c.root {
                        audit.problem(
                            c.subject.clone(),
                            if c.published {
                                "the catalog's leaves no longer give the root that was \
                                 published: the history was rewritten"
                            } else {
                                "its root is not the root of the catalog's leaves: the log was \
                                 rewritten"
                            }
                            .into(),
                        );
                    }
                }
            }
            // Tiles are compared for the signed tree only: later leaves are not yet published.
            if !signed_hashes.is_empty() {
                self.audit_tiles(from, &signed_hashes, &mut tiles, &mut audit);
            }
            if range.size() == from || range.size() < from + page.len() as u64 {
                audit.problem(
                    format!("leaf {}", range.size()),
                    "missing from the catalog".into(),
                );
                break;
            }
        }
        for c in wanted {
            let held = range.size();
            audit.problem(
                c.subject.clone(),
                if held < size {
                    format!(
                        "signed for {} leaves, but the catalog's leaves stop at {held} \
                         (leaf {held} is missing)",
                        c.size
                    )
                } else {
                    format!(
                        "signed for {} leaves, but the catalog holds only {size}",
                        c.size
                    )
                },
            );
        }
        for tile in partial_tiles(signed_size) {
            let expected = tiles.get(&tile).cloned();
            self.compare_tile(&tile, expected.as_deref(), &mut audit);
        }
        audit.unsigned = size.saturating_sub(signed_size);
        match (self.dir.read_checkpoint()?, latest) {
            (Some(published), Some(l)) if published != l.signed_note => audit.problem(
                "log/checkpoint".into(),
                "differs from the latest checkpoint recorded in the catalog".into(),
            ),
            (None, Some(_)) => audit.problem("log/checkpoint".into(), "missing".into()),
            _ => {}
        }
        Ok(audit)
    }

    /// One leaf against its hash and against the capture or derivation rows it records.
    async fn audit_leaf(
        &self,
        catalog: &Catalog,
        leaf: &vigil_store::LogLeaf,
        audit: &mut LogAudit,
    ) {
        if vigil_tlog::leaf_hash(&leaf.leaf) != leaf.leaf_hash {
            audit.problem(
                format!("leaf {}", leaf.index),
                "its stored hash is not the hash of its bytes".into(),
            );
        }
        match leaf.subject {
            LeafSubject::Capture(id) => match catalog.capture(id).await {
                Ok(Some(c)) => {
                    if vigil_store::encode_capture_leaf(c.id, &c.record) != leaf.leaf {
                        audit.problem(
                            format!("capture #{}", c.id),
                            format!(
                                "the catalog row differs from the record logged as leaf {}",
                                leaf.index
                            ),
                        );
                    }
                }
                Ok(None) => audit.problem(
                    format!("leaf {}", leaf.index),
                    format!("names capture #{id}, which does not exist"),
                ),
                Err(e) => audit.problem(format!("capture #{id}"), e.to_string()),
            },
            LeafSubject::Derivation(id) => match catalog.derivation(id).await {
                Ok(Some(d)) => {
                    if vigil_store::encode_derivation_leaf(d.id, &d.record) != leaf.leaf {
                        audit.problem(
                            format!("derivation #{}", d.id),
                            format!(
                                "the catalog rows differ from the record logged as leaf {}",
                                leaf.index
                            ),
                        );
                    }
                }
                Ok(None) => audit.problem(
                    format!("leaf {}", leaf.index),
                    format!("names derivation #{id}, which does not exist"),
                ),
                Err(e) => audit.problem(format!("derivation #{id}"), e.to_string()),
            },
            LeafSubject::Event(id) => match catalog.log_event(id).await {
                Ok(Some(e)) => {
                    if e.leaf() != leaf.leaf {
                        audit.problem(
                            format!("log event #{id}"),
                            format!(
                                "the catalog row differs from the record logged as leaf {}",
                                leaf.index
                            ),
                        );
                    }
                }
                Ok(None) => audit.problem(
                    format!("leaf {}", leaf.index),
                    format!("names log event #{id}, which does not exist"),
                ),
                Err(e) => audit.problem(format!("log event #{id}"), e.to_string()),
            },
        }
    }

    /// Every audit anchor against the trail: the event it names must still be there with the
    /// hash the log committed to, so a trail cut short, emptied or rewritten up to an anchor
    /// contradicts a signed tree.
    async fn audit_anchors(
        &self,
        catalog: &Catalog,
        audit: &mut LogAudit,
    ) -> Result<(), CoreError> {
        for anchor in catalog.log_events_of(LogEventKind::AuditAnchor).await? {
            let Some((event, hash)) = vigil_store::anchor_of(&anchor.detail) else {
                audit.problem(
                    format!("log event #{}", anchor.id),
                    "an audit anchor that names no audit event".into(),
                );
                continue;
            };
            match catalog.audit_hash_of(event).await? {
                Some(found) if found == hash => {}
                Some(_) => audit.audit_problem(
                    event,
                    format!(
                        "differs from what the transparency log anchored (log event #{}): the \
                         trail was rewritten",
                        anchor.id
                    ),
                ),
                None => audit.audit_problem(
                    event,
                    format!(
                        "was anchored in the transparency log (log event #{}, {}) but is no \
                         longer in the trail: it was cut short or removed",
                        anchor.id, anchor.created_at
                    ),
                ),
            }
        }
        Ok(())
    }

    /// Rebuilds the tiles for `start..start+hashes.len()` in memory and compares full ones
    /// with the files; keeps partial ones for the next step and the final comparison.
    fn audit_tiles(
        &self,
        start: u64,
        hashes: &[Hash],
        tiles: &mut HashMap<Tile, Vec<u8>>,
        audit: &mut LogAudit,
    ) {
        let update = match build_tiles(start, hashes, &*tiles) {
            Ok(u) => u,
            Err(e) => {
                audit.problem("tiles".into(), format!("cannot rebuild: {e}"));
                return;
            }
        };
        let end = update.tree_size;
        for (tile, bytes) in update.tiles {
            if tile.is_full() {
                self.compare_tile(&tile, Some(&bytes), audit);
            } else {
                tiles.insert(tile, bytes);
            }
        }
        let live: HashSet<Tile> = partial_tiles(end).into_iter().collect();
        tiles.retain(|t, _| live.contains(t));
    }

    fn compare_tile(&self, tile: &Tile, expected: Option<&[u8]>, audit: &mut LogAudit) {
        let subject = format!("log/{}", tile.path());
        match (self.dir.read_tile(tile), expected) {
            (Ok(found), Some(want)) if found == want => {}
            (Ok(_), Some(_)) => audit.problem(
                subject,
                "differs from the tree the catalog's leaves make".into(),
            ),
            (Err(e), _) => audit.problem(subject, e.to_string()),
            (Ok(_), None) => audit.problem(subject, "cannot be re-derived".into()),
        }
    }
}

fn tile_error(e: vigil_tlog::TileError) -> CoreError {
    log_damaged(format!("tiles: {e}"))
}

fn log_damaged(detail: String) -> CoreError {
    CoreError::Usage(format!(
        "the transparency log cannot be extended: {detail} (run `vigil verify` for a full report)"
    ))
}

/// What [`Log::rotate_key`] did.
#[derive(Debug, Clone, Serialize)]
pub struct KeyRotation {
    /// The origin of the key replaced, when one was recorded.
    pub old_origin: Option<String>,
    /// The new key's origin.
    pub new_origin: String,
    /// The new verifier key, for whoever checks receipts and checkpoints from now on.
    pub vkey: String,
    /// Whether the old key cosigned the first checkpoint of the new one.
    pub old_key_signed: bool,
    /// That checkpoint.
    #[serde(skip)]
    pub checkpoint: StoredCheckpoint,
}

/// What [`Log::audit`] found.
#[derive(Debug, Clone, Default, Serialize)]
pub struct LogAudit {
    /// Leaves in the catalog.
    pub leaves: u64,
    /// Checkpoints recorded.
    pub checkpoints: u64,
    /// Size of the latest signed checkpoint.
    pub signed_size: u64,
    /// Leaves not yet covered by a checkpoint (the next publish signs them).
    pub unsigned: u64,
    /// Everything wrong.
    pub problems: Vec<Problem>,
}

impl LogAudit {
    fn problem(&mut self, subject: String, detail: String) {
        self.problems.push(Problem::Log { subject, detail });
    }

    fn audit_problem(&mut self, event: i64, detail: String) {
        self.problems.push(Problem::Audit { event, detail });
    }
}

/// A root the catalog's leaves must give at a tree size, and whose it is.
struct ExpectedRoot {
    size: u64,
    root: Hash,
    subject: String,
    /// From the journal of published checkpoints rather than the catalog.
    published: bool,
}

/// Captures without a leaf named one by one in a report, before the rest are counted.
const MAX_NAMED: usize = 20;

/// Why an offline check failed, with a stable code for scripts.
#[derive(Debug, thiserror::Error)]
pub enum CheckError {
    /// The verifier key given is not a valid vkey.
    #[error("the verifier key is not valid: {0}")]
    BadKey(String),
    /// A file, or the proof, is not well formed.
    #[error("{0}")]
    Malformed(String),
    /// The receipt or checkpoint did not verify.
    #[error(transparent)]
    Receipt(#[from] ReceiptError),
    /// A file given is not one of the capture's items.
    #[error(
        "{file}: SHA-256 {sha256} is not among the items of capture #{capture_id} in this receipt"
    )]
    FileNotInCapture {
        /// The file as given.
        file: String,
        /// Its digest.
        sha256: String,
        /// The capture.
        capture_id: i64,
    },
    /// The new checkpoint does not extend the old one.
    #[error("inconsistent: {0}")]
    Inconsistent(String),
}

impl CheckError {
    /// A stable code: `bad-key`, `malformed`, `file-not-in-capture`, `inconsistent`, or the
    /// receipt's own code (`bad-signature`, `unknown-key`, `origin-mismatch`, `proof-invalid`…).
    pub fn code(&self) -> &'static str {
        match self {
            CheckError::BadKey(_) => "bad-key",
            CheckError::Malformed(_) => "malformed",
            CheckError::Receipt(e) => e.code(),
            CheckError::FileNotInCapture { .. } => "file-not-in-capture",
            CheckError::Inconsistent(_) => "inconsistent",
        }
    }
}

/// A receipt that verified.
#[derive(Debug, Clone, Serialize)]
pub struct CheckedReceipt {
    /// The log.
    pub origin: String,
    /// The signed tree size.
    pub tree_size: u64,
    /// The root it commits to (base64).
    pub root: String,
    /// The leaf index.
    pub index: u64,
    /// The capture as logged.
    pub capture_id: i64,
    /// Its source.
    pub source: String,
    /// When it was captured.
    pub captured_at: String,
    /// The files checked, each with its digest and its role in the capture.
    pub files: Vec<CheckedFile>,
    /// The full record as logged.
    pub record: serde_json::Value,
}

/// A file matched against a receipt.
#[derive(Debug, Clone, Serialize)]
pub struct CheckedFile {
    /// As given.
    pub file: String,
    /// Its SHA-256.
    pub sha256: String,
    /// Its role in the capture.
    pub role: String,
}

fn verifiers_of(vkey: &str) -> Result<(Verifiers, String), CheckError> {
    let v = Verifier::from_vkey(vkey.trim()).map_err(|e| CheckError::BadKey(e.to_string()))?;
    let origin = v.name().to_owned();
    Ok((v.into(), origin))
}

/// Checks a receipt offline with nothing but the log's verifier key: the capture record in
/// it is canonical, included in the tree of a checkpoint signed by that key, and lists each
/// of `files` (name, digest) among its items.
pub fn check_receipt(
    receipt: &[u8],
    vkey: &str,
    files: &[(String, Sha256Digest)],
) -> Result<CheckedReceipt, CheckError> {
    let (verifiers, origin) = verifiers_of(vkey)?;
    let verified = verify_receipt_from_extra(receipt, &origin, &verifiers, |leaf| {
        decode_capture_leaf(leaf).is_ok()
    })?;
    let leaf = verified
        .extra
        .as_deref()
        .ok_or_else(|| CheckError::Malformed("the receipt has no capture record".into()))?;
    let logged: LoggedCapture =
        decode_capture_leaf(leaf).map_err(|e| CheckError::Malformed(e.to_string()))?;
    let mut checked = Vec::new();
    for (file, digest) in files {
        let item = logged
            .items
            .iter()
            .find(|i| &i.sha256 == digest)
            .ok_or_else(|| CheckError::FileNotInCapture {
                file: file.clone(),
                sha256: digest.to_hex(),
                capture_id: logged.capture_id,
            })?;
        checked.push(CheckedFile {
            file: file.clone(),
            sha256: digest.to_hex(),
            role: item.role.clone(),
        });
    }
    Ok(CheckedReceipt {
        origin,
        tree_size: verified.checkpoint.size(),
        root: verified.checkpoint.root().to_base64(),
        index: verified.index,
        capture_id: logged.capture_id,
        source: logged.source,
        captured_at: logged.captured_at,
        files: checked,
        record: logged.record,
    })
}

/// What [`Log::proofs_for_export`] made: all against `checkpoint`.
#[derive(Debug, Clone)]
pub struct ExportProofs {
    /// The checkpoint everything is proven against.
    pub checkpoint: StoredCheckpoint,
    /// One tlog-proof receipt per leaf asked for, in order.
    pub receipts: Vec<String>,
    /// One consistency proof per earlier size asked for, in order (`old N` form).
    pub consistency: Vec<String>,
}

/// What a witness established: the new checkpoint extends the old one.
#[derive(Debug, Clone, Serialize)]
pub struct CheckedConsistency {
    /// The log.
    pub origin: String,
    /// The old tree size.
    pub old_size: u64,
    /// The new tree size.
    pub new_size: u64,
    /// The new checkpoint, verified.
    pub new_checkpoint: String,
}

/// Checks offline that the checkpoint in `proof` (a [`Log::consistency`] output) is signed by
/// `vkey` and extends `old_checkpoint`, a checkpoint the witness kept from earlier.
pub fn check_consistency(
    old_checkpoint: &[u8],
    proof: &[u8],
    vkey: &str,
) -> Result<CheckedConsistency, CheckError> {
    let (verifiers, origin) = verifiers_of(vkey)?;
    let (old, _) = open_checkpoint(old_checkpoint, &origin, &verifiers)
        .map_err(|e| CheckError::Receipt(e.into()))?;
    let text = std::str::from_utf8(proof)
        .map_err(|_| CheckError::Malformed("the proof is not UTF-8".into()))?;
    let (head, note) = text.split_once("\n\n").ok_or_else(|| {
        CheckError::Malformed("the proof has no blank line before its checkpoint".into())
    })?;
    let mut lines = head.split('\n');
    let old_size: u64 = lines
        .next()
        .and_then(|l| l.strip_prefix(OLD_SIZE_PREFIX))
        .and_then(|n| n.parse().ok())
        .ok_or_else(|| {
            CheckError::Malformed("the proof does not start with `old <size>`".into())
        })?;
    let hashes = lines
        .map(|l| {
            Hash::from_base64(l).map_err(|e| CheckError::Malformed(format!("proof hash: {e}")))
        })
        .collect::<Result<Vec<_>, _>>()?;
    let (new, _) = open_checkpoint(note.as_bytes(), &origin, &verifiers)
        .map_err(|e| CheckError::Receipt(e.into()))?;
    if old_size != old.size() {
        return Err(CheckError::Inconsistent(format!(
            "the proof starts from {old_size} leaves, the old checkpoint has {}",
            old.size()
        )));
    }
    if old.size() > new.size() {
        return Err(CheckError::Inconsistent(format!(
            "the new checkpoint ({} leaves) is smaller than the old one ({})",
            new.size(),
            old.size()
        )));
    }
    if old.size() > 0 {
        verify_consistency(old.size(), new.size(), old.root(), new.root(), &hashes).map_err(
            |e| {
                CheckError::Inconsistent(format!(
                    "the log was rewritten, or the proof is wrong: {e}"
                ))
            },
        )?;
    }
    Ok(CheckedConsistency {
        origin,
        old_size: old.size(),
        new_size: new.size(),
        new_checkpoint: note.to_owned(),
    })
}
