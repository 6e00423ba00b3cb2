//! `vigil export`: a package that the independent BagIt validator accepts, whose receipts
//! check with nothing but the files in it, that is audited and never overwrites anything.

use std::path::Path;

use crate::support::*;

fn shared(rel: &str) -> std::path::PathBuf {
    vigil_testdata::vectors().join(rel)
}

/// A store holding a photo and a video, captured and enriched; their SHA-256.
fn captured() -> (TestStore, Vec<String>) {
    let s = TestStore::new();
    let src = s.dir.path().join("src");
    std::fs::create_dir_all(&src).expect("src");
    for (from, to) in [
        (
            "threatexchange/pdq/data/bridge-mods/aaa-orig.jpg",
            "photo.jpg",
        ),
        ("c2pa/video1.mp4", "clip.mp4"),
    ] {
        std::fs::copy(shared(from), src.join(to)).expect("copy vector");
    }
    let (out, lines) = s.vigil_json(&["capture", &src.to_string_lossy()]);
    assert!(out.status.success(), "{}", text(&out.stderr));
    let shas = events(&lines, "committed")
        .iter()
        .map(|c| c["items"][0]["sha256"].as_str().expect("sha").to_owned())
        .collect();
    (s, shas)
}

fn bagit_validates(bag: &Path) -> std::process::Output {
    std::process::Command::new("python3")
        .args(["-m", "bagit", "--validate"])
        .arg(bag)
        .output()
        .expect("python3 -m bagit (./run setup installs it)")
}

#[test]
fn an_export_is_a_valid_bag_whose_receipts_check_offline() {
    let (s, shas) = captured();
    let bag = s.dir.path().join("package");
    let mut args = vec!["export", "--out"];
    let bag_arg = bag.to_string_lossy().into_owned();
    args.push(&bag_arg);
    for sha in &shas {
        args.push("--item");
        args.push(sha);
    }
    args.push("--derived");
    args.push("--pdf");
    let (out, lines) = s.vigil_json(&args);
    assert!(out.status.success(), "{}", text(&out.stderr));
    let summary = &lines[0]["export"];
    assert_eq!(summary["captures"], 2, "{summary}");
    assert!(
        summary["items"].as_u64().unwrap_or(0) > 2,
        "derived pictures too: {summary}"
    );

    // The independent validator accepts it.
    let validated = bagit_validates(&bag);
    assert!(
        validated.status.success(),
        "bagit: {}{}",
        text(&validated.stdout),
        text(&validated.stderr)
    );
    let info = std::fs::read_to_string(bag.join("bag-info.txt")).expect("bag-info");
    assert!(
        info.contains("Vigil-Package-Format: vigil.package/v1"),
        "{info}"
    );
    assert!(info.contains("Payload-Oxum: "), "{info}");

    // Every receipt checks with the package's key against its item, with Vigil's own checker.
    let data = bag.join("data");
    let package: serde_json::Value =
        serde_json::from_slice(&std::fs::read(data.join("package.json")).expect("package.json"))
            .expect("json");
    for item in package["items"].as_array().expect("items") {
        if !item["derived_from"].is_null() {
            continue;
        }
        for capture in item["captures"].as_array().expect("captures") {
            let receipt = data.join(format!("receipts/capture-{capture}.tlog-proof"));
            let file = data.join(item["file"].as_str().expect("file"));
            let checked = s.vigil(&[
                "verify-receipt",
                &receipt.to_string_lossy(),
                "--vkey",
                &data.join("log/verifier.vkey").to_string_lossy(),
                "--file",
                &file.to_string_lossy(),
            ]);
            assert!(checked.status.success(), "{}", text(&checked.stdout));
        }
    }
    let pdf = std::fs::read(data.join("report/report.pdf")).expect("the report as PDF");
    assert!(pdf.starts_with(b"%PDF-"), "a PDF");
    let report = std::fs::read_to_string(data.join("report/index.html")).expect("report");
    assert!(report.contains(&shas[0]), "the report lists the items");
    assert!(
        report.contains("vigil-verify"),
        "and says how to check them"
    );

    // The export is in the audit trail, and in the package's own chain of custody.
    let custody = std::fs::read_to_string(data.join("custody.json")).expect("custody");
    assert!(custody.contains("\"action\": \"export\""), "{custody}");
    let audit = s.vigil(&["audit", "--subject", &format!("item:{}", shas[0])]);
    assert!(
        text(&audit.stdout).contains("export"),
        "{}",
        text(&audit.stdout)
    );

    // Never over an existing package.
    let again = s.vigil(&["export", "--out", &bag_arg, "--item", &shas[0]]);
    assert!(!again.status.success());
    assert!(text(&again.stderr).contains("already exists"));

    // A changed item is what the validator then names.
    let item_file = data.join(package["items"][0]["file"].as_str().expect("file"));
    let mut bytes = std::fs::read(&item_file).expect("item");
    bytes[100] ^= 1;
    std::fs::write(&item_file, bytes).expect("tamper");
    let refused = bagit_validates(&bag);
    assert!(
        !refused.status.success(),
        "a tampered item fails validation"
    );
}

