//! Hash lists in the plain text form that ThreatExchange and Hasher-Matcher-Actioner tooling
//! read and write: one PDQ hash a line, so collections can be compared with lists that other
//! organisations share, without sharing the media.
//!
//! The form, as read here:
//! - a line holds a PDQ hash as 64 hex digits, optionally followed by whitespace or a comma
//!   and tags (separated by commas or whitespace);
//! - `#` starts a comment line; blank lines are ignored; a UTF-8 byte-order mark and `\r\n`
//!   line ends are accepted;
//! - anything else is a bad line, reported with its (1-based) line number. Reading never
//!   stops at a bad line and never panics, whatever the bytes.
//!
//! ```
//! use vigil_phash::hashlist::{format_hash_list_line, parse_hash_list};
//!
//! let text = "# shared list\nf8f8f0cee0f4a84f06370a22038f63f0b36e2ed596621e1d33e6b39c4e9c9b22,case-17,bridge\nnot a hash\n";
//! let list = parse_hash_list(text.as_bytes());
//! assert_eq!(list.entries.len(), 1);
//! assert_eq!(list.entries[0].tags, ["case-17", "bridge"]);
//! assert_eq!(list.errors[0].line, 3);
//! let line = format_hash_list_line(&list.entries[0].hash, &["x"]);
//! assert!(line.ends_with(" x"));
//! ```

use crate::PdqHash;

/// One hash of a list, with where it was and what it was tagged with.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct HashListEntry {
    /// 1-based line number in the list.
    pub line: usize,
    /// The hash.
    pub hash: PdqHash,
    /// The tags after it (may be empty).
    pub tags: Vec<String>,
}

/// A line that is not a hash, a comment or blank.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("line {line}: {problem}")]
pub struct HashListLineError {
    /// 1-based line number.
    pub line: usize,
    /// What is wrong with it.
    pub problem: String,
}

/// A list as read: the good lines and the bad ones.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct HashList {
    /// Hash lines, in file order.
    pub entries: Vec<HashListEntry>,
    /// Bad lines, in file order.
    pub errors: Vec<HashListLineError>,
}

/// Reads a hash list from its bytes (see the [module documentation](self) for the form).
pub fn parse_hash_list(bytes: &[u8]) -> HashList {
    let bytes = bytes.strip_prefix(b"\xEF\xBB\xBF").unwrap_or(bytes);
    let mut list = HashList::default();
    for (n, raw) in bytes.split(|b| *b == b'\n').enumerate() {
        let line = n + 1;
        let bad = |problem: String| HashListLineError { line, problem };
        let Ok(text) = std::str::from_utf8(raw) else {
            list.errors.push(bad("not UTF-8 text".into()));
            continue;
        };
        let text = text.trim();
        if text.is_empty() || text.starts_with('#') {
            continue;
        }
        let end = text
            .find(|c: char| c == ',' || c.is_whitespace())
            .unwrap_or(text.len());
        let (first, rest) = text.split_at(end);
        if first.len() != 64 || !first.bytes().all(|b| b.is_ascii_hexdigit()) {
            let shown: String = first.chars().take(80).collect();
            list.errors.push(bad(format!(
                "expected a PDQ hash (64 hex digits), found {shown:?}"
            )));
            continue;
        }
        let Ok(hash) = PdqHash::from_hex(first) else {
            list.errors.push(bad("not a PDQ hash".into()));
            continue;
        };
        let tags = rest
            .split(|c: char| c == ',' || c.is_whitespace())
            .filter(|t| !t.is_empty())
            .map(str::to_owned)
            .collect();
        list.entries.push(HashListEntry { line, hash, tags });
    }
    list
}

/// One line of a list: the hash, then the tags separated by commas after a space (no line
/// end). Tags must not contain commas or whitespace; those characters are replaced by `_`
/// so the line reads back as written.
pub fn format_hash_list_line(hash: &PdqHash, tags: &[&str]) -> String {
    let mut line = hash.to_hex();
    let tags: Vec<String> = tags
        .iter()
        .filter(|t| !t.is_empty())
        .map(|t| {
            t.chars()
                .map(|c| {
                    if c == ',' || c.is_whitespace() {
                        '_'
                    } else {
                        c
                    }
                })
                .collect()
        })
        .collect();
    if !tags.is_empty() {
        line.push(' ');
        line.push_str(&tags.join(","));
    }
    line
}

#[cfg(test)]
mod tests {
    use super::*;

    const H: &str = "f8f8f0cee0f4a84f06370a22038f63f0b36e2ed596621e1d33e6b39c4e9c9b22";

    #[test]
    fn reads_every_accepted_form() {
        let text = format!(
            "\u{feff}# comment\n\n{H}\n{H} a b\r\n{H},c,d\n  {H}\t e , f \n{}\n",
            H.to_uppercase()
        );
        let list = parse_hash_list(text.as_bytes());
        assert!(list.errors.is_empty(), "{:?}", list.errors);
        let got: Vec<(usize, Vec<String>)> = list
            .entries
            .iter()
            .map(|e| (e.line, e.tags.clone()))
            .collect();
        let tags = |t: &[&str]| t.iter().map(|s| s.to_string()).collect::<Vec<_>>();
        assert_eq!(
            got,
            [
                (3, tags(&[])),
                (4, tags(&["a", "b"])),
                (5, tags(&["c", "d"])),
                (6, tags(&["e", "f"])),
                (7, tags(&[])),
            ]
        );
        assert!(list.entries.iter().all(|e| e.hash.to_hex() == H));
    }

    #[test]
    fn bad_lines_are_reported_with_their_numbers() {
        let mut bytes = format!("{H}\nxyz\n{}\n{H}0\n", &H[..63]).into_bytes();
        bytes.extend_from_slice(b"\xff\xfe\n");
        bytes.extend_from_slice(format!("{}\n", H.replace('f', "g")).as_bytes());
        let list = parse_hash_list(&bytes);
        assert_eq!(list.entries.len(), 1);
        let lines: Vec<usize> = list.errors.iter().map(|e| e.line).collect();
        assert_eq!(lines, [2, 3, 4, 5, 6]);
        assert!(list.errors[0].to_string().starts_with("line 2: "));
        // Arbitrary bytes: errors, never a panic.
        for seed in 0..200u32 {
            let junk: Vec<u8> = (0..300u32)
                .map(|i| (i.wrapping_mul(2654435761).wrapping_add(seed * 97) >> 7) as u8)
                .collect();
            let _ = parse_hash_list(&junk);
        }
    }

    #[test]
    fn written_lines_read_back() {
        let hash = PdqHash::from_hex(H).expect("hex");
        let line = format_hash_list_line(&hash, &["abc", "frame:3", "a b,c"]);
        assert_eq!(line, format!("{H} abc,frame:3,a_b_c"));
        let list = parse_hash_list(line.as_bytes());
        assert_eq!(list.entries[0].tags, ["abc", "frame:3", "a_b_c"]);
        assert_eq!(format_hash_list_line(&hash, &[]), H);
    }
}
