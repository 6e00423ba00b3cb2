//! C2SP checkpoints (<https://c2sp.org/tlog-checkpoint>): the signed note text that states a
//! log's origin, tree size and root hash.
//!
//! ```text
//! example.com/behind-the-sofa
//! 20852163
//! CsUYapGGPo4dkMgIAUqom/Xajj7h2fB2MPA3j2jxq2I=
//! ```
//!
//! Parsing is strict (canonical decimal and base64, no empty lines, final newline) so that one
//! tree head has exactly one text, and a signature over it cannot be replayed on a variant.

use std::fmt;

use crate::hash::Hash;
use crate::note::{Note, NoteError, Signer, VerifiedNote, Verifiers, sign_note};
use crate::tiles::parse_decimal;

/// Why a checkpoint was refused.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[non_exhaustive]
pub enum CheckpointError {
    /// The text is not a well-formed checkpoint body.
    #[error("malformed checkpoint: {0}")]
    Malformed(String),
    /// The checkpoint is for another log than the one expected.
    #[error("checkpoint origin {found:?} is not the expected {expected:?}")]
    OriginMismatch {
        /// The origin the caller trusts.
        expected: String,
        /// The origin on the checkpoint.
        found: String,
    },
    /// The signed note around the checkpoint did not parse or verify.
    #[error(transparent)]
    Note(#[from] NoteError),
}

/// A transparency log tree head: which log, how many leaves, and the Merkle root over them.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Checkpoint {
    origin: String,
    size: u64,
    root: Hash,
    extensions: Vec<String>,
}

fn check_line(line: &str, what: &str) -> Result<(), CheckpointError> {
    if line.is_empty() {
        return Err(CheckpointError::Malformed(format!("{what} is empty")));
    }
    if line.chars().any(char::is_control) {
        return Err(CheckpointError::Malformed(format!(
            "{what} contains a control character"
        )));
    }
    Ok(())
}

impl Checkpoint {
    /// A checkpoint for `origin` at `size` with `root`; the origin must be a non-empty line.
    pub fn new(origin: &str, size: u64, root: Hash) -> Result<Self, CheckpointError> {
        check_line(origin, "origin")?;
        Ok(Checkpoint {
            origin: origin.to_owned(),
            size,
            root,
            extensions: Vec::new(),
        })
    }

    /// Adds opaque extension lines (the spec discourages them; they are not auditable).
    pub fn with_extensions(mut self, lines: Vec<String>) -> Result<Self, CheckpointError> {
        for l in &lines {
            check_line(l, "extension line")?;
        }
        self.extensions = lines;
        Ok(self)
    }

    /// Parses a checkpoint body (the note text, final newline included).
    pub fn parse(text: &str) -> Result<Self, CheckpointError> {
        let malformed = |why: &str| CheckpointError::Malformed(why.to_owned());
        let body = text
            .strip_suffix('\n')
            .ok_or_else(|| malformed("does not end with a newline"))?;
        let mut lines = body.split('\n');
        let origin = lines.next().unwrap_or_default();
        check_line(origin, "origin")?;
        let size = lines.next().ok_or_else(|| malformed("missing tree size"))?;
        let size =
            parse_decimal(size).ok_or_else(|| malformed("tree size is not canonical decimal"))?;
        let root = lines.next().ok_or_else(|| malformed("missing root hash"))?;
        let root = Hash::from_base64(root).map_err(|e| malformed(&format!("root hash: {e}")))?;
        let extensions: Vec<String> = lines.map(str::to_owned).collect();
        for l in &extensions {
            check_line(l, "extension line")?;
        }
        Ok(Checkpoint {
            origin: origin.to_owned(),
            size,
            root,
            extensions,
        })
    }

    /// The note text: origin, size, base64 root and any extension lines, each ending in `\n`.
    pub fn to_text(&self) -> String {
        let mut s = format!(
            "{}\n{}\n{}\n",
            self.origin,
            self.size,
            self.root.to_base64()
        );
        for l in &self.extensions {
            s.push_str(l);
            s.push('\n');
        }
        s
    }

