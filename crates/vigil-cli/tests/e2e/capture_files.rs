use crate::support::*;

#[test]
fn folder_with_nested_unicode_empty_and_symlink_loop() {
    let s = TestStore::new();
    let src = s.dir.path().join("evidence");
    write(&src.join("a.jpg"), b"jpeg bytes");
    write(&src.join("deep/er/видео.mp4"), b"video bytes");
    write(&src.join("deep/Ծանուցում.txt"), b"armenian name");
    write(&src.join("empty.bin"), b"");
    write(&src.join("dup.jpg"), b"jpeg bytes");
    #[cfg(unix)]
    {
        std::os::unix::fs::symlink(src.join("loop"), src.join("loop")).expect("symlink loop");
        std::os::unix::fs::symlink(&src, src.join("deep/up")).expect("dir symlink");
    }
    let src_arg = src.to_string_lossy().into_owned();
    let (out, lines) = s.vigil_json(&[
        "capture",
        &src_arg,
        "--collector",
        "analyst-7",
        "--note",
        "from channel X",
        "--tag",
        "pow",
    ]);
    assert_eq!(
        out.status.code(),
        Some(1),
        "the symlink loop is a recorded failure"
    );
    let committed = events(&lines, "committed");
    assert_eq!(committed.len(), 6, "5 files + the broken loop: {lines:?}");
    let summary = events(&lines, "summary")[0];
    assert_eq!(summary["captured"], 4);
    assert_eq!(summary["already_held"], 1, "dup.jpg has a.jpg's bytes");
    assert_eq!(summary["failed"][0]["code"], "broken-symlink");
    assert!(
        summary["skipped"][0]["reason"]
            .as_str()
            .unwrap_or("")
            .contains("not followed")
    );

    // Every capture carries the collection context.
    let (_, listed) = s.vigil_json(&["list"]);
    let captures = listed[0].as_array().expect("array");
    assert_eq!(captures.len(), 6);
    for c in captures {
        assert_eq!(c["collector"], "analyst-7");
        assert_eq!(c["note"], "from channel X");
        assert_eq!(c["tags"][0], "pow");
        assert_eq!(c["vigil_version"], env!("CARGO_PKG_VERSION"));
        assert!(c["captured_at"].as_str().unwrap_or("").ends_with('Z'));
    }
    let video = captures
        .iter()
        .find(|c| c["source"].as_str().unwrap_or("").ends_with("видео.mp4"))
        .expect("unicode name kept");
    assert_eq!(video["items"][0]["name"], "deep/er/видео.mp4");
    assert_eq!(video["items"][0]["size"], 11);

    // The bytes are stored under their SHA-256, owner-only.
    let sha = video["items"][0]["sha256"].as_str().expect("sha");
    assert_eq!(
        std::fs::read(s.blob_path(sha)).expect("blob"),
        b"video bytes"
    );
    #[cfg(unix)]
    {
        use std::os::unix::fs::PermissionsExt;
        let mode = std::fs::metadata(s.store())
            .expect("meta")
            .permissions()
            .mode();
        assert_eq!(mode & 0o077, 0, "store must be owner-only");
    }

    let verify = s.vigil(&["verify"]);
    assert!(verify.status.success(), "{}", text(&verify.stdout));
    let show = s.vigil(&["show", &sha[..10]]);
    assert!(
        text(&show.stdout).contains("видео.mp4"),
        "{}",
        text(&show.stdout)
    );
}

#[test]
fn recapture_is_a_new_capture_of_the_same_item() {
    let s = TestStore::new();
    let f = s.dir.path().join("x.png");
    write(&f, b"png");
    let f = f.to_string_lossy().into_owned();
    let (_, first) = s.vigil_json(&["capture", &f]);
    let (_, second) = s.vigil_json(&["capture", &f]);
    let a = events(&first, "committed")[0];
    let b = events(&second, "committed")[0];
    assert_ne!(a["id"], b["id"]);
    assert_eq!(a["items"][0]["sha256"], b["items"][0]["sha256"]);
    assert_eq!(b["already_held"], true);
    let (_, shown) = s.vigil_json(&["show", a["items"][0]["sha256"].as_str().expect("sha")]);
    assert_eq!(shown[0]["captures"].as_array().map(|c| c.len()), Some(2));
}

