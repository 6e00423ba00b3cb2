//! The wire format of C2SP tlog-witness `add-checkpoint` (<https://c2sp.org/tlog-witness>):
//!
//! ```text
//! old <size>\n
//! <consistency proof hash, base64>\n     (0 to 63 lines)
//! \n
//! <signed checkpoint note>
//! ```
//!
//! Both sides use this module: the witness parses bodies, the client formats them, so the two
//! cannot drift apart. Parsing is strict (canonical decimal, canonical base64 of 32 bytes,
//! every line ending in a newline) and bounded by [`MAX_BODY`] before any work is done.

use sha2::{Digest as _, Sha256};
use vigil_tlog::Hash;

/// Largest `add-checkpoint` body accepted (and sent): 63 proof lines and a checkpoint with
/// dozens of signatures fit in a few KiB; anything near this bound is not a real request.
pub const MAX_BODY: usize = 64 << 10;
/// Most consistency proof lines in a request, as the spec bounds them (a tree of 2^63 leaves).
pub const MAX_PROOF_LINES: usize = 63;
/// Content type of a 409 answer, whose body is the witness's latest size and a newline.
pub const SIZE_CONTENT_TYPE: &str = "text/x.tlog.size";

const OLD_PREFIX: &str = "old ";

/// A parsed `add-checkpoint` request; the checkpoint note is not yet parsed or verified.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct AddCheckpointRequest<'a> {
    /// The size of the checkpoint the client believes the witness cosigned last.
    pub old_size: u64,
    /// The consistency proof from `old_size` to the submitted checkpoint.
    pub proof: Vec<Hash>,
    /// The signed checkpoint (note text, blank line, signature lines).
    pub checkpoint: &'a str,
}

/// Reads an `add-checkpoint` body. The error says which rule was broken (a 400 answer).
pub fn parse_add_checkpoint(body: &[u8]) -> Result<AddCheckpointRequest<'_>, String> {
    if body.len() > MAX_BODY {
        return Err(format!("body is larger than {MAX_BODY} bytes"));
    }
    let text = std::str::from_utf8(body).map_err(|_| "body is not UTF-8".to_owned())?;
    // The proof lines are never empty, so the first blank line ends them.
    let (head, checkpoint) = text
        .split_once("\n\n")
        .ok_or("no blank line between the proof and the checkpoint")?;
    let mut lines = head.split('\n');
    let old = lines
        .next()
        .and_then(|l| l.strip_prefix(OLD_PREFIX))
        .ok_or("the first line is not `old <size>`")?;
    let old_size = parse_decimal(old).ok_or("the old size is not a canonical decimal")?;
    let mut proof = Vec::new();
    for line in lines {
        if proof.len() == MAX_PROOF_LINES {
            return Err(format!(
                "more than {MAX_PROOF_LINES} consistency proof lines"
            ));
        }
        proof.push(
            Hash::from_base64(line)
                .map_err(|e| format!("consistency proof line {}: {e}", proof.len() + 1))?,
        );
    }
    Ok(AddCheckpointRequest {
        old_size,
        proof,
        checkpoint,
    })
}

/// The `add-checkpoint` body for `signed_checkpoint` with a proof from `old_size`.
pub fn format_add_checkpoint(old_size: u64, proof: &[Hash], signed_checkpoint: &str) -> String {
    let mut body = String::with_capacity(16 + proof.len() * 45 + 1 + signed_checkpoint.len());
    body.push_str(OLD_PREFIX);
    body.push_str(&old_size.to_string());
    body.push('\n');
    for h in proof {
        body.push_str(&h.to_base64());
        body.push('\n');
    }
    body.push('\n');
    body.push_str(signed_checkpoint);
    body
}

/// Lowercase hex SHA-256 of an origin line: how the monitoring URL and the witness's state
/// files name a log.
pub fn origin_hash(origin: &str) -> String {
    hex::encode(Sha256::digest(origin.as_bytes()))
}

