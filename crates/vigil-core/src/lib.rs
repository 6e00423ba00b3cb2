//! Vigil's use cases, the only crate that knows the whole flow.
//!
//! - [`Store`]: opens or creates a store (settings, blobs, catalog).
//! - [`capture::run`]: captures sources into the store: stage → publish blobs → commit rows,
//!   in batches, reporting each committed capture to a [`capture::CaptureObserver`].
//! - [`log::Log`]: the transparency log: publishes signed checkpoints after each batch, issues
//!   receipts and consistency proofs; [`log::check_receipt`] and [`log::check_consistency`]
//!   are the offline checks a third party runs.
//! - [`enrich::enrich`]: what each new item is as media, and its PDQ hashes.
//! - [`inspect::inspect_file`]: what a file says about itself (metadata, Content Credentials,
//!   the platform's description) and what deserves a second look.
//! - [`similar`]: near-duplicates: the store's hash index ([`similar::NearDupIndex`]),
//!   links and clusters found after enrichment, `vigil similar`, `vigil spread` and hash lists.
//! - [`verify::verify`]: re-hashes every blob and checks every catalog row against them.
//!
//! Interfaces (`vigil-cli`, later the server) call these and hold no business rules.

pub mod accounts;
pub mod capture;
pub mod config;
pub mod enrich;
pub mod export;
pub mod incidents;
pub mod inspect;
pub mod jobs;
pub mod log;
pub mod persons;
mod report;
pub mod search;
pub mod similar;
mod store;
pub mod verify;
pub mod watch;

use std::path::PathBuf;

pub use store::{Store, StoreOrigin, locate_store};

/// The version recorded in every capture.
pub const VIGIL_VERSION: &str = env!("CARGO_PKG_VERSION");

/// Errors from the use cases.
#[derive(Debug, thiserror::Error)]
pub enum CoreError {
    /// No store at the given place.
    #[error("no Vigil store at {0} (create one with `vigil init`)")]
    NoStore(PathBuf),
    /// A request that cannot be carried out as given.
    #[error("{0}")]
    Usage(String),
    /// Settings are unreadable.
    #[error(transparent)]
    Config(#[from] config::ConfigError),
    /// The blob directory failed.
    #[error(transparent)]
    Blob(#[from] vigil_store::BlobError),
    /// The catalog failed.
    #[error(transparent)]
    Catalog(#[from] vigil_store::CatalogError),
    /// The near-duplicate index's snapshot could not be written.
    #[error(transparent)]
    Index(#[from] vigil_store::IndexFileError),
    /// A file given to be hashed could not be decoded.
    #[error("{path}: [{code}] {message}")]
    Media {
        /// The file.
        path: PathBuf,
        /// Stable code (`unsupported-format`, `corrupt`, `too-large`, …).
        code: String,
        /// What happened.
        message: String,
    },
    /// A file outside the blob store failed.
    #[error("{path}: {source}")]
    Io {
        /// The file.
        path: PathBuf,
        /// Cause.
        source: std::io::Error,
    },
    /// The log's signing key is gone while the log has history: a new key is never made in
    /// its place silently (it would sign a history it never saw under a new name).
    #[error(
        "the log key {path} is missing, but the log already has {leaves} leaves signed with it: \
         restore log.key from a backup, or start a new key with \
         `vigil log rotate-key --reason \"…\"` (the change is recorded in the log)"
    )]
    LogKeyMissing {
        /// Where the key should be.
        path: PathBuf,
        /// Leaves in the log.
        leaves: u64,
    },
    /// The key file is not the key recorded as signing this log (replaced by hand).
    #[error(
        "log.key (origin {found:?}) is not the key that signs this log (origin {expected:?}): \
         restore the right key, or start a new one with `vigil log rotate-key --reason \"…\"`"
    )]
    LogKeyMismatch {
        /// The key file's origin.
        found: String,
        /// The origin of the key the catalog records as signing now.
        expected: String,
    },
}
