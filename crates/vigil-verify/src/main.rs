//! `vigil-verify PACKAGE [--key VKEY|FILE] [--tsa-ca FILE]... [--json]`: checks a Vigil
//! evidence package offline and prints the verdict. Exit status: 0 when every check passed,
//! 1 when one failed, 2 on a usage error (bad arguments, no package, unreadable key or CA).

use std::io::Read as _;
use std::path::{Path, PathBuf};
use std::process::ExitCode;

use anyhow::{Context as _, bail};
use clap::Parser;
use vigil_verify::{Options, verify_package};

/// Checks a Vigil evidence package (an unpacked vigil.package/v1 BagIt bag) offline: file
/// integrity, log receipts and checkpoints against the log's key, and RFC 3161 time-stamps.
#[derive(Parser, Debug)]
#[command(name = "vigil-verify", version)]
struct Args {
    /// The package: the bag's directory.
    package: PathBuf,
    /// The log's verifier key (`origin+hash+base64`) as the office publishes it, or a file
    /// holding it. Without it the package's own key is used, and the verdict says so.
    #[arg(long, value_name = "VKEY|FILE")]
    key: Option<String>,
    /// A CA certificate (PEM or DER) of a time-stamping authority you trust; repeatable.
    #[arg(long = "tsa-ca", value_name = "FILE")]
    tsa_ca: Vec<PathBuf>,
    /// Print the verdict as JSON instead of text.
    #[arg(long)]
    json: bool,
}

/// Largest key or CA file read.
const MAX_INPUT_FILE: u64 = 1 << 20;

fn read_small(path: &Path) -> anyhow::Result<Vec<u8>> {
    let mut out = Vec::new();
    std::fs::File::open(path)
        .and_then(|f| f.take(MAX_INPUT_FILE + 1).read_to_end(&mut out))
        .with_context(|| format!("reading {}", path.display()))?;
    if out.len() as u64 > MAX_INPUT_FILE {
        bail!("{} is too large", path.display());
    }
    Ok(out)
}

/// The key as given, or read from the file named, first non-empty line.
fn key_arg(arg: &str) -> anyhow::Result<String> {
    let path = Path::new(arg);
    if !arg.contains('+') || path.is_file() {
        let text =
            String::from_utf8(read_small(path)?).with_context(|| format!("{arg} is not text"))?;
        let line = text
            .lines()
            .map(str::trim)
            .find(|l| !l.is_empty())
            .with_context(|| format!("{arg} holds no key"))?;
        return Ok(line.to_owned());
    }
    Ok(arg.to_owned())
}

fn run(args: Args) -> anyhow::Result<bool> {
    let trusted_key = args.key.as_deref().map(key_arg).transpose()?;
    let tsa_roots = args
        .tsa_ca
        .iter()
        .map(|p| read_small(p))
        .collect::<anyhow::Result<Vec<_>>>()?;
    let options = Options {
        trusted_key,
        tsa_roots,
    };
    let report = verify_package(&args.package, &options)?;
    if args.json {
        println!("{}", serde_json::to_string_pretty(&report.to_json())?);
    } else {
        print!("{report}");
    }
    Ok(report.passed())
}

fn main() -> ExitCode {
    let args = match Args::try_parse() {
        Ok(a) => a,
        Err(e) => {
            let usage = e.use_stderr();
            let _ = e.print();
            return ExitCode::from(if usage { 2 } else { 0 });
        }
    };
    match run(args) {
        Ok(true) => ExitCode::SUCCESS,
        Ok(false) => ExitCode::from(1),
        Err(e) => {
            eprintln!("vigil-verify: {e:#}");
            ExitCode::from(2)
        }
    }
}
