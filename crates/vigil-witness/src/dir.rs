//! A witness's directory, as `vigil witness` keeps it:
//!
//! ```text
//! DIR/                 owner-only
//!   witness.key        the cosigner's skey, PRIVATE+KEY+<name>+<id>+base64(0x04 || seed)
//!   logs.toml          the logs it cosigns: [[log]] origin = "…", vkeys = ["…"]
//!   state/<hex>        latest cosigned checkpoint per log (hex = SHA-256 of the origin)
//!   state/<hex>.lock   held while that log's state is checked and replaced
//!   state/refused/     signed checkpoints that contradicted the state (evidence)
//! ```
//!
//! The key is made once and never replaced: a new key is a new witness, which logs and
//! verifiers must be told about.

use std::path::{Path, PathBuf};

use serde::{Deserialize, Serialize};
use vigil_tlog::{Cosigner, Verifier, Verifiers};

use crate::files::{self, FileLock};
use crate::witness::{SetupError, TrustedLog, Witness};

const KEY_FILE: &str = "witness.key";
const LOGS_FILE: &str = "logs.toml";
const LOGS_HEADER: &str = "\
# Logs this witness cosigns (C2SP tlog-witness). One [[log]] per origin, with the verifier
# keys (vkeys) that sign its checkpoints. `vigil witness trust --log-vkey VKEY` adds one;
# restart `vigil witness serve` to pick up changes.

";
/// Largest key or configuration file read.
const MAX_FILE: usize = 1 << 20;

#[derive(Debug, Default, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
struct LogsFile {
    #[serde(default, rename = "log")]
    logs: Vec<LogEntry>,
}

#[derive(Debug, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
struct LogEntry {
    origin: String,
    vkeys: Vec<String>,
}

/// Whether [`WitnessDir::trust`] added something.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Trusted {
    /// A new log.
    NewLog,
    /// Another key for a log already trusted (key rotation).
    NewKey,
    /// The key was already trusted for this log; nothing changed.
    AlreadyTrusted,
}

/// A witness's directory: its key, the logs it trusts and its state.
#[derive(Clone, Debug)]
pub struct WitnessDir {
    root: PathBuf,
}

impl WitnessDir {
    /// The directory at `root` (nothing is read or created yet).
    pub fn new(root: &Path) -> Self {
        WitnessDir {
            root: root.to_path_buf(),
        }
    }

    /// Creates the directory (owner-only) and a new key named `name`, drawn from the OS
    /// CSPRNG. Returns the cosigner and whether it was created; an existing key is kept (and
    /// must have that name).
    pub fn init(&self, name: &str) -> Result<(Cosigner, bool), SetupError> {
        files::create_private_dir(&self.root)?;
        files::create_private_dir(&self.state_dir())?;
        let mut seed = [0u8; 32];
        getrandom::fill(&mut seed).map_err(|e| SetupError::Key(format!("no randomness: {e}")))?;
        let fresh =
            Cosigner::from_seed(name, &seed).map_err(|e| SetupError::Key(format!("{e}")))?;
        let created = files::create_durable(
            &self.root.join(KEY_FILE),
            format!("{}\n", fresh.to_skey()).as_bytes(),
        )?;
        let cosigner = self.cosigner()?;
        if cosigner.name() != name {
            return Err(SetupError::Config(format!(
                "{} already holds a key named {:?}, not {name:?}",
                self.root.display(),
                cosigner.name()
            )));
        }
        Ok((cosigner, created))
    }

    /// The witness's key.
    pub fn cosigner(&self) -> Result<Cosigner, SetupError> {
        let path = self.root.join(KEY_FILE);
        let bytes = files::read_bounded(&path, MAX_FILE)?
            .ok_or_else(|| SetupError::NotInitialised(self.root.clone()))?;
        let text = std::str::from_utf8(&bytes)
            .map_err(|_| SetupError::Key(format!("{}: not UTF-8", path.display())))?;
        Cosigner::from_skey(text.trim())
            .map_err(|e| SetupError::Key(format!("{}: {e}", path.display())))
    }

    /// The logs listed in `logs.toml` (none if the file does not exist).
    pub fn trusted_logs(&self) -> Result<Vec<TrustedLog>, SetupError> {
        logs_of(&self.read_logs()?)
    }

    /// Adds a log key to `logs.toml`: to the log `origin` (default: the key's name, which is
    /// the origin of Vigil's logs), creating the entry if needed. Refuses witness keys.
    pub fn trust(&self, vkey: &str, origin: Option<&str>) -> Result<(String, Trusted), SetupError> {
        let vkey = vkey.trim();
        let key =
            Verifier::from_vkey(vkey).map_err(|e| SetupError::Key(format!("log vkey: {e}")))?;
        if key.kind() == vigil_tlog::SignatureKind::CosignatureV1 {
            return Err(SetupError::Key(
                "that is a witness key (type 0x04), not a log's checkpoint key".into(),
            ));
        }
        let origin = origin.unwrap_or(key.name()).to_owned();
        TrustedLog::new(&origin, key.clone().into())?;
        // One `trust` at a time, so two concurrent ones cannot lose an entry.
        let _lock = FileLock::acquire(&self.root.join(".logs.lock"))?;
        let mut file = self.read_logs()?;
        let outcome = match file.logs.iter_mut().find(|l| l.origin == origin) {
            Some(entry) => {
                let known = Verifiers::from_vkeys(&entry.vkeys)
                    .map_err(|e| SetupError::Config(format!("{LOGS_FILE}: log {origin:?}: {e}")))?;
                if known.iter().any(|k| *k == key) {
                    return Ok((origin, Trusted::AlreadyTrusted));
                }
                entry.vkeys.push(vkey.to_owned());
                Trusted::NewKey
            }
            None => {
                file.logs.push(LogEntry {
                    origin: origin.clone(),
                    vkeys: vec![vkey.to_owned()],
                });
                Trusted::NewLog
            }
        };
        let text = format!(
            "{LOGS_HEADER}{}",
            toml::to_string(&file).map_err(|e| SetupError::Config(format!("{LOGS_FILE}: {e}")))?
        );
        // Read back as `open` will read it, before it replaces the old file.
        let reread =
            toml::from_str(&text).map_err(|e| SetupError::Config(format!("{LOGS_FILE}: {e}")))?;
        Witness::new(self.cosigner()?, logs_of(&reread)?, &self.state_dir())?;
        files::write_durable(&self.root.join(LOGS_FILE), text.as_bytes())?;
        Ok((origin, outcome))
    }

