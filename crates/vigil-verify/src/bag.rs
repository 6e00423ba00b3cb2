//! BagIt (RFC 8493) checking: declaration, payload manifest, tag manifest, Payload-Oxum, and
//! the files present but unlisted or listed but missing. Paths are never trusted: `..`,
//! absolute paths and symbolic links are refused, and nothing is read through a link.
//!
//! Every payload file is hashed once, here, by streaming (bounded memory whatever its size)
//! on a few threads; later checks use these digests rather than hashing again.

use std::collections::{BTreeMap, BTreeSet, HashMap};
use std::fs::File;
use std::io::{self, Read};
use std::path::{Path, PathBuf};
use std::sync::atomic::{AtomicUsize, Ordering};

use sha2::{Digest as _, Sha256};

use crate::report::{Code, Finding, shown};

/// Bytes read per `read` call while hashing.
const CHUNK: usize = 1 << 20;
/// Most hashing threads: disks rarely go faster with more, and memory stays at a few MiB.
const MAX_THREADS: usize = 4;
/// Largest tag file (manifests, bag-info) read for parsing.
const MAX_TAG_FILE: u64 = 64 << 20;
/// Deepest directory nesting walked under `data/`.
const MAX_DEPTH: usize = 64;

/// A SHA-256 digest.
pub(crate) type Digest = [u8; 32];

/// A regular payload file found by walking `data/` (links not followed).
#[derive(Clone, Debug)]
struct Walked {
    path: PathBuf,
    size: u64,
}

/// The payload as found on disk, with its digests: what later checks read from.
#[derive(Debug, Default)]
pub(crate) struct Bag {
    root: PathBuf,
    /// Regular files under `data/`, by their bag-relative path (`data/...`), with the SHA-256
    /// and size computed here (or why they could not be read).
    files: BTreeMap<String, Result<(Digest, u64), String>>,
    /// Paths under `data/` refused (links, devices, non-UTF-8 names).
    refused: BTreeSet<String>,
}

/// Why a file in the bag could not be read.
#[derive(Debug, thiserror::Error)]
pub(crate) enum ReadError {
    /// The path is not a plain relative path inside `data/`.
    #[error("{0}")]
    Unsafe(String),
    /// No regular file there.
    #[error("it is not in the package")]
    Missing,
    /// Larger than the cap for its kind.
    #[error("it is larger than the {0} bytes allowed for such a file")]
    TooLarge(u64),
    /// An I/O error.
    #[error("it could not be read: {0}")]
    Io(String),
}

impl ReadError {
    /// The finding code for this failure.
    pub(crate) fn code(&self) -> Code {
        match self {
            ReadError::Unsafe(_) => Code::UnsafePath,
            ReadError::Missing => Code::MissingFile,
            ReadError::TooLarge(_) | ReadError::Io(_) => Code::Unreadable,
        }
    }
}

impl Bag {
    /// The digest and size of a payload file, `rel` being relative to `data/`.
    pub(crate) fn digest(&self, rel: &str) -> Result<(Digest, u64), ReadError> {
        let path = data_path(rel)?;
        match self.files.get(&path) {
            Some(Ok(d)) => Ok(*d),
            Some(Err(e)) => Err(ReadError::Io(e.clone())),
            None if self.refused.contains(&path) => Err(ReadError::Unsafe(format!(
                "data/{} is a symbolic link or not a regular file",
                shown(rel)
            ))),
            None => Err(ReadError::Missing),
        }
    }

    /// Reads a small payload file (`rel` relative to `data/`), refusing more than `max` bytes.
    /// Only files found by the walk are read, so never through a link.
    pub(crate) fn read(&self, rel: &str, max: u64) -> Result<Vec<u8>, ReadError> {
        self.digest(rel)?;
        let path = data_path(rel)?;
        read_capped(&self.root.join(&path), max)
    }

