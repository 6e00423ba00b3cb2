//! `vigil`: capture, preserve and verify evidence. Glue between the command line and
//! `vigil-core`; it holds no business rules.

mod output;

use std::io::{IsTerminal, Read};
use std::net::IpAddr;
use std::path::PathBuf;
use std::process::ExitCode;
use std::sync::Arc;

use anyhow::{Context, Result, bail};
use clap::{Args, Parser, Subcommand};
use vigil_capture::netguard::NetPolicy;
use vigil_core::capture::{self, CaptureSettings, CaptureSource};
use vigil_core::similar::{self, NearDupIndex};
use vigil_core::{Store, StoreOrigin, enrich, locate_store, log, verify};
use vigil_media::{DecodeLimits, ImageHashes, VideoLimits, VpdqReport, vpdq_match};
use vigil_phash::{MATCH_DISTANCE, MIN_QUALITY, PdqHash, PdqHasher, Pipeline};
use vigil_store::{CaptureFilter, CaptureStatus, Sha256Digest, parse_rfc3339};

/// Vigil preserves evidence that circulates online: it captures files and links, stores every
/// byte under its SHA-256, records how and when each was collected, and proves later that
/// nothing changed.
#[derive(Parser)]
#[command(name = "vigil", version, max_term_width = 100)]
struct Cli {
    /// The store directory [default: the platform data directory, e.g. ~/.local/share/vigil]
    #[arg(long, global = true, env = "VIGIL_STORE", value_name = "DIR")]
    store: Option<PathBuf>,
    /// Print machine-readable JSON instead of text.
    #[arg(long, global = true)]
    json: bool,
    #[command(subcommand)]
    command: Command,
}

#[derive(Subcommand)]
enum Command {
    /// Create a store (catalog, blob directory, settings, log key). Harmless if one exists.
    Init {
        /// The transparency log's origin, the name third parties know it by
        /// [default: HOSTNAME/vigil/RANDOM-ID].
        #[arg(long, value_name = "ORIGIN")]
        log_origin: Option<String>,
    },
    /// Capture files, folders (recursively) and http(s) links.
    Capture(CaptureArgs),
    /// List captures, newest first.
    List(ListArgs),
    /// Show one capture (by number) or one item (by SHA-256 or a unique prefix of it).
    Show {
        /// Capture number or item id.
        id: String,
    },
    /// Re-hash every stored byte, check every catalog row and re-derive the transparency log;
    /// non-zero exit on any problem.
    Verify {
        /// Check only this many randomly chosen items (a quick check; the log is still checked
        /// in full).
        #[arg(long, value_name = "N")]
        sample: Option<u64>,
    },
    /// Upgrade a store made before the transparency log existed, once: log its captures (a
    /// `store-upgrade` event records which). Refused on any store whose log has begun, where a
    /// capture without a leaf is tampering for `vigil verify` to report.
    Upgrade,
    /// Print perceptual hashes: PDQ of images, vPDQ of videos (one frame a second, lines
    /// `frame,quality,hash,seconds` as upstream). Needs no store.
    Hash {
        /// Image or video files.
        #[arg(required = true)]
        files: Vec<PathBuf>,
        /// Images: reproduce the C++ reference tool (512×512 pre-resize), not full resolution.
        #[arg(long)]
        cpp_compat: bool,
        /// Videos: hash every frame instead of one a second.
        #[arg(long)]
        every_frame: bool,
    },
    /// Say whether two images show the same picture (PDQ distance ≤ 31), or two videos the same
    /// footage (80% of each side's frames within 31 bits of the other's). Needs no store.
    Compare {
        /// One file.
        a: PathBuf,
        /// The other.
        b: PathBuf,
    },
    /// What files say about themselves: the real type (from the bytes) beside what the name
    /// claims, EXIF/XMP/IPTC or container and stream metadata, Content Credentials (C2PA), a
    /// yt-dlp `.info.json` read as the post it describes, and flags worth a second look (GPS,
    /// editing software, stripped metadata, a mislabelled type, a creation time after the
    /// capture, failed credentials). A FILE needs no store; for a stored ITEM (SHA-256 or a
    /// unique prefix) the names its sources gave it and its first capture time are used too,
    /// and its enrichment jobs and derived items (thumbnail, keyframes, contact sheet) listed.
    Inspect {
        /// Files, or stored items' ids.
        #[arg(required = true, value_name = "FILE|ITEM")]
        targets: Vec<String>,
        /// Also write each video's thumbnail, keyframes and contact sheet (JPEG) into this
        /// folder (for an item: copies of its stored derived items).
        #[arg(long, value_name = "DIR")]
        preview: Option<PathBuf>,
    },
    /// Run the enrichment jobs on stored items they have not run on (`vigil capture` does
    /// this after each run): analysis (media kind, PDQ/vPDQ hashes, near-duplicate links),
    /// metadata (what `vigil inspect` shows, with its flags) and preview (thumbnail, keyframes,
    /// contact sheet, stored as derived items and logged). Each job has a time limit; a job
    /// that fails records why and leaves the item as captured.
    Enrich {
        /// Run jobs again where they failed before.
        #[arg(long)]
        retry_failed: bool,
        /// Longest one job may run on one item, in seconds.
        #[arg(long, value_name = "SECS", default_value_t = 900)]
        job_time_limit: u64,
    },
    /// List stored items that show the same picture or footage as FILE (hashed on the fly,
    /// not stored) or a stored ITEM (SHA-256 or a unique prefix): distance (videos: share of
    /// frames matched both ways, and the shared segments), capture times and sources.
    Similar {
        /// An image or video file, or a stored item's id.
        target: String,
        /// Largest PDQ distance that counts (frames of videos alike).
        #[arg(long, value_name = "N", default_value_t = MATCH_DISTANCE)]
        radius: u32,
    },
    /// The timeline of every capture of every item in ITEM's cluster of near-duplicates: when
    /// we captured it, where, the account and post time the platform claims. The earliest is
    /// the earliest we hold, not necessarily the original.
    Spread {
        /// A stored item's id (SHA-256 or a unique prefix).
        item: String,
    },
    /// Hash lists in the plain text form of ThreatExchange/HMA tooling (one PDQ hash a line,
    /// then tags).
    #[command(subcommand)]
    HashList(HashListCommand),
    /// Which items of the collection match which entries of a hash list; bad lines are
    /// reported with their numbers (exit 1) and the rest still matched.
    MatchList {
        /// The list; `-` for standard input.
        #[arg(required_unless_present = "list", conflicts_with = "list")]
        file: Option<PathBuf>,
        /// Match a list imported with `vigil hash-list import` instead of a file.
        #[arg(long, value_name = "NAME")]
        list: Option<String>,
        /// Largest PDQ distance that counts.
        #[arg(long, value_name = "N", default_value_t = MATCH_DISTANCE)]
        radius: u32,
    },
    /// Rebuild the near-duplicate index's snapshot (STORE/index/pdq.vhix) from the catalog and
    /// search every hashed item again, linking near-duplicates (for items analysed before
    /// links existed).
    Reindex,
    /// Serve the investigators' workspace (web UI and JSON API under /api/v1) until
    /// interrupted. Create the first account with `vigil user add NAME --role admin`.
    Serve {
        /// Address to listen on (port 0: any free port; the address is printed).
        #[arg(long, value_name = "ADDR", default_value = "127.0.0.1:8080")]
        listen: std::net::SocketAddr,
        /// Send cookies without the Secure flag (only for plain HTTP to another machine on a
        /// trusted test network; browsers accept secure cookies from localhost).
        #[arg(long)]
        insecure_cookies: bool,
    },
    /// Accounts of the workspace.
    #[command(subcommand)]
    User(UserCommand),
    /// Collections of the workspace: investigators and viewers see what the collections they
    /// belong to hold (admins see everything). Changes are recorded in the audit trail.
    #[command(subcommand)]
    Collection(CollectionCommand),
    /// The audit trail: every view, download, sign-in and account change (hash-chained;
    /// `vigil verify` checks the chain).
    Audit {
        /// Only events about this subject (`item:<sha256>`, `user:<name>`).
        #[arg(long, value_name = "SUBJECT")]
        subject: Option<String>,
        /// Events after this id.
        #[arg(long, value_name = "ID", default_value_t = 0)]
        after: i64,
        /// At most this many.
        #[arg(long, value_name = "N", default_value_t = 1000)]
        limit: i64,
    },
    /// The transparency log: checkpoints, verifier key, consistency proofs, witnessing.
    #[command(subcommand)]
    Log(LogCommand),
    /// Write the receipt of a capture (C2SP tlog-proof): proof, offline, that it was logged.
    Receipt {
        /// Capture number.
        capture: String,
        /// Write it to this file instead of standard output.
        #[arg(long, short, value_name = "FILE")]
        output: Option<PathBuf>,
    },
    /// Watch channels, feeds and playlists: capture every new post as it appears and notice
    /// when a captured post is deleted.
    #[command(subcommand)]
    Watch(WatchCommand),
    /// Write an evidence package (a BagIt bag, docs/package.md) for an incident or items: the
    /// original bytes, their capture records with log receipts, the log's key and checkpoint,
    /// time-stamps, chain of custody and a readable report, checkable offline with
    /// `vigil verify-package` or `vigil-verify`. Recorded in the audit trail.
    Export {
        /// The incident to export (its linked items).
        #[arg(
            long,
            value_name = "ID",
            conflicts_with = "items",
            required_unless_present = "items"
        )]
        incident: Option<i64>,
        /// Items to export (SHA-256 or a unique prefix; repeatable).
        #[arg(long = "item", value_name = "ITEM")]
        items: Vec<String>,
        /// The package folder to create (or the zip file, with --zip); must not exist.
        #[arg(long, value_name = "PATH")]
        out: PathBuf,
        /// Write one zip file instead of a folder.
        #[arg(long)]
        zip: bool,
        /// Also ship the derived pictures (thumbnails, keyframes, contact sheets).
        #[arg(long)]
        derived: bool,
        /// Include linked persons' records (personal data of protected persons).
        #[arg(long)]
        persons: bool,
        /// Also print the report to PDF (report/report.pdf) with Chromium.
        #[arg(long)]
        pdf: bool,
        /// The organisation named in bag-info.txt.
        #[arg(long, value_name = "NAME", default_value = "not stated")]
        organization: String,
    },
    /// Check an evidence package (`vigil export`) offline, as a recipient would with
    /// `vigil-verify`: every file's hash, every receipt against the log's key, the checkpoints'
    /// consistency and the RFC 3161 time-stamps, with a verdict per item. Needs no store.
    /// Exit status 1 when a check failed.
    VerifyPackage {
        /// The package folder.
        package: PathBuf,
        /// The log's verifier key as the office publishes it (or a file holding it); without
        /// it the package's own key is used and the verdict says so.
        #[arg(long, value_name = "KEY")]
        key: Option<String>,
        /// A time-stamping authority's CA certificate (PEM or DER) to trust; repeatable.
        #[arg(long = "tsa-ca", value_name = "FILE")]
        tsa_ca: Vec<PathBuf>,
    },
    /// Check a receipt offline, with only the log's verifier key; with --file, also that each
    /// file is one of the capture's items. Needs no store.
    VerifyReceipt {
        /// The receipt (`vigil receipt` output); `-` for standard input.
        receipt: PathBuf,
        /// The log's verifier key (`vigil log vkey`), or a file holding it.
        #[arg(long, value_name = "KEY")]
        vkey: String,
        /// A file that should be one of the capture's items (repeatable).
        #[arg(long = "file", value_name = "FILE")]
        files: Vec<PathBuf>,
    },
}

