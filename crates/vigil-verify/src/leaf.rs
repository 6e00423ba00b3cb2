//! An independent reader of Vigil's log leaves (`vigil.capture/v1`, `vigil.derivation/v1`):
//! canonical JSON (object keys sorted by their UTF-8 bytes, no insignificant white space,
//! strings and numbers as serde_json writes them). Written apart from the code that makes
//! the leaves, so that a bug in one is not silently shared by the other.

use serde_json::Value;

/// Largest leaf accepted (a capture record with its HTTP headers is a few KiB).
pub(crate) const MAX_LEAF_SIZE: u64 = 1 << 20;

/// The format name of capture leaves.
pub(crate) const CAPTURE_FORMAT: &str = "vigil.capture/v1";
/// The format name of derivation leaves.
pub(crate) const DERIVATION_FORMAT: &str = "vigil.derivation/v1";

/// One file a leaf lists.
#[derive(Clone, Debug, PartialEq, Eq)]
pub(crate) struct LeafItem {
    /// Lower-case hex SHA-256.
    pub(crate) sha256: String,
    /// Size in bytes.
    pub(crate) size: u64,
}

/// A capture as its leaf records it.
#[derive(Clone, Debug)]
pub(crate) struct CaptureLeaf {
    pub(crate) id: i64,
    pub(crate) source: String,
    pub(crate) captured_at: String,
    pub(crate) collector: Option<String>,
    pub(crate) method: Option<String>,
    pub(crate) status: Option<String>,
    pub(crate) items: Vec<LeafItem>,
}

/// A derivation as its leaf records it.
#[derive(Clone, Debug)]
pub(crate) struct DerivationLeaf {
    pub(crate) id: i64,
    pub(crate) source_sha256: String,
    pub(crate) tool: Option<String>,
    pub(crate) created_at: Option<String>,
    pub(crate) items: Vec<LeafItem>,
}

/// Parses JSON and checks the bytes are exactly its canonical form, so a leaf cannot be a
/// re-formatted variant of a record that merely parses the same.
fn canonical_value(bytes: &[u8], format: &str) -> Result<Value, String> {
    if bytes.len() as u64 > MAX_LEAF_SIZE {
        return Err(format!("it is larger than {MAX_LEAF_SIZE} bytes"));
    }
    let value: Value =
        serde_json::from_slice(bytes).map_err(|e| format!("it is not JSON ({e})"))?;
    match value.get("format").and_then(Value::as_str) {
        Some(f) if f == format => {}
        Some(f) => return Err(format!("its format is {f:?}, not {format}")),
        None => return Err(format!("it has no format field (expected {format})")),
    }
    let mut out = Vec::with_capacity(bytes.len());
    write_canonical(&value, &mut out)?;
    if out != bytes {
        return Err("it is not in canonical form (sorted keys, no white space)".into());
    }
    Ok(value)
}

fn write_canonical(v: &Value, out: &mut Vec<u8>) -> Result<(), String> {
    match v {
        Value::Object(map) => {
            let mut entries: Vec<(&String, &Value)> = map.iter().collect();
            entries.sort_by(|a, b| a.0.as_bytes().cmp(b.0.as_bytes()));
            out.push(b'{');
            for (n, (k, val)) in entries.into_iter().enumerate() {
                if n > 0 {
                    out.push(b',');
                }
                write_string(k, out)?;
                out.push(b':');
                write_canonical(val, out)?;
            }
            out.push(b'}');
        }
        Value::Array(list) => {
            out.push(b'[');
            for (n, val) in list.iter().enumerate() {
                if n > 0 {
                    out.push(b',');
                }
                write_canonical(val, out)?;
            }
            out.push(b']');
        }
        Value::String(s) => write_string(s, out)?,
        Value::Null => out.extend_from_slice(b"null"),
        Value::Bool(b) => out.extend_from_slice(if *b { b"true" } else { b"false" }),
        Value::Number(n) => out.extend_from_slice(n.to_string().as_bytes()),
    }
    Ok(())
}

fn write_string(s: &str, out: &mut Vec<u8>) -> Result<(), String> {
    serde_json::to_writer(&mut *out, s).map_err(|e| e.to_string())
}

