//! Vigil's evidence store: where captured bytes and the record of their collection live.
//!
//! - [`BlobStore`]: a content-addressed directory. Bytes are streamed into a temp file while
//!   hashed ([`StagedBlob`]), then [`BlobStore::publish`]ed durably under `sha256/ab/cd/<hex>`.
//! - [`Catalog`]: the SQL catalog of items ([`ItemRecord`]), captures ([`CaptureRecord`]) and
//!   their links, written in one transaction after the blobs are durable.
//! - [`encode_capture_leaf`]: the canonical record of a capture that the transparency log
//!   commits to; [`LogDir`]: the log's tiles and published checkpoint on disk.
//! - Near-duplicates: [`IndexedPdqRow`] (hash rows by the id the index stores), [`Similarity`]
//!   links between items and the [`Cluster`]s they form ([`Catalog::record_similarity`]);
//!   imported hash lists ([`HashListInfo`], [`StoredListEntry`]).
//! - Enrichment records: [`DerivationRecord`]s (thumbnails, keyframes, contact sheets made
//!   from an item, logged as `vigil.derivation/v1` leaves), metadata reports with their
//!   [`StoredFlag`]s, and how each enrichment job ended ([`JobRecord`]).
//! - The web workspace's accounts ([`User`], [`Role`], [`Session`], collections) and its
//!   audit trail, a hash chain of [`AuditEvent`]s.
//! - [`StoreLayout`]: where each part lives inside a store directory.
//!
//! The ordering rule that keeps a store consistent across crashes: publish blobs, *then*
//! commit catalog rows. A catalog row therefore never names a missing blob; a crash between
//! the two leaves an unreferenced blob, which is harmless and reported by verification.
//!
//! ```no_run
//! # async fn demo() -> Result<(), Box<dyn std::error::Error>> {
//! use std::io::Write;
//! let layout = vigil_store::StoreLayout::new("/tmp/store".as_ref());
//! let blobs = vigil_store::BlobStore::open(&layout.blobs())?;
//! let mut staged = blobs.stage()?;
//! staged.write_all(b"evidence")?;
//! let published = blobs.publish(vec![staged.finish()?])?;
//! println!("stored {}", published[0].digest);
//! # Ok(()) }
//! ```

mod accounts;
mod audit;
mod blob;
mod catalog;
mod derivation;
mod digest;
mod enrichment;
mod hash_index;
mod hash_lists;
mod incidents;
mod layout;
mod leaf;
mod log_events;
mod logdir;
mod media;
mod persons;
mod similarity;
#[cfg(test)]
mod test_support;
mod timestamp;
mod watch;

pub use accounts::{AccountError, Collection, NewSession, Role, Session, User};
pub use audit::{AuditBreak, AuditEvent, NewAuditEvent, audit_hash};
pub use blob::{
    BlobError, BlobListing, BlobStore, FinishedBlob, IngestError, PIPELINE_MIN, Published,
    StagedBlob, create_private_dir, fsync_dir, private_file,
};
pub use catalog::{
    CaptureFailure, CaptureFilter, CaptureItem, CaptureRecord, CaptureStatus, Catalog,
    CatalogError, DanglingLink, ItemRecord, LeafSubject, LogLeaf, MalformedRow, StoredCapture,
    StoredCheckpoint, digest_hex,
};
pub use derivation::{DerivationRecord, DerivedItem, StoredDerivation};
pub use digest::{ParseDigestError, Sha256Digest, StreamHasher};
pub use enrichment::{CaptureContext, JobRecord, StoredFlag, StoredMetadata};
pub use hash_index::{IndexFileError, open_hash_index, save_hash_index};
pub use hash_lists::{HashListInfo, StoredListEntry};
pub use incidents::{Comment, Incident, IncidentChange, IncidentFields, RecordChange};
pub use layout::StoreLayout;
pub use leaf::{
    DERIVATION_LEAF_FORMAT_V1, EVENT_LEAF_FORMAT_V1, LEAF_FORMAT_V1, LeafError, LeafItem,
    LoggedCapture, LoggedDerivation, decode_capture_leaf, decode_derivation_leaf,
    encode_capture_leaf, encode_derivation_leaf, encode_event_leaf,
};
pub use log_events::{LogEventKind, LogKey, StoredLogEvent, anchor_of};
pub use logdir::{CheckpointJournal, LogDir, SequencerLock};
pub use media::{MediaAnalysis, PdqRow};
pub use persons::{Person, PersonChange, PersonFields, PersonName};
pub use similarity::{Cluster, IndexedPdqRow, Similarity, SimilarityMethod};
pub use timestamp::{now_rfc3339, parse_rfc3339, rfc3339_in};
pub use watch::{
    NewWatchSource, PollOutcome, PostSelection, SeenPost, WatchCounts, WatchPost, WatchPostCapture,
    WatchSource,
};
