//! Near-duplicates from the real binary: links found as items arrive, `vigil similar` for
//! stored items and files hashed on the fly, `vigil spread` over staged capture times, and
//! hash lists exported and matched back.

use crate::support::*;

fn vectors() -> std::path::PathBuf {
    vigil_testdata::vectors().join("threatexchange")
}

fn sha_of(lines: &[serde_json::Value], name: &str) -> String {
    events(lines, "committed")
        .into_iter()
        .find(|c| c["source"].as_str().unwrap_or("").ends_with(name))
        .unwrap_or_else(|| panic!("{name} not committed"))["items"][0]["sha256"]
        .as_str()
        .expect("sha")
        .to_owned()
}

#[test]
fn similar_and_spread_of_reposted_photos() {
    let s = TestStore::new();
    let mods = vectors().join("pdq/data/bridge-mods");
    let src = s.dir.path().join("channel");
    for (name, file) in [
        ("first.jpg", "shrink-a-lot.jpg"),
        ("second.jpg", "aaa-orig.jpg"),
        ("third.jpg", "blur-a-lot.jpg"),
    ] {
        write(
            &src.join(name),
            &std::fs::read(mods.join(file)).expect("read"),
        );
    }
    write(
        &src.join("unrelated.png"),
        &std::fs::read(vectors().join("pdq/data/misc-images/c.png")).expect("read"),
    );
    let (out, lines) = s.vigil_json(&["capture", &src.to_string_lossy()]);
    assert!(out.status.success(), "{}", text(&out.stderr));
    let enriched = events(&lines, "enriched")[0];
    assert!(
        enriched["similar"].as_u64().expect("similar") >= 2,
        "{enriched}"
    );
    let (first, second, third) = (
        sha_of(&lines, "first.jpg"),
        sha_of(&lines, "second.jpg"),
        sha_of(&lines, "third.jpg"),
    );
    let unrelated = sha_of(&lines, "unrelated.png");

    // Stage when each was captured: "third" first, then "first", then "second".
    for (name, at) in [
        ("third.jpg", "2026-01-05T08:00:00.000000Z"),
        ("first.jpg", "2026-02-01T12:00:00.000000Z"),
        ("second.jpg", "2026-03-10T00:00:00.000000Z"),
    ] {
        s.sql(&format!(
            "UPDATE captures SET captured_at = '{at}' WHERE source LIKE '%{name}'"
        ));
    }

    // A stored item by prefix: the other two, with distances, times and sources.
    let (out, v) = s.vigil_json(&["similar", &second[..12]]);
    assert!(out.status.success(), "{}", text(&out.stderr));
    let items = v[0]["items"].as_array().expect("items");
    let found: Vec<&str> = items
        .iter()
        .map(|i| i["sha256"].as_str().expect("sha"))
        .collect();
    assert_eq!(found.len(), 2, "{v:?}");
    assert!(
        found.contains(&first.as_str()) && found.contains(&third.as_str()),
        "{v:?}"
    );
    assert!(!found.contains(&unrelated.as_str()));
    for i in items {
        assert!(i["distance"].as_u64().expect("distance") <= 31, "{i}");
        let c = &i["captures"][0];
        assert!(
            c["source"].as_str().expect("source").contains("channel"),
            "{i}"
        );
        assert!(
            c["captured_at"].as_str().expect("at").starts_with("2026-0"),
            "{i}"
        );
    }
    // Radius 0: only exact hashes, so nothing here.
    let (_, v) = s.vigil_json(&["similar", &second, "--radius", "0"]);
    assert!(v[0]["items"].as_array().expect("items").is_empty(), "{v:?}");

    // A file that is not in the store, hashed on the fly; text output names the items.
    let probe = mods.join("sharpen-a-lot.jpg");
    let out = s.cmd().arg("similar").arg(&probe).output().expect("run");
    assert!(out.status.success(), "{}", text(&out.stderr));
    let shown = text(&out.stdout);
    for sha in [&first, &second, &third] {
        assert!(shown.contains(sha.as_str()), "{shown}");
    }
    assert!(shown.contains("2026-01-05T08:00:00"), "{shown}");

    // The spread: every capture of the cluster, earliest we hold first.
    let (out, v) = s.vigil_json(&["spread", &first]);
    assert!(out.status.success(), "{}", text(&out.stderr));
    let captures = v[0]["captures"].as_array().expect("captures");
    let order: Vec<&str> = captures
        .iter()
        .map(|c| c["item"].as_str().expect("item"))
        .collect();
    assert_eq!(
        order,
        [third.as_str(), first.as_str(), second.as_str()],
        "{v:?}"
    );
    assert_eq!(captures[0]["earliest_we_hold"], true);
    assert_eq!(captures[0]["label"], "earliest we hold");
    assert!(captures[1].get("label").is_none());
    assert!(captures[1..].iter().all(|c| c["earliest_we_hold"] == false));
    assert!(captures.iter().all(|c| c["platform"] == "file"), "{v:?}");
    assert_eq!(
        v[0]["cluster"]["members"]
            .as_array()
            .expect("members")
            .len(),
        3
    );
    let out = s.vigil(&["spread", &first]);
    let shown = text(&out.stdout);
    let earliest = shown
        .lines()
        .find(|l| l.contains("earliest we hold") && l.contains("#"))
        .unwrap_or_else(|| panic!("{shown}"));
    assert!(earliest.contains("2026-01-05T08:00:00"), "{shown}");
    assert!(
        !shown.to_lowercase().contains("original post")
            || shown.contains("not necessarily the original")
    );

    // A store whose items were analysed before links existed: `reindex` links them.
    s.sql("DELETE FROM similarities; DELETE FROM item_clusters;");
    let (_, v) = s.vigil_json(&["spread", &first]);
    assert_eq!(v[0]["captures"].as_array().expect("captures").len(), 1);
    let (out, v) = s.vigil_json(&["reindex"]);
    assert!(out.status.success(), "{}", text(&out.stderr));
    assert!(v[0]["links_written"].as_u64().expect("links") >= 2, "{v:?}");
    let (_, v) = s.vigil_json(&["spread", &first]);
    assert_eq!(v[0]["captures"].as_array().expect("captures").len(), 3);

    // Not a file and not an item: an error, no panic.
    let out = s.vigil(&["similar", "no-such-thing"]);
    assert_eq!(out.status.code(), Some(2));
    assert!(
        !text(&out.stderr).contains("panicked"),
        "{}",
        text(&out.stderr)
    );
}