#[derive(Subcommand)]
enum WatchCommand {
    /// Start watching a source: a public Telegram channel (t.me/NAME, read through its public
    /// web preview), an RSS or Atom feed, or a channel or playlist yt-dlp can list.
    Add {
        /// The source.
        url: String,
        /// Time between polls (`90s`, `10m`, `2h`).
        #[arg(long, value_name = "DURATION", default_value = "10m", value_parser = parse_duration)]
        every: std::time::Duration,
        /// Time between re-checks of its captured posts, for deletions and changes.
        #[arg(long, value_name = "DURATION", default_value = "6h", value_parser = parse_duration)]
        recheck: std::time::Duration,
        /// Note given to every capture from it.
        #[arg(long)]
        note: Option<String>,
        /// Tag given to every capture from it (repeatable, or `--tags a,b`).
        #[arg(
            long = "tag",
            visible_alias = "tags",
            value_name = "TAG",
            value_delimiter = ','
        )]
        tags: Vec<String>,
        /// The collection its captures go into.
        #[arg(long, value_name = "NAME", default_value = "default")]
        collection: String,
        /// What the source is, when its address does not say: `telegram` (a page shaped
        /// like t.me/s/NAME, e.g. a mirror), `feed` (RSS/Atom) or `playlist` (yt-dlp).
        #[arg(long, value_name = "KIND")]
        kind: Option<String>,
    },
    /// The watched sources: schedule, last poll and its outcome, posts seen, captured,
    /// pending, failed, deleted and changed.
    #[command(alias = "status")]
    List,
    /// The posts of a source: each with its state, when we first saw it, its capture, and when
    /// it was found deleted or changed at its source.
    Posts {
        /// The source's number (see `vigil watch list`).
        id: i64,
        /// Only the posts found deleted at their source.
        #[arg(long, conflicts_with = "changed")]
        gone: bool,
        /// Only the posts found changed at their source.
        #[arg(long)]
        changed: bool,
        /// At most this many, newest first.
        #[arg(long, default_value_t = 100)]
        limit: i64,
    },
    /// Stop watching a source (its posts and captures stay).
    Remove {
        /// The source's number (see `vigil watch list`).
        id: i64,
    },
    /// Poll due sources, capture new posts and re-check old ones, until interrupted.
    Run {
        /// One cycle, then exit.
        #[arg(long)]
        once: bool,
        /// Poll every source now, whatever its schedule.
        #[arg(long)]
        now: bool,
        /// Re-check every captured post for deletion and change now, whatever its schedule.
        #[arg(long)]
        recheck_now: bool,
        /// POST a JSON notice of every new capture, deletion and change to this URL.
        #[arg(long, value_name = "URL")]
        webhook: Option<String>,
        /// The User-Agent sent when polling and capturing.
        #[arg(long, value_name = "TEXT")]
        user_agent: Option<String>,
        /// Let sources reach private and local addresses (an intranet; tests).
        #[arg(long)]
        allow_private: bool,
        /// Use ADDR for HOST instead of DNS (repeatable; the guard still checks ADDR).
        #[arg(long, value_name = "HOST=ADDR")]
        resolve: Vec<String>,
        /// Skip yt-dlp for posts.
        #[arg(long)]
        no_media: bool,
        /// Skip the browser snapshot of posts.
        #[arg(long, env = "VIGIL_NO_BROWSER", value_parser = clap::builder::FalseyValueParser::new())]
        no_browser: bool,
    },
}

/// `90s`, `10m`, `2h`, `1d`, or plain seconds.
fn parse_duration(text: &str) -> Result<std::time::Duration, String> {
    let t = text.trim();
    let (number, unit) = t.split_at(t.find(|c: char| !c.is_ascii_digit()).unwrap_or(t.len()));
    let n: u64 = number
        .parse()
        .map_err(|_| format!("{text:?} is not a duration (like 90s, 10m, 2h, 1d)"))?;
    let factor = match unit {
        "" | "s" => 1,
        "m" => 60,
        "h" => 3600,
        "d" => 86_400,
        _ => return Err(format!("{text:?}: the unit must be s, m, h or d")),
    };
    n.checked_mul(factor)
        .map(std::time::Duration::from_secs)
        .ok_or_else(|| format!("{text:?} is too long"))
}

#[derive(Subcommand)]
enum UserCommand {
    /// Create an account. Without --password-stdin a strong password is generated and
    /// printed once.
    Add {
        /// Sign-in name (letters, digits, . - _ @).
        name: String,
        /// admin, investigator or viewer.
        #[arg(long)]
        role: String,
        /// Name shown in the interface [default: the sign-in name].
        #[arg(long, value_name = "TEXT", default_value = "")]
        display_name: String,
        /// Read the password from the first line of standard input.
        #[arg(long)]
        password_stdin: bool,
    },
    /// List the accounts.
    List,
}

#[derive(Subcommand)]
enum CollectionCommand {
    /// Create a collection (1-128 characters, not taken).
    Add {
        /// Its name.
        name: String,
    },
    /// List the collections with their members.
    List,
    /// Make an account a member of a collection.
    Join {
        /// The collection.
        name: String,
        /// The account's sign-in name.
        user: String,
    },
    /// End an account's membership of a collection.
    Leave {
        /// The collection.
        name: String,
        /// The account's sign-in name.
        user: String,
    },
}

#[derive(Subcommand)]
enum HashListCommand {
    /// Write every indexed hash of the collection (quality ≥ 50), tagged with the item's
    /// SHA-256 and the variant (`stored`, `displayed`, `frame:N`).
    Export {
        /// Write to this file instead of standard output.
        #[arg(long, short, value_name = "FILE")]
        out: Option<PathBuf>,
    },
    /// Keep a list in the catalog under a name (its file's SHA-256 and the time recorded), to
    /// match against later with `vigil match-list --list NAME`. Bad lines are reported by
    /// number and not imported (exit 1); a name is never reused.
    Import {
        /// The list; `-` for standard input.
        file: PathBuf,
        /// The name to keep it under.
        #[arg(long)]
        name: String,
    },
    /// The lists imported.
    List,
}

#[derive(Subcommand)]
enum LogCommand {
    /// Sign a checkpoint over every capture not yet covered, then print the latest checkpoint.
    Checkpoint {
        /// Time-stamp a newly signed checkpoint with this RFC 3161 authority
        /// [config: log.tsa_url].
        #[arg(long, value_name = "URL")]
        tsa: Option<String>,
    },
    /// Write the RFC 3161 time-stamp of a checkpoint (DER TimeStampResp) and the checkpoint
    /// it covers, for `openssl ts -verify -data CHECKPOINT -in TSR -CAfile TSA-CA.pem`.
    Timestamp {
        /// The checkpoint's tree size [default: the latest].
        #[arg(long, value_name = "SIZE")]
        size: Option<u64>,
        /// Where to write the time-stamp response; the checkpoint goes beside it (`.checkpoint`).
        #[arg(long, short, value_name = "FILE")]
        output: PathBuf,
    },
    /// Print the verifier key that third parties use to check checkpoints and receipts.
    Vkey,
    /// Sign with a new key from now on (a lost or exposed key): recorded in the log as a
    /// key-rotation leaf with the reason, the old and new verifier keys; the first checkpoint
    /// is cosigned by the old key when it is still here. Give the new verifier key to whoever
    /// checks receipts.
    RotateKey {
        /// Why (kept in the log).
        #[arg(long)]
        reason: String,
        /// The new key's origin [default: HOSTNAME/vigil/RANDOM-ID].
        #[arg(long, value_name = "ORIGIN")]
        origin: Option<String>,
    },
    /// Print a proof that the latest checkpoint extends the tree of SIZE leaves (the body of a
    /// C2SP tlog-witness add-checkpoint request).
    Consistency {
        /// Size of the older tree (from a checkpoint the other party kept).
        #[arg(long, value_name = "SIZE")]
        from: u64,
    },
    /// As a witness: check that the checkpoint in a consistency proof is signed by the log and
    /// extends an older checkpoint you kept. Needs no store when --vkey is given.
    Witness {
        /// The older signed checkpoint you kept.
        #[arg(long, value_name = "FILE")]
        checkpoint: PathBuf,
        /// The proof (`vigil log consistency --from SIZE` output).
        #[arg(long, value_name = "FILE")]
        proof: PathBuf,
        /// The log's verifier key, or a file holding it [default: this store's].
        #[arg(long, value_name = "KEY")]
        vkey: Option<String>,
    },
}

