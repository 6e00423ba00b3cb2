//! Settings: defaults, overridden by the store's `config.toml`, overridden by command-line flags.

use std::path::{Path, PathBuf};

use serde::{Deserialize, Serialize};

/// Everything configurable about a store. Every key is optional in the file.
#[derive(Debug, Clone, Default, Serialize, Deserialize, PartialEq)]
#[serde(default, deny_unknown_fields)]
pub struct Config {
    /// How sources are collected.
    pub capture: CaptureConfig,
    /// External programs.
    pub tools: ToolsConfig,
    /// The transparency log.
    pub log: LogConfig,
    /// Watched sources (`vigil watch run`, and `vigil serve` in the background).
    pub watch: WatchConfig,
}

/// How watched sources are polled and reported.
#[derive(Debug, Clone, Serialize, Deserialize, PartialEq)]
#[serde(default, deny_unknown_fields)]
pub struct WatchConfig {
    /// Where to POST a JSON notice of every new capture, deletion and change (none: off).
    pub webhook: Option<String>,
    /// Hosts polled at once (each host is always one request at a time).
    pub hosts_at_once: usize,
    /// Posts captured in one cycle at most; the rest wait for the next.
    pub max_captures_per_cycle: i64,
    /// Posts re-checked in one cycle at most.
    pub max_rechecks_per_cycle: i64,
    /// Largest medium downloaded (hashed, not kept) to compare it at a re-check; a larger one
    /// is not compared.
    pub recheck_max_bytes: u64,
}

impl Default for WatchConfig {
    fn default() -> Self {
        WatchConfig {
            webhook: None,
            hosts_at_once: 8,
            max_captures_per_cycle: 200,
            max_rechecks_per_cycle: 500,
            recheck_max_bytes: 512 << 20,
        }
    }
}

/// Settings of the transparency log.
#[derive(Debug, Clone, Serialize, Deserialize, PartialEq)]
#[serde(default, deny_unknown_fields)]
pub struct LogConfig {
    /// RFC 3161 time-stamping authority asked to time-stamp every checkpoint (none: off).
    pub tsa_url: Option<String>,
    /// Seconds allowed for one time-stamp request.
    pub tsa_timeout_secs: u64,
    /// How often `vigil serve` anchors the audit trail's head in the log (a leaf and a new
    /// checkpoint, only when the trail moved): the longest stretch of trail not yet
    /// protected against truncation. Every checkpoint anchors it too.
    pub audit_anchor_secs: u64,
}

impl Default for LogConfig {
    fn default() -> Self {
        LogConfig {
            tsa_url: None,
            tsa_timeout_secs: 30,
            audit_anchor_secs: 60,
        }
    }
}

/// Limits and identity for capture.
#[derive(Debug, Clone, Serialize, Deserialize, PartialEq)]
#[serde(default, deny_unknown_fields)]
pub struct CaptureConfig {
    /// Largest single download, in bytes.
    pub max_bytes: u64,
    /// Seconds to establish a connection.
    pub connect_timeout_secs: u64,
    /// Seconds for one HTTP exchange, body included.
    pub timeout_secs: u64,
    /// Longest silence while reading, in seconds.
    pub read_timeout_secs: u64,
    /// Redirects followed.
    pub max_redirects: usize,
    /// User-Agent sent with requests.
    pub user_agent: String,
    /// URLs captured at once.
    pub url_concurrency: usize,
    /// Extra trusted CA certificates (PEM file), e.g. an organisation's own CA.
    pub ca_file: Option<PathBuf>,
    /// Seconds allowed for one yt-dlp run (media download).
    pub media_timeout_secs: u64,
    /// Seconds allowed for one page snapshot in Chromium (screenshot and MHTML).
    pub browser_timeout_secs: u64,
}

impl Default for CaptureConfig {
    fn default() -> Self {
        CaptureConfig {
            max_bytes: 4 << 30,
            connect_timeout_secs: 15,
            timeout_secs: 600,
            read_timeout_secs: 60,
            max_redirects: 10,
            user_agent: format!(
                "Mozilla/5.0 (compatible; Vigil/{}; evidence preservation)",
                env!("CARGO_PKG_VERSION")
            ),
            url_concurrency: 4,
            ca_file: None,
            media_timeout_secs: 1800,
            browser_timeout_secs: 90,
        }
    }
}

/// Paths of external programs; empty means "look on PATH".
#[derive(Debug, Clone, Default, Serialize, Deserialize, PartialEq)]
#[serde(default, deny_unknown_fields)]
pub struct ToolsConfig {
    /// yt-dlp, for social-media links.
    pub yt_dlp: Option<PathBuf>,
    /// Chromium, for screenshots and MHTML snapshots of pages.
    pub chromium: Option<PathBuf>,
}

