//! Files and folders on disk.
//!
//! A folder is walked recursively in name order. Directory symlinks are not followed (so a
//! symlink loop cannot trap the walk); file symlinks are captured through to their target;
//! broken or looping links and special files (FIFOs, devices, sockets, which could block
//! forever) are reported, never silently dropped.

use std::ffi::OsStr;
use std::fs::File;
use std::io;
use std::path::{Path, PathBuf};

use serde::Serialize;
use vigil_store::{BlobStore, FinishedBlob};

/// One entry found under a source path.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum WalkEntry {
    /// A regular file (possibly reached through a file symlink).
    File {
        /// Path to open.
        path: PathBuf,
        /// Path relative to the folder given (the file name for a single file), as text: a
        /// name that is not UTF-8 has U+FFFD for each bad byte here, and its bytes in
        /// `relative_hex`.
        relative: String,
        /// The original bytes of `relative`, hex, when they are not UTF-8 ([`bytes_hex`]).
        relative_hex: Option<String>,
        /// Where the symlink pointed, when the entry was one.
        symlink_target: Option<PathBuf>,
    },
    /// Deliberately not captured, with the reason (e.g. a directory symlink).
    Skipped {
        /// The entry.
        path: PathBuf,
        /// Why.
        reason: String,
    },
    /// Could not be captured.
    Failed {
        /// The entry.
        path: PathBuf,
        /// Stable code: `not-found`, `not-regular`, `broken-symlink`, `unreadable`.
        code: &'static str,
        /// What went wrong.
        message: String,
    },
}

/// Lists what capturing `source` means: the file itself, or every file under the folder.
pub fn expand(source: &Path) -> Vec<WalkEntry> {
    let meta = match std::fs::metadata(source) {
        Ok(m) => m,
        Err(e) => {
            let code = if e.kind() == io::ErrorKind::NotFound {
                "not-found"
            } else {
                "unreadable"
            };
            return vec![WalkEntry::Failed {
                path: source.to_path_buf(),
                code,
                message: format!("{}: {e}", source.display()),
            }];
        }
    };
    if !meta.is_dir() {
        let name = source.file_name().unwrap_or(source.as_os_str());
        return vec![file_entry(source, name)];
    }
    let mut out = Vec::new();
    let walker = walkdir::WalkDir::new(source)
        .follow_links(false)
        .sort_by_file_name()
        .min_depth(1);
    for entry in walker {
        match entry {
            Ok(e) if e.file_type().is_dir() => {}
            Ok(e) => {
                let relative = e.path().strip_prefix(source).unwrap_or(e.path());
                out.push(file_entry(e.path(), relative.as_os_str()));
            }
            Err(err) => out.push(WalkEntry::Failed {
                path: err.path().map(Path::to_path_buf).unwrap_or_default(),
                code: "unreadable",
                message: err.to_string(),
            }),
        }
    }
    out
}

/// The bytes of a name, hex, when they are not UTF-8: what the record keeps beside the
/// lossy text (`…_hex`), so a name that only Linux allows keeps every byte. `None` for
/// UTF-8 names (the text is exact) and on systems whose names are not bytes.
pub fn bytes_hex(name: &OsStr) -> Option<String> {
    if name.to_str().is_some() {
        return None;
    }
    #[cfg(unix)]
    {
        use std::os::unix::ffi::OsStrExt;
        Some(name.as_bytes().iter().map(|b| format!("{b:02x}")).collect())
    }
    #[cfg(not(unix))]
    None
}