#[derive(Args)]
struct CaptureArgs {
    /// Files, folders or http(s) URLs.
    sources: Vec<String>,
    /// A CSV list of sources (columns: url or path, and optional note, tags); `-` for stdin.
    #[arg(long, value_name = "CSV")]
    from: Option<PathBuf>,
    /// Who is collecting [default: the operating-system user].
    #[arg(long)]
    collector: Option<String>,
    /// A note recorded with every capture of this run (the CSV's note column overrides it).
    #[arg(long)]
    note: Option<String>,
    /// A tag recorded with every capture of this run (repeatable, or `--tags a,b`).
    #[arg(
        long = "tag",
        visible_alias = "tags",
        value_name = "TAG",
        value_delimiter = ','
    )]
    tags: Vec<String>,
    /// Allow connections to loopback, private, link-local and other non-public addresses.
    #[arg(long)]
    allow_private: bool,
    /// Use ADDR for HOST instead of DNS, like curl's --resolve (repeatable). The SSRF guard
    /// still applies to ADDR.
    #[arg(long, value_name = "HOST=ADDR")]
    resolve: Vec<String>,
    /// Largest download accepted, in bytes [config: capture.max_bytes, default 4 GiB].
    #[arg(long, value_name = "BYTES")]
    max_bytes: Option<u64>,
    /// Seconds allowed for one HTTP exchange [config: capture.timeout_secs].
    #[arg(long, value_name = "SECS")]
    timeout: Option<u64>,
    /// Seconds allowed to connect [config: capture.connect_timeout_secs].
    #[arg(long, value_name = "SECS")]
    connect_timeout: Option<u64>,
    /// Do not run yt-dlp on social links and HTML pages (capture the page only).
    #[arg(long)]
    no_media: bool,
    /// Store and log only; run the enrichment jobs later with `vigil enrich` (for large
    /// batches where capturing before posts disappear comes first).
    #[arg(long)]
    no_enrich: bool,
    /// Do not take a screenshot and MHTML snapshot of pages in Chromium.
    #[arg(long, env = "VIGIL_NO_BROWSER", value_parser = clap::builder::FalseyValueParser::new())]
    no_browser: bool,
    /// Time-stamp each signed checkpoint with this RFC 3161 authority [config: log.tsa_url].
    #[arg(long, value_name = "URL")]
    tsa: Option<String>,
    /// Do not print a line per capture (the summary is still printed).
    #[arg(long, short)]
    quiet: bool,
}

#[derive(Args)]
struct ListArgs {
    /// Captured at or after (date or RFC 3339 time).
    #[arg(long)]
    since: Option<String>,
    /// Captured before (date or RFC 3339 time).
    #[arg(long)]
    until: Option<String>,
    /// Source contains this text.
    #[arg(long)]
    source: Option<String>,
    /// Only `ok` or `failed` captures.
    #[arg(long)]
    status: Option<String>,
    /// At most this many.
    #[arg(long, default_value_t = 100)]
    limit: i64,
}

/// Reports that print for a pipe (`vigil hash *.mp4 | head`) end quietly when the reader goes
/// away, as Unix tools do, instead of panicking on a failed print. Commands that write the store
/// keep Rust's default (SIGPIPE ignored) so that a closed terminal never interrupts a capture.
fn quiet_broken_pipe() {
    // SAFETY: called once at start-up before any thread exists; restoring a signal's default
    // disposition has no other effect on this process.
    unsafe {
        libc::signal(libc::SIGPIPE, libc::SIG_DFL);
    }
}

fn main() -> ExitCode {
    tracing_subscriber::fmt()
        .with_env_filter(
            tracing_subscriber::EnvFilter::try_from_env("VIGIL_LOG")
                .unwrap_or_else(|_| tracing_subscriber::EnvFilter::new("warn,chromiumoxide=error")),
        )
        .with_writer(std::io::stderr)
        .init();
    let cli = Cli::parse();
    if !matches!(
        cli.command,
        Command::Capture(_) | Command::Enrich { .. } | Command::Reindex
    ) {
        quiet_broken_pipe();
    }
    let runtime = match tokio::runtime::Builder::new_multi_thread()
        .enable_all()
        .build()
    {
        Ok(rt) => rt,
        Err(e) => {
            eprintln!("vigil: cannot start: {e}");
            return ExitCode::from(2);
        }
    };
    match runtime.block_on(dispatch(cli)) {
        Ok(code) => code,
        Err(e) => {
            // Errors name files and sources: escaped like every other name shown.
            eprintln!("vigil: error: {}", output::shown(&format!("{e:#}")));
            ExitCode::from(2)
        }
    }
}

async fn dispatch(cli: Cli) -> Result<ExitCode> {
    let (dir, origin) = locate_store(cli.store.as_deref())?;
    match cli.command {
        Command::Init { log_origin } => init(&dir, origin, log_origin.as_deref(), cli.json).await,
        Command::Capture(args) => capture_cmd(&dir, args, cli.json).await,
        Command::List(args) => list(&dir, args, cli.json).await,
        Command::Show { id } => show(&dir, &id, cli.json).await,
        Command::Verify { sample } => verify_cmd(&dir, sample, cli.json).await,
        Command::Upgrade => upgrade_cmd(&dir, cli.json).await,
        Command::Log(cmd) => log_cmd(&dir, cmd, cli.json).await,
        Command::Hash {
            files,
            cpp_compat,
            every_frame,
        } => hash_cmd(&files, cpp_compat, every_frame, cli.json),
        Command::Compare { a, b } => compare_cmd(&a, &b, cli.json),
        Command::Inspect { targets, preview } => {
            inspect_cmd(&dir, &targets, preview.as_deref(), cli.json).await
        }
        Command::Enrich {
            retry_failed,
            job_time_limit,
        } => {
            let options = enrich::EnrichOptions {
                retry_failed,
                job_time_limit: std::time::Duration::from_secs(job_time_limit),
                ..Default::default()
            };
            enrich_cmd(&dir, &options, cli.json).await
        }
        Command::Similar { target, radius } => similar_cmd(&dir, &target, radius, cli.json).await,
        Command::Spread { item } => spread_cmd(&dir, &item, cli.json).await,
        Command::HashList(HashListCommand::Export { out }) => {
            export_list_cmd(&dir, out.as_deref(), cli.json).await
        }
        Command::HashList(HashListCommand::Import { file, name }) => {
            import_list_cmd(&dir, &file, &name, cli.json).await
        }
        Command::HashList(HashListCommand::List) => lists_cmd(&dir, cli.json).await,
        Command::MatchList { file, list, radius } => {
            match_list_cmd(&dir, file.as_deref(), list.as_deref(), radius, cli.json).await
        }
        Command::Reindex => reindex_cmd(&dir, cli.json).await,
        Command::Serve {
            listen,
            insecure_cookies,
        } => serve_cmd(&dir, listen, !insecure_cookies, cli.json).await,
        Command::User(UserCommand::Add {
            name,
            role,
            display_name,
            password_stdin,
        }) => user_add_cmd(&dir, &name, &role, &display_name, password_stdin, cli.json).await,
        Command::User(UserCommand::List) => user_list_cmd(&dir, cli.json).await,
        Command::Watch(command) => watch_cmd(&dir, command, cli.json).await,
        Command::Collection(cmd) => collection_cmd(&dir, cmd, cli.json).await,
        Command::Audit {
            subject,
            after,
            limit,
        } => audit_cmd(&dir, subject.as_deref(), after, limit, cli.json).await,
        Command::Receipt { capture, output } => receipt_cmd(&dir, &capture, output).await,
        Command::VerifyPackage {
            package,
            key,
            tsa_ca,
        } => verify_package_cmd(&package, key.as_deref(), &tsa_ca, cli.json),
        Command::Export {
            incident,
            items,
            out,
            zip,
            derived,
            persons,
            pdf,
            organization,
        } => {
            let request = ExportRequest {
                pdf,
                incident,
                items: &items,
                out: &out,
                zip,
                derived,
                persons,
                organization,
            };
            export_cmd(&dir, &request, cli.json).await
        }
        Command::VerifyReceipt {
            receipt,
            vkey,
            files,
        } => verify_receipt_cmd(&receipt, &vkey, &files, cli.json),
    }
}