    /// The first `n` bytes (fewer if the file is shorter) of a payload file found by the
    /// walk, never through a link.
    pub(crate) fn head(&self, rel: &str, n: usize) -> Result<Vec<u8>, ReadError> {
        self.digest(rel)?;
        let path = self.root.join(data_path(rel)?);
        let meta = std::fs::symlink_metadata(&path).map_err(|e| ReadError::Io(e.to_string()))?;
        if !meta.file_type().is_file() {
            return Err(ReadError::Unsafe(format!(
                "data/{} is a symbolic link or not a regular file",
                shown(rel)
            )));
        }
        let mut out = Vec::with_capacity(n);
        File::open(&path)
            .and_then(|f| f.take(n as u64).read_to_end(&mut out))
            .map_err(|e| ReadError::Io(e.to_string()))?;
        Ok(out)
    }

    /// Whether a payload file exists (`rel` relative to `data/`).
    pub(crate) fn exists(&self, rel: &str) -> bool {
        self.digest(rel).is_ok()
    }
}

/// `data/<rel>` after checking `rel` is a plain relative path.
pub(crate) fn data_path(rel: &str) -> Result<String, ReadError> {
    check_relative(rel).map_err(|why| ReadError::Unsafe(format!("{:?} {why}", shown(rel))))?;
    Ok(format!("data/{rel}"))
}

/// Refuses anything but `name/name/...`: no absolute path, no `.` or `..`, no empty
/// component, no backslash or NUL (which some systems read as separators or terminators).
fn check_relative(rel: &str) -> Result<(), &'static str> {
    if rel.is_empty() {
        return Err("is empty");
    }
    if rel.starts_with('/') {
        return Err("is an absolute path");
    }
    if rel.contains('\\') || rel.contains('\0') {
        return Err("contains a backslash or NUL");
    }
    for c in rel.split('/') {
        match c {
            ".." => return Err("climbs out of its directory (..)"),
            "." | "" => return Err("is not a plain path (empty or . component)"),
            _ => {}
        }
    }
    Ok(())
}

/// Reads at most `max` bytes of a regular file, refusing larger files and links.
fn read_capped(path: &Path, max: u64) -> Result<Vec<u8>, ReadError> {
    let meta = std::fs::symlink_metadata(path).map_err(|e| match e.kind() {
        io::ErrorKind::NotFound => ReadError::Missing,
        _ => ReadError::Io(e.to_string()),
    })?;
    if !meta.file_type().is_file() {
        return Err(ReadError::Unsafe(format!(
            "{} is a symbolic link or not a regular file",
            path.display()
        )));
    }
    if meta.len() > max {
        return Err(ReadError::TooLarge(max));
    }
    let mut out = Vec::with_capacity(usize::try_from(meta.len()).unwrap_or(0));
    File::open(path)
        .and_then(|f| f.take(max + 1).read_to_end(&mut out))
        .map_err(|e| ReadError::Io(e.to_string()))?;
    if out.len() as u64 > max {
        return Err(ReadError::TooLarge(max));
    }
    Ok(out)
}

/// A tag file at the top of the bag or below, every component checked not to be a link.
fn tag_file(root: &Path, rel: &str) -> Result<PathBuf, ReadError> {
    check_relative(rel).map_err(|why| ReadError::Unsafe(format!("{:?} {why}", shown(rel))))?;
    let mut path = root.to_path_buf();
    let parts: Vec<&str> = rel.split('/').collect();
    for (n, part) in parts.iter().enumerate() {
        path.push(part);
        let meta = std::fs::symlink_metadata(&path).map_err(|e| match e.kind() {
            io::ErrorKind::NotFound => ReadError::Missing,
            _ => ReadError::Io(e.to_string()),
        })?;
        let ok = if n + 1 == parts.len() {
            meta.file_type().is_file()
        } else {
            meta.file_type().is_dir()
        };
        if !ok {
            return Err(ReadError::Unsafe(format!(
                "{rel} passes through a symbolic link or is not a regular file"
            )));
        }
    }
    Ok(path)
}

