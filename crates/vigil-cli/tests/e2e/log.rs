//! The transparency log from outside: receipts checked offline with only the verifier key,
//! every kind of tampering refused with its reason, witnesses checking consistency, and
//! `vigil verify` re-deriving the log from the catalog.

use base64::Engine as _;
use base64::engine::general_purpose::STANDARD;

use crate::support::*;

/// A store with one captured file; returns it, the file, the receipt path and the vkey.
fn store_with_receipt() -> (TestStore, std::path::PathBuf, std::path::PathBuf, String) {
    let s = TestStore::new();
    let file = s.dir.path().join("evidence.mp4");
    write(&file, b"footage of a prisoner of war");
    let out = s.vigil(&["capture", &file.to_string_lossy()]);
    assert!(out.status.success(), "{}", text(&out.stderr));
    let receipt = s.dir.path().join("c1.tlog-proof");
    let out = s.vigil(&["receipt", "1", "-o", &receipt.to_string_lossy()]);
    assert!(out.status.success(), "{}", text(&out.stderr));
    let vkey = text(&s.vigil(&["log", "vkey"]).stdout).trim().to_owned();
    (s, file, receipt, vkey)
}

/// Runs `vigil --json verify-receipt` and returns (exit code, JSON answer).
fn verify_receipt(
    s: &TestStore,
    receipt: &std::path::Path,
    vkey: &str,
    files: &[&std::path::Path],
) -> (i32, serde_json::Value) {
    let mut cmd = s.cmd();
    cmd.args(["--json", "verify-receipt"])
        .arg(receipt)
        .args(["--vkey", vkey]);
    for f in files {
        cmd.arg("--file").arg(f);
    }
    let out = cmd.output().expect("run");
    let v = serde_json::from_slice(&out.stdout)
        .unwrap_or_else(|e| panic!("{e}: {}", text(&out.stdout)));
    (out.status.code().unwrap_or(-1), v)
}

/// Rewrites a receipt's text with `edit` and writes it beside the original.
fn tampered(
    receipt: &std::path::Path,
    name: &str,
    edit: impl Fn(&str) -> String,
) -> std::path::PathBuf {
    let original = std::fs::read_to_string(receipt).expect("receipt");
    let changed = edit(&original);
    assert_ne!(changed, original, "{name}: the edit changed nothing");
    let path = receipt.with_file_name(name);
    std::fs::write(&path, changed).expect("write");
    path
}

#[test]
fn a_receipt_verifies_offline_with_only_the_vkey() {
    let (s, file, receipt, vkey) = store_with_receipt();
    let text_receipt = std::fs::read_to_string(&receipt).expect("receipt");
    assert!(
        text_receipt.starts_with("c2sp.org/tlog-proof@v1\nextra "),
        "{text_receipt}"
    );
    // Another directory, no store: only the receipt, the file and the key.
    let (code, v) = verify_receipt(&s, &receipt, &vkey, &[&file]);
    assert_eq!(code, 0, "{v}");
    assert_eq!(v["ok"], true);
    assert_eq!(v["capture_id"], 1);
    assert_eq!(v["index"], 0);
    assert_eq!(v["files"][0]["role"], "file");
    assert_eq!(v["record"]["format"], "vigil.capture/v1");
    // The key may also be given as a file, and the human output says what was proven.
    let key_file = s.dir.path().join("log.vkey");
    std::fs::write(&key_file, format!("{vkey}\n")).expect("write");
    let out = s
        .cmd()
        .env_remove("VIGIL_STORE")
        .arg("verify-receipt")
        .arg(&receipt)
        .arg("--vkey")
        .arg(&key_file)
        .output()
        .expect("run");
    assert!(out.status.success());
    assert!(
        text(&out.stdout).starts_with("OK: capture #1 is leaf 0"),
        "{}",
        text(&out.stdout)
    );
}

