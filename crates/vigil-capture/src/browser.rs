//! Page context from a real browser: a full-page screenshot (PNG) and an MHTML snapshot of the
//! page as a person would have seen it, driven over the DevTools protocol (`chromiumoxide`).
//!
//! Chromium is started headless with a fresh profile in a scratch directory, and with every
//! connection sent through the guard proxy (loopback included), so the SSRF guard holds for
//! everything the page loads. The whole snapshot runs under one time limit; the browser
//! process is killed when it ends, however it ends.

use std::path::{Path, PathBuf};
use std::time::Duration;

use chromiumoxide::browser::BrowserConfigBuilder;
use chromiumoxide::cdp::browser_protocol::page::{
    CaptureScreenshotFormat, CaptureSnapshotFormat, CaptureSnapshotParams, PrintToPdfParams,
};
use chromiumoxide::handler::viewport::Viewport;
use chromiumoxide::page::ScreenshotParams;
use chromiumoxide::{Browser, BrowserConfig};
use futures_util::StreamExt;

use crate::process::find_program;

/// How to get Chromium, for messages.
pub const INSTALL_HINT: &str =
    "install it with `apt-get install chromium`, or set tools.chromium in the store's config.toml";

/// A Chromium binary that can be launched.
#[derive(Debug, Clone)]
pub struct Chromium {
    /// The program.
    pub program: PathBuf,
}

/// What the browser saw.
#[derive(Debug)]
pub struct PageSnapshot {
    /// Full-page screenshot, PNG.
    pub screenshot_png: Vec<u8>,
    /// The page and its resources as one MHTML document.
    pub mhtml: Vec<u8>,
    /// The page title.
    pub title: Option<String>,
    /// The URL the browser ended on.
    pub final_url: Option<String>,
    /// The browser's product string, e.g. `Chrome/148.0.7778.167`.
    pub browser_version: String,
}

/// Limits for one snapshot.
#[derive(Debug, Clone)]
pub struct SnapshotOptions {
    /// Proxy every connection must use.
    pub proxy: String,
    /// Time for the whole snapshot, browser start included.
    pub timeout: Duration,
    /// Viewport width and height in CSS pixels.
    pub viewport: (u32, u32),
}

/// Why no snapshot was taken.
#[derive(Debug, thiserror::Error)]
pub enum SnapshotError {
    /// The browser did not start.
    #[error("could not start Chromium ({program}): {message}")]
    Launch {
        /// The program.
        program: PathBuf,
        /// Why.
        message: String,
    },
    /// The page could not be loaded or captured.
    #[error("browser snapshot failed: {0}")]
    Page(String),
    /// The time limit passed.
    #[error("browser snapshot took longer than {0} s")]
    Timeout(u64),
}

impl Chromium {
    /// Finds Chromium: the configured path, else `chromium`, `chromium-browser` or
    /// `google-chrome` on PATH.
    pub fn locate(configured: Option<&Path>) -> Result<Chromium, String> {
        if let Some(p) = configured.filter(|p| !p.as_os_str().is_empty()) {
            return if p.is_file() {
                Ok(Chromium {
                    program: p.to_path_buf(),
                })
            } else {
                Err(format!("{} not found; {INSTALL_HINT}", p.display()))
            };
        }
        ["chromium", "chromium-browser", "google-chrome"]
            .iter()
            .find_map(|name| find_program(None, name))
            .map(|program| Chromium { program })
            .ok_or_else(|| format!("Chromium not found on PATH; {INSTALL_HINT}"))
    }

    /// Loads `url` and takes a screenshot and an MHTML snapshot. `profile_dir` must be an
    /// empty private directory (the browser's profile lives there).
    pub async fn snapshot(
        &self,
        url: &str,
        profile_dir: &Path,
        opts: &SnapshotOptions,
    ) -> Result<PageSnapshot, SnapshotError> {
        let config = self
            .config(profile_dir, opts.timeout)
            .window_size(opts.viewport.0, opts.viewport.1)
            .viewport(Viewport {
                width: opts.viewport.0,
                height: opts.viewport.1,
                ..Viewport::default()
            })
            .args([
                ("proxy-server", opts.proxy.as_str()),
                // Chromium sends loopback directly unless told otherwise.
                ("proxy-bypass-list", "<-loopback>"),
                ("disable-features", "HttpsUpgrades"),
                ("force-webrtc-ip-handling-policy", "disable_non_proxied_udp"),
            ])
            .arg("disable-quic");
        let running = self.launch(self.build(config)?, opts.timeout).await?;
        let result = tokio::time::timeout(opts.timeout, take(&running.browser, url)).await;
        running.close(result).await
    }