async fn init(
    dir: &std::path::Path,
    origin: StoreOrigin,
    log_origin: Option<&str>,
    json: bool,
) -> Result<ExitCode> {
    let (mut store, created) = Store::init(dir, log_origin).await?;
    let log = store.log()?;
    let l = &store.layout;
    if json {
        output::print_json(&serde_json::json!({
            "created": created,
            "store": l.root(),
            "catalog": l.catalog(),
            "blobs": l.blobs(),
            "config": l.config(),
            "log": l.log(),
            "log_origin": log.origin(),
            "vkey": log.vkey(),
        }));
    } else {
        let how = match origin {
            StoreOrigin::Given => "",
            StoreOrigin::PlatformDefault => " (platform default; use --store or VIGIL_STORE)",
        };
        let verb = if created {
            "Created"
        } else {
            "A store already exists:"
        };
        println!("{verb} Vigil store at {}{how}", l.root().display());
        println!("  catalog   {}", l.catalog().display());
        println!("  blobs     {}", l.blobs().display());
        println!("  settings  {}", l.config().display());
        println!(
            "  log       {} (origin {})",
            l.log().display(),
            log.origin()
        );
        println!(
            "  log key   {} (keep it private; back it up)",
            l.log_key().display()
        );
        println!("Verifier key (give it to whoever will check receipts):");
        println!("  {}", log.vkey());
    }
    store.catalog.close().await;
    Ok(ExitCode::SUCCESS)
}

fn net_policy(args: &CaptureArgs) -> Result<NetPolicy> {
    policy_of(args.allow_private, &args.resolve)
}

/// The network policy for untrusted URLs: the guard, its overrides and (in debug builds)
/// the test hook.
fn policy_of(allow_private: bool, resolve: &[String]) -> Result<NetPolicy> {
    let mut policy = NetPolicy {
        allow_private,
        ..Default::default()
    };
    for entry in resolve {
        let (host, addr) = entry
            .split_once('=')
            .with_context(|| format!("--resolve {entry:?}: expected HOST=ADDR"))?;
        let ip: IpAddr = addr
            .trim_matches(['[', ']'])
            .parse()
            .with_context(|| format!("--resolve {entry:?}: {addr:?} is not an IP address"))?;
        policy
            .resolve_overrides
            .entry(host.to_ascii_lowercase())
            .or_default()
            .push(ip);
    }
    // Test hook (debug builds only): lets a loopback server play a public host in e2e tests.
    policy.with_test_hook().map_err(anyhow::Error::msg)
}

async fn capture_cmd(dir: &std::path::Path, args: CaptureArgs, json: bool) -> Result<ExitCode> {
    let mut store = Store::open(dir).await?;
    let mut sources: Vec<CaptureSource> = args
        .sources
        .iter()
        .map(|s| CaptureSource {
            source: s.clone(),
            note: args.note.clone(),
            tags: args.tags.clone(),
            watch: None,
        })
        .collect();
    if let Some(list) = &args.from {
        let text = if list.as_os_str() == "-" {
            let mut s = String::new();
            std::io::stdin().read_to_string(&mut s)?;
            s
        } else {
            std::fs::read_to_string(list)
                .with_context(|| format!("reading source list {}", list.display()))?
        };
        for mut s in capture::read_source_list(&text)? {
            if s.note.is_none() {
                s.note = args.note.clone();
            }
            s.tags.extend(args.tags.iter().cloned());
            sources.push(s);
        }
    }
    if sources.is_empty() {
        bail!("nothing to capture: give files, folders or URLs, or --from list.csv");
    }
    let mut config = store.config.clone();
    if let Some(v) = args.max_bytes {
        config.capture.max_bytes = v;
    }
    if let Some(v) = args.timeout {
        config.capture.timeout_secs = v;
        config.capture.read_timeout_secs = config.capture.read_timeout_secs.min(v);
    }
    if let Some(v) = args.connect_timeout {
        config.capture.connect_timeout_secs = v;
    }
    let collector = args.collector.clone().unwrap_or_else(whoami::username);
    let mut settings = CaptureSettings::from_config(&config, collector, net_policy(&args)?)?;
    settings.media.enabled = !args.no_media;
    settings.media.browser = !args.no_browser;
    let blobs = store.blobs()?;
    let show_progress = !json && std::io::stderr().is_terminal();
    let observer = Arc::new(output::CaptureProgress::new(
        json,
        args.quiet,
        show_progress,
    ));
    if let Some(url) = &args.tsa {
        store.config.log.tsa_url = Some(url.clone());
    }
    let log = store.log()?;
    let summary = capture::run(
        &store.catalog,
        blobs,
        &log,
        sources,
        &settings,
        observer.clone(),
    )
    .await;
    observer.finish();
    let summary = summary?;
    output::print_capture_summary(&summary, json);
    if args.no_enrich {
        store.catalog.close().await;
        return Ok(if summary.failed.is_empty() {
            ExitCode::SUCCESS
        } else {
            ExitCode::from(1)
        });
    }
    let blobs = store.blobs()?;
    let enriched = enrich::enrich(
        &store.catalog,
        &blobs,
        &enrich::EnrichOptions::default(),
        &store.layout.pdq_index(),
    )
    .await?;
    if enriched.derivations > 0 {
        log.publish(&store.catalog).await?;
    }
    output::print_enrich_summary(&enriched, json);
    store.catalog.close().await;
    Ok(if summary.failed.is_empty() {
        ExitCode::SUCCESS
    } else {
        ExitCode::from(1)
    })
}

async fn list(dir: &std::path::Path, args: ListArgs, json: bool) -> Result<ExitCode> {
    let store = Store::open(dir).await?;
    let filter = CaptureFilter {
        since: args
            .since
            .as_deref()
            .map(parse_rfc3339)
            .transpose()
            .map_err(anyhow::Error::msg)?,
        until: args
            .until
            .as_deref()
            .map(parse_rfc3339)
            .transpose()
            .map_err(anyhow::Error::msg)?,
        source_contains: args.source,
        status: args
            .status
            .as_deref()
            .map(str::parse::<CaptureStatus>)
            .transpose()
            .map_err(anyhow::Error::msg)?,
        limit: Some(args.limit),
    };
    let captures = store.catalog.list_captures(&filter).await?;
    if json {
        output::print_json(&captures);
    } else {
        output::print_capture_table(&captures);
    }
    Ok(ExitCode::SUCCESS)
}

async fn show(dir: &std::path::Path, id: &str, json: bool) -> Result<ExitCode> {
    let store = Store::open(dir).await?;
    let id = id.trim_start_matches('#');
    if let Ok(n) = id.parse::<i64>()
        && id.len() < 6
    {
        let Some(capture) = store.catalog.capture(n).await? else {
            bail!("no capture #{n}");
        };
        if json {
            output::print_json(&capture);
        } else {
            output::print_capture(&capture);
        }
        return Ok(ExitCode::SUCCESS);
    }
    let item = resolve_item(&store, id).await?;
    let ids = store.catalog.captures_with_item(&item.sha256).await?;
    let mut captures = Vec::new();
    for cid in ids {
        if let Some(c) = store.catalog.capture(cid).await? {
            captures.push(c);
        }
    }
    let analysis = store.catalog.analysis(&item.sha256).await?;
    if json {
        output::print_json(
            &serde_json::json!({ "item": item, "captures": captures, "analysis": analysis }),
        );
    } else {
        output::print_item(&item, &captures, &blob_path_of(&store, &item.sha256));
        output::print_analysis(analysis.as_ref());
    }
    Ok(ExitCode::SUCCESS)
}

/// An item by SHA-256 or a unique prefix of at least 6 hex digits.
async fn resolve_item(store: &Store, id: &str) -> Result<vigil_store::ItemRecord> {
    let prefix = id.to_ascii_lowercase();
    if prefix.len() < 6 || !prefix.bytes().all(|b| b.is_ascii_hexdigit()) {
        bail!("{id:?} is not an item id (a SHA-256, or at least 6 of its hex digits)");
    }
    let matches = store.catalog.items_with_prefix(&prefix, 2).await?;
    Ok(match matches.as_slice() {
        [one] => one.clone(),
        [] => bail!("no item with id {prefix}"),
        _ => bail!("{prefix} matches several items; give more digits"),
    })
}

fn blob_path_of(store: &Store, digest: &Sha256Digest) -> PathBuf {
    let hex = digest.to_hex();
    store
        .layout
        .blobs()
        .join("sha256")
        .join(&hex[..2])
        .join(&hex[2..4])
        .join(hex)
}

async fn upgrade_cmd(dir: &std::path::Path, json: bool) -> Result<ExitCode> {
    let mut store = Store::open(dir).await?;
    let logged = store.catalog.log_legacy_captures().await?;
    let checkpoint = store.log()?.publish(&store.catalog).await?;
    if json {
        output::print_json(&serde_json::json!({
            "logged_captures": logged,
            "tree_size": checkpoint.tree_size,
        }));
    } else {
        println!(
            "Logged {} captures made before the transparency log; the log now holds {} leaves.",
            logged.len(),
            checkpoint.tree_size
        );
    }
    store.catalog.close().await;
    Ok(ExitCode::SUCCESS)
}

async fn verify_cmd(dir: &std::path::Path, sample: Option<u64>, json: bool) -> Result<ExitCode> {
    // Read-only: checking a store never changes it.
    let mut store = Store::open_read_only(dir).await?;
    let blobs = store.blobs()?;
    let progress = output::VerifyProgress::new(!json && std::io::stderr().is_terminal());
    let log = store.log()?;
    let report = verify::verify(&store.catalog, &blobs, &log, sample, &progress).await?;
    progress.finish();
    if json {
        output::print_json(&report);
    } else {
        output::print_verify_report(&report);
    }
    Ok(if report.is_clean() {
        ExitCode::SUCCESS
    } else {
        ExitCode::from(1)
    })
}

