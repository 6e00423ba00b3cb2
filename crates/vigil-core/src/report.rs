//! The readable report inside an evidence package (`report/index.html`): what the package
//! holds, what it shows under international humanitarian law, and how to check it, for a
//! reader who will never run a command. One self-contained HTML page (no script, no outside
//! resource) that prints well; graphic pictures are blurred unless the reader ticks a box.

use askama::Template;
use serde_json::Value;
use vigil_store::{BlobStore, Catalog, Sha256Digest, StoredCheckpoint};

use crate::CoreError;
use crate::export::ReportFiles;

/// What the export hands the report.
pub(crate) struct ReportInput<'a> {
    pub export_id: &'a str,
    pub exported_at: &'a str,
    pub exported_by: &'a str,
    pub organization: &'a str,
    /// `incident.json`, for incident exports.
    pub incident: Option<&'a Value>,
    /// The original items and their files in the package.
    pub items: &'a [(Sha256Digest, String)],
    pub captures: &'a [i64],
    pub checkpoint: &'a StoredCheckpoint,
    pub verifier_key: &'a str,
    pub timestamps: usize,
}

struct ReportCapture {
    id: i64,
    captured_at: String,
    source: String,
    collector: String,
    method: String,
    status: String,
}

struct ReportSpread {
    captured_at: String,
    platform: String,
    account: String,
    posted_at: String,
    item: String,
    this_item: bool,
    earliest: bool,
}

struct ReportItem {
    sha256: String,
    file: String,
    size: u64,
    kind: String,
    thumbnail: Option<String>,
    pdq: Option<(String, u8)>,
    frames: usize,
    flags: Vec<String>,
    captures: Vec<ReportCapture>,
    spread: Vec<ReportSpread>,
}

struct ReportTag {
    label: String,
    id: String,
    provisions: Vec<(String, bool)>,
    notes: Vec<String>,
}

#[derive(Template)]
#[template(path = "report.html")]
struct Report<'a> {
    input: &'a ReportInput<'a>,
    title: String,
    graphic: bool,
    incident: Option<IncidentSummary>,
    tags: Vec<ReportTag>,
    items: Vec<ReportItem>,
    root: String,
}

struct IncidentSummary {
    id: i64,
    title: String,
    description: String,
    when: String,
    place: String,
    status: String,
    labels: Vec<String>,
    persons: Vec<String>,
}

fn text(v: &Value) -> String {
    v.as_str().unwrap_or_default().to_owned()
}

