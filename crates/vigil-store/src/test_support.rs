//! Records the unit tests of this crate build on.

use std::collections::BTreeMap;

use crate::{CaptureItem, CaptureRecord, CaptureStatus, Sha256Digest};

/// A file capture of `items` (1 byte each, role `file`, no name), by `tester`, on
/// 2026-11-25 at 10:00 UTC; tests change the fields they care about.
pub(crate) fn capture(items: &[Sha256Digest]) -> CaptureRecord {
    CaptureRecord {
        run_id: "run".into(),
        source: "/src".into(),
        kind: "file".into(),
        method: "file".into(),
        status: CaptureStatus::Ok,
        failure: None,
        collector: "tester".into(),
        captured_at: "2026-11-25T10:00:00.000000Z".into(),
        vigil_version: "0.1.0".into(),
        tools: BTreeMap::new(),
        note: None,
        tags: vec![],
        details: serde_json::json!({}),
        items: items
            .iter()
            .map(|d| CaptureItem {
                sha256: *d,
                size: 1,
                role: "file".into(),
                name: None,
            })
            .collect(),
    }
}