async fn log_cmd(dir: &std::path::Path, cmd: LogCommand, json: bool) -> Result<ExitCode> {
    if let LogCommand::Witness {
        checkpoint,
        proof,
        vkey,
    } = &cmd
    {
        let vkey = match vkey {
            Some(v) => read_vkey(v)?,
            None => {
                let mut store = Store::open(dir)
                    .await
                    .context("no --vkey given, so the store's own key is used")?;
                store.log()?.vkey()
            }
        };
        let old = read_input(checkpoint)?;
        let proof = read_input(proof)?;
        return Ok(match log::check_consistency(&old, &proof, &vkey) {
            Ok(checked) => {
                output::print_consistency(&checked, json);
                ExitCode::SUCCESS
            }
            Err(e) => {
                output::print_check_failure(e.code(), &e.to_string(), json);
                ExitCode::from(1)
            }
        });
    }
    let mut store = Store::open(dir).await?;
    if let LogCommand::RotateKey { reason, origin } = &cmd {
        let rotation = vigil_core::log::Log::rotate_key(
            &store.layout,
            &store.config.log,
            &store.catalog,
            origin.as_deref(),
            reason,
        )
        .await?;
        if json {
            output::print_json(&rotation);
        } else {
            println!(
                "The log is now signed by {} (checkpoint of {} leaves{}).\n\
                 Its verifier key, for whoever checks receipts from now on:\n{}",
                rotation.new_origin,
                rotation.checkpoint.tree_size,
                if rotation.old_key_signed {
                    ", cosigned by the old key"
                } else {
                    "; the old key was not available to cosign"
                },
                rotation.vkey
            );
        }
        store.catalog.close().await;
        return Ok(ExitCode::SUCCESS);
    }
    if let LogCommand::Checkpoint { tsa: Some(url) } = &cmd {
        store.config.log.tsa_url = Some(url.clone());
    }
    let log = store.log()?;
    match cmd {
        LogCommand::Checkpoint { .. } => {
            let checkpoint = log.publish(&store.catalog).await?;
            if json {
                output::print_json(&serde_json::json!({
                    "origin": log.origin(),
                    "tree_size": checkpoint.tree_size,
                    "root": checkpoint.root.to_base64(),
                    "signed_at": checkpoint.signed_at,
                    "checkpoint": checkpoint.signed_note,
                    "timestamped": checkpoint.timestamp_token.is_some(),
                }));
            } else {
                print!("{}", checkpoint.signed_note);
            }
        }
        LogCommand::Vkey => {
            if json {
                output::print_json(
                    &serde_json::json!({ "origin": log.origin(), "vkey": log.vkey() }),
                );
            } else {
                println!("{}", log.vkey());
            }
        }
        LogCommand::Consistency { from } => {
            print!("{}", log.consistency(&store.catalog, from).await?);
        }
        LogCommand::Timestamp { size, output } => {
            let (checkpoint, tsr) = log.timestamp_of(&store.catalog, size).await?;
            let note_path = output.with_extension("checkpoint");
            std::fs::write(&output, tsr)
                .with_context(|| format!("writing {}", output.display()))?;
            std::fs::write(&note_path, &checkpoint.signed_note)
                .with_context(|| format!("writing {}", note_path.display()))?;
            println!(
                "Wrote the time-stamp of the checkpoint of {} leaves to {} and the checkpoint to {}.",
                checkpoint.tree_size,
                output.display(),
                note_path.display()
            );
        }
        LogCommand::Witness { .. } | LogCommand::RotateKey { .. } => {
            unreachable!("handled above")
        }
    }
    store.catalog.close().await;
    Ok(ExitCode::SUCCESS)
}

async fn receipt_cmd(
    dir: &std::path::Path,
    capture: &str,
    output: Option<PathBuf>,
) -> Result<ExitCode> {
    let id: i64 = capture
        .trim_start_matches('#')
        .parse()
        .with_context(|| format!("{capture:?} is not a capture number"))?;
    let mut store = Store::open(dir).await?;
    let log = store.log()?;
    let receipt = log.receipt(&store.catalog, id).await?;
    match output {
        Some(path) => {
            std::fs::write(&path, receipt).with_context(|| format!("writing {}", path.display()))?
        }
        None => print!("{receipt}"),
    }
    store.catalog.close().await;
    Ok(ExitCode::SUCCESS)
}

fn verify_package_cmd(
    package: &std::path::Path,
    key: Option<&str>,
    tsa_ca: &[PathBuf],
    json: bool,
) -> Result<ExitCode> {
    let options = vigil_verify::Options {
        trusted_key: key.map(read_vkey).transpose()?,
        tsa_roots: tsa_ca
            .iter()
            .map(|p| read_bounded(p, 1 << 20))
            .collect::<Result<_>>()?,
    };
    let report = vigil_verify::verify_package(package, &options)?;
    if json {
        println!("{}", serde_json::to_string(&report.to_json())?);
    } else {
        print!("{report}");
    }
    Ok(if report.passed() {
        ExitCode::SUCCESS
    } else {
        ExitCode::from(1)
    })
}

async fn watch_cmd(dir: &std::path::Path, command: WatchCommand, json: bool) -> Result<ExitCode> {
    use vigil_core::watch;
    let mut store = Store::open(dir).await?;
    let actor = format!("cli:{}", whoami::username());
    match command {
        WatchCommand::Add {
            url,
            every,
            recheck,
            note,
            tags,
            collection,
            kind,
        } => {
            let collection_id =
                vigil_core::accounts::collection_named(&store.catalog, &collection).await?;
            let added = watch::add_source(
                &store.catalog,
                &watch::AddSource {
                    url: &url,
                    every,
                    recheck,
                    note: note.as_deref(),
                    tags: &tags,
                    collection_id,
                    added_by: &actor,
                    kind: kind.as_deref(),
                },
            )
            .await?;
            output::print_watch_added(&added, json);
        }
        WatchCommand::List => {
            let status = watch::status(&store.catalog).await?;
            output::print_watch_status(&status, json);
        }
        WatchCommand::Posts {
            id,
            gone,
            changed,
            limit,
        } => {
            if store.catalog.watch_source(id).await?.is_none() {
                bail!("there is no source #{id} (see `vigil watch list`)");
            }
            let which = match (gone, changed) {
                (true, _) => vigil_store::PostSelection::Gone,
                (_, true) => vigil_store::PostSelection::Changed,
                _ => vigil_store::PostSelection::All,
            };
            let posts = store
                .catalog
                .watch_posts_of(id, which, limit.max(1))
                .await?;
            output::print_watch_posts(&posts, json);
        }
        WatchCommand::Remove { id } => {
            if !watch::remove_source(&store.catalog, id, &actor).await? {
                bail!("source #{id} is not being watched");
            }
            if !json {
                println!("stopped watching source #{id}; its posts and captures stay");
            }
        }
        WatchCommand::Run {
            once,
            now,
            recheck_now,
            webhook,
            user_agent,
            allow_private,
            resolve,
            no_media,
            no_browser,
        } => {
            let mut settings = watch::WatchSettings::from_config(
                &store.config,
                policy_of(allow_private, &resolve)?,
                store.layout.pdq_index(),
                Default::default(),
            )?;
            settings.capture.media.enabled = !no_media;
            settings.capture.media.browser = !no_browser;
            if let Some(ua) = user_agent {
                settings.capture.http.user_agent = ua;
            }
            settings.ignore_schedule = now;
            settings.recheck_all = recheck_now;
            if webhook.is_some() {
                settings.webhook = webhook;
            }
            let blobs = store.blobs()?;
            let log = store.log()?;
            let mut failed = None;
            watch::run_loop(
                &store.catalog,
                blobs,
                &log,
                &settings,
                once,
                |result| match result {
                    Ok(summary) => output::print_watch_cycle(summary, json),
                    Err(e) => {
                        eprintln!("vigil: watch cycle failed: {e}");
                        failed = Some(e.to_string());
                    }
                },
                async {
                    let _ = tokio::signal::ctrl_c().await;
                },
            )
            .await?;
            if once && let Some(e) = failed {
                bail!("{e}");
            }
        }
    }
    store.catalog.close().await;
    Ok(ExitCode::SUCCESS)
}

/// `vigil export`'s arguments.
struct ExportRequest<'a> {
    incident: Option<i64>,
    items: &'a [String],
    out: &'a std::path::Path,
    zip: bool,
    derived: bool,
    persons: bool,
    pdf: bool,
    organization: String,
}

async fn export_cmd(
    dir: &std::path::Path,
    request: &ExportRequest<'_>,
    json: bool,
) -> Result<ExitCode> {
    use vigil_core::export::{ExportOptions, ExportScope, export, zip_bag};
    let mut store = Store::open(dir).await?;
    let scope = match request.incident {
        Some(id) => ExportScope::Incident(id),
        None => {
            let mut digests = Vec::new();
            for id in request.items {
                digests.push(resolve_item(&store, id).await?.sha256);
            }
            ExportScope::Items(digests)
        }
    };
    if request.out.exists() {
        bail!(
            "{} already exists; a package is never written over another",
            request.out.display()
        );
    }
    let bag_path = if request.zip {
        // The bag is built beside the zip, packed, then removed.
        let stem = request
            .out
            .file_stem()
            .and_then(|s| s.to_str())
            .unwrap_or("package");
        request.out.with_file_name(stem)
    } else {
        request.out.to_path_buf()
    };
    let actor = format!("cli:{}", whoami::username());
    let options = ExportOptions {
        derived: request.derived,
        persons: request.persons,
        actor: vigil_core::accounts::Actor::CommandLine(&actor),
        organization: request.organization.clone(),
        pdf: request.pdf,
    };
    let blobs = store.blobs()?;
    let log = store.log()?;
    let mut summary = export(&store.catalog, &blobs, &log, &scope, &bag_path, &options).await?;
    if request.zip {
        zip_bag(&bag_path, request.out)?;
        std::fs::remove_dir_all(&bag_path)
            .with_context(|| format!("removing {}", bag_path.display()))?;
        summary.path = request.out.to_path_buf();
    }
    store.catalog.close().await;
    output::print_export(&summary, json);
    Ok(ExitCode::SUCCESS)
}