#[test]
#[ignore = "needs the full upstream vectors: VIGIL_VECTORS=../shared/vectors (.ci/run)"]
fn similar_videos_by_footage() {
    let s = TestStore::new();
    let videos = vectors().join("tmk/sample-videos");
    let src = s.dir.path().join("clips");
    for name in [
        "chair-20-sd-bar.mp4",
        "chair-22-sd-grey-bar.mp4",
        "pattern-hd-no-bar.mp4",
    ] {
        write(
            &src.join(name),
            &std::fs::read(videos.join(name)).expect("read"),
        );
    }
    let (out, lines) = s.vigil_json(&["capture", &src.to_string_lossy()]);
    assert!(out.status.success(), "{}", text(&out.stderr));
    let (chair20, chair22, pattern) = (
        sha_of(&lines, "chair-20-sd-bar.mp4"),
        sha_of(&lines, "chair-22-sd-grey-bar.mp4"),
        sha_of(&lines, "pattern-hd-no-bar.mp4"),
    );
    let (_, spread) = s.vigil_json(&["spread", &chair20]);
    let members = spread[0]["cluster"]["members"].as_array().expect("members");
    assert_eq!(members.len(), 2, "{spread:?}");
    assert!(!members.iter().any(|m| m == pattern.as_str()));

    let probe = videos.join("chair-orig-22-sd-bar.mp4");
    let out = s
        .cmd()
        .args(["--json", "similar"])
        .arg(&probe)
        .output()
        .expect("run");
    assert!(out.status.success(), "{}", text(&out.stderr));
    let v: serde_json::Value = serde_json::from_slice(&out.stdout).expect("json");
    assert_eq!(v["kind"], "video");
    let matched: Vec<&serde_json::Value> = v["items"]
        .as_array()
        .expect("items")
        .iter()
        .filter(|i| i["video"]["matched"] == true)
        .collect();
    let shas: Vec<&str> = matched
        .iter()
        .map(|i| i["sha256"].as_str().expect("sha"))
        .collect();
    assert!(
        shas.contains(&chair20.as_str()) && shas.contains(&chair22.as_str()),
        "{v}"
    );
    assert!(!shas.contains(&pattern.as_str()), "{v}");
    for i in matched {
        assert!(
            i["video"]["query_match_percent"].as_f64().expect("q") >= 80.0,
            "{i}"
        );
        assert!(
            i["video"]["item_match_percent"].as_f64().expect("t") >= 80.0,
            "{i}"
        );
        assert!(
            !i["video"]["segments"]
                .as_array()
                .expect("segments")
                .is_empty(),
            "{i}"
        );
    }
    let out = s.cmd().arg("similar").arg(&probe).output().expect("run");
    assert!(
        text(&out.stdout).contains("SAME FOOTAGE"),
        "{}",
        text(&out.stdout)
    );
}

