use crate::support::*;

fn captured_store() -> (TestStore, Vec<String>) {
    let s = TestStore::new();
    let src = s.dir.path().join("src");
    for i in 0..3 {
        write(
            &src.join(format!("f{i}.bin")),
            format!("content {i}").as_bytes(),
        );
    }
    let (_, lines) = s.vigil_json(&["capture", &src.to_string_lossy()]);
    let shas = events(&lines, "committed")
        .iter()
        .map(|c| c["items"][0]["sha256"].as_str().expect("sha").to_owned())
        .collect();
    let ok = s.vigil(&["verify"]);
    assert!(ok.status.success(), "{}", text(&ok.stdout));
    (s, shas)
}

#[test]
fn a_flipped_byte_is_named() {
    let (s, shas) = captured_store();
    let path = s.blob_path(&shas[1]);
    let mut bytes = std::fs::read(&path).expect("read");
    bytes[0] ^= 1;
    #[cfg(unix)]
    {
        use std::os::unix::fs::PermissionsExt;
        std::fs::set_permissions(&path, std::fs::Permissions::from_mode(0o600)).expect("chmod");
    }
    std::fs::write(&path, bytes).expect("write");
    let (out, lines) = s.vigil_json(&["verify"]);
    assert_eq!(out.status.code(), Some(1));
    let problems = lines[0]["problems"].as_array().expect("problems");
    assert_eq!(problems.len(), 1, "{problems:?}");
    assert_eq!(problems[0]["problem"], "altered-blob");
    assert_eq!(problems[0]["sha256"], shas[1].as_str());
    assert_eq!(problems[0]["captures"], serde_json::json!([2]));
    let human = text(&s.vigil(&["verify"]).stdout);
    assert!(
        human.contains(&format!("ALTERED   item {}", shas[1])),
        "{human}"
    );
}

#[test]
fn a_deleted_blob_is_named() {
    let (s, shas) = captured_store();
    std::fs::remove_file(s.blob_path(&shas[0])).expect("rm");
    let (out, lines) = s.vigil_json(&["verify"]);
    assert_eq!(out.status.code(), Some(1));
    let problems = lines[0]["problems"].as_array().expect("problems");
    assert_eq!(problems.len(), 1, "{problems:?}");
    assert_eq!(problems[0]["problem"], "missing-blob");
    assert_eq!(problems[0]["sha256"], shas[0].as_str());
}

#[test]
fn an_edited_catalog_hash_is_named() {
    let (s, shas) = captured_store();
    let forged = "ab".repeat(32);
    s.sql(&format!(
        "PRAGMA foreign_keys = OFF; UPDATE items SET sha256 = '{forged}' WHERE sha256 = '{}'",
        shas[2]
    ));
    let (out, lines) = s.vigil_json(&["verify"]);
    assert_eq!(out.status.code(), Some(1));
    let report = &lines[0];
    let problems = report["problems"].as_array().expect("problems");
    assert!(
        problems
            .iter()
            .any(|p| p["problem"] == "missing-blob" && p["sha256"] == forged.as_str()),
        "{problems:?}"
    );
    assert!(
        problems.iter().any(|p| p["problem"] == "dangling-link"
            && p["sha256"] == shas[2].as_str()
            && p["capture_id"] == 3),
        "{problems:?}"
    );
    assert_eq!(report["unreferenced_blobs"], serde_json::json!([shas[2]]));
    // A hash that is not even hex is reported, not a crash.
    let junk = "zz".repeat(32);
    s.sql(&format!(
        "PRAGMA foreign_keys = OFF; UPDATE items SET sha256 = '{junk}' WHERE sha256 = '{}'",
        shas[0]
    ));
    let (out, lines) = s.vigil_json(&["verify"]);
    assert_eq!(out.status.code(), Some(1));
    assert!(
        lines[0]["problems"]
            .as_array()
            .expect("p")
            .iter()
            .any(|p| p["problem"] == "malformed-row" && p["key"] == junk.as_str())
    );
}

#[test]
fn sample_checks_a_subset() {
    let (s, _) = captured_store();
    let (out, lines) = s.vigil_json(&["verify", "--sample", "2"]);
    assert!(out.status.success());
    assert_eq!(lines[0]["items_checked"], 2);
    assert_eq!(lines[0]["sampled"], true);
}
