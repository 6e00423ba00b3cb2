//! Crash safety: SIGKILL `vigil capture` at random moments, many times. After each kill the
//! store verifies clean (blobs, catalog and transparency log agree), every capture reported as
//! committed is present and logged, and no checkpoint signed before a kill is contradicted by
//! any signed after it.

use std::io::{BufRead, BufReader};
use std::process::Stdio;
use std::time::{Duration, Instant};

use crate::support::*;

#[cfg(unix)]
#[test]
fn sigkill_during_capture_never_loses_committed_captures() {
    let s = TestStore::new();
    let src = s.dir.path().join("big");
    // ~60 MiB across files of varied sizes, so kills land in every phase.
    let mut seed = 0x9e3779b97f4a7c15u64;
    let mut next = || {
        seed ^= seed << 13;
        seed ^= seed >> 7;
        seed ^= seed << 17;
        seed
    };
    for i in 0..400 {
        let size = if i % 40 == 0 {
            4 << 20
        } else {
            (next() % (64 << 10)) as usize
        };
        let byte = (i % 251) as u8;
        let mut content = vec![byte; size];
        content.extend_from_slice(format!("file {i}").as_bytes());
        write(&src.join(format!("d{}/f{i}.bin", i % 7)), &content);
    }
    let src_arg = src.to_string_lossy().into_owned();
    let mut reported: Vec<(i64, String)> = Vec::new();
    let mut checkpoints: Vec<(u64, String)> = Vec::new();
    for round in 0..12u64 {
        let mut child = s
            .cmd()
            .args(["--json", "capture", &src_arg])
            .stdout(Stdio::piped())
            .stderr(Stdio::null())
            .spawn()
            .expect("spawn");
        let stdout = child.stdout.take().expect("stdout");
        let reader = std::thread::spawn(move || {
            let mut got = Vec::new();
            for line in BufReader::new(stdout).lines().map_while(Result::ok) {
                if let Ok(v) = serde_json::from_str::<serde_json::Value>(&line)
                    && v["event"] == "committed"
                {
                    got.push((
                        v["id"].as_i64().unwrap_or(-1),
                        v["source"].as_str().unwrap_or("").to_owned(),
                    ));
                }
            }
            got
        });
        let delay = Duration::from_millis(30 + (next() % 700) + round * 7);
        let start = Instant::now();
        while start.elapsed() < delay {
            if child.try_wait().expect("wait").is_some() {
                break;
            }
            std::thread::sleep(Duration::from_millis(5));
        }
        // SAFETY: plain kill(2) on our own child's pid.
        unsafe {
            libc::kill(child.id() as i32, libc::SIGKILL);
        }
        let _ = child.wait();
        reported.extend(reader.join().expect("reader"));

        let verify = s.vigil(&["verify"]);
        assert!(
            verify.status.success(),
            "round {round}: {}",
            text(&verify.stdout)
        );
        let (_, listed) = s.vigil_json(&["list", "--limit", "100000"]);
        let present: std::collections::HashMap<i64, String> = listed[0]
            .as_array()
            .expect("list")
            .iter()
            .map(|c| {
                (
                    c["id"].as_i64().unwrap_or(-2),
                    c["source"].as_str().unwrap_or("").to_owned(),
                )
            })
            .collect();
        for (id, source) in &reported {
            assert_eq!(
                present.get(id),
                Some(source),
                "round {round}: committed capture #{id} lost"
            );
        }
        // The published checkpoint (the last one a killed run got to sign) is kept as a
        // witness would; then the log is brought up to date, covering every capture.
        let published = std::fs::read_to_string(s.store().join("log/checkpoint"))
            .expect("a checkpoint is always published");
        let size: u64 = published
            .lines()
            .nth(1)
            .and_then(|l| l.parse().ok())
            .expect("size");
        checkpoints.push((size, published));
        let (out, lines) = s.vigil_json(&["log", "checkpoint"]);
        assert!(out.status.success(), "round {round}: {}", text(&out.stderr));
        assert_eq!(
            lines[0]["tree_size"].as_u64(),
            Some(present.len() as u64),
            "round {round}: every capture is one leaf"
        );
    }
    // Every checkpoint seen along the way is extended by the final one.
    let vkey = text(&s.vigil(&["log", "vkey"]).stdout).trim().to_owned();
    for (n, (size, note)) in checkpoints.iter().enumerate() {
        let old = s.dir.path().join(format!("seen-{n}.checkpoint"));
        std::fs::write(&old, note).expect("write");
        let proof = s.dir.path().join(format!("proof-{n}.txt"));
        let out = s.vigil(&["log", "consistency", "--from", &size.to_string()]);
        assert!(out.status.success(), "{}", text(&out.stderr));
        std::fs::write(&proof, &out.stdout).expect("write");
        let out = s
            .cmd()
            .args(["log", "witness", "--checkpoint"])
            .arg(&old)
            .arg("--proof")
            .arg(&proof)
            .args(["--vkey", &vkey])
            .output()
            .expect("witness");
        assert!(
            out.status.success(),
            "checkpoint of {size} leaves was contradicted: {}",
            text(&out.stdout)
        );
    }
    assert!(
        !reported.is_empty(),
        "no kill landed after a commit; the test proved nothing"
    );
}
