//! What `vigil` prints: text for people, JSON for programs, progress bars on a terminal.

use std::borrow::Cow;
use std::path::Path;
use std::sync::Mutex;

use indicatif::{ProgressBar, ProgressDrawTarget, ProgressStyle};
use serde::Serialize;
use vigil_core::capture::{CaptureObserver, CaptureSummary};
use vigil_core::log::{CheckedConsistency, CheckedReceipt};
use vigil_core::verify::{VerifyObserver, VerifyReport};
use vigil_store::{CaptureStatus, ItemRecord, StoredCapture};

/// Text from records, files and the network as printed for people: control characters
/// (ESC, CR, LF, DEL, the C1 range) and the bidirectional marks that reorder a line are
/// escaped (`\x1b`, `\n`, `\u{202e}`), and backslashes doubled, so a file name cannot
/// move the cursor, recolour or rewrite the terminal, and each shown name maps back to one
/// string. Every name this module prints goes through it (JSON output escapes by itself).
pub fn shown(s: &str) -> Cow<'_, str> {
    if !s.chars().any(needs_escape) {
        return Cow::Borrowed(s);
    }
    let mut out = String::with_capacity(s.len() + 8);
    for c in s.chars() {
        push_shown(&mut out, c);
    }
    Cow::Owned(out)
}

/// Bytes that should be text (a file name as recorded, `path_hex`): valid UTF-8 as
/// [`shown`], every other byte as `\xNN`, so a name that is not UTF-8 keeps each byte.
pub fn shown_bytes(bytes: &[u8]) -> String {
    let mut out = String::with_capacity(bytes.len());
    for chunk in bytes.utf8_chunks() {
        for c in chunk.valid().chars() {
            push_shown(&mut out, c);
        }
        for b in chunk.invalid() {
            out.push_str(&format!("\\x{b:02x}"));
        }
    }
    out
}

fn needs_escape(c: char) -> bool {
    c.is_control()
        || c == '\\'
        || matches!(c, '\u{061c}' | '\u{200e}' | '\u{200f}' | '\u{202a}'..='\u{202e}' | '\u{2066}'..='\u{2069}')
}

fn push_shown(out: &mut String, c: char) {
    match c {
        '\\' => out.push_str("\\\\"),
        '\n' => out.push_str("\\n"),
        '\r' => out.push_str("\\r"),
        '\t' => out.push_str("\\t"),
        c if (c as u32) < 0x80 && needs_escape(c) => out.push_str(&format!("\\x{:02x}", c as u32)),
        c if needs_escape(c) => out.push_str(&format!("\\u{{{:x}}}", c as u32)),
        c => out.push(c),
    }
}

/// A recorded path, its original bytes when the record kept them (`<key>_hex`, written for
/// names that are not UTF-8), else its text; as [`shown_bytes`].
fn shown_recorded(value: &serde_json::Value, key: &str) -> Option<String> {
    let bytes = value
        .get(format!("{key}_hex"))
        .and_then(|h| h.as_str())
        .and_then(|h| hex::decode(h).ok());
    match bytes {
        Some(b) => Some(shown_bytes(&b)),
        None => value
            .get(key)
            .and_then(|v| v.as_str())
            .map(|t| shown(t).into_owned()),
    }
}

/// A path as [`shown_bytes`] shows it: every byte of a name that is not UTF-8 kept.
pub fn shown_path(path: &Path) -> String {
    #[cfg(unix)]
    {
        use std::os::unix::ffi::OsStrExt;
        shown_bytes(path.as_os_str().as_bytes())
    }
    #[cfg(not(unix))]
    {
        shown(&path.to_string_lossy()).into_owned()
    }
}

/// Prints one JSON document on a line.
pub fn print_json<T: Serialize + ?Sized>(value: &T) {
    match serde_json::to_string(value) {
        Ok(s) => println!("{s}"),
        Err(e) => eprintln!("vigil: cannot encode output: {e}"),
    }
}

fn bar(enabled: bool) -> ProgressBar {
    let pb = if enabled {
        ProgressBar::with_draw_target(Some(0), ProgressDrawTarget::stderr())
    } else {
        ProgressBar::hidden()
    };
    let style = ProgressStyle::with_template(
        "{spinner} [{elapsed_precise}] {wide_bar} {binary_bytes}/{binary_total_bytes} {binary_bytes_per_sec} {msg}",
    )
    .unwrap_or_else(|_| ProgressStyle::default_bar());
    pb.set_style(style);
    pb
}

/// Progress bar and per-capture lines for `vigil capture`.
pub struct CaptureProgress {
    json: bool,
    quiet: bool,
    bar: ProgressBar,
    counts: Mutex<(u64, u64)>,
}

impl CaptureProgress {
    /// A reporter; `progress` draws a bar on stderr.
    pub fn new(json: bool, quiet: bool, progress: bool) -> Self {
        CaptureProgress {
            json,
            quiet,
            bar: bar(progress),
            counts: Mutex::new((0, 0)),
        }
    }

    /// Removes the bar.
    pub fn finish(&self) {
        self.bar.finish_and_clear();
    }

    fn line(&self, text: &str) {
        if self.bar.is_hidden() {
            println!("{text}");
        } else {
            self.bar.println(text);
        }
    }
}

