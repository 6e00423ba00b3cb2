//! Issue 16's findings against the evidence chain, each as the attacker did it: a capture row
//! planted with SQL, a missing or replaced log key, an audit trail cut short, a receipt asked
//! for an edited leaf, and `vigil verify` writing to the store it checks.

use std::collections::BTreeMap;
use std::path::Path;

use crate::support::*;

/// A store with one captured file.
fn captured() -> TestStore {
    let s = TestStore::new();
    let file = s.dir.path().join("evidence.mp4");
    write(&file, b"footage of a prisoner of war");
    let out = s.vigil(&["capture", &file.to_string_lossy()]);
    assert!(out.status.success(), "{}", text(&out.stderr));
    s
}

/// The size of the log's latest checkpoint (publishing first).
fn tree_size(s: &TestStore) -> u64 {
    let (out, lines) = s.vigil_json(&["log", "checkpoint"]);
    assert!(out.status.success(), "{}", text(&out.stderr));
    lines[0]["tree_size"].as_u64().expect("tree_size")
}

/// Every file of the store with its bytes, but SQLite's transient WAL and shared-memory files.
fn snapshot(dir: &Path) -> BTreeMap<String, Vec<u8>> {
    let mut files = BTreeMap::new();
    let mut stack = vec![dir.to_path_buf()];
    while let Some(d) = stack.pop() {
        for entry in std::fs::read_dir(&d).expect("read dir") {
            let path = entry.expect("entry").path();
            let name = path.to_string_lossy().into_owned();
            if path.is_dir() {
                stack.push(path);
            } else if !name.ends_with("-shm") && !name.ends_with("-wal") {
                files.insert(name, std::fs::read(&path).expect("read"));
            }
        }
    }
    files
}

fn fails_with(out: &std::process::Output, needle: &str) {
    assert_eq!(out.status.code(), Some(2), "{}", text(&out.stdout));
    assert!(
        text(&out.stderr).contains(needle),
        "expected {needle:?} in: {}",
        text(&out.stderr)
    );
}

#[test]
fn a_capture_row_planted_with_sql_is_reported_and_never_logged() {
    let s = captured();
    assert_eq!(tree_size(&s), 1);
    // A backdated capture of the same file, inserted by hand.
    s.sql(
        "INSERT INTO captures (id, run_id, source, kind, method, status, collector, captured_at,
             vigil_version, tools, tags, details)
         VALUES (2, 'planted', '/planted/evidence.mp4', 'file', 'file', 'ok', 'someone',
             '2020-01-01T00:00:00.000000Z', '0.1.0', '{}', '[]', '{}');
         INSERT INTO capture_items (capture_id, position, sha256, role, name)
             SELECT 2, 0, sha256, role, name FROM capture_items WHERE capture_id = 1;",
    );
    // Opening the store (any command) logs nothing.
    assert!(s.vigil(&["list"]).status.success());
    assert_eq!(tree_size(&s), 1, "the planted row got no leaf");
    // `vigil verify` names it, and writes nothing while checking.
    let before = snapshot(&s.store());
    let found = s.log_problems();
    assert_eq!(snapshot(&s.store()), before, "verify changed the store");
    assert!(
        found
            .iter()
            .any(|p| p.starts_with("capture #2 has no leaf in the transparency log")),
        "{found:?}"
    );
    // No receipt, and no upgrade can launder it.
    fails_with(&s.vigil(&["receipt", "2"]), "capture #2 has no log leaf");
    fails_with(&s.vigil(&["upgrade"]), "already holds 1 leaves");
    assert_eq!(tree_size(&s), 1);
}

#[test]
fn a_store_from_before_the_log_is_upgraded_explicitly_once() {
    let s = captured();
    // What a store made before the log looks like: captures, no leaves, no checkpoints, no
    // log directory and no key.
    s.sql("DELETE FROM log_leaves; DELETE FROM log_checkpoints; DELETE FROM log_keys;");
    std::fs::remove_dir_all(s.store().join("log")).expect("log dir");
    std::fs::remove_file(s.store().join("log.key")).expect("key");
    let more = s.dir.path().join("later.txt");
    write(&more, b"a later capture");
    fails_with(
        &s.vigil(&["capture", &more.to_string_lossy()]),
        "run `vigil upgrade` once",
    );
    let (out, lines) = s.vigil_json(&["upgrade"]);
    assert!(out.status.success(), "{}", text(&out.stderr));
    assert_eq!(lines[0]["logged_captures"], serde_json::json!([1]));
    // The capture and the upgrade's own event.
    assert_eq!(lines[0]["tree_size"], 2);
    let ok = s.vigil(&["verify"]);
    assert!(ok.status.success(), "{}", text(&ok.stdout));
    assert!(
        s.vigil(&["capture", &more.to_string_lossy()])
            .status
            .success()
    );
    fails_with(&s.vigil(&["upgrade"]), "already holds");
}