fn verify_receipt_cmd(
    receipt: &std::path::Path,
    vkey: &str,
    files: &[PathBuf],
    json: bool,
) -> Result<ExitCode> {
    let vkey = read_vkey(vkey)?;
    let text = read_input(receipt)?;
    let mut digests = Vec::new();
    for f in files {
        let file = std::fs::File::open(f).with_context(|| format!("opening {}", f.display()))?;
        let digest =
            Sha256Digest::of_reader(file).with_context(|| format!("reading {}", f.display()))?;
        digests.push((f.display().to_string(), digest));
    }
    Ok(match log::check_receipt(&text, &vkey, &digests) {
        Ok(checked) => {
            output::print_checked_receipt(&checked, json);
            ExitCode::SUCCESS
        }
        Err(e) => {
            output::print_check_failure(e.code(), &e.to_string(), json);
            ExitCode::from(1)
        }
    })
}

/// A verifier key given inline, or the path of a file that holds one.
fn read_vkey(given: &str) -> Result<String> {
    let path = std::path::Path::new(given);
    if !given.contains('+') || path.is_file() {
        let text = std::fs::read_to_string(path).with_context(|| {
            format!("--vkey {given:?} is neither a verifier key nor a readable file")
        })?;
        return Ok(text.trim().to_owned());
    }
    Ok(given.trim().to_owned())
}

/// Reads a file, or standard input for `-`, bounded: receipts and checkpoints are small.
fn read_input(path: &std::path::Path) -> Result<Vec<u8>> {
    read_bounded(path, 16 << 20)
}

/// Reads a file, or standard input for `-`, refusing more than `limit` bytes.
fn read_bounded(path: &std::path::Path, limit: u64) -> Result<Vec<u8>> {
    let mut buf = Vec::new();
    if path.as_os_str() == "-" {
        std::io::stdin().take(limit + 1).read_to_end(&mut buf)?;
    } else {
        std::fs::File::open(path)
            .with_context(|| format!("opening {}", path.display()))?
            .take(limit + 1)
            .read_to_end(&mut buf)
            .with_context(|| format!("reading {}", path.display()))?;
    }
    if buf.len() as u64 > limit {
        bail!("{} is larger than {limit} bytes", path.display());
    }
    Ok(buf)
}

/// What `vigil hash` found in a file.
enum FileHashes {
    Image(ImageHashes),
    Video(VpdqReport),
}

fn hash_file(
    path: &std::path::Path,
    pipeline: Pipeline,
    seconds_per_hash: f64,
    hasher: &mut PdqHasher,
) -> Result<FileHashes> {
    let file = std::fs::File::open(path).with_context(|| format!("opening {}", path.display()))?;
    let mut head = [0u8; vigil_media::SNIFF_LEN];
    let n = std::io::Read::read(&mut &file, &mut head)?;
    if let vigil_media::MediaKind::Video(_) = vigil_media::sniff(&head[..n]) {
        let report = vigil_media::vpdq_hash(path, seconds_per_hash, None, &VideoLimits::default())
            .map_err(|e| anyhow::anyhow!("[{}] {e}", e.code()))?;
        return Ok(FileHashes::Video(report));
    }
    std::io::Seek::rewind(&mut &file)?;
    vigil_media::image_hashes(
        std::io::BufReader::new(file),
        &DecodeLimits::default(),
        pipeline,
        hasher,
    )
    .map(FileHashes::Image)
    .map_err(|e| anyhow::anyhow!("[{}] {e}", e.code()))
}

fn hash_cmd(
    files: &[PathBuf],
    cpp_compat: bool,
    every_frame: bool,
    json: bool,
) -> Result<ExitCode> {
    let pipeline = if cpp_compat {
        Pipeline::CppCompatible
    } else {
        Pipeline::FullResolution
    };
    let seconds_per_hash = if every_frame { 0.0 } else { 1.0 };
    let mut hasher = PdqHasher::new();
    let mut failed = false;
    for f in files {
        let name = f.display().to_string();
        match hash_file(f, pipeline, seconds_per_hash, &mut hasher) {
            Ok(FileHashes::Image(h)) => output::print_image_hash(&name, &h, json),
            Ok(FileHashes::Video(v)) => output::print_video_hash(&name, &v, json),
            Err(e) => {
                failed = true;
                output::print_hash_failure(&name, &format!("{e:#}"), json);
            }
        }
    }
    Ok(if failed {
        ExitCode::from(1)
    } else {
        ExitCode::SUCCESS
    })
}

/// Share of each video's quality frames that must find a partner (upstream's default).
const VIDEO_MATCH_PERCENT: f64 = 80.0;

async fn inspect_cmd(
    dir: &std::path::Path,
    targets: &[String],
    preview: Option<&std::path::Path>,
    json: bool,
) -> Result<ExitCode> {
    let mut failed = false;
    let mut store: Option<Store> = None;
    for target in targets {
        let file = PathBuf::from(target);
        if file.exists() {
            if !inspect_one_file(&file, preview, json)? {
                failed = true;
            }
            continue;
        }
        if store.is_none() {
            match Store::open(dir).await {
                Ok(s) => store = Some(s),
                Err(e) => {
                    failed = true;
                    output::print_hash_failure(
                        target,
                        &format!("no such file, and no store to look the item up in ({e})"),
                        json,
                    );
                    continue;
                }
            }
        }
        let Some(store) = store.as_mut() else {
            continue;
        };
        match inspect_item(store, target, preview, json).await {
            Ok(()) => {}
            Err(e) => {
                failed = true;
                output::print_hash_failure(target, &format!("{e:#}"), json);
            }
        }
    }
    if let Some(store) = store {
        store.catalog.close().await;
    }
    Ok(if failed {
        ExitCode::from(1)
    } else {
        ExitCode::SUCCESS
    })
}

/// `vigil inspect FILE`: false when the file could not be read at all.
fn inspect_one_file(
    file: &std::path::Path,
    preview: Option<&std::path::Path>,
    json: bool,
) -> Result<bool> {
    let report = match vigil_core::inspect::inspect_file(file) {
        Ok(r) => r,
        Err(e) => {
            output::print_hash_failure(&file.display().to_string(), &e.to_string(), json);
            return Ok(false);
        }
    };
    let mut written = Vec::new();
    if let (Some(dir), Some(vigil_media::MediaKind::Video(_))) = (preview, report.sniffed) {
        match vigil_media::video_preview(file, &vigil_media::PreviewOptions::default()) {
            Ok(p) => {
                let stem = file
                    .file_stem()
                    .map(|s| s.to_string_lossy().into_owned())
                    .unwrap_or_else(|| "video".into());
                let mut outputs: Vec<(String, &[u8])> = Vec::new();
                if let Some(t) = &p.thumbnail {
                    outputs.push((format!("{stem}.thumbnail.jpg"), t));
                }
                if let Some(c) = &p.contact_sheet {
                    outputs.push((format!("{stem}.contact-sheet.jpg"), c));
                }
                for k in &p.keyframes {
                    let name = format!("{stem}.keyframe-{:09.3}.jpg", k.timestamp);
                    outputs.push((name, &k.jpeg));
                }
                written = write_previews(dir, outputs)?;
            }
            Err(e) => eprintln!("{}: no preview: {e}", file.display()),
        }
    }
    output::print_inspection(&file.display().to_string(), &report, &written, None, json);
    Ok(true)
}

fn write_previews(dir: &std::path::Path, outputs: Vec<(String, &[u8])>) -> Result<Vec<PathBuf>> {
    std::fs::create_dir_all(dir).with_context(|| dir.display().to_string())?;
    let mut written = Vec::new();
    for (name, bytes) in outputs {
        let path = dir.join(name);
        std::fs::write(&path, bytes).with_context(|| path.display().to_string())?;
        written.push(path);
    }
    Ok(written)
}

/// `vigil inspect ITEM`: the report of the stored bytes, judged against the names its sources
/// gave and its first capture, with its jobs and derivations.
async fn inspect_item(
    store: &mut Store,
    id: &str,
    preview: Option<&std::path::Path>,
    json: bool,
) -> Result<()> {
    let item = resolve_item(store, id).await?;
    let captured = store.catalog.capture_context(&item.sha256).await?;
    let first_captured = captured.first_captured_at.clone();
    let path = blob_path_of(store, &item.sha256);
    let (outcome, _) = tokio::task::block_in_place(|| {
        vigil_core::jobs::run_with_limit(
            "inspect",
            std::time::Duration::from_secs(900),
            move || vigil_core::inspect::inspect_path(&path, &captured),
        )
    });
    let report = outcome??;
    let context = output::ItemContext {
        sha256: item.sha256.to_hex(),
        first_captured_at: first_captured,
        jobs: store.catalog.jobs_of(&item.sha256).await?,
        derivations: store.catalog.derivations_of(&item.sha256).await?,
        derived_from: store
            .catalog
            .derived_from(&item.sha256)
            .await?
            .into_iter()
            .map(|(id, source, role)| (id, source.to_hex(), role))
            .collect(),
    };
    let mut written = Vec::new();
    if let Some(dir) = preview {
        let short = &context.sha256[..12];
        let mut copies = Vec::new();
        for d in &context.derivations {
            for derived in &d.record.items {
                let bytes = std::fs::read(blob_path_of(store, &derived.sha256))
                    .with_context(|| format!("derived item {}", derived.sha256))?;
                copies.push((format!("{short}.{}", derived.name), bytes));
            }
        }
        written = write_previews(
            dir,
            copies
                .iter()
                .map(|(n, b)| (n.clone(), b.as_slice()))
                .collect(),
        )?;
    }
    output::print_inspection(
        &format!("item {}", context.sha256),
        &report,
        &written,
        Some(&context),
        json,
    );
    Ok(())
}