fn text(v: &Value, key: &str) -> Result<String, String> {
    v.get(key)
        .and_then(Value::as_str)
        .map(str::to_owned)
        .ok_or_else(|| format!("{key} is missing or not text"))
}

fn opt_text(v: &Value, key: &str) -> Option<String> {
    v.get(key).and_then(Value::as_str).map(str::to_owned)
}

fn is_sha256_hex(s: &str) -> bool {
    s.len() == 64 && s.bytes().all(|b| matches!(b, b'0'..=b'9' | b'a'..=b'f'))
}

fn items(v: &Value) -> Result<Vec<LeafItem>, String> {
    let list = v
        .get("items")
        .and_then(Value::as_array)
        .ok_or("items is missing or not a list")?;
    list.iter()
        .map(|i| {
            let sha256 = text(i, "sha256")?;
            if !is_sha256_hex(&sha256) {
                return Err(format!("item digest {sha256:?} is not a SHA-256 in hex"));
            }
            let size = i
                .get("size")
                .and_then(Value::as_u64)
                .ok_or("an item has no size")?;
            Ok(LeafItem { sha256, size })
        })
        .collect()
}

/// Reads a `vigil.capture/v1` leaf.
pub(crate) fn parse_capture(bytes: &[u8]) -> Result<CaptureLeaf, String> {
    let v = canonical_value(bytes, CAPTURE_FORMAT)?;
    Ok(CaptureLeaf {
        id: v
            .get("capture")
            .and_then(Value::as_i64)
            .ok_or("capture (the id) is missing")?,
        source: text(&v, "source")?,
        captured_at: text(&v, "captured_at")?,
        collector: opt_text(&v, "collector"),
        method: opt_text(&v, "method"),
        status: opt_text(&v, "status"),
        items: items(&v)?,
    })
}

/// Reads a `vigil.derivation/v1` leaf.
pub(crate) fn parse_derivation(bytes: &[u8]) -> Result<DerivationLeaf, String> {
    let v = canonical_value(bytes, DERIVATION_FORMAT)?;
    let source = v.get("source").ok_or("source is missing")?;
    let source_sha256 = text(source, "sha256")?;
    if !is_sha256_hex(&source_sha256) {
        return Err("the source digest is not a SHA-256 in hex".into());
    }
    Ok(DerivationLeaf {
        id: v
            .get("derivation")
            .and_then(Value::as_i64)
            .ok_or("derivation (the id) is missing")?,
        source_sha256,
        tool: opt_text(&v, "tool"),
        created_at: opt_text(&v, "created_at"),
        items: items(&v)?,
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    const LEAF: &str = r#"{"capture":12,"captured_at":"2026-11-27T10:00:00.000000Z","collector":"Ա. Պետրոսյան","details":{"a":{"b":null,"y":[1,2.5]},"z":-1},"failure":null,"format":"vigil.capture/v1","items":[{"name":"post.mp4","role":"media","sha256":"9f86d081884c7d659a2feaa0c55ad015a3bf4f1b2b0b822cd15d6c15b0f00a08","size":4}],"kind":"url","method":"http","note":"line\nbreak \"q\"","run_id":"r","source":"https://t.me/c/1","status":"ok","tags":[],"tools":{},"vigil_version":"0.1.0"}"#;

    #[test]
    fn reads_canonical_capture() {
        let c = parse_capture(LEAF.as_bytes()).expect("parse");
        assert_eq!(c.id, 12);
        assert_eq!(c.items[0].size, 4);
        assert_eq!(c.collector.as_deref(), Some("Ա. Պետրոսյան"));
    }

    #[test]
    fn refuses_variants() {
        for bad in [
            LEAF.replacen(":12,", ": 12,", 1),
            LEAF.replace("vigil.capture/v1", "vigil.capture/v9"),
            LEAF.replacen(
                r#"{"capture":12,"#,
                r#"{"captured_at":"x","capture":12,"#,
                1,
            ),
            LEAF.replace("\\n", "\\u000a"),
            LEAF.replace("9f86", "9F86"),
            format!("{LEAF}\n"),
        ] {
            assert!(parse_capture(bad.as_bytes()).is_err(), "{bad}");
        }
    }
}
