//! Where Vigil's tests find the upstream test vectors (PDQ/vPDQ, transparency-log, C2PA and
//! RFC 3161 material; see `vectors/README.md`).
//!
//! By default the chosen few megabytes carried in the repository's `vectors/` folder, so the
//! test suite passes on a user's clone; with `VIGIL_VECTORS` set (to the team's full
//! `../shared/vectors`, as `.ci/run` does), the full upstream sets, and the tests marked
//! `#[ignore]` for needing them run too (`cargo test -- --include-ignored`).
//!
//! ```
//! let tsa = vigil_testdata::vectors().join("rfc3161/tsa.crt");
//! assert!(tsa.is_file());
//! ```

use std::path::{Path, PathBuf};

/// The environment variable naming another vectors folder (the full upstream sets).
pub const VECTORS_ENV: &str = "VIGIL_VECTORS";

/// The folder the tests read vectors from: `$VIGIL_VECTORS` when set, else the repository's
/// `vectors/`.
pub fn vectors() -> PathBuf {
    match std::env::var_os(VECTORS_ENV) {
        Some(dir) if !dir.is_empty() => PathBuf::from(dir),
        _ => Path::new(env!("CARGO_MANIFEST_DIR")).join("../../vectors"),
    }
}

/// Whether the full upstream sets are in use (`VIGIL_VECTORS` is set).
pub fn full_set() -> bool {
    std::env::var_os(VECTORS_ENV).is_some_and(|d| !d.is_empty())
}