/// Streams a file through SHA-256 in [`CHUNK`]-sized reads.
pub(crate) fn hash_file(path: &Path, buf: &mut [u8]) -> io::Result<(Digest, u64)> {
    let mut f = File::open(path)?;
    let mut h = Sha256::new();
    let mut total = 0u64;
    loop {
        let n = match f.read(buf) {
            Ok(0) => break,
            Ok(n) => n,
            Err(e) if e.kind() == io::ErrorKind::Interrupted => continue,
            Err(e) => return Err(e),
        };
        h.update(&buf[..n]);
        total += n as u64;
    }
    Ok((h.finalize().into(), total))
}

/// Hashes files on up to [`MAX_THREADS`] threads, largest first so that one big video does
/// not start last. Memory: one [`CHUNK`] per thread.
fn hash_all(
    mut jobs: Vec<(String, PathBuf, u64)>,
) -> HashMap<String, Result<(Digest, u64), String>> {
    jobs.sort_by_key(|j| std::cmp::Reverse(j.2));
    let threads = std::thread::available_parallelism()
        .map(|n| n.get())
        .unwrap_or(2)
        .clamp(2, MAX_THREADS)
        .min(jobs.len().max(1));
    let next = AtomicUsize::new(0);
    let mut out = HashMap::with_capacity(jobs.len());
    std::thread::scope(|s| {
        let handles: Vec<_> = (0..threads)
            .map(|_| {
                s.spawn(|| {
                    let mut buf = vec![0u8; CHUNK];
                    let mut done = Vec::new();
                    loop {
                        let i = next.fetch_add(1, Ordering::Relaxed);
                        let Some((rel, path, _)) = jobs.get(i) else {
                            break;
                        };
                        let r = hash_file(path, &mut buf).map_err(|e| e.to_string());
                        done.push((rel.clone(), r));
                    }
                    done
                })
            })
            .collect();
        for h in handles {
            if let Ok(done) = h.join() {
                out.extend(done);
            }
        }
    });
    for (rel, _, _) in &jobs {
        out.entry(rel.clone())
            .or_insert_with(|| Err("the hashing thread failed".into()));
    }
    out
}

