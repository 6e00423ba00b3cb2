//! The log leaf of a capture: the canonical, versioned bytes that the transparency log commits
//! to, one leaf per committed capture.
//!
//! The leaf is JSON with sorted keys and no insignificant whitespace, so anyone can re-derive
//! it from the record and parse it with any JSON library. Its `format` field names the
//! version (`vigil.capture/v1`); a later format gets a new name and old leaves keep theirs,
//! because leaves are stored verbatim in the catalog and never re-encoded in place.
//!
//! ```text
//! {"capture":12,"captured_at":"2026-11-27T10:00:00.000000Z","collector":"a.petrosyan",
//!  "details":{...},"failure":null,"format":"vigil.capture/v1",
//!  "items":[{"name":"post.mp4","role":"media","sha256":"9f86…","size":1048576}],
//!  "kind":"url","method":"http+yt-dlp","note":null,"run_id":"…","source":"https://t.me/…",
//!  "status":"ok","tags":["pow"],"tools":{"yt-dlp":"2026.11.01"},"vigil_version":"0.1.0"}
//! ```

use serde_json::{Value, json};

use crate::catalog::CaptureRecord;
use crate::derivation::DerivationRecord;
use crate::digest::Sha256Digest;

/// The format name written into every leaf of this version.
pub const LEAF_FORMAT_V1: &str = "vigil.capture/v1";

/// Largest leaf accepted when parsing (a capture record with its HTTP headers is a few KiB).
pub const MAX_LEAF_SIZE: usize = 1 << 20;

/// Why leaf bytes could not be read as a capture record.
#[derive(Debug, thiserror::Error)]
pub enum LeafError {
    /// Not JSON, or not the expected shape.
    #[error("the log leaf is not a Vigil record: {0}")]
    Malformed(String),
    /// A format this version does not know.
    #[error(
        "unknown log leaf format {0:?} (expected {LEAF_FORMAT_V1} or {DERIVATION_LEAF_FORMAT_V1})"
    )]
    UnknownFormat(String),
}

/// The canonical leaf bytes of capture `id`.
pub fn encode_capture_leaf(id: i64, record: &CaptureRecord) -> Vec<u8> {
    let items: Vec<Value> = record
        .items
        .iter()
        .map(|i| json!({ "sha256": i.sha256.to_hex(), "size": i.size, "role": i.role, "name": i.name }))
        .collect();
    let failure = record
        .failure
        .as_ref()
        .map(|f| json!({ "code": f.code, "message": f.message }));
    let value = json!({
        "format": LEAF_FORMAT_V1,
        "capture": id,
        "run_id": record.run_id,
        "source": record.source,
        "kind": record.kind,
        "method": record.method,
        "status": record.status.as_str(),
        "failure": failure,
        "collector": record.collector,
        "captured_at": record.captured_at,
        "vigil_version": record.vigil_version,
        "tools": record.tools,
        "note": record.note,
        "tags": record.tags,
        "details": record.details,
        "items": items,
    });
    let mut out = String::with_capacity(512);
    write_canonical(&value, &mut out);
    out.into_bytes()
}

/// One item as a leaf names it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct LeafItem {
    /// The item's SHA-256.
    pub sha256: Sha256Digest,
    /// Its size in bytes.
    pub size: u64,
    /// Its role in the capture.
    pub role: String,
    /// The name the source gave it.
    pub name: Option<String>,
}

/// What a third party needs from a leaf: which capture, which bytes, and the whole record.
#[derive(Debug, Clone)]
pub struct LoggedCapture {
    /// The capture's catalog id.
    pub capture_id: i64,
    /// The source as given.
    pub source: String,
    /// When it was captured (by the collector's clock).
    pub captured_at: String,
    /// The items and their digests.
    pub items: Vec<LeafItem>,
    /// The whole record as logged.
    pub record: Value,
}

/// Reads leaf bytes back. Checks the shape strictly, and that the bytes are canonical (so a
/// receipt cannot carry a re-formatted record that merely parses the same).
pub fn decode_capture_leaf(bytes: &[u8]) -> Result<LoggedCapture, LeafError> {
    let bad = |why: String| LeafError::Malformed(why);
    if bytes.len() > MAX_LEAF_SIZE {
        return Err(bad(format!("{} bytes is too large", bytes.len())));
    }
    let value: Value = serde_json::from_slice(bytes).map_err(|e| bad(e.to_string()))?;
    let format = value["format"].as_str().unwrap_or_default();
    if format != LEAF_FORMAT_V1 {
        return Err(LeafError::UnknownFormat(format.to_owned()));
    }
    let mut canonical = String::with_capacity(bytes.len());
    write_canonical(&value, &mut canonical);
    if canonical.as_bytes() != bytes {
        return Err(bad("not in canonical form".into()));
    }
    let text = |key: &str| {
        value[key]
            .as_str()
            .map(str::to_owned)
            .ok_or_else(|| bad(format!("{key} is missing")))
    };
    let capture_id = value["capture"]
        .as_i64()
        .ok_or_else(|| bad("capture is missing".into()))?;
    let items = leaf_items(&value).map_err(bad)?;
    Ok(LoggedCapture {
        capture_id,
        source: text("source")?,
        captured_at: text("captured_at")?,
        items,
        record: value,
    })
}