impl CaptureObserver for CaptureProgress {
    fn planned(&self, sources: u64, bytes: u64) {
        self.bar.inc_length(bytes);
        if let Ok(mut c) = self.counts.lock() {
            c.1 += sources;
            self.bar.set_message(format!("{}/{} sources", c.0, c.1));
        }
    }

    fn advanced(&self, bytes: u64) {
        self.bar.inc(bytes);
    }

    fn committed(&self, capture: &StoredCapture, already_held: bool) {
        if let Ok(mut c) = self.counts.lock() {
            c.0 += 1;
            self.bar.set_message(format!("{}/{} sources", c.0, c.1));
        }
        let r = &capture.record;
        if self.json {
            print_json(&serde_json::json!({
                "event": "committed",
                "id": capture.id,
                "source": r.source,
                "status": r.status,
                "already_held": already_held,
                "failure": r.failure,
                "items": r.items,
            }));
            return;
        }
        if self.quiet {
            return;
        }
        let main = r
            .items
            .first()
            .map(|i| format!("{} {}", short(&i.sha256.to_hex()), human_bytes(i.size)))
            .unwrap_or_default();
        let source = shown(&r.source);
        let text = match r.status {
            CaptureStatus::Ok if already_held => {
                format!(
                    "#{:<6} held    {source}  {main} (already in the store)",
                    capture.id
                )
            }
            CaptureStatus::Ok => format!("#{:<6} ok      {source}  {main}", capture.id),
            CaptureStatus::Failed => format!(
                "#{:<6} FAILED  {source}  {}",
                capture.id,
                shown(r.failure.as_ref().map(|f| f.message.as_str()).unwrap_or(""))
            ),
        };
        self.line(&text);
    }

    fn skipped(&self, path: &Path, reason: &str) {
        if !self.json {
            self.line(&format!(
                "        skipped {}: {}",
                shown_path(path),
                shown(reason)
            ));
        }
    }

    fn notice(&self, message: &str) {
        if self.bar.is_hidden() {
            eprintln!("notice: {}", shown(message));
        } else {
            self.bar.println(format!("notice: {}", shown(message)));
        }
    }
}

/// Prints the end-of-run summary.
pub fn print_capture_summary(summary: &CaptureSummary, json: bool) {
    if json {
        let mut v = serde_json::to_value(summary).unwrap_or_default();
        v["event"] = "summary".into();
        print_json(&v);
        return;
    }
    println!(
        "\nCaptured {} new, {} already held, {} failed, {} skipped; {} newly stored.",
        summary.captured,
        summary.already_held,
        summary.failed.len(),
        summary.skipped.len(),
        human_bytes(summary.new_bytes)
    );
    println!(
        "Transparency log: checkpoint signed over {} capture(s).",
        summary.log_size
    );
    if !summary.failed.is_empty() {
        println!("Failed (recorded as failed captures):");
        for f in &summary.failed {
            println!(
                "  #{} {} [{}] {}",
                f.capture_id,
                shown(&f.source),
                f.code,
                shown(&f.message)
            );
        }
    }
    for s in &summary.skipped {
        println!("Skipped {}: {}", shown(&s.path), shown(&s.reason));
    }
}

/// A table of captures.
pub fn print_capture_table(captures: &[StoredCapture]) {
    if captures.is_empty() {
        println!("No captures.");
        return;
    }
    println!(
        "{:<7} {:<27} {:<20} {:<6} {:>5}  source",
        "id", "captured_at (UTC)", "method", "status", "items"
    );
    for c in captures {
        let r = &c.record;
        println!(
            "{:<7} {:<27} {:<20} {:<6} {:>5}  {}",
            format!("#{}", c.id),
            r.captured_at,
            r.method,
            r.status.as_str(),
            r.items.len(),
            shown(&r.source)
        );
    }
}