#[test]
fn hash_list_export_and_match_round_trip() {
    let s = TestStore::new();
    let mods = vectors().join("pdq/data/bridge-mods");
    let src = s.dir.path().join("photos");
    write(
        &src.join("a.jpg"),
        &std::fs::read(mods.join("aaa-orig.jpg")).expect("read"),
    );
    write(
        &src.join("b.png"),
        &std::fs::read(vectors().join("pdq/data/misc-images/c.png")).expect("read"),
    );
    let (out, lines) = s.vigil_json(&["capture", &src.to_string_lossy()]);
    assert!(out.status.success(), "{}", text(&out.stderr));
    let a = sha_of(&lines, "a.jpg");

    let list = s.dir.path().join("export.txt");
    let out = s
        .cmd()
        .args(["hash-list", "export", "--out"])
        .arg(&list)
        .output()
        .expect("run");
    assert!(out.status.success(), "{}", text(&out.stderr));
    let exported = std::fs::read_to_string(&list).expect("list");
    let hash_lines: Vec<&str> = exported.lines().filter(|l| !l.starts_with('#')).collect();
    assert!(!hash_lines.is_empty(), "{exported}");
    assert!(
        hash_lines
            .iter()
            .any(|l| l.contains(&a) && l.contains("stored")),
        "{exported}"
    );
    // Standard output gives the same list.
    let out = s.vigil(&["hash-list", "export"]);
    assert_eq!(text(&out.stdout), exported);

    // Every exported hash matches its own item at distance 0.
    let (out, v) = s.vigil_json(&["match-list", &list.to_string_lossy(), "--radius", "0"]);
    assert!(out.status.success(), "{}", text(&out.stderr));
    let matches = v[0]["matches"].as_array().expect("matches");
    assert_eq!(matches.len(), hash_lines.len(), "{v:?}");
    for m in matches {
        assert_eq!(m["distance"], 0);
        assert_eq!(m["tags"][0], m["sha256"], "{m}");
    }

    // A list from elsewhere: an edit of the photo, tagged, a comment and a malformed line.
    let edit = s
        .vigil_json(&["hash", &mods.join("blur-a-lot.jpg").to_string_lossy()])
        .1;
    let edit_hash = edit[0]["stored"][0].as_str().expect("hash").to_owned();
    let theirs = s.dir.path().join("theirs.txt");
    write(
        &theirs,
        format!(
            "# shared by a partner\n\n{edit_hash},case-17,bridge\nnot-a-hash,x\n{}\n",
            &edit_hash[..60]
        )
        .as_bytes(),
    );
    let (out, v) = s.vigil_json(&["match-list", &theirs.to_string_lossy()]);
    assert_eq!(
        out.status.code(),
        Some(1),
        "bad lines make exit 1: {}",
        text(&out.stderr)
    );
    let bad: Vec<u64> = v[0]["bad_lines"]
        .as_array()
        .expect("bad")
        .iter()
        .map(|b| b["line"].as_u64().expect("line"))
        .collect();
    assert_eq!(bad, [4, 5], "{v:?}");
    let matches = v[0]["matches"].as_array().expect("matches");
    assert!(
        matches
            .iter()
            .any(|m| m["sha256"] == a.as_str() && m["line"] == 3 && m["tags"][0] == "case-17"),
        "{v:?}"
    );
    let out = s.vigil(&["match-list", &theirs.to_string_lossy()]);
    assert!(
        text(&out.stderr).contains("line 4:"),
        "{}",
        text(&out.stderr)
    );
    assert!(!text(&out.stderr).contains("panicked"));

    // Imported into the catalog under a name: matched the same, bad lines left out; the
    // name is never reused.
    let (out, imp) = s.vigil_json(&[
        "hash-list",
        "import",
        &theirs.to_string_lossy(),
        "--name",
        "partner",
    ]);
    assert_eq!(out.status.code(), Some(1), "{}", text(&out.stderr));
    assert_eq!(imp[0]["entries"], 1, "{imp:?}");
    assert_eq!(imp[0]["bad_lines"][0]["line"], 4, "{imp:?}");
    let out = s.vigil(&[
        "hash-list",
        "import",
        &list.to_string_lossy(),
        "--name",
        "partner",
    ]);
    assert_eq!(out.status.code(), Some(2));
    assert!(
        text(&out.stderr).contains("already imported"),
        "{}",
        text(&out.stderr)
    );
    let (_, lists) = s.vigil_json(&["hash-list", "list"]);
    assert_eq!(lists[0][0]["name"], "partner", "{lists:?}");
    let (out, named) = s.vigil_json(&["match-list", "--list", "partner"]);
    assert!(out.status.success(), "{}", text(&out.stderr));
    assert_eq!(named[0]["matches"], v[0]["matches"]);
    assert_eq!(
        s.vigil(&["match-list", "--list", "nobody"]).status.code(),
        Some(2)
    );

    // Reindex on demand, and matches stay the same.
    assert!(s.vigil(&["reindex"]).status.success());
    let (_, again) = s.vigil_json(&["match-list", &theirs.to_string_lossy()]);
    assert_eq!(again[0]["matches"], v[0]["matches"]);
}