/// Walks `data/` without following links: regular files, and paths refused.
fn walk(root: &Path, findings: &mut Vec<Finding>) -> (BTreeMap<String, Walked>, BTreeSet<String>) {
    let mut files = BTreeMap::new();
    let mut refused = BTreeSet::new();
    let data = root.join("data");
    match std::fs::symlink_metadata(&data) {
        Ok(m) if m.file_type().is_dir() => {}
        Ok(_) => {
            findings.push(Finding::fail(
                Code::UnsafePath,
                "data/",
                "The payload directory is a symbolic link or not a directory; it was not \
                 followed, so no evidence in this package could be checked.",
            ));
            return (files, refused);
        }
        Err(_) => {
            findings.push(Finding::fail(
                Code::MissingFile,
                "data/",
                "The package has no payload directory (data/), so it holds no evidence that \
                 could be checked.",
            ));
            return (files, refused);
        }
    }
    let mut stack = vec![(data, "data".to_owned(), 0usize)];
    while let Some((dir, rel, depth)) = stack.pop() {
        let entries = match std::fs::read_dir(&dir) {
            Ok(e) => e,
            Err(e) => {
                findings.push(Finding::fail(
                    Code::Unreadable,
                    format!("{rel}/"),
                    format!("This directory could not be read ({e}); its files were not checked."),
                ));
                continue;
            }
        };
        for entry in entries {
            let entry = match entry {
                Ok(e) => e,
                Err(e) => {
                    findings.push(Finding::fail(
                        Code::Unreadable,
                        format!("{rel}/"),
                        format!("A directory entry could not be read ({e})."),
                    ));
                    continue;
                }
            };
            let name = entry.file_name();
            let child = match name.to_str() {
                Some(n) => format!("{rel}/{n}"),
                None => {
                    let lossy = format!("{rel}/{}", name.to_string_lossy());
                    findings.push(Finding::fail(
                        Code::UnsafePath,
                        lossy.clone(),
                        "This file name is not valid UTF-8, so no manifest can name it; it \
                         was not checked.",
                    ));
                    refused.insert(lossy);
                    continue;
                }
            };
            // `DirEntry::file_type` does not follow links.
            let kind = match entry.file_type() {
                Ok(k) => k,
                Err(e) => {
                    findings.push(Finding::fail(
                        Code::Unreadable,
                        child,
                        format!("This entry could not be examined ({e})."),
                    ));
                    continue;
                }
            };
            if kind.is_symlink() {
                findings.push(Finding::fail(
                    Code::UnsafePath,
                    child.clone(),
                    "This is a symbolic link. It was not followed: a link can point outside \
                     the package, so what it leads to is not evidence in the package.",
                ));
                refused.insert(child);
            } else if kind.is_dir() {
                if depth >= MAX_DEPTH {
                    findings.push(Finding::fail(
                        Code::UnsafePath,
                        child.clone(),
                        "This directory is nested too deeply; it was not checked.",
                    ));
                    refused.insert(child);
                } else {
                    stack.push((entry.path(), child, depth + 1));
                }
            } else if kind.is_file() {
                let size = entry.metadata().map(|m| m.len()).unwrap_or(0);
                files.insert(
                    child,
                    Walked {
                        path: entry.path(),
                        size,
                    },
                );
            } else {
                findings.push(Finding::fail(
                    Code::UnsafePath,
                    child.clone(),
                    "This is not a regular file (a device, pipe or socket); it was not read.",
                ));
                refused.insert(child);
            }
        }
    }
    (files, refused)
}

/// One manifest line: the digest and the decoded path.
#[derive(Debug)]
struct Entry {
    line: usize,
    digest: String,
    path: String,
}

/// Decodes the RFC 8493 §2.1.3 percent-encoding of CR, LF and `%` in manifest paths.
fn decode_path(p: &str) -> String {
    let mut out = String::with_capacity(p.len());
    let mut rest = p;
    while let Some(i) = rest.find('%') {
        out.push_str(&rest[..i]);
        let code = rest.get(i + 1..i + 3).map(str::to_ascii_uppercase);
        match code.as_deref() {
            Some("0A") => out.push('\n'),
            Some("0D") => out.push('\r'),
            Some("25") => out.push('%'),
            _ => {
                out.push('%');
                rest = &rest[i + 1..];
                continue;
            }
        }
        rest = &rest[i + 3..];
    }
    out.push_str(rest);
    out
}

/// Lines ending in LF, CRLF or (alone, in a file without LF) CR, as RFC 8493 allows.
fn lines(text: &str) -> impl Iterator<Item = &str> {
    let sep = if !text.contains('\n') && text.contains('\r') {
        '\r'
    } else {
        '\n'
    };
    text.split(sep).map(|l| l.strip_suffix('\r').unwrap_or(l))
}