/// One capture in full.
pub fn print_capture(c: &StoredCapture) {
    let r = &c.record;
    println!("Capture #{} — {}", c.id, r.status.as_str());
    if let Some(f) = &r.failure {
        println!("  error         [{}] {}", f.code, shown(&f.message));
    }
    println!("  source        {}", shown(&r.source));
    println!("  captured_at   {}", r.captured_at);
    println!("  collector     {}", shown(&r.collector));
    println!("  method        {} (Vigil {})", r.method, r.vigil_version);
    for (tool, version) in &r.tools {
        println!("  tool          {} {}", shown(tool), shown(version));
    }
    if let Some(n) = &r.note {
        println!("  note          {}", shown(n));
    }
    if !r.tags.is_empty() {
        println!("  tags          {}", shown(&r.tags.join(", ")));
    }
    println!("  run           {}", r.run_id);
    let d = &r.details;
    for key in ["final_url", "http_status", "remote_addr"] {
        if let Some(v) = d.get(key).filter(|v| !v.is_null()) {
            println!(
                "  {key:<13} {}",
                shown(
                    &v.as_str()
                        .map(str::to_owned)
                        .unwrap_or_else(|| v.to_string())
                )
            );
        }
    }
    if d.pointer("/network_guard/allow_private") == Some(&serde_json::Value::Bool(true)) {
        println!(
            "  guard         relaxed (--allow-private): private, loopback and link-local addresses were allowed"
        );
    }
    if let Some(hops) = d
        .get("hops")
        .and_then(|h| h.as_array())
        .filter(|h| h.len() > 1)
    {
        println!("  redirects");
        for hop in hops {
            println!(
                "    {} {}",
                hop.get("status").map(|s| s.to_string()).unwrap_or_default(),
                shown(hop.get("url").and_then(|u| u.as_str()).unwrap_or(""))
            );
        }
    }
    if let Some(file) = d.get("file") {
        if let Some(p) = shown_recorded(file, "path") {
            println!("  path          {p}");
        }
        if let Some(m) = file.get("modified").and_then(|p| p.as_str()) {
            println!("  modified      {m}");
        }
        if file.get("changed_during_capture").and_then(|v| v.as_bool()) == Some(true) {
            println!("  WARNING       the file changed while it was read");
        }
    }
    if let Some(s) = d.get("social") {
        println!("  social        {}", shown(&s.to_string()));
    }
    println!("  items");
    if r.items.is_empty() {
        println!("    (none)");
    }
    for i in &r.items {
        println!(
            "    {}  {:>10}  {:<9} {}",
            i.sha256,
            human_bytes(i.size),
            shown(&i.role),
            shown(i.name.as_deref().unwrap_or(""))
        );
    }
}

/// One item and the captures that hold it.
pub fn print_item(item: &ItemRecord, captures: &[StoredCapture], blob: &Path) {
    println!("Item {}", item.sha256);
    println!(
        "  size              {} ({} bytes)",
        human_bytes(item.size),
        item.size
    );
    println!("  first captured    {}", item.first_captured_at);
    println!("  blob              {}", blob.display());
    println!("  captures");
    for c in captures {
        println!(
            "    #{:<6} {}  {}",
            c.id,
            c.record.captured_at,
            shown(&c.record.source)
        );
    }
}

/// Progress bar for `vigil verify`.
pub struct VerifyProgress {
    bar: ProgressBar,
}

impl VerifyProgress {
    /// A bar on stderr when `enabled`.
    pub fn new(enabled: bool) -> Self {
        VerifyProgress { bar: bar(enabled) }
    }

    /// Removes the bar.
    pub fn finish(&self) {
        self.bar.finish_and_clear();
    }
}

impl VerifyObserver for VerifyProgress {
    fn planned(&self, bytes: u64) {
        self.bar.inc_length(bytes);
    }
    fn advanced(&self, bytes: u64) {
        self.bar.inc(bytes);
    }
}

/// The verification result, problems first.
pub fn print_verify_report(r: &VerifyReport) {
    for p in &r.problems {
        println!("{}", shown(&p.to_string()));
    }
    let scope = if r.sampled { "sampled items" } else { "items" };
    println!(
        "Checked {} {scope}, {} re-hashed.",
        r.items_checked,
        human_bytes(r.bytes_checked)
    );
    if !r.unreferenced_blobs.is_empty() {
        println!(
            "{} intact blob(s) not referenced by any capture (left by an interrupted capture; harmless).",
            r.unreferenced_blobs.len()
        );
    }
    if let Some(log) = &r.log {
        println!(
            "Transparency log: {} leaves re-derived from the catalog, {} signed checkpoint(s) checked (latest covers {}).",
            log.leaves, log.checkpoints, log.signed_size
        );
        if log.unsigned > 0 {
            println!(
                "{} capture(s) not yet under a checkpoint (an interrupted run; `vigil log checkpoint` signs them).",
                log.unsigned
            );
        }
    }
    if r.is_clean() {
        println!(
            "OK: every stored byte matches its SHA-256, every catalog row is consistent, and the log agrees with both."
        );
    } else {
        println!("FAILED: {} problem(s) found.", r.problems.len());
    }
}

fn short(hex: &str) -> &str {
    &hex[..hex.len().min(12)]
}

/// 1234567 → "1.2 MiB".
pub fn human_bytes(n: u64) -> String {
    const UNITS: [&str; 5] = ["B", "KiB", "MiB", "GiB", "TiB"];
    let mut v = n as f64;
    let mut unit = 0;
    while v >= 1024.0 && unit < UNITS.len() - 1 {
        v /= 1024.0;
        unit += 1;
    }
    if unit == 0 {
        format!("{n} B")
    } else {
        format!("{v:.1} {}", UNITS[unit])
    }
}

/// A receipt that verified.
pub fn print_checked_receipt(r: &CheckedReceipt, json: bool) {
    if json {
        let mut v = serde_json::to_value(r).unwrap_or_default();
        v["ok"] = true.into();
        print_json(&v);
        return;
    }
    println!(
        "OK: capture #{} is leaf {} of log {}, under a checkpoint of {} leaves signed by its key.",
        r.capture_id, r.index, r.origin, r.tree_size
    );
    println!("  source       {}", shown(&r.source));
    println!("  captured at  {}", shown(&r.captured_at));
    println!("  root         {}", r.root);
    for f in &r.files {
        println!(
            "  file         {}  sha256 {}  ({} of the capture)",
            shown(&f.file),
            f.sha256,
            shown(&f.role)
        );
    }
}

