//! Running one enrichment job on one item so that nothing it does can stop the others: a
//! time limit, and a panic (a parser bug met on a crafted file) caught and recorded.
//!
//! The job runs on its own thread. Video work also checks the same limit cooperatively
//! between packets ([`vigil_media::VideoLimits::time_limit`]) and stops itself; the watchdog
//! here is the backstop for work that cannot check (a parser stuck inside a library call):
//! it records the timeout and moves on, leaving that thread to finish on its own.

use std::panic::AssertUnwindSafe;
use std::sync::mpsc;
use std::time::{Duration, Instant};

/// Time past the job's limit before the watchdog gives up waiting: the job's own checks
/// should stop it first and report what it had.
const GRACE: Duration = Duration::from_secs(5);

/// Why a job produced nothing.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum JobFailure {
    /// Still running after its time limit (and grace); abandoned.
    #[error("still running after the time limit of {} s; abandoned", .0.as_secs_f64())]
    TimedOut(Duration),
    /// It panicked: a bug, recorded instead of crashing the run.
    #[error("internal error (panic): {0}")]
    Panicked(String),
}

impl JobFailure {
    /// A stable code: `timeout` or `panicked`.
    pub fn code(&self) -> &'static str {
        match self {
            JobFailure::TimedOut(_) => "timeout",
            JobFailure::Panicked(_) => "panicked",
        }
    }
}

/// Runs `job` on a thread of its own and waits at most `limit` (plus a grace period) for it.
/// Returns its result and how long it ran.
pub fn run_with_limit<T: Send + 'static>(
    name: &str,
    limit: Duration,
    job: impl FnOnce() -> T + Send + 'static,
) -> (Result<T, JobFailure>, Duration) {
    let started = Instant::now();
    let (tx, rx) = mpsc::sync_channel(1);
    let spawned = std::thread::Builder::new()
        .name(format!("vigil-job-{name}"))
        .spawn(move || {
            let outcome = std::panic::catch_unwind(AssertUnwindSafe(job));
            let _ = tx.send(outcome);
        });
    let handle = match spawned {
        Ok(h) => h,
        Err(e) => {
            return (
                Err(JobFailure::Panicked(format!("cannot start a thread: {e}"))),
                started.elapsed(),
            );
        }
    };
    let outcome = match rx.recv_timeout(limit.saturating_add(GRACE)) {
        Ok(Ok(value)) => {
            let _ = handle.join();
            Ok(value)
        }
        Ok(Err(panic)) => {
            let _ = handle.join();
            Err(JobFailure::Panicked(panic_message(panic.as_ref())))
        }
        Err(mpsc::RecvTimeoutError::Timeout) => Err(JobFailure::TimedOut(limit)),
        Err(mpsc::RecvTimeoutError::Disconnected) => Err(JobFailure::Panicked(
            "the job ended without a result".into(),
        )),
    };
    (outcome, started.elapsed())
}

fn panic_message(panic: &(dyn std::any::Any + Send)) -> String {
    if let Some(s) = panic.downcast_ref::<&str>() {
        (*s).to_owned()
    } else if let Some(s) = panic.downcast_ref::<String>() {
        s.clone()
    } else {
        "a panic without a message".into()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn results_panics_and_timeouts() {
        let (r, _) = run_with_limit("ok", Duration::from_secs(5), || 42);
        assert_eq!(r, Ok(42));

        let (r, _) = run_with_limit("boom", Duration::from_secs(5), || -> u8 {
            panic!("crafted input")
        });
        assert_eq!(r, Err(JobFailure::Panicked("crafted input".into())));

        // A job that never checks the clock is abandoned after limit + grace.
        let (r, took) = run_with_limit("stuck", Duration::ZERO, || {
            std::thread::sleep(Duration::from_secs(30));
        });
        assert_eq!(r.map_err(|e| e.code()), Err("timeout"));
        assert!(took < Duration::from_secs(15), "{took:?}");
    }
}
