//! Vigil's sources: where captured bytes come from.
//!
//! - [`files`]: files and folders on disk, walked without following directory symlinks.
//! - [`http`]: HTTP(S) pages and files, one hop at a time, with every hop recorded.
//! - [`netguard`]: the SSRF guard that every network connection passes through.
//! - [`tls`]: certificate verification that also records the chain each server presented.
//! - [`social`]: recognising links to social platforms (captured with yt-dlp when present).
//!
//! Every source writes into a [`vigil_store::StagedBlob`], so bytes are hashed as they flow
//! and never held whole in memory. Publishing and cataloguing are `vigil-core`'s job.

pub mod files;
pub mod http;
pub mod netguard;
pub mod social;
pub mod tls;