/// A consistency proof that verified.
pub fn print_consistency(c: &CheckedConsistency, json: bool) {
    if json {
        let mut v = serde_json::to_value(c).unwrap_or_default();
        v["ok"] = true.into();
        print_json(&v);
        return;
    }
    println!(
        "OK: the checkpoint of {} leaves extends the one of {} leaves kept earlier (log {}).",
        c.new_size, c.old_size, c.origin
    );
    println!("Keep the new checkpoint for the next check:");
    print!("{}", c.new_checkpoint);
}

/// Why an offline check failed.
pub fn print_check_failure(code: &str, message: &str, json: bool) {
    if json {
        print_json(&serde_json::json!({ "ok": false, "code": code, "error": message }));
    } else {
        println!("FAILED [{code}]: {}", shown(message));
    }
}

/// `vigil hash` of an image.
pub fn print_image_hash(file: &str, h: &vigil_media::ImageHashes, json: bool) {
    if json {
        let mut v = serde_json::to_value(h).unwrap_or_default();
        v["file"] = file.into();
        v["kind"] = "image".into();
        print_json(&v);
        return;
    }
    let file = shown(file);
    println!("{}  quality {:>3}  {file}", h.stored.0, h.stored.1);
    if let Some((hex, q)) = &h.displayed {
        println!(
            "{hex}  quality {q:>3}  {file} (as displayed, EXIF orientation {})",
            h.orientation
        );
    }
}

/// `vigil hash` of a video: upstream's vPDQ line format under a comment line.
pub fn print_video_hash(file: &str, v: &vigil_media::VpdqReport, json: bool) {
    if json {
        print_json(&serde_json::json!({
            "file": file,
            "kind": "video",
            "fps": v.fps,
            "width": v.width,
            "height": v.height,
            "rotation_degrees": v.rotation_degrees,
            "frame_count": v.frame_count,
            "frames_skipped": v.frames_skipped,
            "decode_errors": v.decode_errors,
            "duration_secs": v.duration_secs,
            "frames": v.frames.iter().map(|f| f.to_line()).collect::<Vec<_>>(),
        }));
        return;
    }
    let errors = if v.decode_errors > 0 {
        format!(", {} decoding error(s)", v.decode_errors)
    } else {
        String::new()
    };
    println!(
        "# {}: {}×{}, {:.3} fps, {:.1} s, {} frame(s) hashed of {}{errors}",
        shown(file),
        v.width,
        v.height,
        v.fps,
        v.duration_secs,
        v.frames.len(),
        v.frame_count,
    );
    for f in &v.frames {
        println!("{}", f.to_line());
    }
}

/// `vigil hash` of a file that could not be hashed; `error` starts with `[code]`.
pub fn print_hash_failure(file: &str, error: &str, json: bool) {
    if json {
        let code = error
            .strip_prefix('[')
            .and_then(|e| e.split_once(']'))
            .map(|(c, _)| c)
            .unwrap_or("error");
        print_json(&serde_json::json!({ "file": file, "code": code, "error": error }));
    } else {
        println!("ERROR {}: {}", shown(file), shown(error));
    }
}

/// The result of `vigil compare` for two videos.
pub fn print_video_comparison(
    m: &vigil_media::VpdqMatch,
    matched: bool,
    segments: &[vigil_media::MatchedSegment],
    json: bool,
) {
    if json {
        print_json(&serde_json::json!({
            "query_match_percent": m.query_match_percent,
            "target_match_percent": m.target_match_percent,
            "match": matched,
            "segments": segments,
        }));
        return;
    }
    let verdict = if matched {
        "MATCH: the same footage"
    } else {
        "DIFFERENT footage"
    };
    println!(
        "{verdict} ({:.1}% of the first video's hashed frames and {:.1}% of the second's have a partner within {} bits; 80% on each side matches)",
        m.query_match_percent,
        m.target_match_percent,
        vigil_phash::MATCH_DISTANCE
    );
    for s in segments {
        println!(
            "  shared footage: {} – {} in the first, {} – {} in the second ({} frames, mean distance {:.1})",
            clock(s.query_start),
            clock(s.query_end),
            clock(s.target_start),
            clock(s.target_end),
            s.frames,
            s.mean_distance
        );
    }
}

/// Seconds as `m:ss.s` (or `h:mm:ss.s`).
fn clock(secs: f64) -> String {
    let tenths = (secs.max(0.0) * 10.0).round() as u64;
    let (h, m, s) = (tenths / 36_000, tenths / 600 % 60, tenths % 600);
    if h > 0 {
        format!("{h}:{m:02}:{:04.1}", s as f64 / 10.0)
    } else {
        format!("{m}:{:04.1}", s as f64 / 10.0)
    }
}

/// The result of `vigil compare`.
pub fn print_comparison(distance: u32, qa: u8, qb: u8, matched: bool, reliable: bool, json: bool) {
    if json {
        print_json(&serde_json::json!({
            "distance": distance,
            "quality": [qa, qb],
            "match": matched,
            "reliable": reliable,
            "threshold": vigil_phash::MATCH_DISTANCE,
        }));
        return;
    }
    let verdict = match (matched, reliable) {
        (true, _) => "MATCH: the same picture",
        (false, false) => "NO VERDICT: a hash has quality below 50 (too little detail to trust)",
        (false, true) => "DIFFERENT pictures",
    };
    println!(
        "{verdict} (PDQ distance {distance} of 256 bits; ≤ {} matches; quality {qa} and {qb})",
        vigil_phash::MATCH_DISTANCE
    );
}

