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
}