fn compare_cmd(a: &std::path::Path, b: &std::path::Path, json: bool) -> Result<ExitCode> {
    let mut hasher = PdqHasher::new();
    let ha = hash_file(a, Pipeline::default(), 1.0, &mut hasher)
        .with_context(|| a.display().to_string())?;
    let hb = hash_file(b, Pipeline::default(), 1.0, &mut hasher)
        .with_context(|| b.display().to_string())?;
    let (ha, hb) = match (ha, hb) {
        (FileHashes::Image(x), FileHashes::Image(y)) => (x, y),
        (FileHashes::Video(x), FileHashes::Video(y)) => {
            let m = vpdq_match(&x.frames, &y.frames, MATCH_DISTANCE, MIN_QUALITY);
            let matched = m.is_match(VIDEO_MATCH_PERCENT);
            let segments = vigil_media::vpdq_segments(&x.frames, &y.frames, &Default::default());
            output::print_video_comparison(&m, matched, &segments, json);
            return Ok(if matched {
                ExitCode::SUCCESS
            } else {
                ExitCode::from(1)
            });
        }
        _ => bail!("compare an image with an image, or a video with a video"),
    };
    let variants = |h: &ImageHashes| {
        let mut v = vec![h.stored.clone()];
        v.extend(h.displayed.clone());
        v
    };
    // The closest pair of variants (as stored or as displayed, on either side).
    let mut best: Option<(u32, u8, u8)> = None;
    for (x, qx) in variants(&ha) {
        for (y, qy) in variants(&hb) {
            let (Ok(x), Ok(y)) = (PdqHash::from_hex(&x), PdqHash::from_hex(&y)) else {
                continue;
            };
            let d = x.distance(&y);
            if best.is_none_or(|(bd, _, _)| d < bd) {
                best = Some((d, qx, qy));
            }
        }
    }
    let Some((distance, qa, qb)) = best else {
        bail!("no hash to compare");
    };
    let reliable = qa >= MIN_QUALITY && qb >= MIN_QUALITY;
    let matched = distance <= MATCH_DISTANCE && reliable;
    output::print_comparison(distance, qa, qb, matched, reliable, json);
    Ok(if matched {
        ExitCode::SUCCESS
    } else {
        ExitCode::from(1)
    })
}

async fn enrich_cmd(
    dir: &std::path::Path,
    options: &enrich::EnrichOptions,
    json: bool,
) -> Result<ExitCode> {
    let mut store = Store::open(dir).await?;
    let blobs = store.blobs()?;
    let summary =
        enrich::enrich(&store.catalog, &blobs, options, &store.layout.pdq_index()).await?;
    if summary.derivations > 0 {
        store.log()?.publish(&store.catalog).await?;
    }
    output::print_enrich_summary(&summary, json);
    store.catalog.close().await;
    Ok(ExitCode::SUCCESS)
}

async fn similar_cmd(
    dir: &std::path::Path,
    target: &str,
    radius: u32,
    json: bool,
) -> Result<ExitCode> {
    let store = Store::open(dir).await?;
    let path = std::path::Path::new(target);
    let (query, label) = if path.is_file() {
        let query = tokio::task::block_in_place(|| similar::query_from_file(path))?;
        (query, path.display().to_string())
    } else {
        let item = resolve_item(&store, target)
            .await
            .with_context(|| format!("{target:?} is not a file either"))?;
        (
            similar::query_from_item(&store.catalog, &item.sha256).await?,
            item.sha256.to_hex(),
        )
    };
    let mut index = NearDupIndex::open(&store.catalog, &store.layout.pdq_index()).await?;
    let report = similar::find_similar(&store.catalog, &index, &query, radius).await?;
    if index.needs_rewrite()
        && let Err(e) = index.save()
    {
        tracing::warn!(error = %e, "could not write the near-duplicate index snapshot");
    }
    output::print_similar(&label, &report, json);
    store.catalog.close().await;
    Ok(ExitCode::SUCCESS)
}

async fn spread_cmd(dir: &std::path::Path, id: &str, json: bool) -> Result<ExitCode> {
    let mut store = Store::open(dir).await?;
    let item = resolve_item(&store, id).await?;
    let blobs = store.blobs()?;
    let spread = similar::spread(&store.catalog, &blobs, &item.sha256).await?;
    output::print_spread(&spread, json);
    store.catalog.close().await;
    Ok(ExitCode::SUCCESS)
}

async fn export_list_cmd(
    dir: &std::path::Path,
    out: Option<&std::path::Path>,
    json: bool,
) -> Result<ExitCode> {
    let store = Store::open(dir).await?;
    let n = match out {
        Some(path) => {
            let file = std::fs::File::create(path)
                .with_context(|| format!("creating {}", path.display()))?;
            let mut w = std::io::BufWriter::new(file);
            let n = similar::export_hash_list(&store.catalog, &mut w)
                .await
                .with_context(|| format!("writing {}", path.display()))?;
            if json {
                output::print_json(&serde_json::json!({ "hashes": n, "out": path }));
            } else {
                eprintln!("Wrote {n} hashes to {}.", path.display());
            }
            n
        }
        None => {
            let stdout = std::io::stdout();
            let mut w = std::io::BufWriter::new(stdout.lock());
            similar::export_hash_list(&store.catalog, &mut w).await?
        }
    };
    tracing::debug!(hashes = n, "hash list exported");
    store.catalog.close().await;
    Ok(ExitCode::SUCCESS)
}

/// Reads a hash list file, or standard input for `-`, bounded at 1 GiB.
fn read_list(file: &std::path::Path) -> Result<Vec<u8>> {
    read_bounded(file, 1 << 30)
}

async fn match_list_cmd(
    dir: &std::path::Path,
    file: Option<&std::path::Path>,
    name: Option<&str>,
    radius: u32,
    json: bool,
) -> Result<ExitCode> {
    let store = Store::open(dir).await?;
    let (label, list) = match (file, name) {
        (Some(file), _) => (
            file.display().to_string(),
            vigil_phash::hashlist::parse_hash_list(&read_list(file)?),
        ),
        (None, Some(name)) => (
            name.to_owned(),
            vigil_phash::hashlist::HashList {
                entries: similar::imported_hash_list(&store.catalog, name).await?,
                errors: Vec::new(),
            },
        ),
        (None, None) => bail!("give a list file or --list NAME"),
    };
    let index = NearDupIndex::open(&store.catalog, &store.layout.pdq_index()).await?;
    let matches = similar::match_hash_list(&store.catalog, &index, &list.entries, radius).await?;
    output::print_list_matches(&label, &list, &matches, json);
    store.catalog.close().await;
    Ok(if list.errors.is_empty() {
        ExitCode::SUCCESS
    } else {
        ExitCode::from(1)
    })
}

async fn import_list_cmd(
    dir: &std::path::Path,
    file: &std::path::Path,
    name: &str,
    json: bool,
) -> Result<ExitCode> {
    let bytes = read_list(file)?;
    let store = Store::open(dir).await?;
    let source = file.display().to_string();
    let (list, imported) = similar::import_hash_list(&store.catalog, name, &source, &bytes).await?;
    store.catalog.close().await;
    if !imported {
        bail!(
            "a hash list named {name:?} is already imported (lists are never replaced; choose another name)"
        );
    }
    output::print_list_import(name, &source, &list, json);
    Ok(if list.errors.is_empty() {
        ExitCode::SUCCESS
    } else {
        ExitCode::from(1)
    })
}

async fn lists_cmd(dir: &std::path::Path, json: bool) -> Result<ExitCode> {
    let store = Store::open(dir).await?;
    let lists = store.catalog.hash_lists().await?;
    output::print_hash_lists(&lists, json);
    store.catalog.close().await;
    Ok(ExitCode::SUCCESS)
}

async fn reindex_cmd(dir: &std::path::Path, json: bool) -> Result<ExitCode> {
    let store = Store::open(dir).await?;
    let path = store.layout.pdq_index();
    let index = NearDupIndex::rebuild(&store.catalog, &path).await?;
    let links = similar::relink_all(&store.catalog, &index).await?;
    if json {
        output::print_json(&serde_json::json!({
            "hashes": index.len(), "snapshot": path, "links_written": links,
        }));
    } else {
        println!(
            "Rebuilt the near-duplicate index: {} hashes in {}; every hashed item searched again ({links} link(s) written).",
            index.len(),
            path.display()
        );
    }
    store.catalog.close().await;
    Ok(ExitCode::SUCCESS)
}

