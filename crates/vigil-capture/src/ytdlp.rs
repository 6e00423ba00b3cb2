//! yt-dlp: media, metadata, thumbnails and subtitles from social platforms and from pages
//! that embed video. Every connection it makes goes through the guard proxy
//! ([`crate::proxy::GuardProxy`]), so the SSRF rules hold for it too.

use std::ffi::OsString;
use std::path::{Path, PathBuf};
use std::time::Duration;

use serde::Serialize;

use crate::process::{ToolError, find_program, run_tool};

/// How to get yt-dlp, for messages.
pub const INSTALL_HINT: &str =
    "install it with `pip install yt-dlp`, or set tools.yt_dlp in the store's config.toml";

/// A yt-dlp that answered `--version`.
#[derive(Debug, Clone)]
pub struct YtDlp {
    /// The program.
    pub program: PathBuf,
    /// What it printed for `--version`.
    pub version: String,
}

/// Limits for one download.
#[derive(Debug, Clone)]
pub struct MediaOptions {
    /// Largest file accepted.
    pub max_bytes: u64,
    /// Time allowed for the whole run of yt-dlp.
    pub timeout: Duration,
    /// yt-dlp's own socket timeout.
    pub socket_timeout: Duration,
    /// Proxy URL every connection must use.
    pub proxy: String,
}

/// What came of a download.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
#[serde(rename_all = "kebab-case", tag = "outcome", content = "reason")]
pub enum MediaOutcome {
    /// yt-dlp finished and wrote files.
    Downloaded,
    /// yt-dlp found nothing to download at this URL (unsupported page, no video).
    NoMedia(String),
    /// yt-dlp failed.
    Failed(String),
}

/// A file yt-dlp wrote.
#[derive(Debug, Clone, Serialize)]
pub struct MediaFile {
    /// Where it is (in the scratch directory).
    #[serde(skip)]
    pub path: PathBuf,
    /// Its file name as yt-dlp chose it (display only).
    pub name: String,
    /// `media`, `info-json`, `thumbnail`, `subtitle`, `description`, `partial-media`.
    pub role: &'static str,
}

/// The result of one yt-dlp run.
#[derive(Debug, Clone)]
pub struct MediaDownload {
    /// Files written, in name order.
    pub files: Vec<MediaFile>,
    /// How it went.
    pub outcome: MediaOutcome,
    /// yt-dlp's exit code.
    pub exit_code: Option<i32>,
    /// The end of its error output.
    pub stderr_tail: String,
}

impl YtDlp {
    /// Finds yt-dlp (configured path, else PATH) and asks its version.
    pub async fn locate(configured: Option<&Path>) -> Result<YtDlp, String> {
        let program = find_program(configured, "yt-dlp")
            .ok_or_else(|| format!("yt-dlp not found on PATH; {INSTALL_HINT}"))?;
        let out = run_tool(
            &program,
            &["--version".into()],
            None,
            Duration::from_secs(60),
            4096,
            INSTALL_HINT,
        )
        .await
        .map_err(|e| e.to_string())?;
        if !out.success() {
            return Err(format!(
                "{} --version failed: {}",
                program.display(),
                out.stderr_tail.trim()
            ));
        }
        Ok(YtDlp {
            program,
            version: String::from_utf8_lossy(&out.stdout).trim().to_owned(),
        })
    }

    /// Lists the newest `limit` entries of a channel or playlist without downloading anything
    /// (`--flat-playlist --dump-single-json`): the JSON document (at most `opts.max_bytes`),
    /// or what went wrong, in yt-dlp's words.
    pub async fn list(
        &self,
        url: &str,
        limit: usize,
        opts: &MediaOptions,
    ) -> Result<Vec<u8>, String> {
        let args: Vec<OsString> = [
            "--ignore-config",
            "--no-cache-dir",
            "--no-color",
            "--flat-playlist",
            "--dump-single-json",
            "--playlist-end",
            &limit.max(1).to_string(),
            "--proxy",
            &opts.proxy,
            "--socket-timeout",
            &opts.socket_timeout.as_secs().max(1).to_string(),
            "--",
            url,
        ]
        .iter()
        .map(OsString::from)
        .collect();
        let out = run_tool(
            &self.program,
            &args,
            None,
            opts.timeout,
            opts.max_bytes.min(64 << 20) as usize,
            INSTALL_HINT,
        )
        .await
        .map_err(|e| e.to_string())?;
        if !out.success() {
            return Err(error_line(&out.stderr_tail)
                .unwrap_or_else(|| format!("yt-dlp exited with {:?}", out.code)));
        }
        Ok(out.stdout)
    }