#[test]
fn each_kind_of_tampering_fails_with_its_reason() {
    let (s, file, receipt, vkey) = store_with_receipt();

    // The file was altered after capture.
    let altered = s.dir.path().join("altered.mp4");
    let mut bytes = std::fs::read(&file).expect("read");
    bytes[0] ^= 1;
    std::fs::write(&altered, bytes).expect("write");
    let (code, v) = verify_receipt(&s, &receipt, &vkey, &[&altered]);
    assert_eq!(
        (code, v["code"].as_str()),
        (1, Some("file-not-in-capture")),
        "{v}"
    );

    // The capture record was edited (still canonical JSON, other collector).
    let forged_record = tampered(&receipt, "record.tlog-proof", |t| {
        let line = t.lines().nth(1).expect("extra line");
        let leaf = STANDARD
            .decode(line.trim_start_matches("extra "))
            .expect("base64");
        let leaf = String::from_utf8(leaf).expect("utf-8");
        let forged = leaf.replacen("\"collector\":\"", "\"collector\":\"X", 1);
        t.replace(line, &format!("extra {}", STANDARD.encode(forged)))
    });
    let (code, v) = verify_receipt(&s, &forged_record, &vkey, &[&file]);
    assert_eq!(
        (code, v["code"].as_str()),
        (1, Some("proof-invalid")),
        "{v}"
    );

    // The checkpoint was edited (another tree size).
    let forged_checkpoint = tampered(&receipt, "checkpoint.tlog-proof", |t| {
        let origin = vkey.split('+').next().expect("origin");
        t.replace(&format!("\n\n{origin}\n1\n"), &format!("\n\n{origin}\n2\n"))
    });
    let (code, v) = verify_receipt(&s, &forged_checkpoint, &vkey, &[&file]);
    assert_eq!(
        (code, v["code"].as_str()),
        (1, Some("bad-signature")),
        "{v}"
    );

    // Another log's key, and a different key under the same name.
    let other = TestStore::new();
    let other_vkey = text(&other.vigil(&["log", "vkey"]).stdout)
        .trim()
        .to_owned();
    let (code, v) = verify_receipt(&s, &receipt, &other_vkey, &[&file]);
    assert_eq!(
        (code, v["code"].as_str()),
        (1, Some("origin-mismatch")),
        "{v}"
    );
    let origin = vkey.split('+').next().expect("origin");
    let twin = tempfile::tempdir().expect("tempdir");
    let twin_store = twin.path().join("store");
    let out = std::process::Command::new(env!("CARGO_BIN_EXE_vigil"))
        .arg("--store")
        .arg(&twin_store)
        .args(["init", "--log-origin", origin])
        .output()
        .expect("init");
    assert!(out.status.success());
    let twin_vkey = text(
        &std::process::Command::new(env!("CARGO_BIN_EXE_vigil"))
            .arg("--store")
            .arg(&twin_store)
            .args(["log", "vkey"])
            .output()
            .expect("vkey")
            .stdout,
    )
    .trim()
    .to_owned();
    assert_ne!(twin_vkey, vkey);
    let (code, v) = verify_receipt(&s, &receipt, &twin_vkey, &[&file]);
    assert_eq!((code, v["code"].as_str()), (1, Some("unknown-key")), "{v}");

    // Garbage is refused, not a crash.
    let garbage = s.dir.path().join("garbage.tlog-proof");
    std::fs::write(&garbage, b"\xff\xfe not a receipt").expect("write");
    let (code, v) = verify_receipt(&s, &garbage, &vkey, &[]);
    assert_eq!((code, v["code"].as_str()), (1, Some("malformed")), "{v}");
}

#[test]
fn a_witness_checks_that_the_log_only_grows() {
    let (s, _file, _receipt, vkey) = store_with_receipt();
    let old = s.dir.path().join("old.checkpoint");
    std::fs::write(&old, s.vigil(&["log", "checkpoint"]).stdout).expect("write");
    let more = s.dir.path().join("more");
    for i in 0..5 {
        write(
            &more.join(format!("{i}.txt")),
            format!("post {i}").as_bytes(),
        );
    }
    assert!(
        s.vigil(&["capture", &more.to_string_lossy()])
            .status
            .success()
    );
    let proof = s.dir.path().join("proof.txt");
    let out = s.vigil(&["log", "consistency", "--from", "1"]);
    assert!(out.status.success(), "{}", text(&out.stderr));
    std::fs::write(&proof, &out.stdout).expect("write");
    assert!(text(&out.stdout).starts_with("old 1\n"));

    let witness = |proof: &std::path::Path| {
        s.cmd()
            .args(["--json", "log", "witness", "--checkpoint"])
            .arg(&old)
            .arg("--proof")
            .arg(proof)
            .args(["--vkey", &vkey])
            .output()
            .expect("witness")
    };
    let out = witness(&proof);
    assert!(out.status.success(), "{}", text(&out.stdout));
    let v: serde_json::Value = serde_json::from_slice(&out.stdout).expect("json");
    assert_eq!(
        (v["old_size"].as_u64(), v["new_size"].as_u64()),
        (Some(1), Some(6))
    );

    // A proof hash changed: the new tree no longer provably extends the old one.
    let bad = s.dir.path().join("bad-proof.txt");
    let original = std::fs::read_to_string(&proof).expect("proof");
    let second = original.lines().nth(1).expect("a proof hash").to_owned();
    let flipped = if second.starts_with('A') {
        second.replacen('A', "B", 1)
    } else {
        format!("A{}", &second[1..])
    };
    std::fs::write(&bad, original.replace(&second, &flipped)).expect("write");
    let out = witness(&bad);
    assert_eq!(out.status.code(), Some(1));
    let v: serde_json::Value = serde_json::from_slice(&out.stdout).expect("json");
    assert_eq!(v["code"], "inconsistent", "{v}");
}

