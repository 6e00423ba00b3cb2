//! Exporting an incident: its items with their receipts proven against one checkpoint, its
//! legal qualification in `incident.json` and the report, persons only when asked for, and
//! the export in the audit trail and in the package's own chain of custody.

use std::path::PathBuf;
use std::sync::Arc;

use vigil_core::Store;
use vigil_core::capture::{CaptureSettings, CaptureSource, Quiet, run};
use vigil_core::export::{ExportOptions, ExportScope, export};
use vigil_store::{IncidentFields, Role};

fn shared(rel: &str) -> PathBuf {
    vigil_testdata::vectors().join(rel)
}

#[tokio::test(flavor = "multi_thread")]
async fn an_incident_exports_with_its_qualification_and_custody() {
    let dir = tempfile::tempdir().expect("tempdir");
    let (mut store, _) = Store::init(&dir.path().join("store"), Some("test.example/log"))
        .await
        .expect("init");
    let src = dir.path().join("src");
    std::fs::create_dir_all(&src).expect("src");
    std::fs::copy(
        shared("threatexchange/pdq/data/bridge-mods/aaa-orig.jpg"),
        src.join("photo.jpg"),
    )
    .expect("copy");
    let settings = CaptureSettings::from_config(
        &store.config,
        "tester".into(),
        vigil_capture::netguard::NetPolicy::default(),
    )
    .expect("settings");
    let blobs = store.blobs().expect("blobs");
    let log = store.log().expect("log");
    run(
        &store.catalog,
        blobs.clone(),
        &log,
        vec![CaptureSource {
            source: src.to_string_lossy().into_owned(),
            note: None,
            tags: vec![],
            watch: None,
        }],
        &settings,
        Arc::new(Quiet),
    )
    .await
    .expect("capture");
    let photo = vigil_store::Sha256Digest::of(&std::fs::read(src.join("photo.jpg")).expect("read"));
    let admin = vigil_core::accounts::add_user(
        &store.catalog,
        "anna",
        "Anna",
        Role::Admin,
        "a long passphrase",
        "test",
    )
    .await
    .expect("admin");
    let fields: IncidentFields = serde_json::from_value(serde_json::json!({
        "title": "Գերիների ծեծ Ջրականում",
        "description": "Prisoners beaten at a roadside.",
        "occurred": "2023-09", "date_precision": "month",
    }))
    .expect("fields");
    let incident = vigil_core::incidents::create(&store.catalog, &admin, 1, &fields, None)
        .await
        .expect("incident");
    for (what, value) in [
        ("item", photo.to_hex()),
        ("tag", "pow.violence".to_owned()),
        ("label", "graphic-violence".to_owned()),
    ] {
        vigil_core::incidents::link(
            &store.catalog,
            &admin,
            incident.id,
            what,
            &value,
            true,
            None,
        )
        .await
        .expect(what);
    }
    let person_fields: vigil_store::PersonFields = serde_json::from_value(serde_json::json!({
        "names": [{ "name": "Արամ Պետրոսյան" }], "status": "pow",
    }))
    .expect("person fields");
    let person = vigil_core::persons::create(&store.catalog, &admin, 1, &person_fields, None)
        .await
        .expect("person");
    vigil_core::persons::link_incident(
        &store.catalog,
        &admin,
        person.id,
        incident.id,
        Some("victim"),
        None,
    )
    .await
    .expect("link person");

    let options = |persons| ExportOptions {
        derived: false,
        persons,
        actor: vigil_core::accounts::Actor::Web {
            user: &admin,
            ip: None,
        },
        organization: "Test Ombudsman".into(),
        pdf: false,
    };
    let bag = dir.path().join("incident-package");
    let summary = export(
        &store.catalog,
        &blobs,
        &log,
        &ExportScope::Incident(incident.id),
        &bag,
        &options(false),
    )
    .await
    .expect("export");
    assert_eq!(summary.items, 1);
    assert_eq!(summary.captures, 1);
    let data = bag.join("data");
    let read = |rel: &str| std::fs::read_to_string(data.join(rel)).expect(rel);
    let incident_json: serde_json::Value =
        serde_json::from_str(&read("incident.json")).expect("incident.json");
    assert_eq!(incident_json["tag_details"][0]["id"], "pow.violence");
    assert!(
        incident_json["tag_details"][0]["provisions"]
            .to_string()
            .contains("GCIII 13"),
        "{incident_json}"
    );
    assert_eq!(incident_json["persons"][0]["role"], "victim");
    assert!(
        incident_json["persons"][0]["record"].is_null(),
        "no personal data unless asked for"
    );
    let report = read("report/index.html");
    assert!(
        report.contains("Գերիների ծեծ Ջրականում"),
        "the title, in Armenian"
    );
    assert!(report.contains("GCIII 13"), "the provisions");
    assert!(
        report.contains("class=\"items graphic\""),
        "graphic pictures blurred"
    );
    assert!(!report.contains("Արամ"), "no names without --persons");
    // Every receipt is against the one checkpoint shipped.
    let checkpoint = read("log/checkpoint");
    let receipt = read("receipts/capture-1.tlog-proof");
    assert!(
        receipt.ends_with(&checkpoint),
        "receipt proven against log/checkpoint"
    );
    let custody: serde_json::Value = serde_json::from_str(&read("custody.json")).expect("custody");
    let events = custody["events"].as_array().expect("events");
    assert!(
        events
            .iter()
            .any(|e| e["action"] == "export" && e["actor"] == "anna"),
        "the export is in its own chain of custody"
    );
    assert!(
        events
            .iter()
            .any(|e| e["subject"] == format!("incident:{}", incident.id)),
        "so is the incident's history"
    );

    // With persons: their records, and their names in the report.
    let with_persons = dir.path().join("with-persons");
    export(
        &store.catalog,
        &blobs,
        &log,
        &ExportScope::Incident(incident.id),
        &with_persons,
        &options(true),
    )
    .await
    .expect("export with persons");
    let report =
        std::fs::read_to_string(with_persons.join("data/report/index.html")).expect("report");
    assert!(
        report.contains("Արամ Պետրոսյան (victim)"),
        "named when asked for"
    );

    // A damaged blob stops the export and leaves nothing behind.
    let blob = blobs.path_of(&photo);
    let mut bytes = std::fs::read(&blob).expect("blob");
    bytes[10] ^= 1;
    #[cfg(unix)]
    {
        use std::os::unix::fs::PermissionsExt;
        std::fs::set_permissions(&blob, std::fs::Permissions::from_mode(0o600)).expect("chmod");
    }
    std::fs::write(&blob, bytes).expect("damage");
    let damaged = dir.path().join("damaged");
    let refused = export(
        &store.catalog,
        &blobs,
        &log,
        &ExportScope::Items(vec![photo]),
        &damaged,
        &options(false),
    )
    .await;
    assert!(
        refused.is_err_and(|e| e.to_string().contains("no longer match")),
        "a damaged blob is never shipped"
    );
    assert!(!damaged.exists());
    let leftovers: Vec<_> = std::fs::read_dir(dir.path())
        .expect("list")
        .filter_map(Result::ok)
        .filter(|e| e.file_name().to_string_lossy().contains("partial"))
        .collect();
    assert!(leftovers.is_empty(), "no staging folder left");
}