async fn serve_cmd(
    dir: &std::path::Path,
    listen: std::net::SocketAddr,
    secure_cookies: bool,
    json: bool,
) -> Result<ExitCode> {
    let mut store = Store::open(dir).await?;
    let state = Arc::new(vigil_web::AppState {
        catalog: store.catalog.clone(),
        blobs: store.blobs()?,
        log: store.log()?,
        pdq_index: store.layout.pdq_index(),
        enrich_lock: Default::default(),
        search: Some(std::sync::RwLock::new(
            vigil_search::SearchIndex::open(&store.layout.indexes().join("search"))
                .map_err(vigil_core::search::search_error)?,
        )),
        // Links pasted in the browser go through the SSRF guard with no exceptions.
        capture_settings: Some(vigil_core::capture::CaptureSettings::from_config(
            &store.config,
            String::new(),
            vigil_capture::netguard::NetPolicy::default(),
        )?),
        limiter: Default::default(),
        secure_cookies,
    });
    if store.catalog.user_count().await? == 0 {
        eprintln!("vigil: no accounts yet; create one with `vigil user add NAME --role admin`");
    }
    if let Some(index) = &state.search {
        // The catalog is the record; the index is rebuilt from it at every start.
        let n = vigil_core::search::rebuild(&state.catalog, index).await?;
        tracing::info!(documents = n, "search index rebuilt");
    }
    let listener = tokio::net::TcpListener::bind(listen)
        .await
        .with_context(|| format!("cannot listen on {listen}"))?;
    let addr = listener.local_addr()?;
    if json {
        output::print_json(
            &serde_json::json!({ "event": "listening", "url": format!("http://{addr}/") }),
        );
    } else {
        println!("Vigil workspace on http://{addr}/ (Ctrl-C stops it)");
    }
    use std::io::Write as _;
    let _ = std::io::stdout().flush();
    let shutdown = async {
        let mut term =
            tokio::signal::unix::signal(tokio::signal::unix::SignalKind::terminate()).ok();
        tokio::select! {
            _ = tokio::signal::ctrl_c() => {}
            _ = async { match term.as_mut() { Some(t) => { t.recv().await; } None => std::future::pending().await } } => {}
        }
    };
    // Watched sources are polled while the workspace runs, through the SSRF guard.
    let watcher = {
        let catalog = store.catalog.clone();
        let blobs = store.blobs()?;
        let log = store.log()?;
        let settings = vigil_core::watch::WatchSettings::from_config(
            &store.config,
            NetPolicy::default(),
            store.layout.pdq_index(),
            state.enrich_lock.clone(),
        )?;
        tokio::spawn(async move {
            let report =
                |r: &Result<vigil_core::watch::CycleSummary, vigil_core::CoreError>| match r {
                    Ok(s) if s.polled > 0 => tracing::info!(
                        polled = s.polled,
                        new = s.new_posts,
                        captured = s.captured,
                        gone = s.gone,
                        changed = s.changed,
                        "watch cycle"
                    ),
                    Ok(_) => {}
                    Err(e) => tracing::error!(error = %e, "watch cycle failed"),
                };
            let never = std::future::pending::<()>();
            if let Err(e) =
                vigil_core::watch::run_loop(&catalog, blobs, &log, &settings, false, report, never)
                    .await
            {
                tracing::error!(error = %e, "watching stopped");
            }
        })
    };
    // The audit trail's head goes into the log every few seconds when it moved (and at every
    // checkpoint), so the trail cannot be cut short or rewritten unnoticed.
    let anchoring = {
        let catalog = store.catalog.clone();
        let log = store.log()?;
        let every = std::time::Duration::from_secs(store.config.log.audit_anchor_secs.max(1));
        tokio::spawn(async move {
            let mut tick = tokio::time::interval(every);
            tick.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Delay);
            loop {
                tick.tick().await;
                if let Err(e) = log.publish(&catalog).await {
                    tracing::error!(error = %e, "could not anchor the audit trail in the log");
                }
            }
        })
    };
    vigil_web::serve(state, listener, shutdown).await?;
    watcher.abort();
    anchoring.abort();
    if let Err(e) = store.log()?.publish(&store.catalog).await {
        tracing::error!(error = %e, "could not anchor the audit trail in the log");
    }
    store.catalog.close().await;
    Ok(ExitCode::SUCCESS)
}

async fn user_add_cmd(
    dir: &std::path::Path,
    name: &str,
    role: &str,
    display_name: &str,
    password_stdin: bool,
    json: bool,
) -> Result<ExitCode> {
    let role: vigil_store::Role = role.parse().map_err(anyhow::Error::msg)?;
    let store = Store::open(dir).await?;
    let (password, generated) = if password_stdin {
        let mut line = String::new();
        std::io::stdin().read_line(&mut line)?;
        (line.trim_end_matches(['\r', '\n']).to_owned(), false)
    } else {
        (vigil_core::accounts::generate_password()?, true)
    };
    let actor = format!("cli:{}", whoami::username());
    let user =
        vigil_core::accounts::add_user(&store.catalog, name, display_name, role, &password, &actor)
            .await?;
    if json {
        let mut v = serde_json::json!({ "event": "user-added", "user": user });
        if generated {
            v["password"] = password.clone().into();
        }
        output::print_json(&v);
    } else {
        println!("Added {} ({}).", user.username, user.role.as_str());
        if generated {
            println!("Password (shown once; give it to them privately): {password}");
        }
    }
    store.catalog.close().await;
    Ok(ExitCode::SUCCESS)
}

async fn user_list_cmd(dir: &std::path::Path, json: bool) -> Result<ExitCode> {
    let store = Store::open(dir).await?;
    for u in store.catalog.users().await? {
        if json {
            output::print_json(&u);
        } else {
            println!(
                "{:<24} {:<13} {}{}",
                u.username,
                u.role.as_str(),
                u.display_name,
                if u.disabled { " (disabled)" } else { "" }
            );
        }
    }
    store.catalog.close().await;
    Ok(ExitCode::SUCCESS)
}

async fn collection_cmd(
    dir: &std::path::Path,
    cmd: CollectionCommand,
    json: bool,
) -> Result<ExitCode> {
    use vigil_core::accounts::{self, Actor};
    let store = Store::open(dir).await?;
    let catalog = &store.catalog;
    let actor = format!("cli:{}", whoami::username());
    let by = Actor::CommandLine(&actor);
    match cmd {
        CollectionCommand::Add { name } => {
            let id = accounts::create_collection(catalog, &by, &name).await?;
            let name = name.trim();
            if json {
                output::print_json(&serde_json::json!({
                    "event": "collection-added", "collection": { "id": id, "name": name },
                }));
            } else {
                println!("Added collection {name} (#{id}).");
            }
        }
        CollectionCommand::List => {
            let names: std::collections::HashMap<i64, String> = catalog
                .users()
                .await?
                .into_iter()
                .map(|u| (u.id, u.username))
                .collect();
            for c in accounts::collections(catalog, &by).await? {
                let members: Vec<&str> = c
                    .members
                    .iter()
                    .map(|m| names.get(m).map_or("?", String::as_str))
                    .collect();
                if json {
                    output::print_json(&serde_json::json!({
                        "id": c.id, "name": c.name, "created_at": c.created_at, "members": members,
                    }));
                } else {
                    println!(
                        "{:<24} {}",
                        c.name,
                        if members.is_empty() {
                            "(no members)".to_owned()
                        } else {
                            members.join(", ")
                        }
                    );
                }
            }
        }
        CollectionCommand::Join { name, user } => {
            membership(catalog, &by, &name, &user, true, json).await?;
        }
        CollectionCommand::Leave { name, user } => {
            membership(catalog, &by, &name, &user, false, json).await?;
        }
    }
    store.catalog.close().await;
    Ok(ExitCode::SUCCESS)
}

/// `vigil collection join` (`join`) or `leave`.
async fn membership(
    catalog: &vigil_store::Catalog,
    by: &vigil_core::accounts::Actor<'_>,
    name: &str,
    user: &str,
    join: bool,
    json: bool,
) -> Result<()> {
    use vigil_core::accounts;
    let collection = accounts::collection_named(catalog, name).await?;
    let account = accounts::user_named(catalog, user).await?;
    let changed = if join {
        accounts::add_member(catalog, by, collection, account.id).await?
    } else {
        accounts::remove_member(catalog, by, collection, account.id).await?
    };
    let name = name.trim();
    if json {
        output::print_json(&serde_json::json!({
            "event": if join { "member-added" } else { "member-removed" },
            "collection": name, "user": account.username, "changed": changed,
        }));
    } else {
        let u = &account.username;
        println!(
            "{}",
            match (join, changed) {
                (true, true) => format!("{u} joined {name}."),
                (true, false) => format!("{u} was already a member of {name}."),
                (false, true) => format!("{u} left {name}."),
                (false, false) => format!("{u} was not a member of {name}."),
            }
        );
    }
    Ok(())
}

async fn audit_cmd(
    dir: &std::path::Path,
    subject: Option<&str>,
    after: i64,
    limit: i64,
    json: bool,
) -> Result<ExitCode> {
    let store = Store::open(dir).await?;
    for e in store.catalog.audit_events(after, limit, subject).await? {
        if json {
            output::print_json(&e);
        } else {
            println!(
                "#{:<6} {} {:<16} {:<14} {} {}{}",
                e.id,
                e.event.at,
                e.event.actor,
                e.event.action,
                e.event.subject,
                e.event.ip.as_deref().unwrap_or("-"),
                if e.event.detail.as_object().is_some_and(|o| !o.is_empty()) {
                    format!(" {}", e.event.detail)
                } else {
                    String::new()
                }
            );
        }
    }
    store.catalog.close().await;
    Ok(ExitCode::SUCCESS)
}