    /// Signs the checkpoint, returning the signed note to publish.
    pub fn sign(&self, signers: &[&Signer]) -> Result<String, CheckpointError> {
        Ok(sign_note(&self.to_text(), signers)?)
    }

    /// The log identity line.
    pub fn origin(&self) -> &str {
        &self.origin
    }

    /// Number of leaves in the tree.
    pub fn size(&self) -> u64 {
        self.size
    }

    /// Merkle root of the tree.
    pub fn root(&self) -> &Hash {
        &self.root
    }

    /// Extension lines, if any.
    pub fn extensions(&self) -> &[String] {
        &self.extensions
    }
}

impl fmt::Display for Checkpoint {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.to_text())
    }
}

/// Verifies a signed checkpoint from the log `origin`, signed by one of `log_keys`.
///
/// The origin is compared first, so a correctly signed checkpoint of another log is refused.
/// Signatures by keys not in `log_keys` (witness cosignatures, say) are returned unverified in
/// the [`VerifiedNote`] for the caller's own policy.
pub fn open_checkpoint(
    signed: &[u8],
    origin: &str,
    log_keys: &Verifiers,
) -> Result<(Checkpoint, VerifiedNote), CheckpointError> {
    let note = Note::parse(signed)?;
    let cp = Checkpoint::parse(note.text())?;
    if cp.origin != origin {
        return Err(CheckpointError::OriginMismatch {
            expected: origin.to_owned(),
            found: cp.origin,
        });
    }
    let verified = note.verify(log_keys)?;
    Ok((cp, verified))
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::hash::EMPTY_ROOT;

    #[test]
    fn round_trip_and_strictness() {
        let cp = Checkpoint::new("example.com/log", 20852163, EMPTY_ROOT).expect("new");
        let text = cp.to_text();
        assert_eq!(Checkpoint::parse(&text), Ok(cp.clone()));
        let with_ext = cp.clone().with_extensions(vec!["ext".into()]).expect("ext");
        assert_eq!(Checkpoint::parse(&with_ext.to_text()), Ok(with_ext));
        let root = EMPTY_ROOT.to_base64();
        for bad in [
            format!("example.com/log\n20852163\n{root}"),
            format!("example.com/log\n020852163\n{root}\n"),
            format!("example.com/log\n+20852163\n{root}\n"),
            format!("example.com/log\n18446744073709551616\n{root}\n"),
            format!("example.com/log\n1\n{}\n", root.trim_end_matches('=')),
            format!("\n1\n{root}\n"),
            "example.com/log\n1\n".to_owned(),
            format!("example.com/log\n1\n{root}\n\n"),
            format!("example.com/log\n1\n{root}\next\n\n"),
            format!("example.com/log\r\n1\n{root}\n"),
        ] {
            assert!(Checkpoint::parse(&bad).is_err(), "{bad:?}");
        }
        assert!(Checkpoint::parse(&format!("o\n0\n{root}\n")).is_ok());
        assert!(Checkpoint::new("", 1, EMPTY_ROOT).is_err());
        assert!(Checkpoint::new("a\nb", 1, EMPTY_ROOT).is_err());
    }

    #[test]
    fn open_checks_origin_and_signature() {
        let s = Signer::from_seed("example.com/log", &[1; 32]).expect("signer");
        let cp = Checkpoint::new("example.com/log", 5, EMPTY_ROOT).expect("new");
        let signed = cp.sign(&[&s]).expect("sign");
        let keys: Verifiers = s.verifier().into();
        let (got, _) = open_checkpoint(signed.as_bytes(), "example.com/log", &keys).expect("open");
        assert_eq!(got, cp);
        assert!(matches!(
            open_checkpoint(signed.as_bytes(), "example.com/other", &keys),
            Err(CheckpointError::OriginMismatch { .. })
        ));
        let forged = signed.replace("\n5\n", "\n6\n");
        assert!(matches!(
            open_checkpoint(forged.as_bytes(), "example.com/log", &keys),
            Err(CheckpointError::Note(NoteError::BadSignature { .. }))
        ));
    }
}
