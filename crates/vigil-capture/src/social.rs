//! Links to social platforms, whose pages hide the media behind scripts: those are captured
//! with yt-dlp when it is available, in addition to the page itself.

/// The platform a URL belongs to, when it is one yt-dlp is known to handle well.
pub fn platform_of(url: &url::Url) -> Option<&'static str> {
    let host = url.host_str()?.trim_end_matches('.').to_ascii_lowercase();
    let host = host.strip_prefix("www.").unwrap_or(&host);
    let host = host.strip_prefix("m.").unwrap_or(host);
    const PLATFORMS: &[(&str, &str)] = &[
        ("t.me", "telegram"),
        ("telegram.me", "telegram"),
        ("x.com", "x"),
        ("twitter.com", "x"),
        ("mobile.twitter.com", "x"),
        ("facebook.com", "facebook"),
        ("fb.watch", "facebook"),
        ("instagram.com", "instagram"),
        ("youtube.com", "youtube"),
        ("youtu.be", "youtube"),
        ("tiktok.com", "tiktok"),
        ("vk.com", "vk"),
        ("vkvideo.ru", "vk"),
        ("ok.ru", "odnoklassniki"),
        ("rutube.ru", "rutube"),
    ];
    PLATFORMS
        .iter()
        .find(|(domain, _)| host == *domain || host.ends_with(&format!(".{domain}")))
        .map(|(_, name)| *name)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn recognises_platform_hosts_and_not_lookalikes() {
        let p = |u: &str| platform_of(&url::Url::parse(u).expect("url"));
        assert_eq!(p("https://t.me/channel/123"), Some("telegram"));
        assert_eq!(p("https://www.youtube.com/watch?v=x"), Some("youtube"));
        assert_eq!(p("https://m.facebook.com/story"), Some("facebook"));
        assert_eq!(p("https://youtu.be/abc"), Some("youtube"));
        assert_eq!(p("https://twitter.com/a/status/1"), Some("x"));
        assert_eq!(p("https://notx.com/"), None);
        assert_eq!(p("https://example.org/"), None);
    }
}
