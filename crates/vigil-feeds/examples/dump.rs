//! Prints, as JSON, what a parser makes of a saved page, to check a real page by hand:
//!
//! ```text
//! cargo run -p vigil-feeds --example dump -- telegram page.html https://t.me/s/NAME
//! cargo run -p vigil-feeds --example dump -- post embed.html https://t.me/NAME/123?embed=1
//! cargo run -p vigil-feeds --example dump -- feed feed.xml https://example.org/feed
//! cargo run -p vigil-feeds --example dump -- ytdlp playlist.json
//! ```

use std::process::ExitCode;

fn main() -> ExitCode {
    let args: Vec<String> = std::env::args().skip(1).collect();
    let (Some(kind), Some(path)) = (args.first(), args.get(1)) else {
        eprintln!("usage: dump telegram|post|feed|ytdlp FILE [BASE_URL]");
        return ExitCode::FAILURE;
    };
    let bytes = match std::fs::read(path) {
        Ok(bytes) => bytes,
        Err(e) => {
            eprintln!("{path}: {e}");
            return ExitCode::FAILURE;
        }
    };
    let base = args
        .get(2)
        .map_or("https://example.invalid/", String::as_str);
    let base = match url::Url::parse(base) {
        Ok(base) => base,
        Err(e) => {
            eprintln!("{base}: {e}");
            return ExitCode::FAILURE;
        }
    };
    let json = match kind.as_str() {
        "telegram" => vigil_feeds::parse_telegram_preview(&bytes, &base)
            .map(|page| serde_json::to_string_pretty(&page)),
        "post" => vigil_feeds::parse_telegram_post(&bytes, &base)
            .map(|status| serde_json::to_string_pretty(&status)),
        "feed" => {
            vigil_feeds::parse_feed(&bytes, &base).map(|page| serde_json::to_string_pretty(&page))
        }
        "ytdlp" => vigil_feeds::parse_ytdlp_playlist(&bytes)
            .map(|page| serde_json::to_string_pretty(&page)),
        other => {
            eprintln!("unknown kind {other:?}: telegram, post, feed or ytdlp");
            return ExitCode::FAILURE;
        }
    };
    match json {
        Ok(Ok(json)) => {
            println!("{json}");
            ExitCode::SUCCESS
        }
        Ok(Err(e)) => {
            eprintln!("{e}");
            ExitCode::FAILURE
        }
        Err(e) => {
            eprintln!("{e}");
            ExitCode::FAILURE
        }
    }
}