#[test]
fn a_zip_package_and_bad_requests() {
    let (s, shas) = captured();
    let zip = s.dir.path().join("package.zip");
    let out = s.vigil(&[
        "export",
        "--zip",
        "--out",
        &zip.to_string_lossy(),
        "--item",
        &shas[1],
    ]);
    assert!(out.status.success(), "{}", text(&out.stderr));
    let listing = std::process::Command::new("python3")
        .args(["-m", "zipfile", "-l"])
        .arg(&zip)
        .output()
        .expect("python3 zipfile");
    let names = text(&listing.stdout);
    assert!(names.contains("package/bagit.txt"), "{names}");
    assert!(
        names.contains(&format!("package/data/items/{}.", shas[1])),
        "{names}"
    );
    assert!(
        !s.dir.path().join("package").exists(),
        "the unpacked bag is removed"
    );

    let unknown = s.vigil(&[
        "export",
        "--out",
        &s.dir.path().join("x").to_string_lossy(),
        "--item",
        &"ab".repeat(32),
    ]);
    assert!(!unknown.status.success());
    let no_incident = s.vigil(&[
        "export",
        "--out",
        &s.dir.path().join("y").to_string_lossy(),
        "--incident",
        "99",
    ]);
    assert!(!no_incident.status.success());
    assert!(
        text(&no_incident.stderr).contains("no incident #99"),
        "{}",
        text(&no_incident.stderr)
    );
    assert!(!s.dir.path().join("y").exists(), "nothing left behind");
}

/// Copies a package folder (to tamper with the copy).
fn copy_tree(from: &Path, to: &Path) {
    std::fs::create_dir_all(to).expect("mkdir");
    for entry in std::fs::read_dir(from).expect("read_dir") {
        let entry = entry.expect("entry");
        let target = to.join(entry.file_name());
        if entry.file_type().expect("type").is_dir() {
            copy_tree(&entry.path(), &target);
        } else {
            std::fs::copy(entry.path(), &target).expect("copy");
        }
    }
}

/// `vigil --json verify-package`: (passed, failed findings as (code, subject + message)).
fn verify(
    s: &TestStore,
    bag: &Path,
    extra: &[&str],
) -> (bool, Vec<(String, String)>, serde_json::Value) {
    let mut args = vec!["--json", "verify-package", bag.to_str().expect("utf-8")];
    args.extend_from_slice(extra);
    let out = s.vigil(&args);
    let report: serde_json::Value = serde_json::from_slice(&out.stdout)
        .unwrap_or_else(|e| panic!("{e}: {}{}", text(&out.stdout), text(&out.stderr)));
    assert_eq!(
        report["passed"].as_bool(),
        Some(out.status.success()),
        "exit status and verdict agree"
    );
    let mut failed = Vec::new();
    fn walk(v: &serde_json::Value, out: &mut Vec<(String, String)>) {
        match v {
            serde_json::Value::Object(map) => {
                if map.get("outcome").and_then(|o| o.as_str()) == Some("fail") {
                    out.push((
                        map["code"].as_str().unwrap_or_default().to_owned(),
                        format!("{} {}", map["subject"], map["message"]),
                    ));
                }
                map.values().for_each(|v| walk(v, out));
            }
            serde_json::Value::Array(items) => items.iter().for_each(|v| walk(v, out)),
            _ => {}
        }
    }
    walk(&report, &mut failed);
    (out.status.success(), failed, report)
}