/// Why the configuration could not be read.
#[derive(Debug, thiserror::Error)]
pub enum ConfigError {
    /// The file could not be read.
    #[error("reading {path}: {source}")]
    Read {
        /// The file.
        path: PathBuf,
        /// Cause.
        source: std::io::Error,
    },
    /// The file is not valid.
    #[error("{path} is not a valid Vigil configuration: {message}")]
    Invalid {
        /// The file.
        path: PathBuf,
        /// What the parser said.
        message: String,
    },
}

impl Config {
    /// Reads a configuration file; keys it does not set keep their defaults.
    pub fn load(path: &Path) -> Result<Config, ConfigError> {
        let text = std::fs::read_to_string(path).map_err(|source| ConfigError::Read {
            path: path.to_path_buf(),
            source,
        })?;
        toml::from_str(&text).map_err(|e| ConfigError::Invalid {
            path: path.to_path_buf(),
            message: e.to_string(),
        })
    }
}

/// The file `vigil init` writes: every key, commented, at its default.
pub const CONFIG_TEMPLATE: &str = r#"# Vigil store settings. Every key is optional; the values shown are the defaults.
# Command-line flags override what is set here.

[capture]
# Largest single download, in bytes (4 GiB).
# max_bytes = 4294967296
# Seconds to establish a connection.
# connect_timeout_secs = 15
# Seconds for one HTTP exchange, body included.
# timeout_secs = 600
# Longest silence while reading a response, in seconds.
# read_timeout_secs = 60
# Redirects followed before giving up.
# max_redirects = 10
# URLs captured at once.
# url_concurrency = 4
# Extra trusted CA certificates (PEM), for an organisation's own CA.
# ca_file = "/etc/ssl/my-ca.pem"
# Seconds allowed for one yt-dlp run (media download).
# media_timeout_secs = 1800
# Seconds allowed for one page snapshot in Chromium (screenshot and MHTML).
# browser_timeout_secs = 90
# user_agent = "Mozilla/5.0 (compatible; Vigil; evidence preservation)"

[tools]
# yt-dlp captures media from social platforms (pip install yt-dlp). Default: found on PATH.
# yt_dlp = "/usr/local/bin/yt-dlp"
# Chromium takes screenshots and MHTML snapshots of pages. Default: found on PATH.
# chromium = "/usr/bin/chromium"

[log]
# An RFC 3161 time-stamping authority that time-stamps every signed checkpoint, so the time
# a checkpoint existed rests on a third party's clock. Default: none.
# tsa_url = "https://freetsa.org/tsr"
# Seconds allowed for one time-stamp request.
# tsa_timeout_secs = 30
# How often `vigil serve` puts the audit trail's latest event into the log (only when the trail
# moved; every checkpoint does it too), so the trail cannot be cut short unnoticed.
# audit_anchor_secs = 60

[watch]
# Where to POST a JSON notice of every new capture, deletion and change of a watched post
# (see docs/watch.md). `vigil watch run --webhook` overrides it. Default: none.
# webhook = "https://intranet.example/hooks/vigil"
# Hosts polled at once; each host is always polled one request at a time.
# hosts_at_once = 8
# Posts captured in one cycle at most (the rest wait, pending, for the next).
# max_captures_per_cycle = 200
# Posts re-checked for deletion and change in one cycle at most.
# max_rechecks_per_cycle = 500
# Largest medium downloaded (hashed, never kept) to compare it at a re-check (512 MiB); a
# larger one is not compared.
# recheck_max_bytes = 536870912
"#;

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn template_parses_to_defaults_and_unknown_keys_are_rejected() {
        let parsed: Config = toml::from_str(CONFIG_TEMPLATE).expect("template parses");
        assert_eq!(parsed, Config::default());
        let partial: Config =
            toml::from_str("[capture]\nmax_bytes = 10\n").expect("partial parses");
        assert_eq!(partial.capture.max_bytes, 10);
        assert_eq!(partial.capture.max_redirects, 10);
        assert!(toml::from_str::<Config>("[capture]\nmax_byte = 10\n").is_err());
        let hooked: Config = toml::from_str("[watch]\nwebhook = \"http://h/x\"\n").expect("watch");
        assert_eq!(hooked.watch.webhook.as_deref(), Some("http://h/x"));
        assert_eq!(hooked.watch.hosts_at_once, 8);
    }
}