#[test]
fn bulk_list_and_missing_sources_are_recorded() {
    let s = TestStore::new();
    let f = s.dir.path().join("one.txt");
    write(&f, b"one");
    let csv = s.dir.path().join("list.csv");
    write(
        &csv,
        format!(
            "path,note,tags\n{},first,a;b\n/no/such/file,gone,\n",
            f.display()
        )
        .as_bytes(),
    );
    let (out, lines) = s.vigil_json(&["capture", "--from", &csv.to_string_lossy()]);
    assert_eq!(out.status.code(), Some(1));
    let summary = events(&lines, "summary")[0];
    assert_eq!(summary["captured"], 1);
    assert_eq!(summary["failed"][0]["code"], "not-found");
    let (_, listed) = s.vigil_json(&["list", "--status", "ok"]);
    assert_eq!(listed[0][0]["note"], "first");
    assert_eq!(listed[0][0]["tags"], serde_json::json!(["a", "b"]));
    let (_, failed) = s.vigil_json(&["list", "--status", "failed"]);
    assert_eq!(failed[0][0]["source"], "/no/such/file");
    let none = s.vigil_json(&["list", "--since", "2999-01-01"]).1;
    assert_eq!(none[0].as_array().map(|a| a.len()), Some(0));
}

#[test]
fn special_files_are_refused_not_read() {
    let s = TestStore::new();
    let (out, lines) = s.vigil_json(&["capture", "/dev/zero"]);
    assert_eq!(out.status.code(), Some(1));
    assert_eq!(
        events(&lines, "summary")[0]["failed"][0]["code"],
        "not-regular"
    );
}

/// A file name with ESC (a terminal escape sequence) and a byte that is not UTF-8: printed
/// escaped, never raw, and its bytes recoverable from the record.
#[cfg(unix)]
#[test]
fn names_with_control_characters_and_bad_bytes_are_escaped_and_kept() {
    use std::os::unix::ffi::OsStrExt;
    let s = TestStore::new();
    let src = s.dir.path().join("names");
    let name: &[u8] = b"\x1b[31mred\xff\x07.jpg";
    write(&src.join(std::ffi::OsStr::from_bytes(name)), b"named bytes");
    let src_arg = src.to_string_lossy().into_owned();
    let out = s.vigil(&["capture", &src_arg]);
    assert!(out.status.success(), "{}", text(&out.stderr));
    let printed = text(&out.stdout);
    assert!(
        !out.stdout.contains(&0x1b) && !out.stdout.contains(&0x07),
        "raw control characters reached the terminal: {printed:?}"
    );
    assert!(printed.contains(r"\x1b[31mred"), "{printed}");

    let (_, listed) = s.vigil_json(&["list"]);
    let id = listed[0][0]["id"].as_i64().expect("id").to_string();
    let (_, shown) = s.vigil_json(&["show", &id]);
    let details = &shown[0]["details"];
    let hex_of = |key: &str| {
        hex::decode(
            details[key]
                .as_str()
                .unwrap_or_else(|| panic!("{key}: {details}")),
        )
        .expect("hex")
    };
    assert_eq!(hex_of("relative_path_hex"), name, "{details}");
    let path = hex::decode(details["file"]["path_hex"].as_str().expect("path_hex")).expect("hex");
    assert!(path.ends_with(name), "{details}");
    assert!(
        details["relative_path"]
            .as_str()
            .unwrap_or("")
            .contains('\u{fffd}'),
        "the text beside is lossy: {details}"
    );

    let plain = s.vigil(&["show", &id]);
    let printed = text(&plain.stdout);
    assert!(!plain.stdout.contains(&0x1b), "{printed:?}");
    assert!(printed.contains(r"\x1b[31mred\xff\x07.jpg"), "{printed}");
}
