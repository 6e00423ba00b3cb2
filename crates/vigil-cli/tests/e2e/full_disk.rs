//! A full disk under the store: the error names the file that could not be written, and
//! nothing half-written is left behind. The store lives on a 2 MiB tmpfs filled to the brim,
//! which needs root to mount: as any other user these tests say so and are skipped.

use std::path::{Path, PathBuf};
use std::process::Command;

use crate::support::*;

/// A small tmpfs, unmounted when dropped.
struct Tmpfs {
    _parent: tempfile::TempDir,
    dir: PathBuf,
}

impl Tmpfs {
    /// Mounts one, or `None` (with a message) when not running as root.
    fn mount() -> Option<Tmpfs> {
        // SAFETY: geteuid(2) has no preconditions and cannot fail.
        if unsafe { libc::geteuid() } != 0 {
            eprintln!("full_disk: skipped, mounting a small tmpfs needs root");
            return None;
        }
        let parent = tempfile::tempdir().expect("tempdir");
        let dir = parent.path().join("disk");
        std::fs::create_dir(&dir).expect("mkdir");
        let out = Command::new("mount")
            .args(["-t", "tmpfs", "-o", "size=2m", "tmpfs"])
            .arg(&dir)
            .output()
            .expect("run mount");
        assert!(
            out.status.success(),
            "mount -t tmpfs failed as root: {}",
            text(&out.stderr)
        );
        Some(Tmpfs {
            _parent: parent,
            dir,
        })
    }

    fn filler(&self) -> PathBuf {
        self.dir.join("filler")
    }

    /// Fills the disk, then frees `leave` bytes.
    fn fill_leaving(&self, leave: u64) {
        use std::io::Write;
        let mut f = std::fs::File::create(self.filler()).expect("filler");
        let block = vec![0u8; 4096];
        while f.write_all(&block).is_ok() {}
        let len = f.metadata().expect("metadata").len();
        f.set_len(len.saturating_sub(leave)).expect("truncate");
    }

    fn free(&self) {
        std::fs::remove_file(self.filler()).expect("remove filler");
    }
}

impl Drop for Tmpfs {
    fn drop(&mut self) {
        let _ = Command::new("umount").arg(&self.dir).status();
    }
}

fn vigil(store: &Path, args: &[&str]) -> std::process::Output {
    Command::new(env!("CARGO_BIN_EXE_vigil"))
        .arg("--store")
        .arg(store)
        .args(args)
        .output()
        .expect("run vigil")
}

/// Every file under `dir`, relative.
fn files_under(dir: &Path) -> Vec<String> {
    let mut out = Vec::new();
    let mut stack = vec![dir.to_path_buf()];
    while let Some(d) = stack.pop() {
        for e in std::fs::read_dir(&d).into_iter().flatten().flatten() {
            if e.file_type().is_ok_and(|t| t.is_dir()) {
                stack.push(e.path());
            } else {
                let rel = e.path().strip_prefix(dir).map(Path::to_path_buf);
                out.push(rel.unwrap_or_default().to_string_lossy().into_owned());
            }
        }
    }
    out.sort();
    out
}

#[test]
fn init_on_a_full_disk_names_the_catalog_and_leaves_no_store() {
    let Some(disk) = Tmpfs::mount() else { return };
    let store = disk.dir.join("store");
    // Room for the settings and the key, not for the catalog's tables.
    disk.fill_leaving(128 << 10);
    let out = vigil(&store, &["init"]);
    let err = text(&out.stderr);
    assert_eq!(out.status.code(), Some(2), "{err}");
    let catalog = store.join("catalog.sqlite");
    assert!(
        err.contains(&format!("{}: the disk is full", catalog.display())),
        "the error names the file: {err}"
    );
    assert_eq!(err.matches("disk is full").count(), 1, "said once: {err}");
    assert!(
        !store.exists(),
        "a half-made store is left: {:?}",
        files_under(&store)
    );

    // Once there is room, init makes a whole store (not "a store already exists").
    disk.free();
    let out = vigil(&store, &["init"]);
    assert!(out.status.success(), "{}", text(&out.stderr));
    assert!(
        text(&out.stdout).starts_with("Created"),
        "{}",
        text(&out.stdout)
    );
    let out = vigil(&store, &["verify"]);
    assert!(out.status.success(), "{}", text(&out.stdout));
}

#[test]
fn a_capture_on_a_full_disk_names_the_catalog_and_keeps_nothing_partial() {
    let Some(disk) = Tmpfs::mount() else { return };
    let store = disk.dir.join("store");
    let out = vigil(&store, &["init"]);
    assert!(out.status.success(), "{}", text(&out.stderr));
    let outside = tempfile::tempdir().expect("tempdir");
    let evidence = outside.path().join("video.bin");
    let bytes: Vec<u8> = (0..300_000u32).map(|i| (i * 7 % 251) as u8).collect();
    write(&evidence, &bytes);
    let before = files_under(&store);

    for leave in [64 << 10, 0] {
        disk.fill_leaving(leave);
        let out = vigil(&store, &["capture", evidence.to_str().expect("utf-8")]);
        let err = text(&out.stderr);
        assert_eq!(out.status.code(), Some(2), "{err}");
        assert!(
            err.contains(&format!(
                "{}: the disk is full",
                store.join("catalog.sqlite").display()
            )),
            "leaving {leave} bytes, the error names the file: {err}"
        );
        disk.free();
        // Nothing of the failed capture stays: no blob, no staged file, no row.
        let after: Vec<String> = files_under(&store)
            .into_iter()
            .filter(|f| !before.contains(f))
            // A run's staging session (removed by the next run) and SQLite's own WAL files.
            .filter(|f| !f.starts_with("blobs/tmp/") || !f.ends_with("/lock"))
            .filter(|f| !f.starts_with("catalog.sqlite-"))
            .collect();
        assert!(after.is_empty(), "left behind: {after:?}");
    }
    let out = vigil(&store, &["list"]);
    assert!(
        text(&out.stdout).contains("No captures"),
        "{}",
        text(&out.stdout)
    );
    let out = vigil(&store, &["capture", evidence.to_str().expect("utf-8")]);
    assert!(out.status.success(), "{}", text(&out.stderr));
    let out = vigil(&store, &["verify"]);
    assert!(out.status.success(), "{}", text(&out.stdout));
}