/// The format name of a derivation's leaf: an item Vigil made from another (a thumbnail,
/// keyframes, a contact sheet), logged so that what was shown of a file is as provable as the
/// file.
pub const DERIVATION_LEAF_FORMAT_V1: &str = "vigil.derivation/v1";

/// The canonical leaf bytes of derivation `id`.
///
/// ```text
/// {"created_at":"…","derivation":3,"format":"vigil.derivation/v1",
///  "items":[{"detail":{"height":288,"width":512},"name":"thumbnail.jpg","role":"thumbnail",
///            "sha256":"…","size":20480}],
///  "kind":"preview","params":{…},"source":{"sha256":"…","size":1048576},
///  "tool":"vigil-media/video_preview","vigil_version":"0.1.0"}
/// ```
pub fn encode_derivation_leaf(id: i64, record: &DerivationRecord) -> Vec<u8> {
    let items: Vec<Value> = record
        .items
        .iter()
        .map(|i| {
            json!({ "sha256": i.sha256.to_hex(), "size": i.size, "role": i.role,
                    "name": i.name, "detail": i.detail })
        })
        .collect();
    let value = json!({
        "format": DERIVATION_LEAF_FORMAT_V1,
        "derivation": id,
        "source": { "sha256": record.source.to_hex(), "size": record.source_size },
        "kind": record.kind,
        "tool": record.tool,
        "params": record.params,
        "created_at": record.created_at,
        "vigil_version": record.vigil_version,
        "items": items,
    });
    let mut out = String::with_capacity(512);
    write_canonical(&value, &mut out);
    out.into_bytes()
}

/// A derivation as its leaf records it.
#[derive(Debug, Clone)]
pub struct LoggedDerivation {
    /// The derivation's catalog id.
    pub derivation_id: i64,
    /// The item it was made from.
    pub source: Sha256Digest,
    /// The items made.
    pub items: Vec<LeafItem>,
    /// The whole record as logged.
    pub record: Value,
}

/// Reads a derivation leaf back, as strictly as [`decode_capture_leaf`].
pub fn decode_derivation_leaf(bytes: &[u8]) -> Result<LoggedDerivation, LeafError> {
    let bad = |why: String| LeafError::Malformed(why);
    if bytes.len() > MAX_LEAF_SIZE {
        return Err(bad(format!("{} bytes is too large", bytes.len())));
    }
    let value: Value = serde_json::from_slice(bytes).map_err(|e| bad(e.to_string()))?;
    let format = value["format"].as_str().unwrap_or_default();
    if format != DERIVATION_LEAF_FORMAT_V1 {
        return Err(LeafError::UnknownFormat(format.to_owned()));
    }
    let mut canonical = String::with_capacity(bytes.len());
    write_canonical(&value, &mut canonical);
    if canonical.as_bytes() != bytes {
        return Err(bad("not in canonical form".into()));
    }
    let derivation_id = value["derivation"]
        .as_i64()
        .ok_or_else(|| bad("derivation is missing".into()))?;
    let source = value["source"]["sha256"]
        .as_str()
        .unwrap_or_default()
        .parse()
        .map_err(|e| bad(format!("source digest: {e}")))?;
    let items = leaf_items(&value).map_err(bad)?;
    Ok(LoggedDerivation {
        derivation_id,
        source,
        items,
        record: value,
    })
}

/// The format name of a log event's leaf: something the log records about itself (the audit
/// trail's head, a new signing key, the one-time logging of a store made before the log).
pub const EVENT_LEAF_FORMAT_V1: &str = "vigil.log-event/v1";

/// The canonical leaf bytes of log event `id`.
///
/// ```text
/// {"created_at":"…","detail":{"audit_event":41,"audit_hash":"9f86…"},"event":3,
///  "format":"vigil.log-event/v1","kind":"audit-anchor"}
/// ```
pub fn encode_event_leaf(id: i64, kind: &str, created_at: &str, detail: &Value) -> Vec<u8> {
    let value = json!({
        "format": EVENT_LEAF_FORMAT_V1,
        "event": id,
        "kind": kind,
        "created_at": created_at,
        "detail": detail,
    });
    let mut out = String::with_capacity(256);
    write_canonical(&value, &mut out);
    out.into_bytes()
}