/// Writes `report/index.html` and its pictures.
pub(crate) async fn write_report(
    catalog: &Catalog,
    blobs: &BlobStore,
    files: &mut ReportFiles<'_>,
    input: &ReportInput<'_>,
) -> Result<(), CoreError> {
    let incident = input.incident.map(|v| {
        let precision = |value: &Value, p: &Value| match (value.as_str(), p.as_str()) {
            (Some(v), Some(p)) if p != "unknown" => format!("{v} ({p})"),
            (Some(v), _) => v.to_owned(),
            (None, _) => "unknown".to_owned(),
        };
        IncidentSummary {
            id: v["id"].as_i64().unwrap_or_default(),
            title: text(&v["title"]),
            description: text(&v["description"]),
            when: precision(&v["occurred"], &v["date_precision"]),
            place: precision(&v["place"], &v["place_precision"]),
            status: text(&v["status"]),
            labels: v["labels"]
                .as_array()
                .into_iter()
                .flatten()
                .map(text)
                .collect(),
            persons: v["persons"]
                .as_array()
                .into_iter()
                .flatten()
                .map(|p| {
                    let role = text(&p["role"]);
                    let names: Vec<String> = p["record"]["names"]
                        .as_array()
                        .into_iter()
                        .flatten()
                        .map(|n| text(&n["name"]))
                        .collect();
                    if names.is_empty() {
                        format!("person #{} ({role})", p["id"])
                    } else {
                        format!("{} ({role})", names.join(" / "))
                    }
                })
                .collect(),
        }
    });
    let tags = input
        .incident
        .and_then(|v| v["tag_details"].as_array())
        .into_iter()
        .flatten()
        .map(|t| ReportTag {
            label: text(&t["label"]),
            id: text(&t["id"]),
            provisions: t["provisions"]
                .as_array()
                .into_iter()
                .flatten()
                .map(|p| (text(&p[0]), p[1].as_bool().unwrap_or(false)))
                .collect(),
            notes: t["notes"]
                .as_array()
                .into_iter()
                .flatten()
                .map(|n| text(&n[1]))
                .collect(),
        })
        .collect();
    // Unknown content is treated as graphic: an item export carries no labels.
    let graphic = incident
        .as_ref()
        .is_none_or(|i| i.labels.iter().any(|l| l == "graphic-violence"));

    let mut items = Vec::new();
    for (digest, file) in input.items {
        let hex = digest.to_hex();
        let analysis = catalog.analysis(digest).await?;
        let metadata = catalog.metadata_of(digest).await?;
        let mut thumbnail = None;
        for d in catalog.derivations_of(digest).await? {
            if let Some(t) = d.record.items.iter().find(|i| i.role == "thumbnail") {
                let path = blobs.path_of(&t.sha256);
                let bytes = tokio::fs::read(&path)
                    .await
                    .map_err(|source| CoreError::Io { path, source })?;
                let name = format!("report/{hex}.jpg");
                files.write(&name, &bytes)?;
                thumbnail = Some(format!("{hex}.jpg"));
                break;
            }
        }
        let mut captures = Vec::new();
        for id in catalog.captures_with_item(digest).await? {
            if let Some(c) = catalog.capture(id).await? {
                captures.push(ReportCapture {
                    id: c.id,
                    captured_at: c.record.captured_at,
                    source: c.record.source,
                    collector: c.record.collector,
                    method: c.record.method,
                    status: c.record.status.as_str().to_owned(),
                });
            }
        }
        let spread = crate::similar::spread(catalog, blobs, digest).await?;
        let spread = if spread.captures.len() > 1 {
            spread
                .captures
                .into_iter()
                .map(|e| ReportSpread {
                    this_item: e.item == *digest,
                    item: e.item.to_hex(),
                    captured_at: e.captured_at,
                    platform: e.platform,
                    account: e.account.unwrap_or_default(),
                    posted_at: e.posted_at.unwrap_or_default(),
                    earliest: e.earliest_we_hold,
                })
                .collect()
        } else {
            Vec::new()
        };
        let kind = analysis
            .as_ref()
            .map(|a| a.describe())
            .unwrap_or_else(|| "not analysed".into());
        let pdq = analysis
            .as_ref()
            .and_then(|a| a.pdq.first())
            .map(|h| (hex::encode(h.hash), h.quality));
        items.push(ReportItem {
            frames: analysis.as_ref().map_or(0, |a| {
                a.pdq.iter().filter(|h| h.timestamp.is_some()).count()
            }),
            sha256: hex,
            file: file.clone(),
            size: catalog.item(digest).await?.map_or(0, |i| i.size),
            kind,
            thumbnail,
            pdq,
            flags: metadata
                .map(|m| {
                    m.flags
                        .iter()
                        .map(|f| format!("{}: {}", f.code, f.detail))
                        .collect()
                })
                .unwrap_or_default(),
            captures,
            spread,
        });
    }
    let title = match &incident {
        Some(i) => format!("Incident #{}: {}", i.id, i.title),
        None => match input.items.len() {
            1 => "1 item".to_owned(),
            n => format!("{n} items"),
        },
    };
    let page = Report {
        input,
        title,
        graphic,
        incident,
        tags,
        items,
        root: input.checkpoint.root.to_base64(),
    };
    let html = page
        .render()
        .map_err(|e| CoreError::Usage(format!("the report could not be written: {e}")))?;
    files.write("report/index.html", html.as_bytes())?;
    Ok(())
}