#[test]
fn verify_re_derives_the_log_and_names_what_was_changed() {
    let (s, _file, _receipt, _vkey) = store_with_receipt();
    let more = s.dir.path().join("more");
    for i in 0..3 {
        write(
            &more.join(format!("{i}.txt")),
            format!("post {i}").as_bytes(),
        );
    }
    assert!(
        s.vigil(&["capture", &more.to_string_lossy()])
            .status
            .success()
    );
    let ok = s.vigil(&["verify"]);
    assert!(ok.status.success(), "{}", text(&ok.stdout));

    // Someone rewrites who collected capture #2 in the catalog.
    s.sql("UPDATE captures SET collector = 'someone else' WHERE id = 2");
    let found = s.log_problems();
    assert!(
        found
            .iter()
            .any(|p| p.starts_with("capture #2 the catalog row differs")),
        "{found:?}"
    );
    s.sql("UPDATE captures SET collector = (SELECT collector FROM captures WHERE id = 1) WHERE id = 2");
    assert!(s.vigil(&["verify"]).status.success());

    // A tile is damaged on disk.
    let tile = s.store().join("log/tile/0/000.p/4");
    assert!(
        tile.is_file(),
        "the tree of 4 leaves has a partial tile of width 4"
    );
    let good = std::fs::read(&tile).expect("tile");
    let mut bad = good.clone();
    bad[40] ^= 1;
    std::fs::write(&tile, &bad).expect("write");
    let found = s.log_problems();
    assert!(
        found
            .iter()
            .any(|p| p.starts_with("log/tile/0/000.p/4 differs")),
        "{found:?}"
    );
    // And the log refuses to sign on top of it.
    let out = s.vigil(&[
        "capture",
        &s.dir.path().join("evidence.mp4").to_string_lossy(),
    ]);
    assert_eq!(out.status.code(), Some(2), "{}", text(&out.stdout));
    assert!(
        text(&out.stderr).contains("cannot be extended"),
        "{}",
        text(&out.stderr)
    );
    std::fs::write(&tile, &good).expect("restore");
    assert!(s.vigil(&["log", "checkpoint"]).status.success());
    assert!(s.vigil(&["verify"]).status.success());

    // A recorded checkpoint is replaced by one with another root.
    s.sql("UPDATE log_checkpoints SET root_hash = zeroblob(32) WHERE tree_size = 1");
    let found = s.log_problems();
    assert!(
        found.iter().any(|p| p.starts_with("checkpoint 1 ")),
        "{found:?}"
    );
}

#[test]
fn checkpoints_are_time_stamped_by_an_rfc3161_authority() {
    let tsa = TsaServer::start();
    let s = TestStore::new();
    let file = s.dir.path().join("post.jpg");
    write(&file, b"photo of the missing soldier");
    let out = s.vigil(&["capture", "--tsa", &tsa.url(), &file.to_string_lossy()]);
    assert!(out.status.success(), "{}", text(&out.stderr));
    let tsr = s.dir.path().join("latest.tsr");
    let out = s.vigil(&["log", "timestamp", "-o", &tsr.to_string_lossy()]);
    assert!(out.status.success(), "{}", text(&out.stderr));
    let checkpoint = tsr.with_extension("checkpoint");
    let vectors = rfc3161_vectors();
    let openssl_verify = |data: &std::path::Path| {
        std::process::Command::new("openssl")
            .args(["ts", "-verify", "-data"])
            .arg(data)
            .arg("-in")
            .arg(&tsr)
            .arg("-CAfile")
            .arg(vectors.join("ca.crt"))
            .arg("-untrusted")
            .arg(vectors.join("tsa.crt"))
            .output()
            .expect("openssl")
    };
    let verified = openssl_verify(&checkpoint);
    assert!(
        verified.status.success(),
        "openssl ts -verify: {}{}",
        text(&verified.stdout),
        text(&verified.stderr)
    );
    // The time-stamp covers exactly that checkpoint.
    let other = s.dir.path().join("other.checkpoint");
    let mut note = std::fs::read(&checkpoint).expect("checkpoint");
    note[0] ^= 1;
    std::fs::write(&other, note).expect("write");
    assert!(!openssl_verify(&other).status.success());

    // A TSA that is down does not stop capture; the checkpoint is signed without a stamp.
    let again = s.dir.path().join("again.txt");
    write(&again, b"another post");
    let out = s.vigil(&[
        "capture",
        "--tsa",
        "http://127.0.0.1:9/tsr",
        &again.to_string_lossy(),
    ]);
    assert!(out.status.success(), "{}", text(&out.stderr));
    assert!(
        text(&out.stderr).contains("not time-stamped"),
        "{}",
        text(&out.stderr)
    );
    let out = s.vigil(&["log", "timestamp", "-o", &tsr.to_string_lossy()]);
    assert_eq!(out.status.code(), Some(2));
    assert!(
        text(&out.stderr).contains("has no time-stamp"),
        "{}",
        text(&out.stderr)
    );
    assert!(s.vigil(&["verify"]).status.success());
}