fn file_entry(path: &Path, relative: &OsStr) -> WalkEntry {
    let link = std::fs::symlink_metadata(path)
        .map(|m| m.file_type().is_symlink())
        .unwrap_or(false);
    let symlink_target = if link {
        std::fs::read_link(path).ok()
    } else {
        None
    };
    match std::fs::metadata(path) {
        Ok(m) if m.is_file() => WalkEntry::File {
            path: path.to_path_buf(),
            relative: relative.to_string_lossy().into_owned(),
            relative_hex: bytes_hex(relative),
            symlink_target,
        },
        Ok(m) if m.is_dir() => WalkEntry::Skipped {
            path: path.to_path_buf(),
            reason: format!(
                "symlink to a directory ({}) not followed; capture the target directly",
                symlink_target.unwrap_or_default().display()
            ),
        },
        Ok(m) => WalkEntry::Failed {
            path: path.to_path_buf(),
            code: "not-regular",
            message: format!(
                "{} is not a regular file ({}); not read, as it could block forever",
                path.display(),
                describe_type(&m)
            ),
        },
        Err(e) => WalkEntry::Failed {
            path: path.to_path_buf(),
            code: if link { "broken-symlink" } else { "unreadable" },
            message: if link {
                format!(
                    "symlink {} -> {} cannot be followed: {e}",
                    path.display(),
                    symlink_target.unwrap_or_default().display()
                )
            } else {
                format!("{}: {e}", path.display())
            },
        },
    }
}

fn describe_type(m: &std::fs::Metadata) -> &'static str {
    #[cfg(unix)]
    {
        use std::os::unix::fs::FileTypeExt;
        let t = m.file_type();
        if t.is_fifo() {
            return "FIFO";
        }
        if t.is_socket() {
            return "socket";
        }
        if t.is_block_device() || t.is_char_device() {
            return "device";
        }
    }
    let _ = m;
    "special file"
}

/// Facts about a file at capture time, recorded with the capture.
#[derive(Debug, Clone, Serialize)]
pub struct FileFacts {
    /// Absolute path read, as text (U+FFFD for each byte that is not UTF-8).
    pub path: String,
    /// The path's original bytes, hex, when they are not UTF-8 ([`bytes_hex`]).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub path_hex: Option<String>,
    /// Size when opened.
    pub size: u64,
    /// Last modification time reported by the file system (RFC 3339), if any.
    pub modified: Option<String>,
    /// Unix permission bits, octal.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub mode: Option<String>,
    /// Set when size or modification time changed while it was read: the stored bytes are
    /// what was read, but the file on disk may differ from them.
    pub changed_during_capture: bool,
}

/// Streams a file into a staged blob. `progress` receives byte counts as they are copied.
pub fn copy_into(
    path: &Path,
    blobs: &BlobStore,
    progress: &mut dyn FnMut(u64),
) -> Result<(FinishedBlob, FileFacts), (&'static str, String)> {
    let unreadable = |e: io::Error| ("unreadable", format!("{}: {e}", path.display()));
    let mut file = File::open(path).map_err(unreadable)?;
    let before = file.metadata().map_err(unreadable)?;
    if !before.is_file() {
        return Err((
            "not-regular",
            format!("{} is not a regular file", path.display()),
        ));
    }
    let finished = blobs
        .ingest(&mut file, before.len(), progress)
        .map_err(|e| match e {
            vigil_store::IngestError::Read(e) => unreadable(e),
            vigil_store::IngestError::Store(e) => {
                ("store", format!("storing {}: {e}", path.display()))
            }
        })?;
    let after = file.metadata().map_err(unreadable)?;
    let changed = after.len() != before.len()
        || after.modified().ok() != before.modified().ok()
        || finished.size != before.len();
    let absolute = std::path::absolute(path).unwrap_or_else(|_| path.to_path_buf());
    let facts = FileFacts {
        path: absolute.to_string_lossy().into_owned(),
        path_hex: bytes_hex(absolute.as_os_str()),
        size: finished.size,
        modified: before.modified().ok().map(system_time_rfc3339),
        mode: unix_mode(&before),
        changed_during_capture: changed,
    };
    Ok((finished, facts))
}

fn unix_mode(m: &std::fs::Metadata) -> Option<String> {
    #[cfg(unix)]
    {
        use std::os::unix::fs::PermissionsExt;
        Some(format!("{:o}", m.permissions().mode() & 0o7777))
    }
    #[cfg(not(unix))]
    {
        let _ = m;
        None
    }
}

