//! Vigil's sources: where captured bytes come from.
//!
//! - [`files`]: files and folders on disk, walked without following directory symlinks.
//! - [`http`]: HTTP(S) pages and files, one hop at a time, with every hop recorded.
//! - [`netguard`]: the SSRF guard that every network connection passes through.
//! - [`tls`]: certificate verification that also records the chain each server presented.
//! - [`social`]: recognising links to social platforms.
//! - [`ytdlp`]: media, metadata, thumbnails and subtitles through yt-dlp.
//! - [`proxy`]: the guard proxy through which external tools connect.
//! - [`browser`]: screenshot and MHTML snapshot of a page in headless Chromium.
//! - [`tsa`]: RFC 3161 time-stamps on log checkpoints.
//! - [`process`]: the one wrapper for external programs (time limits, bounded output).
//!
//! Every source writes into a [`vigil_store::StagedBlob`], so bytes are hashed as they flow
//! and never held whole in memory. Publishing and cataloguing are `vigil-core`'s job.

pub mod browser;
pub mod files;
pub mod http;
pub mod netguard;
pub mod process;
pub mod proxy;
pub mod social;
pub mod tls;
pub mod tsa;
pub mod ytdlp;