/// What the enrichment pass after a capture did.
pub fn print_enrich_summary(s: &vigil_core::enrich::EnrichSummary, json: bool) {
    if json {
        let mut v = serde_json::to_value(s).unwrap_or_default();
        v["event"] = "enriched".into();
        print_json(&v);
        return;
    }
    if s.images + s.videos + s.other + s.metadata + s.derivations + s.failed.len() as u64 == 0 {
        return;
    }
    println!(
        "Analysed: {} image(s) hashed (PDQ), {} video(s) hashed (vPDQ), {} other item(s); {} near-duplicate link(s) found.",
        s.images, s.videos, s.other, s.similar
    );
    println!(
        "Metadata: {} item(s) read, {} with flags to look at (`vigil inspect ITEM`); previews: {} derived item(s) for {} item(s), logged.",
        s.metadata, s.flagged, s.derived_items, s.derivations
    );
    for f in &s.failed {
        println!(
            "  {} failed on item {} [{}]: {} (its bytes are kept as captured)",
            f.job,
            f.sha256,
            f.code,
            shown(&f.message)
        );
    }
}

/// What the store knows about an inspected item beyond its bytes.
#[derive(Debug, serde::Serialize)]
pub struct ItemContext {
    /// The item.
    pub sha256: String,
    /// When it was first captured.
    pub first_captured_at: Option<String>,
    /// How each enrichment job ended on it.
    pub jobs: Vec<vigil_store::JobRecord>,
    /// Pictures derived from it.
    pub derivations: Vec<vigil_store::StoredDerivation>,
    /// When it is itself a derived picture: (derivation, source item, role).
    pub derived_from: Vec<(i64, String, String)>,
}

/// An item's media analysis, under `vigil show ITEM`.
pub fn print_analysis(a: Option<&vigil_store::MediaAnalysis>) {
    let Some(a) = a else {
        println!("  media         not analysed yet (`vigil enrich`)");
        return;
    };
    let size = match (a.width, a.height) {
        (Some(w), Some(h)) => format!(" {w}×{h}"),
        _ => String::new(),
    };
    println!(
        "  media         {}{}{size}",
        a.kind,
        a.format
            .as_deref()
            .map(|f| format!(" ({f})"))
            .unwrap_or_default()
    );
    if let (Some(code), Some(error)) = (&a.error_code, &a.error) {
        println!("  analysis      FAILED [{code}]: {}", shown(error));
    }
    for p in &a.pdq {
        println!(
            "  pdq {:<9} {}  quality {}",
            p.variant,
            hex::encode(p.hash),
            p.quality
        );
    }
}

fn place(p: &vigil_core::similar::HashPlace) -> String {
    match (p.variant.as_str(), p.timestamp) {
        ("frame", Some(t)) => format!("frame at {}", clock(t)),
        ("frame", None) => format!("frame {}", p.frame),
        (v, _) => v.to_owned(),
    }
}

/// What `vigil similar` found.
pub fn print_similar(query: &str, r: &vigil_core::similar::SimilarReport, json: bool) {
    if json {
        let mut v = serde_json::to_value(r).unwrap_or_default();
        v["query"] = query.into();
        print_json(&v);
        return;
    }
    println!(
        "{} stored item(s) within {} bits of {} ({}, {} hash(es) searched{}):",
        r.items.len(),
        r.radius,
        shown(query),
        r.kind,
        r.hashes_searched,
        if r.hashes_low_quality > 0 {
            format!(", {} of quality below 50 left out", r.hashes_low_quality)
        } else {
            String::new()
        }
    );
    if r.hashes_searched == 0 {
        println!("  (no hash of sufficient quality to search with)");
    }
    for i in &r.items {
        let kind = i.kind.as_deref().unwrap_or("?");
        match &i.video {
            Some(v) => println!(
                "  {}  {kind}  {}: {:.1}% of the query's frames and {:.1}% of this item's have a partner; nearest frames {} bits apart",
                i.sha256,
                if v.matched {
                    "SAME FOOTAGE"
                } else {
                    "partly shared"
                },
                v.query_match_percent,
                v.item_match_percent,
                i.distance
            ),
            None => println!(
                "  {}  {kind}  distance {} (query {} ↔ {})",
                i.sha256,
                i.distance,
                place(&i.query_hash),
                place(&i.item_hash)
            ),
        }
        for s in i.video.iter().flat_map(|v| &v.segments) {
            println!(
                "      shared footage: {} – {} in the query, {} – {} in this item ({} frames)",
                clock(s.query_start),
                clock(s.query_end),
                clock(s.target_start),
                clock(s.target_end),
                s.frames
            );
        }
        for c in &i.captures {
            println!(
                "      #{:<5} {}  {}  {}",
                c.id,
                c.captured_at,
                c.method,
                shown(&c.source)
            );
        }
    }
}