fn system_time_rfc3339(t: std::time::SystemTime) -> String {
    let dt = time::OffsetDateTime::from(t);
    dt.format(&time::format_description::well_known::Rfc3339)
        .unwrap_or_default()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn walks_in_order_reports_loops_and_skips_directory_links() {
        let dir = tempfile::tempdir().expect("tempdir");
        let root = dir.path();
        std::fs::create_dir_all(root.join("b/c")).expect("mkdir");
        std::fs::write(root.join("a.txt"), b"a").expect("write");
        std::fs::write(root.join("b/c/ü.txt"), b"u").expect("write");
        std::fs::write(root.join("empty"), b"").expect("write");
        #[cfg(unix)]
        {
            std::os::unix::fs::symlink(root.join("loop"), root.join("loop")).expect("loop");
            std::os::unix::fs::symlink(root.join("b"), root.join("dirlink")).expect("dirlink");
            std::os::unix::fs::symlink(root.join("a.txt"), root.join("filelink")).expect("link");
        }
        let entries = expand(root);
        let files: Vec<_> = entries
            .iter()
            .filter_map(|e| match e {
                WalkEntry::File { relative, .. } => Some(relative.as_str()),
                _ => None,
            })
            .collect();
        #[cfg(unix)]
        {
            assert_eq!(files, ["a.txt", "b/c/ü.txt", "empty", "filelink"]);
            assert!(entries.iter().any(
                |e| matches!(e, WalkEntry::Skipped { path, .. } if path.ends_with("dirlink"))
            ));
            assert!(entries.iter().any(|e| matches!(e, WalkEntry::Failed { code: "broken-symlink", path, .. } if path.ends_with("loop"))));
        }
    }

    /// Linux names are bytes: one that is not UTF-8 keeps them, hex, beside its lossy text.
    #[cfg(unix)]
    #[test]
    fn names_that_are_not_utf8_keep_their_bytes() {
        use std::os::unix::ffi::OsStrExt;
        let dir = tempfile::tempdir().expect("tempdir");
        let name = OsStr::from_bytes(b"a\x1bb\xff.txt");
        std::fs::write(dir.path().join(name), b"x").expect("write");
        std::fs::write(dir.path().join("plain.txt"), b"y").expect("write");
        let entries = expand(dir.path());
        let got: Vec<_> = entries
            .iter()
            .filter_map(|e| match e {
                WalkEntry::File {
                    relative,
                    relative_hex,
                    ..
                } => Some((relative.as_str(), relative_hex.as_deref())),
                _ => None,
            })
            .collect();
        assert_eq!(
            got,
            [
                ("a\u{1b}b\u{fffd}.txt", Some("611b62ff2e747874")),
                ("plain.txt", None)
            ]
        );
        let blobs = BlobStore::open(&dir.path().join("blobs")).expect("blobs");
        let (_, facts) = copy_into(&dir.path().join(name), &blobs, &mut |_| {}).expect("copy");
        let hex = facts.path_hex.expect("bytes kept");
        assert!(hex.ends_with("611b62ff2e747874"), "{hex}");
        assert!(facts.path.ends_with("a\u{1b}b\u{fffd}.txt"));
    }

    #[test]
    fn missing_source_is_a_failure_not_a_panic() {
        let entries = expand(Path::new("/definitely/not/here"));
        assert!(matches!(
            entries[..],
            [WalkEntry::Failed {
                code: "not-found",
                ..
            }]
        ));
    }

    #[test]
    fn copies_bytes_and_facts() {
        let dir = tempfile::tempdir().expect("tempdir");
        let blobs = BlobStore::open(&dir.path().join("blobs")).expect("blobs");
        let f = dir.path().join("x.bin");
        std::fs::write(&f, vec![7u8; 3_000_000]).expect("write");
        let mut seen = 0;
        let (blob, facts) = copy_into(&f, &blobs, &mut |n| seen += n).expect("copy");
        assert_eq!(blob.size, 3_000_000);
        assert_eq!(seen, 3_000_000);
        assert!(!facts.changed_during_capture);
        assert_eq!(
            blob.digest,
            vigil_store::Sha256Digest::of(&vec![7u8; 3_000_000])
        );
    }
}