/// Whether `text` is an [`origin_hash`] (64 lowercase hex digits), safe to use as a file name.
pub(crate) fn is_origin_hash(text: &str) -> bool {
    text.len() == 64
        && text
            .bytes()
            .all(|b| b.is_ascii_digit() || (b'a'..=b'f').contains(&b))
}

/// ASCII decimal with no sign and no leading zero (except `0` itself), fitting in a u64.
pub(crate) fn parse_decimal(text: &str) -> Option<u64> {
    if text.is_empty()
        || !text.bytes().all(|b| b.is_ascii_digit())
        || (text.len() > 1 && text.starts_with('0'))
    {
        return None;
    }
    text.parse().ok()
}

#[cfg(test)]
mod tests {
    use super::*;
    use vigil_tlog::leaf_hash;

    const CP: &str = "example.com/log\n5\nAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAA=\n\n\u{2014} example.com/log AAAA\n";

    #[test]
    fn round_trip() {
        let proof = vec![leaf_hash(b"a"), leaf_hash(b"b")];
        let body = format_add_checkpoint(3, &proof, CP);
        assert!(body.starts_with("old 3\n"));
        let got = parse_add_checkpoint(body.as_bytes()).expect("parse");
        assert_eq!(
            got,
            AddCheckpointRequest {
                old_size: 3,
                proof,
                checkpoint: CP,
            }
        );
        let empty = format_add_checkpoint(0, &[], CP);
        assert_eq!(empty, format!("old 0\n\n{CP}"));
        assert_eq!(
            parse_add_checkpoint(empty.as_bytes()).map(|r| (r.old_size, r.proof.len())),
            Ok((0, 0))
        );
    }

    #[test]
    fn strictness() {
        let h = leaf_hash(b"x").to_base64();
        for bad in [
            format!("old 01\n\n{CP}"),
            format!("old -1\n\n{CP}"),
            format!("old +1\n\n{CP}"),
            format!("old 18446744073709551616\n\n{CP}"),
            format!("old  1\n\n{CP}"),
            format!("old 1 \n\n{CP}"),
            format!("Old 1\n\n{CP}"),
            format!("old 1\r\n\n{CP}"),
            format!("old 1\n{}\n\n{CP}", h.trim_end_matches('=')),
            format!("old 1\n{h} \n\n{CP}"),
            format!("old 1\n{}\n\n{CP}", leaf_hash(b"x").to_hex()),
            format!("old 1\n{}\n\n{CP}", "AAAA"),
            "old 1\n".to_owned(),
            "old 1".to_owned(),
            String::new(),
        ] {
            assert!(parse_add_checkpoint(bad.as_bytes()).is_err(), "{bad:?}");
        }
        assert!(parse_add_checkpoint(&[0xff, b'\n', b'\n']).is_err());
        let proof_63 = format!("old 1\n{}\n{CP}", format!("{h}\n").repeat(63));
        assert_eq!(
            parse_add_checkpoint(proof_63.as_bytes()).map(|r| r.proof.len()),
            Ok(63)
        );
        let proof_64 = format!("old 1\n{}\n{CP}", format!("{h}\n").repeat(64));
        assert!(
            parse_add_checkpoint(proof_64.as_bytes())
                .expect_err("64 lines")
                .contains("63")
        );
        let big = format!("old 1\n\n{}", "x".repeat(MAX_BODY));
        assert!(parse_add_checkpoint(big.as_bytes()).is_err());
    }

    #[test]
    fn origin_hashes() {
        let h = origin_hash("example.com/log");
        assert!(is_origin_hash(&h));
        assert_eq!(h, hex::encode(Sha256::digest(b"example.com/log")));
        assert!(!is_origin_hash(&h.to_uppercase()));
        assert!(!is_origin_hash("../../etc/passwd"));
        assert!(!is_origin_hash(&h[1..]));
    }
}
