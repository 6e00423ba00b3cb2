//! `data/package.json`, the index: what is where and what it claims. Only a map to the
//! files; every claim in it is checked against the signed data before the verdict uses it.

use serde::Deserialize;

/// Largest index read.
pub(crate) const MAX_INDEX_SIZE: u64 = 64 << 20;

/// The package format this verifier reads.
pub(crate) const PACKAGE_FORMAT: &str = "vigil.package/v1";

#[derive(Debug, Deserialize)]
pub(crate) struct Index {
    pub(crate) format: String,
    pub(crate) export_id: Option<String>,
    #[serde(default)]
    pub(crate) log: LogIndex,
    #[serde(default)]
    pub(crate) items: Vec<ItemEntry>,
    #[serde(default)]
    pub(crate) captures: Vec<LeafEntry>,
    #[serde(default)]
    pub(crate) derivations: Vec<LeafEntry>,
}

#[derive(Debug, Default, Deserialize)]
pub(crate) struct LogIndex {
    pub(crate) verifier_key: Option<String>,
    pub(crate) checkpoint: Option<String>,
    #[serde(default)]
    pub(crate) timestamped_checkpoints: Vec<TimestampEntry>,
}

#[derive(Debug, Deserialize)]
pub(crate) struct TimestampEntry {
    pub(crate) size: u64,
    pub(crate) checkpoint: String,
    pub(crate) timestamp: String,
    pub(crate) consistency: Option<String>,
}

#[derive(Debug, Deserialize)]
pub(crate) struct ItemEntry {
    pub(crate) sha256: String,
    pub(crate) size: u64,
    pub(crate) file: String,
    pub(crate) kind: Option<String>,
    pub(crate) metadata: Option<String>,
    #[serde(default)]
    pub(crate) captures: Vec<i64>,
    pub(crate) derived_from: Option<DerivedFrom>,
}

#[derive(Debug, Deserialize)]
pub(crate) struct DerivedFrom {
    pub(crate) item: String,
    pub(crate) derivation: i64,
}

#[derive(Debug, Deserialize)]
pub(crate) struct LeafEntry {
    pub(crate) id: i64,
    pub(crate) leaf: String,
    pub(crate) receipt: String,
}
