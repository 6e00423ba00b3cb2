//! The `vigil-verify` binary, run as a user would: exit status and wording.

#![allow(clippy::unwrap_used)]

mod support;

use std::process::{Command, Output};

fn run(args: &[&std::ffi::OsStr]) -> Output {
    Command::new(env!("CARGO_BIN_EXE_vigil-verify"))
        .args(args)
        .output()
        .unwrap()
}

fn text(o: &Output) -> String {
    format!(
        "{}{}",
        String::from_utf8_lossy(&o.stdout),
        String::from_utf8_lossy(&o.stderr)
    )
}

#[test]
fn good_package_exits_0() {
    let tsa = support::Tsa::shared();
    let pkg = support::build(Some(&tsa));
    let ca = tsa.dir.path().join("ca.crt");
    let o = run(&[
        pkg.root.as_os_str(),
        "--key".as_ref(),
        pkg.vkey.as_ref(),
        "--tsa-ca".as_ref(),
        ca.as_os_str(),
    ]);
    let out = text(&o);
    assert_eq!(o.status.code(), Some(0), "{out}");
    assert!(out.contains("VERDICT: PASSED"), "{out}");
    assert!(out.contains("given by you"), "{out}");
    assert!(out.contains("VERIFIED items/"), "{out}");
    assert!(out.contains("existed no later than"), "{out}");
    assert!(out.contains("CN=Test TSA"), "{out}");

    // The key from a file, JSON output.
    let key_file = pkg.tmp.path().join("office.vkey");
    std::fs::write(&key_file, format!("{}\n", pkg.vkey)).unwrap();
    let o = run(&[
        pkg.root.as_os_str(),
        "--key".as_ref(),
        key_file.as_os_str(),
        "--json".as_ref(),
    ]);
    assert_eq!(o.status.code(), Some(0), "{}", text(&o));
    let v: serde_json::Value = serde_json::from_slice(&o.stdout).unwrap();
    assert_eq!(v["passed"], true);
    assert_eq!(v["key"]["source"], "given");
    assert_eq!(v["timestamps"][0]["tsa_trusted"], false);

    // No key: passes, but says the key came from the package and prints it.
    let o = run(&[pkg.root.as_os_str()]);
    let out = text(&o);
    assert_eq!(o.status.code(), Some(0), "{out}");
    assert!(out.contains("taken from the package itself"), "{out}");
    assert!(out.contains(&pkg.vkey), "{out}");
    assert!(out.contains("key-from-package"), "{out}");
}

#[test]
fn tampered_package_exits_1() {
    let pkg = support::build(None);
    let file = format!("data/items/{}.mp4", pkg.video);
    let mut b = pkg.read(&file);
    b[0] ^= 0xff;
    pkg.write(&file, &b);
    let o = run(&[pkg.root.as_os_str(), "--key".as_ref(), pkg.vkey.as_ref()]);
    let out = text(&o);
    assert_eq!(o.status.code(), Some(1), "{out}");
    assert!(out.contains("VERDICT: FAILED"), "{out}");
    assert!(out.contains("[FAILED]"), "{out}");
    assert!(out.contains("(hash-mismatch)"), "{out}");
    assert!(out.contains("was changed"), "{out}");
    assert!(out.contains("NOT VERIFIED"), "{out}");

    let o = run(&[
        pkg.root.as_os_str(),
        "--key".as_ref(),
        pkg.vkey.as_ref(),
        "--json".as_ref(),
    ]);
    assert_eq!(o.status.code(), Some(1));
    let v: serde_json::Value = serde_json::from_slice(&o.stdout).unwrap();
    assert_eq!(v["passed"], false);
}

#[test]
fn usage_errors_exit_2() {
    let pkg = support::build(None);
    for args in [
        vec![],
        vec!["--bogus".as_ref(), pkg.root.as_os_str()],
        vec![pkg.root.as_os_str(), "--key".as_ref(), "x+y+z".as_ref()],
        vec!["/nonexistent/package".as_ref()],
        vec![
            pkg.root.as_os_str(),
            "--tsa-ca".as_ref(),
            "/nonexistent/ca.pem".as_ref(),
        ],
    ] {
        let o = run(&args);
        assert_eq!(o.status.code(), Some(2), "{args:?}: {}", text(&o));
    }
    let o = run(&["--help".as_ref()]);
    assert_eq!(o.status.code(), Some(0));
}