/// Splits a manifest into lines (LF, CRLF or CR, per RFC 8493) and parses each.
fn parse_manifest(name: &str, text: &[u8], findings: &mut Vec<Finding>) -> Vec<Entry> {
    let Ok(text) = std::str::from_utf8(text) else {
        findings.push(Finding::fail(
            Code::ManifestMalformed,
            name,
            "This manifest is not UTF-8 text, so the files it lists could not be checked.",
        ));
        return Vec::new();
    };
    let mut out = Vec::new();
    let mut seen = BTreeSet::new();
    for (n, line) in lines(text).enumerate() {
        if line.is_empty() {
            continue;
        }
        let line_no = n + 1;
        let bad = |why: &str| {
            Finding::fail(
                Code::ManifestMalformed,
                format!("{name} line {line_no}"),
                format!(
                    "This manifest line is not `<SHA-256> <path>` ({why}); the file it names was not checked."
                ),
            )
        };
        let Some((digest, path)) = line.split_once([' ', '\t']) else {
            findings.push(bad("no path"));
            continue;
        };
        let path = path.trim_start_matches([' ', '\t']);
        if digest.len() != 64 || !digest.bytes().all(|b| b.is_ascii_hexdigit()) {
            findings.push(bad("the digest is not 64 hexadecimal digits"));
            continue;
        }
        if path.is_empty() {
            findings.push(bad("no path"));
            continue;
        }
        let path = decode_path(path);
        if !seen.insert(path.clone()) {
            findings.push(bad("the same path is listed twice"));
            continue;
        }
        out.push(Entry {
            line: line_no,
            digest: digest.to_ascii_lowercase(),
            path,
        });
    }
    out
}

fn unsafe_line(name: &str, e: &Entry, why: &str) -> Finding {
    Finding::fail(
        Code::UnsafePath,
        format!("{name} line {}", e.line),
        format!(
            "The manifest names {:?}, which {why}. It was refused and nothing was read there: \
             a package may only describe files inside itself.",
            shown(&e.path)
        ),
    )
}

/// Reads and checks `bagit.txt`.
fn check_declaration(root: &Path, findings: &mut Vec<Finding>) {
    let text = tag_file(root, "bagit.txt").and_then(|p| read_capped(&p, 4096));
    let text = match text {
        Ok(t) => t,
        Err(e) => {
            findings.push(Finding::fail(
                if matches!(e, ReadError::Missing) {
                    Code::BagitInvalid
                } else {
                    e.code()
                },
                "bagit.txt",
                format!("The BagIt declaration could not be read ({e}); this is not a valid bag."),
            ));
            return;
        }
    };
    let text = String::from_utf8_lossy(&text);
    let text = text.strip_prefix('\u{feff}').unwrap_or(&text);
    let fields = parse_fields(text);
    let version = field(&fields, "BagIt-Version");
    let encoding = field(&fields, "Tag-File-Character-Encoding");
    if version != Some("1.0") || !encoding.is_some_and(|e| e.eq_ignore_ascii_case("UTF-8")) {
        findings.push(Finding::fail(
            Code::BagitInvalid,
            "bagit.txt",
            format!(
                "The BagIt declaration says version {:?} and encoding {:?}; a Vigil package is \
                 BagIt 1.0 in UTF-8.",
                version.unwrap_or("none"),
                encoding.unwrap_or("none")
            ),
        ));
    }
}

/// `Label: value` lines, with continuation lines (starting with white space) folded in.
fn parse_fields(text: &str) -> Vec<(String, String)> {
    let mut out: Vec<(String, String)> = Vec::new();
    for line in lines(text) {
        if line.is_empty() {
            continue;
        }
        if line.starts_with([' ', '\t']) {
            if let Some(last) = out.last_mut() {
                last.1.push(' ');
                last.1.push_str(line.trim());
            }
            continue;
        }
        if let Some((k, v)) = line.split_once(':') {
            out.push((k.trim().to_owned(), v.trim().to_owned()));
        }
    }
    out
}

fn field<'a>(fields: &'a [(String, String)], name: &str) -> Option<&'a str> {
    fields
        .iter()
        .find(|(k, _)| k.eq_ignore_ascii_case(name))
        .map(|(_, v)| v.as_str())
}

/// What `bag-info.txt` says that the verdict uses.
#[derive(Debug, Default)]
pub(crate) struct BagInfo {
    /// `External-Identifier`.
    pub(crate) external_id: Option<String>,
    /// The byte count `Payload-Oxum` declares, when it is readable: hashing stops there
    /// ([`hash_budget`]).
    pub(crate) declared_bytes: Option<u64>,
}