/// The timeline `vigil spread` prints.
pub fn print_spread(s: &vigil_core::similar::Spread, json: bool) {
    if json {
        print_json(s);
        return;
    }
    println!(
        "Item {}: cluster of {} near-duplicate item(s), {} capture(s):",
        s.item,
        s.cluster.members.len(),
        s.captures.len()
    );
    for e in &s.captures {
        let label = e.label.map(|l| format!("  ← {l}")).unwrap_or_default();
        println!(
            "  {}  #{:<5} {:<12} {}{label}",
            e.captured_at,
            e.capture_id,
            shown(&e.platform),
            shown(&e.source)
        );
        let mut extra = Vec::new();
        if let Some(a) = &e.account {
            extra.push(format!("account {}", shown(a)));
        }
        if let Some(p) = &e.posted_at {
            extra.push(format!("posted {} (the platform's claim)", shown(p)));
        }
        if e.item != s.item {
            extra.push(format!("item {}", e.item));
        }
        if e.status != "ok" {
            extra.push(format!("capture {}", e.status));
        }
        if !extra.is_empty() {
            println!("      {}", extra.join("; "));
        }
    }
    if !s.captures.is_empty() {
        println!("(\"earliest we hold\" is our first capture, not necessarily the original post.)");
    }
}

/// What `vigil match-list` found, and the list's bad lines.
pub fn print_list_matches(
    list_name: &str,
    list: &vigil_phash::hashlist::HashList,
    matches: &[vigil_core::similar::ListMatch],
    json: bool,
) {
    if json {
        print_json(&serde_json::json!({
            "list": list_name,
            "entries": list.entries.len(),
            "bad_lines": list.errors.iter().map(|e| serde_json::json!({
                "line": e.line, "problem": e.problem,
            })).collect::<Vec<_>>(),
            "matches": matches,
        }));
        return;
    }
    for e in &list.errors {
        eprintln!("vigil: {}: {}", shown(list_name), shown(&e.to_string()));
    }
    println!(
        "{} match(es) between {} list entr{} and the collection:",
        matches.len(),
        list.entries.len(),
        if list.entries.len() == 1 { "y" } else { "ies" }
    );
    for m in matches {
        println!(
            "  line {:<6} {}  distance {:<3} item {} ({}){}",
            m.line,
            m.list_hash,
            m.distance,
            m.sha256,
            place(&m.item_hash),
            if m.tags.is_empty() {
                String::new()
            } else {
                format!("  tags {}", shown(&m.tags.join(",")))
            }
        );
    }
}

/// What `vigil hash-list import` kept.
pub fn print_list_import(
    name: &str,
    source: &str,
    list: &vigil_phash::hashlist::HashList,
    json: bool,
) {
    if json {
        print_json(&serde_json::json!({
            "list": name,
            "source": source,
            "entries": list.entries.len(),
            "bad_lines": list.errors.iter().map(|e| serde_json::json!({
                "line": e.line, "problem": e.problem,
            })).collect::<Vec<_>>(),
        }));
        return;
    }
    for e in &list.errors {
        eprintln!(
            "vigil: {}: {} (not imported)",
            shown(source),
            shown(&e.to_string())
        );
    }
    println!(
        "Imported {} hash(es) from {} as list {name:?}.",
        list.entries.len(),
        shown(source)
    );
}

/// The hash lists the catalog holds.
pub fn print_hash_lists(lists: &[vigil_store::HashListInfo], json: bool) {
    if json {
        print_json(lists);
        return;
    }
    if lists.is_empty() {
        println!("No hash list imported (`vigil hash-list import FILE --name NAME`).");
    }
    for l in lists {
        println!(
            "{:<20} {:>8} hashes  imported {}  from {} (sha256 {}){}",
            shown(&l.name),
            l.entries,
            l.imported_at,
            shown(&l.source),
            l.sha256,
            if l.bad_lines > 0 {
                format!("; {} bad line(s) left out", l.bad_lines)
            } else {
                String::new()
            }
        );
    }
}

/// One `label value` line of `vigil inspect`, when there is a value.
fn print_field(label: &str, value: &Option<String>) {
    if let Some(v) = value {
        println!("  {label:<14}{}", shown(v));
    }
}