#[test]
fn a_package_verifies_offline_and_every_kind_of_tampering_is_named() {
    let tsa = TsaServer::start();
    let s = TestStore::new();
    let src = s.dir.path().join("src");
    std::fs::create_dir_all(&src).expect("src");
    std::fs::copy(
        shared("threatexchange/pdq/data/bridge-mods/aaa-orig.jpg"),
        src.join("photo.jpg"),
    )
    .expect("copy");
    // Captured with a time-stamped checkpoint, then more captured after it.
    let (out, lines) = s.vigil_json(&["capture", "--tsa", &tsa.url(), &src.to_string_lossy()]);
    assert!(out.status.success(), "{}", text(&out.stderr));
    let photo = events(&lines, "committed")[0]["items"][0]["sha256"]
        .as_str()
        .expect("sha")
        .to_owned();
    let later = s.dir.path().join("later.txt");
    write(&later, b"a later capture");
    assert!(
        s.vigil(&["capture", &later.to_string_lossy()])
            .status
            .success()
    );

    let bag = s.dir.path().join("package");
    let (out, lines) = s.vigil_json(&[
        "export",
        "--derived",
        "--item",
        &photo,
        "--out",
        &bag.to_string_lossy(),
    ]);
    assert!(out.status.success(), "{}", text(&out.stderr));
    assert!(
        lines[0]["export"]["timestamps"].as_u64().unwrap_or(0) >= 1,
        "{}",
        lines[0]
    );
    let vkey = std::fs::read_to_string(bag.join("data/log/verifier.vkey")).expect("vkey");
    let vkey = vkey.trim();
    let ca = rfc3161_vectors().join("ca.crt");
    let ca = ca.to_str().expect("utf-8");

    // The round trip: everything checks, with the key the office publishes and the TSA's CA.
    let (passed, failed, report) = verify(&s, &bag, &["--key", vkey, "--tsa-ca", ca]);
    assert!(passed, "{failed:?}");
    let text_report = text(
        &s.vigil(&["verify-package", &bag.to_string_lossy(), "--key", vkey])
            .stdout,
    );
    assert!(
        text_report.contains(&photo),
        "the verdict names the item: {text_report}"
    );
    assert!(
        report.to_string().contains("timestamp-verified"),
        "the RFC 3161 token is checked: {report}"
    );

    // Another key proves nothing about this office's log.
    let other = TestStore::new();
    let other_key = text(&other.vigil(&["log", "vkey"]).stdout)
        .trim()
        .to_owned();
    let (passed, failed, _) = verify(&s, &bag, &["--key", &other_key]);
    assert!(!passed);
    assert!(failed.iter().any(|(c, _)| c == "wrong-key"), "{failed:?}");

    // Each kind of file, changed in a copy, is named.
    let package: serde_json::Value =
        serde_json::from_slice(&std::fs::read(bag.join("data/package.json")).expect("package"))
            .expect("json");
    let item_file = format!(
        "data/{}",
        package["items"][0]["file"].as_str().expect("file")
    );
    let cases = [
        (item_file.as_str(), "item"),
        (&*format!("data/metadata/{photo}.json"), "metadata"),
        ("data/receipts/capture-1.tlog-proof", "receipt"),
        ("data/log/checkpoint", "checkpoint"),
        ("manifest-sha256.txt", "manifest"),
    ];
    for (n, (rel, what)) in cases.iter().enumerate() {
        let copy = s.dir.path().join(format!("tampered-{n}"));
        copy_tree(&bag, &copy);
        let path = copy.join(rel);
        let mut bytes = std::fs::read(&path).expect(rel);
        let at = bytes.len() / 2;
        bytes[at] = if bytes[at] == b'0' { b'1' } else { b'0' };
        std::fs::write(&path, bytes).expect("tamper");
        let (passed, failed, _) = verify(&s, &copy, &["--key", vkey, "--tsa-ca", ca]);
        assert!(!passed, "tampering with the {what} is caught");
        let name = Path::new(rel)
            .file_name()
            .expect("name")
            .to_string_lossy()
            .into_owned();
        assert!(
            failed.iter().any(|(_, about)| about.contains(&name)),
            "the {what} ({rel}) is named: {failed:?}"
        );
    }
}