/// `Payload-Oxum`'s byte and file count, when it is two integers.
fn parse_oxum(oxum: &str) -> Option<(u64, usize)> {
    let (bytes, count) = oxum.split_once('.')?;
    Some((bytes.parse().ok()?, count.parse().ok()?))
}

/// Reads `bag-info.txt` and checks `Payload-Oxum` against the payload as walked (sizes
/// only, before anything is hashed) and the package format.
fn check_bag_info(
    root: &Path,
    walked: &BTreeMap<String, Walked>,
    findings: &mut Vec<Finding>,
) -> BagInfo {
    let mut info = BagInfo::default();
    let text = match tag_file(root, "bag-info.txt").and_then(|p| read_capped(&p, MAX_TAG_FILE)) {
        Ok(text) => text,
        Err(e) => {
            findings.push(Finding::fail(
                e.code(),
                "bag-info.txt",
                format!("The bag's metadata could not be read ({e})."),
            ));
            return info;
        }
    };
    let fields = parse_fields(&String::from_utf8_lossy(&text));
    info.external_id = field(&fields, "External-Identifier").map(shown);
    let oxum = field(&fields, "Payload-Oxum");
    info.declared_bytes = oxum.and_then(parse_oxum).map(|(bytes, _)| bytes);
    let bytes: u64 = walked.values().map(|w| w.size).sum();
    let count = walked.len();
    match oxum {
        Some(oxum) if oxum == format!("{bytes}.{count}") => {}
        Some(oxum) => findings.push(Finding::fail(
            Code::OxumMismatch,
            "bag-info.txt",
            format!(
                "Payload-Oxum says {} (bytes.files) but the payload holds {bytes} bytes in \
                 {count} files: files were added, removed or resized.",
                shown(oxum)
            ),
        )),
        None => findings.push(Finding::fail(
            Code::BagInfoInvalid,
            "bag-info.txt",
            "There is no Payload-Oxum (the payload's byte and file count).",
        )),
    }
    match field(&fields, "Vigil-Package-Format") {
        Some("vigil.package/v1") => {}
        other => findings.push(Finding::fail(
            Code::BagInfoInvalid,
            "bag-info.txt",
            format!(
                "Vigil-Package-Format is {:?}, not vigil.package/v1: this is not a package this \
                 verifier understands.",
                shown(other.unwrap_or("missing"))
            ),
        )),
    }
    info
}

/// Bytes hashed beyond what `Payload-Oxum` declares, so that a package altered by a little
/// is still checked file by file (and its changed files named).
const OXUM_SLACK: u64 = 16 << 20;

/// Which payload files to hash: all of them, unless together they are larger than
/// `Payload-Oxum` declares (plus [`OXUM_SLACK`]); then the smallest first, as many as fit,
/// and the others are reported, not hashed. A file grown or added by gigabytes already
/// contradicts the bag's own declaration: hashing it would only delay the verdict (the
/// payload is not as the package was made), so the check takes no longer than the package
/// as made would.
fn hash_budget(
    walked: &BTreeMap<String, Walked>,
    declared: Option<u64>,
    findings: &mut Vec<Finding>,
) -> Vec<(String, PathBuf, u64)> {
    let mut jobs: Vec<(String, PathBuf, u64)> = walked
        .iter()
        .map(|(rel, w)| (rel.clone(), w.path.clone(), w.size))
        .collect();
    let total: u64 = jobs.iter().map(|j| j.2).sum();
    let Some(declared) = declared else {
        return jobs;
    };
    let budget = declared.saturating_add(OXUM_SLACK);
    if total <= budget {
        return jobs;
    }
    jobs.sort_by_key(|j| j.2);
    let mut used = 0u64;
    jobs.retain(|(rel, _, size)| {
        if used.saturating_add(*size) <= budget {
            used += size;
            return true;
        }
        findings.push(Finding::fail(
            Code::OxumMismatch,
            rel.clone(),
            if *size > declared {
                format!(
                    "This file alone is {size} bytes, more than the {declared} bytes \
                     Payload-Oxum declares for the whole payload: it is not as the package was \
                     made, and it was not hashed."
                )
            } else {
                format!(
                    "This file ({size} bytes) was not hashed: the payload holds {total} bytes, \
                     far more than the {declared} Payload-Oxum declares, and the smaller files \
                     checked first used up what it declares."
                )
            },
        ));
        false
    });
    jobs
}