#[test]
fn a_missing_log_key_is_refused_and_replaced_only_by_a_recorded_rotation() {
    let s = captured();
    let key = s.store().join("log.key");
    let old_vkey = text(&s.vigil(&["log", "vkey"]).stdout).trim().to_owned();
    std::fs::remove_file(&key).expect("remove key");
    let more = s.dir.path().join("later.txt");
    write(&more, b"a later capture");
    fails_with(&s.vigil(&["capture", &more.to_string_lossy()]), "log key");
    assert!(!key.exists(), "no key was made in its place");
    fails_with(&s.vigil(&["log", "vkey"]), "is missing");

    // A key from elsewhere put in its place is refused too.
    let other = TestStore::new();
    std::fs::copy(other.store().join("log.key"), &key).expect("copy key");
    fails_with(
        &s.vigil(&["capture", &more.to_string_lossy()]),
        "is not the key that signs this log",
    );
    std::fs::remove_file(&key).expect("remove key");

    // The explicit rotation, recorded in the log.
    let (out, lines) = s.vigil_json(&["log", "rotate-key", "--reason", "the key was lost"]);
    assert!(out.status.success(), "{}", text(&out.stderr));
    assert_eq!(lines[0]["old_key_signed"], false);
    let new_vkey = lines[0]["vkey"].as_str().expect("vkey").to_owned();
    assert_ne!(new_vkey, old_vkey);
    assert!(
        s.vigil(&["capture", &more.to_string_lossy()])
            .status
            .success()
    );
    let ok = s.vigil(&["verify"]);
    assert!(ok.status.success(), "{}", text(&ok.stdout));
    // Receipts are signed by the new key from now on.
    let receipt = s.dir.path().join("c1.tlog-proof");
    assert!(
        s.vigil(&["receipt", "1", "-o", &receipt.to_string_lossy()])
            .status
            .success()
    );
    let checked = s
        .cmd()
        .arg("verify-receipt")
        .arg(&receipt)
        .args(["--vkey", &new_vkey])
        .output()
        .expect("run");
    assert!(checked.status.success(), "{}", text(&checked.stdout));

    // With the old key still here, it cosigns the hand-over.
    let (out, lines) = s.vigil_json(&["log", "rotate-key", "--reason", "yearly rotation"]);
    assert!(out.status.success(), "{}", text(&out.stderr));
    assert_eq!(lines[0]["old_key_signed"], true);
    let note = std::fs::read_to_string(s.store().join("log/checkpoint")).expect("checkpoint");
    assert_eq!(note.matches("\n— ").count(), 2, "two signatures: {note}");
    assert!(s.vigil(&["verify"]).status.success());
}

#[test]
fn cutting_the_audit_trail_short_contradicts_the_log() {
    let s = captured();
    for name in ["first", "second"] {
        let out = s.vigil(&["user", "add", name, "--role", "viewer"]);
        assert!(out.status.success(), "{}", text(&out.stderr));
    }
    // The next checkpoint anchors the trail's head: one more leaf.
    assert_eq!(tree_size(&s), 2);
    assert_eq!(tree_size(&s), 2, "an unchanged trail is not anchored again");
    assert!(s.vigil(&["verify"]).status.success());

    // The newest event removed and the counter fixed, as the attack did.
    s.sql(
        "DELETE FROM audit_events WHERE id = (SELECT max(id) FROM audit_events);
         UPDATE sqlite_sequence SET seq = (SELECT max(id) FROM audit_events)
             WHERE name = 'audit_events';",
    );
    let found = s.log_problems();
    assert!(
        found
            .iter()
            .any(|p| p.contains("was anchored in the transparency log")),
        "{found:?}"
    );
    // All of it removed.
    s.sql("DELETE FROM audit_events; DELETE FROM sqlite_sequence WHERE name = 'audit_events';");
    let found = s.log_problems();
    assert!(
        found.iter().any(|p| p.contains("no longer in the trail")),
        "{found:?}"
    );
}

#[test]
fn no_receipt_for_an_edited_leaf() {
    let s = captured();
    s.sql(
        "UPDATE log_leaves SET leaf = CAST(replace(CAST(leaf AS TEXT), 'evidence.mp4', 'evidencf.mp4') AS BLOB)
         WHERE capture_id = 1",
    );
    fails_with(
        &s.vigil(&["receipt", "1"]),
        "differs from the record logged",
    );
    // The capture row edited the same way: the leaf is still not the one the tree holds.
    s.sql(
        "UPDATE captures SET source = replace(source, 'evidence.mp4', 'evidencf.mp4') WHERE id = 1;
         UPDATE capture_items SET name = 'evidencf.mp4' WHERE capture_id = 1;",
    );
    let out = s.vigil(&["receipt", "1"]);
    assert_eq!(out.status.code(), Some(2), "{}", text(&out.stdout));
}

#[test]
fn a_history_rewritten_at_the_same_size_is_named_from_the_published_journal() {
    let s = captured();
    let second = s.dir.path().join("second.txt");
    write(&second, b"a second post");
    assert!(
        s.vigil(&["capture", &second.to_string_lossy()])
            .status
            .success()
    );
    assert_eq!(tree_size(&s), 2);
    assert!(s.vigil(&["verify"]).status.success());
    // The attack: the second capture removed, the checkpoints and tiles deleted, another
    // capture put in its place and the tree re-signed at the same size.
    s.sql(
        "DELETE FROM log_leaves WHERE capture_id = 2;
         DELETE FROM capture_items WHERE capture_id = 2;
         DELETE FROM captures WHERE id = 2;
         DELETE FROM log_checkpoints;",
    );
    std::fs::remove_dir_all(s.store().join("log/tile")).expect("tiles");
    let other = s.dir.path().join("other.txt");
    write(&other, b"what someone wants the record to say");
    let out = s.vigil(&["capture", &other.to_string_lossy()]);
    assert!(out.status.success(), "{}", text(&out.stderr));
    assert_eq!(tree_size(&s), 2, "the same size, another root");
    let found = s.log_problems();
    assert!(
        found.iter().any(
            |p| p.starts_with("published checkpoint 2 ") && p.contains("history was rewritten")
        ),
        "{found:?}"
    );
    assert!(
        found
            .iter()
            .any(|p| p.starts_with("published checkpoint 1 ") && p.contains("vanished")),
        "{found:?}"
    );
}