    /// The witness this directory describes, ready to serve.
    pub fn open(&self) -> Result<Witness, SetupError> {
        Witness::new(self.cosigner()?, self.trusted_logs()?, &self.state_dir())
    }

    /// Where the per-log state lives.
    pub fn state_dir(&self) -> PathBuf {
        self.root.join("state")
    }

    fn read_logs(&self) -> Result<LogsFile, SetupError> {
        let path = self.root.join(LOGS_FILE);
        let Some(bytes) = files::read_bounded(&path, MAX_FILE)? else {
            return Ok(LogsFile::default());
        };
        let text = std::str::from_utf8(&bytes)
            .map_err(|_| SetupError::Config(format!("{}: not UTF-8", path.display())))?;
        toml::from_str(text).map_err(|e| SetupError::Config(format!("{}: {e}", path.display())))
    }
}

/// The trusted logs a logs file lists.
fn logs_of(file: &LogsFile) -> Result<Vec<TrustedLog>, SetupError> {
    file.logs
        .iter()
        .map(|entry| {
            let keys = Verifiers::from_vkeys(&entry.vkeys).map_err(|e| {
                SetupError::Config(format!("{LOGS_FILE}: log {:?}: {e}", entry.origin))
            })?;
            TrustedLog::new(&entry.origin, keys)
        })
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;
    use vigil_tlog::Signer;

    #[test]
    fn init_trust_open() {
        let tmp = tempfile::tempdir().expect("tempdir");
        let dir = WitnessDir::new(&tmp.path().join("w"));
        assert!(matches!(dir.open(), Err(SetupError::NotInitialised(_))));
        let (c, created) = dir.init("ngo.example/witness").expect("init");
        assert!(created);
        let (again, created) = dir.init("ngo.example/witness").expect("init again");
        assert!(!created);
        assert_eq!(again.verifier(), c.verifier());
        assert!(matches!(
            dir.init("other.example"),
            Err(SetupError::Config(_))
        ));
        assert!(dir.init("bad name").is_err());
        #[cfg(unix)]
        {
            use std::os::unix::fs::PermissionsExt;
            let mode = |p: &Path| std::fs::metadata(p).expect("meta").permissions().mode() & 0o777;
            assert_eq!(mode(&tmp.path().join("w")), 0o700);
            assert_eq!(mode(&tmp.path().join("w/witness.key")), 0o600);
        }

        let log = Signer::from_seed("example.com/log", &[1; 32]).expect("signer");
        let vkey = log.verifier().to_vkey();
        assert_eq!(
            dir.trust(&vkey, None).expect("trust"),
            ("example.com/log".to_owned(), Trusted::NewLog)
        );
        assert_eq!(
            dir.trust(&format!("{vkey}\n"), None).expect("trust").1,
            Trusted::AlreadyTrusted
        );
        let rotated = Signer::from_seed("example.com/log", &[2; 32]).expect("signer");
        assert_eq!(
            dir.trust(&rotated.verifier().to_vkey(), None)
                .expect("trust")
                .1,
            Trusted::NewKey
        );
        let other = Signer::from_seed("key-name", &[3; 32]).expect("signer");
        assert_eq!(
            dir.trust(&other.verifier().to_vkey(), Some("other.example/log"))
                .expect("trust"),
            ("other.example/log".to_owned(), Trusted::NewLog)
        );
        assert!(
            dir.trust(&c.verifier().to_vkey(), None).is_err(),
            "a witness key"
        );
        assert!(dir.trust("garbage", None).is_err());

        let logs = dir.trusted_logs().expect("logs");
        assert_eq!(logs.len(), 2);
        assert_eq!(logs[0].keys().iter().count(), 2);
        let w = dir.open().expect("open");
        assert_eq!(w.origins(), vec!["example.com/log", "other.example/log"]);
        assert_eq!(w.vkey(), c.verifier().to_vkey());
        let text = std::fs::read_to_string(tmp.path().join("w/logs.toml")).expect("read");
        assert!(text.starts_with("# Logs this witness cosigns"), "{text}");
    }

    #[test]
    fn a_bad_logs_file_is_an_error() {
        let tmp = tempfile::tempdir().expect("tempdir");
        let dir = WitnessDir::new(tmp.path());
        dir.init("w").expect("init");
        for bad in [
            "[[log]]\norigin = \"o\"\nvkeys = [\"nope\"]\n",
            "[[log]]\norigin = \"o\"\nvkeys = []\n",
            "[[log]]\norigin = \"\"\nvkeys = []\n",
            "surprise = 1\n",
        ] {
            std::fs::write(tmp.path().join(LOGS_FILE), bad).expect("write");
            assert!(dir.open().is_err(), "{bad}");
        }
    }
}