    /// Downloads what yt-dlp finds at `url` into `dir` (an empty private directory).
    pub async fn download(
        &self,
        url: &str,
        dir: &Path,
        opts: &MediaOptions,
    ) -> Result<MediaDownload, ToolError> {
        let args: Vec<OsString> = [
            "--ignore-config",
            "--no-cache-dir",
            "--no-progress",
            "--no-color",
            "--no-playlist",
            "--no-mtime",
            "--restrict-filenames",
            "--write-info-json",
            "--write-thumbnail",
            "--write-subs",
            "--proxy",
            &opts.proxy,
            "--socket-timeout",
            &opts.socket_timeout.as_secs().max(1).to_string(),
            "--max-filesize",
            &opts.max_bytes.to_string(),
            "-P",
            &dir.to_string_lossy(),
            "-o",
            "%(id).80B.%(ext)s",
            "--",
            url,
        ]
        .iter()
        .map(OsString::from)
        .collect();
        let out = run_tool(
            &self.program,
            &args,
            Some(dir),
            opts.timeout,
            64 << 10,
            INSTALL_HINT,
        )
        .await?;
        let files = list_files(dir);
        let tail = out.stderr_tail.clone();
        let outcome = if out.success() && files.iter().any(|f| f.role != "info-json") {
            MediaOutcome::Downloaded
        } else if out.success() {
            MediaOutcome::NoMedia("yt-dlp finished without media files".into())
        } else if let Some(line) = error_line(&tail).filter(|l| is_no_media(l)) {
            MediaOutcome::NoMedia(line)
        } else {
            MediaOutcome::Failed(
                error_line(&tail).unwrap_or_else(|| format!("yt-dlp exited with {:?}", out.code)),
            )
        };
        Ok(MediaDownload {
            files,
            outcome,
            exit_code: out.code,
            stderr_tail: tail,
        })
    }
}

fn error_line(stderr: &str) -> Option<String> {
    stderr
        .lines()
        .rev()
        .find(|l| l.starts_with("ERROR:"))
        .map(|l| l.trim().to_owned())
}

fn is_no_media(line: &str) -> bool {
    [
        "Unsupported URL",
        "No video formats found",
        "no video",
        "There's no video",
    ]
    .iter()
    .any(|p| line.contains(p))
}

/// Lists what yt-dlp wrote and gives each file its role. Media files are those the
/// `.info.json` names as downloaded; the rest are classified by extension.
fn list_files(dir: &Path) -> Vec<MediaFile> {
    let mut paths: Vec<PathBuf> = std::fs::read_dir(dir)
        .map(|rd| {
            rd.flatten()
                .map(|e| e.path())
                .filter(|p| p.is_file())
                .collect()
        })
        .unwrap_or_default();
    paths.sort();
    let mut downloaded: Vec<String> = Vec::new();
    for p in paths.iter().filter(|p| name_of(p).ends_with(".info.json")) {
        if let Ok(text) = std::fs::read(p)
            && let Ok(info) = serde_json::from_slice::<serde_json::Value>(&text)
        {
            if let Some(list) = info["requested_downloads"].as_array() {
                for d in list {
                    for key in ["filepath", "_filename", "filename"] {
                        if let Some(f) = d[key].as_str() {
                            downloaded.push(name_of(Path::new(f)));
                        }
                    }
                }
            }
            if let Some(f) = info["_filename"].as_str() {
                downloaded.push(name_of(Path::new(f)));
            }
        }
    }
    paths
        .into_iter()
        .map(|path| {
            let name = name_of(&path);
            let ext = name.rsplit('.').next().unwrap_or("").to_ascii_lowercase();
            let role = if name.ends_with(".info.json") {
                "info-json"
            } else if ext == "part" || ext == "ytdl" || name.contains(".part-Frag") {
                "partial-media"
            } else if downloaded.contains(&name) {
                "media"
            } else if ext == "description" {
                "description"
            } else if matches!(
                ext.as_str(),
                "vtt" | "srt" | "ass" | "ssa" | "ttml" | "srv1" | "srv2" | "srv3" | "json3" | "lrc"
            ) {
                "subtitle"
            } else if matches!(ext.as_str(), "jpg" | "jpeg" | "png" | "webp" | "gif")
                && !downloaded.is_empty()
            {
                "thumbnail"
            } else {
                "media"
            };
            MediaFile { path, name, role }
        })
        .collect()
}

fn name_of(p: &Path) -> String {
    p.file_name()
        .map(|n| n.to_string_lossy().into_owned())
        .unwrap_or_default()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn roles_follow_the_info_json() {
        let dir = tempfile::tempdir().expect("tempdir");
        let d = dir.path();
        std::fs::write(
            d.join("abc.info.json"),
            r#"{"requested_downloads":[{"filepath":"/x/abc.mp4"}]}"#,
        )
        .expect("w");
        for f in [
            "abc.mp4",
            "abc.webp",
            "abc.en.vtt",
            "abc.description",
            "abc.f137.mp4.part",
        ] {
            std::fs::write(d.join(f), b"x").expect("w");
        }
        let roles: Vec<(String, &str)> = list_files(d)
            .into_iter()
            .map(|f| (f.name, f.role))
            .collect();
        assert_eq!(
            roles,
            [
                ("abc.description".to_owned(), "description"),
                ("abc.en.vtt".to_owned(), "subtitle"),
                ("abc.f137.mp4.part".to_owned(), "partial-media"),
                ("abc.info.json".to_owned(), "info-json"),
                ("abc.mp4".to_owned(), "media"),
                ("abc.webp".to_owned(), "thumbnail"),
            ]
        );
    }

    #[test]
    fn unsupported_pages_are_no_media_not_failures() {
        assert!(is_no_media("ERROR: Unsupported URL: http://127.0.0.1/x"));
        assert!(!is_no_media("ERROR: [youtube] abc: Video unavailable"));
        assert_eq!(
            error_line("WARNING: a\nERROR: b\n").as_deref(),
            Some("ERROR: b")
        );
    }
}