fn leaf_items(value: &Value) -> Result<Vec<LeafItem>, String> {
    let mut items = Vec::new();
    for item in value["items"]
        .as_array()
        .ok_or_else(|| "items is missing".to_string())?
    {
        items.push(LeafItem {
            sha256: item["sha256"]
                .as_str()
                .unwrap_or_default()
                .parse()
                .map_err(|e| format!("item digest: {e}"))?,
            size: item["size"]
                .as_u64()
                .ok_or_else(|| "item size is missing".to_string())?,
            role: item["role"].as_str().unwrap_or_default().to_owned(),
            name: item["name"].as_str().map(str::to_owned),
        });
    }
    Ok(items)
}

/// JSON with object keys sorted (by UTF-8 bytes) and no whitespace; strings and numbers as
/// serde_json writes them, which is deterministic for a given value.
pub(crate) fn write_canonical(value: &Value, out: &mut String) {
    match value {
        Value::Object(map) => {
            let mut keys: Vec<&String> = map.keys().collect();
            keys.sort();
            out.push('{');
            for (n, key) in keys.into_iter().enumerate() {
                if n > 0 {
                    out.push(',');
                }
                write_string(key, out);
                out.push(':');
                write_canonical(&map[key], out);
            }
            out.push('}');
        }
        Value::Array(list) => {
            out.push('[');
            for (n, v) in list.iter().enumerate() {
                if n > 0 {
                    out.push(',');
                }
                write_canonical(v, out);
            }
            out.push(']');
        }
        Value::String(s) => write_string(s, out),
        other => out.push_str(&other.to_string()),
    }
}

fn write_string(s: &str, out: &mut String) {
    // Serialising a string cannot fail.
    out.push_str(&serde_json::to_string(s).unwrap_or_default());
}

#[cfg(test)]
mod tests {
    use std::collections::BTreeMap;

    use super::*;
    use crate::catalog::{CaptureItem, CaptureStatus};

    fn record() -> CaptureRecord {
        CaptureRecord {
            run_id: "run-1".into(),
            source: "https://t.me/channel/42".into(),
            kind: "url".into(),
            method: "http".into(),
            status: CaptureStatus::Ok,
            failure: None,
            collector: "Ա. Պետրոսյան".into(),
            captured_at: "2026-11-27T10:00:00.000000Z".into(),
            vigil_version: "0.1.0".into(),
            tools: BTreeMap::from([("yt-dlp".into(), "2026.11.01".into())]),
            note: Some("line\nbreak \"quoted\"".into()),
            tags: vec!["pow".into()],
            details: json!({ "z": 1, "a": { "y": [1, 2], "b": null } }),
            items: vec![CaptureItem {
                sha256: Sha256Digest::of(b"evidence"),
                size: 8,
                role: "body".into(),
                name: Some("post.html".into()),
            }],
        }
    }

    #[test]
    fn leaves_are_canonical_and_round_trip() {
        let leaf = encode_capture_leaf(7, &record());
        let text = String::from_utf8(leaf.clone()).expect("utf-8");
        assert!(text.starts_with(r#"{"capture":7,"captured_at":"#), "{text}");
        assert!(
            text.contains(r#""details":{"a":{"b":null,"y":[1,2]},"z":1}"#),
            "{text}"
        );
        assert!(!text.contains(": "), "no whitespace: {text}");
        let back = decode_capture_leaf(&leaf).expect("decode");
        assert_eq!(back.capture_id, 7);
        assert_eq!(back.items[0].sha256, Sha256Digest::of(b"evidence"));
        assert_eq!(back.items[0].size, 8);
        // Re-encoding the same record gives the same bytes, whatever order details arrive in.
        let mut again = record();
        again.details = serde_json::from_str(r#"{"a":{"y":[1,2],"b":null},"z":1}"#).expect("json");
        assert_eq!(encode_capture_leaf(7, &again), leaf);
    }

    #[test]
    fn altered_or_reformatted_leaves_are_refused() {
        let leaf = String::from_utf8(encode_capture_leaf(7, &record())).expect("utf-8");
        let spaced = leaf.replacen(":7,", ": 7,", 1);
        assert!(matches!(
            decode_capture_leaf(spaced.as_bytes()),
            Err(LeafError::Malformed(_))
        ));
        let other = leaf.replace(LEAF_FORMAT_V1, "vigil.capture/v9");
        assert!(matches!(
            decode_capture_leaf(other.as_bytes()),
            Err(LeafError::UnknownFormat(_))
        ));
        assert!(decode_capture_leaf(b"not json").is_err());
    }
}