/// `vigil inspect` of one file: JSON (one object a file), or a readable summary.
pub fn print_inspection(
    file: &str,
    r: &vigil_core::inspect::InspectReport,
    written: &[std::path::PathBuf],
    item: Option<&ItemContext>,
    json: bool,
) {
    if json {
        let mut v = serde_json::to_value(r).unwrap_or_default();
        match item {
            Some(item) => v["item"] = serde_json::to_value(item).unwrap_or_default(),
            None => v["file"] = file.into(),
        }
        v["preview_files"] = written
            .iter()
            .map(|p| p.display().to_string())
            .collect::<Vec<_>>()
            .into();
        // The full C2PA report is long; the summary above it says what it holds.
        if let Some(c) = v.get_mut("credentials").and_then(|c| c.as_object_mut()) {
            c.remove("report");
        }
        print_json(&v);
        return;
    }
    let kind = |k: &Option<vigil_media::MediaKind>| match k {
        Some(vigil_media::MediaKind::Image(f)) => format!("image ({f})"),
        Some(vigil_media::MediaKind::Video(f)) => format!("video ({f})"),
        Some(vigil_media::MediaKind::Audio(f)) => format!("audio ({f})"),
        Some(vigil_media::MediaKind::Other) => "not media".into(),
        None => "unknown".into(),
    };
    println!("{}: {}, {} bytes", shown(file), kind(&r.sniffed), r.size);
    if r.claimed.is_some() && r.claimed != r.sniffed {
        println!("  the name says: {}", kind(&r.claimed));
    }
    if let Some(item) = item {
        if !r.names.is_empty() {
            println!("  {:<14}{}", "named", shown(&r.names.join(", ")));
        }
        print_field("first capture", &item.first_captured_at);
        for (id, source, role) in &item.derived_from {
            println!("  derived       {role} made from item {source} (derivation #{id})");
        }
    }
    if let Some(m) = &r.image {
        print_field("camera", &m.camera);
        print_field("software", &m.software);
        print_field("taken", &m.taken_at);
        print_field("modified", &m.modified_at);
        if let Some(g) = &m.gps {
            println!("  {:<14}{:.6}, {:.6}", "gps", g.latitude, g.longitude);
        }
        if let Some(x) = &m.xmp {
            print_field("creator tool", &x.creator_tool);
            if !x.history_agents.is_empty() {
                println!(
                    "  {:<14}{}",
                    "xmp history",
                    shown(&x.history_agents.join(" → "))
                );
            }
        }
        for (name, values) in &m.iptc {
            println!("  iptc {}: {}", shown(name), shown(&values.join("; ")));
        }
        println!("  {} EXIF tag(s)", m.exif.len());
    }
    if let Some(p) = &r.container {
        println!(
            "  container     {}{}",
            shown(&p.container),
            p.duration_secs
                .map(|d| format!(", {d:.1} s"))
                .unwrap_or_default()
        );
        for s in &p.streams {
            let mut parts = vec![format!("#{} {} {}", s.index, s.kind, s.codec)];
            if let (Some(w), Some(h)) = (s.width, s.height) {
                parts.push(format!("{w}×{h}"));
            }
            if let Some(f) = s.frame_rate {
                parts.push(format!("{f:.3} fps"));
            }
            if let Some(rot) = s.rotation_degrees.filter(|r| *r != 0) {
                parts.push(format!("rotated {rot}°"));
            }
            if let Some(rate) = s.sample_rate {
                parts.push(format!("{rate} Hz"));
            }
            println!("  stream        {}", shown(&parts.join(", ")));
        }
        for (k, v) in &p.tags {
            println!("  tag {}: {}", shown(k), shown(v));
        }
    }
    if let Some(p) = &r.post {
        print_field("platform", &p.platform);
        print_field("post", &p.post_id);
        print_field("url", &p.url);
        print_field("posted by", &p.uploader);
        print_field("posted at", &p.posted_at);
        print_field("title", &p.title);
    }
    if let Some(c) = &r.credentials {
        println!("  C2PA          {}", shown(&c.validation_state.to_string()));
        if let Some(e) = &c.error {
            println!("    unreadable: {}", shown(&e.to_string()));
        }
        for m in &c.manifests {
            println!(
                "    manifest {} by {} ({}), signed {} by {}",
                shown(m.label.as_deref().unwrap_or("?")),
                shown(m.claim_generator.as_deref().unwrap_or("?")),
                shown(m.algorithm.as_deref().unwrap_or("?")),
                shown(m.signed_at.as_deref().unwrap_or("at an unknown time")),
                shown(m.signer.as_deref().or(m.issuer.as_deref()).unwrap_or("?")),
            );
            for a in &m.actions {
                println!("      action {}", shown(&a.to_string()));
            }
            for g in &m.ingredients {
                println!(
                    "      ingredient {} ({})",
                    shown(g.title.as_deref().unwrap_or("?")),
                    shown(g.relationship.as_deref().unwrap_or("?"))
                );
            }
        }
        for s in &c.status {
            println!("    status {}", shown(&s.code.to_string()));
        }
    }
    for f in &r.flags {
        println!("  FLAG {}: {}", f.code, shown(&f.detail.to_string()));
    }
    for (part, e) in &r.errors {
        println!("  could not read the {part}: {}", shown(&e.to_string()));
    }
    if let Some(item) = item {
        for j in &item.jobs {
            match &j.error_code {
                None => println!(
                    "  job {:<10}ok ({:.2} s, {})",
                    j.job, j.seconds, j.finished_at
                ),
                Some(code) => println!(
                    "  job {:<10}FAILED [{code}]: {}",
                    j.job,
                    shown(j.error.as_deref().unwrap_or(""))
                ),
            }
        }
        for d in &item.derivations {
            println!(
                "  derivation #{} ({}, leaf {}), {}:",
                d.id,
                d.record.tool,
                d.leaf_index
                    .map(|i| i.to_string())
                    .unwrap_or_else(|| "?".into()),
                d.record.created_at
            );
            for x in &d.record.items {
                println!(
                    "    {:<14}{}  {}",
                    x.role,
                    x.sha256.to_hex(),
                    shown(&x.name)
                );
            }
        }
    }
    for p in written {
        println!("  wrote {}", shown_path(p));
    }
}

