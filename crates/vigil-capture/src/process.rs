//! The one wrapper for external programs (yt-dlp, later Chromium helpers): no stdin, output
//! bounded in memory, a time limit that kills the whole process group, stderr kept for errors,
//! and a clear message when the program is missing.

use std::ffi::OsString;
use std::path::{Path, PathBuf};
use std::process::Stdio;
use std::time::Duration;

use tokio::io::{AsyncRead, AsyncReadExt};

/// What a finished program produced.
#[derive(Debug, Clone)]
pub struct ToolOutput {
    /// Exit code (None if killed by a signal).
    pub code: Option<i32>,
    /// The start of standard output, at most the limit given.
    pub stdout: Vec<u8>,
    /// The end of standard error (last 16 KiB), lossily decoded.
    pub stderr_tail: String,
}

impl ToolOutput {
    /// True when it exited with status 0.
    pub fn success(&self) -> bool {
        self.code == Some(0)
    }
}

/// Why a program could not be run to completion.
#[derive(Debug, thiserror::Error)]
pub enum ToolError {
    /// Not installed, or not where configured.
    #[error("{program} not found: {hint}")]
    Missing {
        /// The program.
        program: PathBuf,
        /// How to get it.
        hint: String,
    },
    /// It could not be started.
    #[error("could not start {program}: {source}")]
    Spawn {
        /// The program.
        program: PathBuf,
        /// Cause.
        source: std::io::Error,
    },
    /// It ran past its time limit and was killed.
    #[error("{program} ran longer than {secs} s and was stopped; last output: {stderr_tail}")]
    Timeout {
        /// The program.
        program: PathBuf,
        /// The limit.
        secs: u64,
        /// End of its stderr.
        stderr_tail: String,
    },
}

const STDERR_KEEP: usize = 16 << 10;

/// Runs `program args…` in `cwd` with a time limit. A non-zero exit is not an error here: the
/// caller decides what it means, with the output in hand.
pub async fn run_tool(
    program: &Path,
    args: &[OsString],
    cwd: Option<&Path>,
    limit: Duration,
    max_stdout: usize,
    hint: &str,
) -> Result<ToolOutput, ToolError> {
    let mut cmd = tokio::process::Command::new(program);
    cmd.args(args)
        .stdin(Stdio::null())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .kill_on_drop(true);
    if let Some(dir) = cwd {
        cmd.current_dir(dir);
    }
    #[cfg(unix)]
    cmd.process_group(0);
    let mut child = match cmd.spawn() {
        Ok(c) => c,
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => {
            return Err(ToolError::Missing {
                program: program.to_path_buf(),
                hint: hint.to_owned(),
            });
        }
        Err(source) => {
            return Err(ToolError::Spawn {
                program: program.to_path_buf(),
                source,
            });
        }
    };
    let pid = child.id();
    let stdout = child.stdout.take();
    let stderr = child.stderr.take();
    let out_task = tokio::spawn(read_head(stdout, max_stdout));
    let err_task = tokio::spawn(read_tail(stderr, STDERR_KEEP));
    let waited = tokio::time::timeout(limit, child.wait()).await;
    let status = match waited {
        Ok(Ok(s)) => Some(s),
        Ok(Err(source)) => {
            return Err(ToolError::Spawn {
                program: program.to_path_buf(),
                source,
            });
        }
        Err(_) => {
            kill_group(pid);
            let _ = child.kill().await;
            None
        }
    };
    let stdout = out_task.await.unwrap_or_default();
    let stderr_tail = String::from_utf8_lossy(&err_task.await.unwrap_or_default()).into_owned();
    match status {
        Some(s) => Ok(ToolOutput {
            code: s.code(),
            stdout,
            stderr_tail,
        }),
        None => Err(ToolError::Timeout {
            program: program.to_path_buf(),
            secs: limit.as_secs(),
            stderr_tail,
        }),
    }
}

fn kill_group(pid: Option<u32>) {
    #[cfg(unix)]
    if let Some(pid) = pid.and_then(|p| i32::try_from(p).ok()) {
        // SAFETY: kill(2) with a negative pid signals the process group we created for the
        // child (process_group(0) made its pid the group id).
        unsafe {
            libc::kill(-pid, libc::SIGKILL);
        }
    }
    #[cfg(not(unix))]
    let _ = pid;
}

async fn read_head<R: AsyncRead + Unpin>(reader: Option<R>, max: usize) -> Vec<u8> {
    let Some(mut r) = reader else {
        return Vec::new();
    };
    let mut out = Vec::new();
    let mut buf = [0u8; 8192];
    loop {
        match r.read(&mut buf).await {
            Ok(0) | Err(_) => return out,
            Ok(n) => {
                let room = max.saturating_sub(out.len());
                out.extend_from_slice(&buf[..n.min(room)]);
            }
        }
    }
}

async fn read_tail<R: AsyncRead + Unpin>(reader: Option<R>, keep: usize) -> Vec<u8> {
    let Some(mut r) = reader else {
        return Vec::new();
    };
    let mut out = Vec::new();
    let mut buf = [0u8; 8192];
    loop {
        match r.read(&mut buf).await {
            Ok(0) | Err(_) => return out,
            Ok(n) => {
                out.extend_from_slice(&buf[..n]);
                if out.len() > 2 * keep {
                    out.drain(..out.len() - keep);
                }
            }
        }
    }
}

/// Finds a program: the configured path, else the first match on PATH.
pub fn find_program(configured: Option<&Path>, name: &str) -> Option<PathBuf> {
    if let Some(p) = configured.filter(|p| !p.as_os_str().is_empty()) {
        return Some(p.to_path_buf());
    }
    let path = std::env::var_os("PATH")?;
    std::env::split_paths(&path)
        .map(|dir| dir.join(name))
        .find(|candidate| candidate.is_file())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[tokio::test]
    async fn output_is_captured_and_time_limits_kill() {
        let sh = Path::new("/bin/sh");
        let ok = run_tool(
            sh,
            &["-c".into(), "echo out; echo err >&2; exit 3".into()],
            None,
            Duration::from_secs(10),
            1024,
            "",
        )
        .await
        .expect("runs");
        assert_eq!(ok.code, Some(3));
        assert_eq!(ok.stdout, b"out\n");
        assert_eq!(ok.stderr_tail, "err\n");
        let started = std::time::Instant::now();
        let slow = run_tool(
            sh,
            &["-c".into(), "sleep 30 & sleep 30".into()],
            None,
            Duration::from_millis(300),
            1024,
            "",
        )
        .await;
        assert!(matches!(slow, Err(ToolError::Timeout { .. })));
        assert!(started.elapsed() < Duration::from_secs(10));
        let missing = run_tool(
            Path::new("/no/such/tool"),
            &[],
            None,
            Duration::from_secs(1),
            10,
            "install it",
        )
        .await;
        assert!(matches!(missing, Err(ToolError::Missing { .. })));
    }
}