/// Checks the whole bag, appending findings; returns the payload as found, with digests.
pub(crate) fn check_bag(root: &Path, findings: &mut Vec<Finding>) -> (Bag, BagInfo) {
    let before = findings.len();
    check_declaration(root, findings);
    let (walked, refused) = walk(root, findings);
    let info = check_bag_info(root, &walked, findings);

    // Payload manifest.
    let manifest =
        tag_file(root, "manifest-sha256.txt").and_then(|p| read_capped(&p, MAX_TAG_FILE));
    let entries = match manifest {
        Ok(m) => parse_manifest("manifest-sha256.txt", &m, findings),
        Err(e) => {
            findings.push(Finding::fail(
                e.code(),
                "manifest-sha256.txt",
                format!(
                    "The payload manifest could not be read ({e}), so no file's integrity could \
                     be checked against it."
                ),
            ));
            Vec::new()
        }
    };

    let jobs = hash_budget(&walked, info.declared_bytes, findings);
    let digests = hash_all(jobs);
    let mut listed = BTreeSet::new();
    for e in &entries {
        let rel = match e.path.strip_prefix("data/") {
            Some(rel) => rel,
            None => {
                let why = if e.path.starts_with('/') {
                    "is an absolute path"
                } else if e.path.split('/').any(|c| c == "..") {
                    "climbs out of the bag (..)"
                } else {
                    "is not under data/"
                };
                findings.push(unsafe_line("manifest-sha256.txt", e, why));
                continue;
            }
        };
        if let Err(why) = check_relative(rel) {
            findings.push(unsafe_line("manifest-sha256.txt", e, why));
            continue;
        }
        listed.insert(e.path.clone());
        if refused.contains(&e.path) {
            continue; // already reported as a link or special file
        }
        if !walked.contains_key(&e.path) {
            findings.push(Finding::fail(
                Code::MissingFile,
                e.path.clone(),
                "The manifest lists this file but it is not in the package: part of the \
                 evidence as exported is missing.",
            ));
            continue;
        }
        match digests.get(&e.path) {
            None => {} // not hashed (beyond Payload-Oxum): reported by hash_budget
            Some(Err(err)) => findings.push(Finding::fail(
                Code::Unreadable,
                e.path.clone(),
                format!("This file could not be read ({err}), so its integrity is unknown."),
            )),
            Some(Ok((d, _))) if hex::encode(d) != e.digest => findings.push(Finding::fail(
                Code::HashMismatch,
                e.path.clone(),
                format!(
                    "This file's SHA-256 is {}, not the {} the manifest records: the file was \
                     changed (or damaged) after the package was made.",
                    hex::encode(d),
                    e.digest
                ),
            )),
            Some(Ok(_)) => {}
        }
    }
    for rel in walked.keys() {
        if !listed.contains(rel) {
            findings.push(Finding::fail(
                Code::UnlistedFile,
                rel.clone(),
                "This file is in the package but not in its manifest: it was added after the \
                 package was made, or the manifest was altered.",
            ));
        }
    }

    // Tag manifest.
    let tags = tag_file(root, "tagmanifest-sha256.txt").and_then(|p| read_capped(&p, MAX_TAG_FILE));
    match tags {
        Ok(t) => {
            let entries = parse_manifest("tagmanifest-sha256.txt", &t, findings);
            let mut buf = vec![0u8; CHUNK];
            for e in &entries {
                if e.path.starts_with("data/") {
                    findings.push(unsafe_line(
                        "tagmanifest-sha256.txt",
                        e,
                        "is a payload file, which belongs in manifest-sha256.txt",
                    ));
                    continue;
                }
                let path = match tag_file(root, &e.path) {
                    Ok(p) => p,
                    Err(ReadError::Unsafe(why)) => {
                        findings.push(unsafe_line("tagmanifest-sha256.txt", e, &why));
                        continue;
                    }
                    Err(err) => {
                        findings.push(Finding::fail(
                            err.code(),
                            e.path.clone(),
                            format!("The tag manifest lists this file but {err}."),
                        ));
                        continue;
                    }
                };
                match hash_file(&path, &mut buf) {
                    Ok((d, _)) if hex::encode(d) != e.digest => findings.push(Finding::fail(
                        Code::HashMismatch,
                        e.path.clone(),
                        format!(
                            "This file's SHA-256 is {}, not the {} the tag manifest records: it \
                             was changed after the package was made.",
                            hex::encode(d),
                            e.digest
                        ),
                    )),
                    Ok(_) => {}
                    Err(err) => findings.push(Finding::fail(
                        Code::Unreadable,
                        e.path.clone(),
                        format!("This file could not be read ({err})."),
                    )),
                }
            }
            for required in ["bagit.txt", "bag-info.txt", "manifest-sha256.txt"] {
                if !entries.iter().any(|e| e.path == required) {
                    findings.push(Finding::fail(
                        Code::UnlistedFile,
                        required,
                        "The tag manifest does not cover this file, so a change to it would go \
                         unnoticed.",
                    ));
                }
            }
        }
        Err(e) => findings.push(Finding::fail(
            e.code(),
            "tagmanifest-sha256.txt",
            format!(
                "The tag manifest could not be read ({e}), so the manifest and bag-info.txt are \
                 not protected against change."
            ),
        )),
    }

    let bytes: u64 = walked.values().map(|w| w.size).sum();
    if !findings[before..].iter().any(Finding::failed) {
        findings.push(Finding::pass(
            Code::BagComplete,
            "",
            format!(
                "The package is a complete, unaltered BagIt 1.0 bag: each of its {} payload files \
                 ({bytes} bytes) has the SHA-256 its manifest records, no file is missing or \
                 added, and the manifest and bag metadata match the tag manifest. (This shows \
                 the package is as it was made; the checks below show what the contents prove.)",
                walked.len()
            ),
        ));
    }
    let files = walked
        .keys()
        .map(|rel| {
            let r = digests.get(rel).cloned().unwrap_or_else(|| {
                Err("it was not hashed: the payload is larger than Payload-Oxum declares".into())
            });
            (rel.clone(), r)
        })
        .collect();
    (
        Bag {
            root: root.to_path_buf(),
            files,
            refused,
        },
        info,
    )
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn percent_decoding() {
        assert_eq!(decode_path("data/a%0Ab%0dc%25d%41"), "data/a\nb\rc%d%41");
        assert_eq!(decode_path("data/100%"), "data/100%");
    }

    #[test]
    fn relative_paths() {
        assert!(check_relative("items/a.mp4").is_ok());
        for bad in [
            "",
            "/etc/passwd",
            "../x",
            "a/../../x",
            "a//b",
            "./a",
            "a\\b",
            "a/.",
        ] {
            assert!(check_relative(bad).is_err(), "{bad:?}");
        }
    }

    #[test]
    fn manifest_lines() {
        let d = "ab".repeat(32);
        let text = format!("{d}  data/a\r\n{d} data/b%0Ac\n\nxyz data/c\n{d}\n{d}  data/a\n");
        let mut f = Vec::new();
        let e = parse_manifest("m", text.as_bytes(), &mut f);
        assert_eq!(e.len(), 2);
        assert_eq!(e[1].path, "data/b\nc");
        assert_eq!(f.len(), 3, "{f:?}");
    }
}