    /// What every run of this browser shares: headless, no sandbox, its own profile, the
    /// time limits, and no background traffic of Chromium's own. chromiumoxide adds the
    /// leading `--` and merges repeated keys (its own `disable-features` list included), so
    /// callers add flags as key or (key, value).
    fn config(&self, profile_dir: &Path, timeout: Duration) -> BrowserConfigBuilder {
        BrowserConfig::builder()
            .chrome_executable(&self.program)
            .no_sandbox()
            .new_headless_mode()
            .user_data_dir(profile_dir)
            .launch_timeout(timeout)
            .request_timeout(timeout)
            .args([
                "disable-gpu",
                "no-first-run",
                "disable-background-networking",
                "disable-component-update",
                "disable-sync",
            ])
    }

    fn build(&self, config: BrowserConfigBuilder) -> Result<BrowserConfig, SnapshotError> {
        config.build().map_err(|message| SnapshotError::Launch {
            program: self.program.clone(),
            message,
        })
    }

    /// Starts the browser with `config`, within `timeout`, and pumps its events.
    async fn launch(
        &self,
        config: BrowserConfig,
        timeout: Duration,
    ) -> Result<Running, SnapshotError> {
        let (browser, mut handler) =
            match tokio::time::timeout(timeout, Browser::launch(config)).await {
                Ok(Ok(b)) => b,
                Ok(Err(e)) => {
                    return Err(SnapshotError::Launch {
                        program: self.program.clone(),
                        message: e.to_string(),
                    });
                }
                Err(_) => return Err(SnapshotError::Timeout(timeout.as_secs())),
            };
        let pump = tokio::spawn(async move { while handler.next().await.is_some() {} });
        Ok(Running {
            browser,
            pump,
            timeout,
        })
    }
}

/// A started browser: closed and killed by [`Running::close`], whatever the work gave.
struct Running {
    browser: Browser,
    pump: tokio::task::JoinHandle<()>,
    timeout: Duration,
}

impl Running {
    /// Ends the browser and returns what the work gave (a time-out as its error).
    async fn close<T>(
        mut self,
        result: Result<Result<T, SnapshotError>, tokio::time::error::Elapsed>,
    ) -> Result<T, SnapshotError> {
        let _ = self.browser.close().await;
        let _ = self.browser.kill().await;
        self.pump.abort();
        result.unwrap_or_else(|_| Err(SnapshotError::Timeout(self.timeout.as_secs())))
    }
}

impl Chromium {
    /// Prints a local HTML file to PDF (its own page size and colours), offline: the browser's
    /// proxy is a closed port, so nothing the page names could be fetched from anywhere.
    /// `profile_dir` must be an empty private directory.
    pub async fn print_pdf(
        &self,
        html: &Path,
        profile_dir: &Path,
        timeout: Duration,
    ) -> Result<Vec<u8>, SnapshotError> {
        let url = std::fs::canonicalize(html)
            .ok()
            .and_then(|p| url::Url::from_file_path(p).ok())
            .ok_or_else(|| {
                SnapshotError::Page(format!("{} is not a readable file", html.display()))
            })?
            .to_string();
        let config = self.config(profile_dir, timeout).args([
            ("proxy-server", "127.0.0.1:9"),
            ("proxy-bypass-list", "<-loopback>"),
        ]);
        let running = self.launch(self.build(config)?, timeout).await?;
        let print = async {
            let err = |e: chromiumoxide::error::CdpError| SnapshotError::Page(e.to_string());
            let page = running.browser.new_page("about:blank").await.map_err(err)?;
            page.goto(url.as_str()).await.map_err(err)?;
            let _ = page.wait_for_navigation().await;
            let pdf = page
                .pdf(
                    PrintToPdfParams::builder()
                        .print_background(true)
                        .prefer_css_page_size(true)
                        .build(),
                )
                .await
                .map_err(err)?;
            let _ = page.close().await;
            Ok(pdf)
        };
        let result = tokio::time::timeout(timeout, print).await;
        running.close(result).await
    }
}

async fn take(browser: &Browser, url: &str) -> Result<PageSnapshot, SnapshotError> {
    let err = |e: chromiumoxide::error::CdpError| SnapshotError::Page(e.to_string());
    let browser_version = browser.version().await.map_err(err)?.product;
    let page = browser.new_page("about:blank").await.map_err(err)?;
    page.goto(url).await.map_err(err)?;
    let _ = page.wait_for_navigation().await;
    let title = page.get_title().await.ok().flatten();
    let final_url = page.url().await.ok().flatten();
    let screenshot_png = page
        .screenshot(
            ScreenshotParams::builder()
                .format(CaptureScreenshotFormat::Png)
                .full_page(true)
                .build(),
        )
        .await
        .map_err(err)?;
    let mhtml = page
        .execute(
            CaptureSnapshotParams::builder()
                .format(CaptureSnapshotFormat::Mhtml)
                .build(),
        )
        .await
        .map_err(err)?
        .result
        .data
        .into_bytes();
    let _ = page.close().await;
    Ok(PageSnapshot {
        screenshot_png,
        mhtml,
        title,
        final_url,
        browser_version,
    })
}