/// What `vigil export` wrote.
pub fn print_export(summary: &vigil_core::export::ExportSummary, json: bool) {
    if json {
        println!(
            "{}",
            serde_json::json!({ "event": "exported", "export": summary })
        );
        return;
    }
    println!(
        "exported {} item(s) from {} capture(s) to {} ({} files, {} bytes; {} time-stamp(s))",
        summary.items,
        summary.captures,
        summary.path.display(),
        summary.payload_files,
        summary.payload_bytes,
        summary.timestamps,
    );
    println!("export id: {}", summary.export_id);
    println!(
        "every receipt is proven against the checkpoint of {} records",
        summary.checkpoint_size
    );
    println!(
        "check it with: vigil-verify {} --key '{}'",
        summary.path.display(),
        summary.verifier_key
    );
}

/// A source now watched.
pub fn print_watch_added(source: &vigil_store::WatchSource, json: bool) {
    if json {
        println!(
            "{}",
            serde_json::json!({ "event": "watch-added", "source": source })
        );
        return;
    }
    println!(
        "watching #{} {} ({}, every {} s; polled as {})",
        source.id,
        shown(&source.url),
        source.kind,
        source.every_secs,
        shown(&source.poll_url)
    );
}

/// `vigil watch list`.
pub fn print_watch_status(status: &[vigil_core::watch::SourceStatus], json: bool) {
    if json {
        for s in status {
            println!(
                "{}",
                serde_json::json!({ "event": "watch-source", "status": s })
            );
        }
        return;
    }
    if status.is_empty() {
        println!("no source is watched (add one with `vigil watch add URL`)");
    }
    for s in status {
        let last = match (&s.source.last_poll_at, &s.source.last_outcome) {
            (Some(at), Some(outcome)) => format!("last poll {at}: {}", shown(outcome)),
            _ => "not polled yet".to_owned(),
        };
        println!(
            "#{} {} [{}] every {} s; {last}; next {}",
            s.source.id,
            shown(&s.source.url),
            s.source.kind,
            s.source.every_secs,
            s.source.next_poll_at
        );
        println!(
            "    posts {}: captured {}, pending {}, failed {}, deleted {}, changed {}",
            s.counts.posts,
            s.counts.captured,
            s.counts.pending,
            s.counts.failed,
            s.counts.gone,
            s.counts.changed
        );
        if let Some(e) = &s.source.last_error {
            println!("    last error: {}", shown(e));
        }
    }
}

/// The posts of a watched source.
pub fn print_watch_posts(posts: &[vigil_store::WatchPost], json: bool) {
    if json {
        for p in posts {
            println!(
                "{}",
                serde_json::json!({ "event": "watch-post", "post": p })
            );
        }
        return;
    }
    if posts.is_empty() {
        println!("no post");
    }
    for p in posts {
        let capture = p
            .capture_id
            .map_or_else(|| p.state.clone(), |c| format!("capture #{c}"));
        println!("{}  {}  [{capture}]", p.first_seen_at, shown(&p.url));
        if let Some(at) = &p.gone_at {
            let reason = shown(p.gone_reason.as_deref().unwrap_or("deleted"));
            println!("    deleted at its source by {at} ({reason})");
        }
        if let Some(at) = &p.changed_at {
            let reason = shown(p.changed_reason.as_deref().unwrap_or("changed"));
            println!("    changed at its source by {at} ({reason})");
        }
        if let Some(e) = &p.last_error {
            println!("    last error: {}", shown(e));
        }
    }
}

/// One watch cycle.
pub fn print_watch_cycle(summary: &vigil_core::watch::CycleSummary, json: bool) {
    if json {
        println!(
            "{}",
            serde_json::json!({ "event": "watch-cycle", "summary": summary })
        );
        return;
    }
    println!(
        "polled {} source(s) ({} failed); {} new post(s), {} captured, {} capture failure(s); \
         {} re-checked, {} deleted, {} changed",
        summary.polled,
        summary.poll_failures,
        summary.new_posts,
        summary.captured,
        summary.capture_failures,
        summary.rechecked,
        summary.gone,
        summary.changed
    );
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn names_are_shown_escaped_and_unambiguous() {
        assert!(matches!(shown("Ծանուցում видео.mp4"), Cow::Borrowed(_)));
        assert_eq!(shown("a\u{1b}[2Jb\r\n\u{7f}"), r"a\x1b[2Jb\r\n\x7f");
        assert_eq!(shown("x\u{202e}gpj.exe\u{9b}"), r"x\u{202e}gpj.exe\u{9b}");
        assert_eq!(
            shown(r"a\x1b"),
            r"a\\x1b",
            "a literal backslash is not an escape"
        );
        assert_eq!(shown_bytes(b"ok\xff\x1b\xc3\xa9"), r"ok\xff\x1bé");
        let recorded = serde_json::json!({ "path": "a\u{fffd}", "path_hex": "61ff" });
        assert_eq!(shown_recorded(&recorded, "path").as_deref(), Some(r"a\xff"));
    }
}
