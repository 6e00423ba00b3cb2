//! Telegram's public web pages: the channel preview `https://t.me/s/NAME` and the embed page of
//! one post `https://t.me/NAME/123?embed=1`.
//!
//! Both render a post as the same widget (the markup open-source preview scrapers read):
//!
//! ```text
//! div.tgme_widget_message_wrap
//!   div.tgme_widget_message[data-post="NAME/123"]        (+ .service_message for "Channel created"…)
//!     a.tgme_widget_message_owner_name                   channel title
//!     div.tgme_widget_message_forwarded_from             "Forwarded from" + a[href=origin]
//!     a.tgme_widget_message_reply                        quoted post (not this post's text)
//!     a.tgme_widget_message_photo_wrap[style=background-image:url('…')]
//!     a.tgme_widget_message_video_player > i.tgme_widget_message_video_thumb, video[src]
//!     audio.tgme_widget_message_voice[src], a.tgme_widget_message_document_wrap[href]
//!     div.tgme_widget_message_text                       text: <br>, <a href>, <b>, emoji <i><b>
//!     a.tgme_widget_message_link_preview                 the linked page's card (not this post)
//!     span.tgme_widget_message_from_author               the author's signature
//!     a.tgme_widget_message_date > time[datetime]
//! ```
//!
//! An album is one widget holding several photo/video links (`?single`). The preview page
//! lists posts oldest first and links older ones with `a.tme_messages_more[data-before]` and
//! `link[rel=prev]`. A deleted post's embed page shows `div.tgme_widget_message_error` "Post not
//! found".

use url::Url;

use crate::dom::{self, Budget, Dom, NodeId, Step, TextOptions};
use crate::util::{
    MediaList, finish_text, join_parts, one_line, parse_date, resolve_http, same_host,
};
use crate::{
    FeedError, FeedPage, MAX_POSTS_PER_PAGE, MAX_TEXT_BYTES, MediaRefKind, Post, PostStatus,
};

const HOSTS: [&str; 6] = [
    "t.me",
    "www.t.me",
    "telegram.me",
    "www.telegram.me",
    "telegram.dog",
    "www.telegram.dog",
];

/// First path segments of t.me that are Telegram's own pages, not channels.
const RESERVED: [&str; 16] = [
    "joinchat",
    "addstickers",
    "addemoji",
    "addtheme",
    "addlist",
    "proxy",
    "socks",
    "share",
    "login",
    "setlanguage",
    "confirmphone",
    "invoice",
    "boost",
    "giftcode",
    "contact",
    "iv",
];

fn valid_name(name: &str) -> bool {
    (4..=32).contains(&name.len())
        && name.starts_with(|c: char| c.is_ascii_alphabetic())
        && name.bytes().all(|b| b.is_ascii_alphanumeric() || b == b'_')
        && !RESERVED.contains(&name.to_ascii_lowercase().as_str())
}

/// The channel a t.me URL names: `/NAME`, `/s/NAME`, `/NAME/123`, `/s/NAME/123`.
pub(crate) fn channel_name(url: &Url) -> Option<String> {
    if !matches!(url.scheme(), "http" | "https") || !HOSTS.contains(&url.host_str()?) {
        return None;
    }
    let mut segments = url.path_segments()?.filter(|s| !s.is_empty());
    let mut name = segments.next()?;
    if name == "s" {
        name = segments.next()?;
    }
    let post = segments.next();
    if segments.next().is_some() || post.is_some_and(|p| !p.bytes().all(|b| b.is_ascii_digit())) {
        return None;
    }
    valid_name(name).then(|| name.to_owned())
}

/// `https://t.me/s/NAME`, the name kept inside one path segment whatever it holds.
pub(crate) fn preview_url(name: &str) -> Option<Url> {
    let mut url = Url::parse("https://t.me/s").ok()?;
    url.path_segments_mut().ok()?.push(name);
    Some(url)
}

/// `NAME/123` split, when it is one.
fn split_post_id(data_post: &str) -> Option<(&str, &str)> {
    let (name, number) = data_post.trim().split_once('/')?;
    let name_ok = (1..=64).contains(&name.len())
        && name.bytes().all(|b| b.is_ascii_alphanumeric() || b == b'_');
    let number_ok = (1..=19).contains(&number.len()) && number.bytes().all(|b| b.is_ascii_digit());
    (name_ok && number_ok).then_some((name, number))
}

/// Parses the public web preview of a Telegram channel, `https://t.me/s/NAME` (or a page of
/// older posts, `?before=123`), fetched from `base`.
///
/// Posts come oldest first, as the page lists them; service rows ("Channel created", "pinned a
/// message") are skipped, since they are not posts. Each post's id is its `NAME/123`, its URL
/// `https://t.me/NAME/123`. Fails with [`FeedError::Unrecognized`] when the page has neither
/// posts nor a channel header (a channel without a public preview redirects to a page with
/// neither): an empty result would otherwise look like "nothing new".
pub fn parse_telegram_preview(html: &[u8], base: &Url) -> Result<FeedPage, FeedError> {
    let budget = Budget::new();
    let dom = dom::parse(html, &budget)?;
    let mut posts = Vec::new();
    let mut saw_message = false;
    let mut saw_channel = false;
    let mut title = None;
    let mut og_title = None;
    let mut more_before = None;
    let mut link_prev = None;
    let mut walk = dom.walk(dom.root());
    while let Some(step) = walk.next(&dom) {
        let Step::Enter(n) = step else { continue };
        let Some(tag) = dom.tag(n) else { continue };
        if dom.has_class(n, "tgme_widget_message") {
            if let Some(data_post) = dom.attr(n, "data-post") {
                saw_message = true;
                walk.skip_children();
                if !dom.has_class(n, "service_message")
                    && posts.len() < MAX_POSTS_PER_PAGE
                    && let Some(post) = parse_message(&dom, n, data_post, base)
                {
                    posts.push(post);
                }
            }
            continue;
        }
        if dom.has_class(n, "tgme_channel_info") {
            saw_channel = true;
        }
        if title.is_none() && dom.has_class(n, "tgme_channel_info_header_title") {
            title = one_line(&render(&dom, n, base).0);
        }
        if og_title.is_none() && tag == "meta" && dom.attr(n, "property") == Some("og:title") {
            og_title = dom.attr(n, "content").and_then(one_line);
        }
        if more_before.is_none()
            && dom.has_class(n, "tme_messages_more")
            && let Some(before) = dom.attr(n, "data-before")
        {
            more_before = older_from_more(base, before, dom.attr(n, "href"));
        }
        if link_prev.is_none()
            && tag == "link"
            && dom.attr(n, "rel").is_some_and(|r| {
                r.split_ascii_whitespace()
                    .any(|r| r.eq_ignore_ascii_case("prev"))
            })
        {
            link_prev = dom
                .attr(n, "href")
                .and_then(|h| resolve_http(base, h))
                .and_then(|u| same_host(base, u));
        }
    }
    if !saw_message && !saw_channel {
        return Err(FeedError::Unrecognized(
            "no Telegram posts and no channel header: not a t.me/s/ preview page".into(),
        ));
    }
    Ok(FeedPage {
        title: title.or(og_title),
        posts,
        older: more_before.or(link_prev),
    })
}

/// The "load older posts" link: its `href`, else the page with `?before=N`.
fn older_from_more(base: &Url, before: &str, href: Option<&str>) -> Option<Url> {
    let before = before.trim();
    if before.is_empty() || before.len() > 19 || !before.bytes().all(|b| b.is_ascii_digit()) {
        return None;
    }
    if let Some(url) = href
        .and_then(|h| resolve_http(base, h))
        .and_then(|u| same_host(base, u))
    {
        return Some(url);
    }
    let mut url = base.clone();
    url.set_fragment(None);
    url.set_query(Some(&format!("before={before}")));
    same_host(base, url)
}

/// Parses the embed page of one Telegram post, `https://t.me/NAME/123?embed=1` (fetched from
/// `base`), to tell whether the post is still there.
///
/// [`PostStatus::Deleted`] only when Telegram says the post was not found. Any other error
/// Telegram shows is [`FeedError::Telegram`], and a page without a post is
/// [`FeedError::Unrecognized`]: neither proves a deletion, and a false "deleted" would be
/// false evidence.
pub fn parse_telegram_post(html: &[u8], base: &Url) -> Result<PostStatus, FeedError> {
    let budget = Budget::new();
    let dom = dom::parse(html, &budget)?;
    if let Some(error) = dom.find_class(dom.root(), "tgme_widget_message_error") {
        let message = one_line(&render(&dom, error, base).0).unwrap_or_default();
        if message.to_ascii_lowercase().contains("not found") {
            return Ok(PostStatus::Deleted);
        }
        return Err(FeedError::Telegram(message));
    }
    let Some(message) = dom.find(dom.root(), |n| dom.has_class(n, "tgme_widget_message")) else {
        return Err(FeedError::Unrecognized(
            "no Telegram post on the embed page".into(),
        ));
    };
    // The embed page carries data-post too; the page's own URL says the same otherwise.
    let from_base = base
        .path_segments()
        .map(|s| s.filter(|s| !s.is_empty()).collect::<Vec<_>>().join("/"))
        .unwrap_or_default();
    let data_post = dom.attr(message, "data-post").unwrap_or(&from_base);
    parse_message(&dom, message, data_post, base)
        .map(PostStatus::Present)
        .ok_or_else(|| FeedError::Unrecognized(format!("unreadable post id {data_post:?}")))
}

/// Renders a subtree as text; the flag says it was cut.
fn render(dom: &Dom, n: NodeId, base: &Url) -> (String, bool) {
    let rendered = dom.text(
        n,
        &TextOptions {
            base,
            limit: MAX_TEXT_BYTES,
            images: false,
        },
    );
    (rendered.text, rendered.truncated)
}

/// The URL in an inline `background-image:url('…')` style.
fn background_url(style: &str) -> Option<&str> {
    let start = style.find("background-image")?;
    let rest = style.get(start..)?;
    let rest = rest.get(rest.find("url(")? + 4..)?.trim_start();
    let (quote, rest) = match rest.chars().next()? {
        q @ ('\'' | '"') => (Some(q), rest.get(1..)?),
        _ => (None, rest),
    };
    let end = match quote {
        Some(q) => rest.find(q)?,
        None => rest.find(')')?,
    };
    rest.get(..end).map(str::trim)
}

fn background(dom: &Dom, n: NodeId, base: &Url) -> Option<Url> {
    dom.attr(n, "style")
        .and_then(background_url)
        .and_then(|u| resolve_http(base, u))
}

/// One post widget as a [`Post`]; `None` if its id is not `NAME/123`.
fn parse_message(dom: &Dom, message: NodeId, data_post: &str, base: &Url) -> Option<Post> {
    let (name, number) = split_post_id(data_post)?;
    let mut text = None;
    let mut owner = None;
    let mut signature = None;
    let mut forwarded = None;
    let mut published_at = None;
    let mut poll = Vec::new();
    let mut documents = Vec::new();
    let mut media = MediaList::default();
    let mut walk = dom.walk(message);
    while let Some(step) = walk.next(dom) {
        let Step::Enter(n) = step else { continue };
        let Some(tag) = dom.tag(n) else { continue };
        let class = |c: &str| dom.has_class(n, c);
        if class("tgme_widget_message_reply")
            || class("tgme_widget_message_link_preview")
            || class("tgme_widget_message_user")
        {
            // A quoted post, a linked page's card, the avatar: not this post's content.
            walk.skip_children();
        } else if class("tgme_widget_message_text") {
            walk.skip_children();
            if text.is_none() {
                text = Some(render(dom, n, base));
            }
        } else if class("tgme_widget_message_owner_name") {
            walk.skip_children();
            if owner.is_none() {
                owner = one_line(&render(dom, n, base).0);
            }
        } else if class("tgme_widget_message_from_author") {
            walk.skip_children();
            if signature.is_none() {
                signature = one_line(&render(dom, n, base).0);
            }
        } else if class("tgme_widget_message_forwarded_from") {
            walk.skip_children();
            if forwarded.is_none() {
                forwarded = one_line(&render(dom, n, base).0);
            }
        } else if class("tgme_widget_message_poll_question")
            || class("tgme_widget_message_poll_option_text")
        {
            walk.skip_children();
            if poll.len() < 16
                && let Some(line) = one_line(&render(dom, n, base).0)
            {
                let bullet = if class("tgme_widget_message_poll_question") {
                    ""
                } else {
                    "- "
                };
                poll.push(format!("{bullet}{line}"));
            }
        } else if tag == "time" {
            if published_at.is_none() {
                published_at = dom.attr(n, "datetime").and_then(parse_date);
            }
        } else if class("tgme_widget_message_photo_wrap") || class("tgme_widget_message_sticker") {
            let url = background(dom, n, base)
                .or_else(|| dom.attr(n, "data-webp").and_then(|u| resolve_http(base, u)));
            if let Some(url) = url {
                media.push(url, MediaRefKind::Image);
            }
        } else if class("tgme_widget_message_video_player")
            || class("tgme_widget_message_roundvideo_player")
        {
            let playable = dom.find(n, |v| {
                dom.is(v, "video") && dom.attr(v, "src").is_some_and(|s| !s.trim().is_empty())
            });
            if playable.is_none() {
                // Too big for the preview ("Media is too big"): the post link leads to it.
                walk.skip_children();
                if let Some(url) = dom.attr(n, "href").and_then(|h| resolve_http(base, h)) {
                    media.push(url, MediaRefKind::Video);
                }
                if let Some(thumb) = dom
                    .find(n, |t| {
                        dom.has_class(t, "tgme_widget_message_video_thumb")
                            || dom.has_class(t, "tgme_widget_message_roundvideo_thumb")
                    })
                    .and_then(|t| background(dom, t, base))
                {
                    media.push(thumb, MediaRefKind::Image);
                }
            }
        } else if tag == "video" {
            if let Some(url) = dom.attr(n, "src").and_then(|s| resolve_http(base, s)) {
                media.push(url, MediaRefKind::Video);
            }
        } else if tag == "audio" {
            if let Some(url) = dom.attr(n, "src").and_then(|s| resolve_http(base, s)) {
                media.push(url, MediaRefKind::Other);
            }
        } else if class("tgme_widget_message_document_wrap")
            || class("tgme_widget_message_document")
        {
            // A file: the preview has no link to it, only to the post that holds it.
            if let Some(url) = dom
                .attr(n, "href")
                .and_then(|h| resolve_http(base, h))
                .or_else(|| resolve_http(base, &format!("https://t.me/{name}/{number}")))
            {
                media.push(url, MediaRefKind::Other);
            }
            if class("tgme_widget_message_document") {
                walk.skip_children();
                if documents.len() < 16 {
                    let title = dom
                        .find_class(n, "tgme_widget_message_document_title")
                        .and_then(|t| one_line(&render(dom, t, base).0));
                    let extra = dom
                        .find_class(n, "tgme_widget_message_document_extra")
                        .and_then(|t| one_line(&render(dom, t, base).0));
                    match (title, extra) {
                        (Some(t), Some(e)) => documents.push(format!("[File: {t}, {e}]")),
                        (Some(t), None) => documents.push(format!("[File: {t}]")),
                        _ => {}
                    }
                }
            }
        }
    }
    let (body, body_cut) = text.unwrap_or_default();
    let poll = poll.join("\n");
    let documents = documents.join("\n");
    let text = finish_text(
        join_parts([
            forwarded.as_deref().unwrap_or(""),
            body.as_str(),
            poll.as_str(),
            documents.as_str(),
        ]),
        body_cut,
    );
    let author = match (owner, signature) {
        (Some(owner), Some(signature)) if owner != signature => {
            one_line(&format!("{owner} ({signature})"))
        }
        (owner, signature) => owner.or(signature),
    };
    Some(Post {
        id: format!("{name}/{number}"),
        url: format!("https://t.me/{name}/{number}"),
        author,
        published_at,
        text,
        media: media.into_vec(),
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn background_urls() {
        assert_eq!(
            background_url("width:10px;background-image:url('https://cdn/x.jpg')"),
            Some("https://cdn/x.jpg")
        );
        assert_eq!(
            background_url("background-image:url(\"//telegram.org/e.png\")"),
            Some("//telegram.org/e.png")
        );
        assert_eq!(
            background_url("background-image:url(https://a/b)"),
            Some("https://a/b")
        );
        assert_eq!(background_url("background-image:url('unterminated"), None);
        assert_eq!(background_url("color:red"), None);
        assert_eq!(background_url("background-image:url("), None);
    }

    #[test]
    fn post_ids() {
        assert_eq!(split_post_id("durov/123"), Some(("durov", "123")));
        assert_eq!(split_post_id("durov/12a"), None);
        assert_eq!(split_post_id("../x/1"), None);
        assert_eq!(split_post_id("durov/"), None);
        assert_eq!(split_post_id("durov"), None);
        assert_eq!(split_post_id("a/99999999999999999999"), None);
    }

    #[test]
    fn older_link_stays_on_the_page_host() {
        let base = Url::parse("https://t.me/s/chan").unwrap();
        assert_eq!(
            older_from_more(&base, "120", Some("/s/chan?before=120")).map(String::from),
            Some("https://t.me/s/chan?before=120".into())
        );
        assert_eq!(
            older_from_more(&base, "120", Some("https://evil.example/x")).map(String::from),
            Some("https://t.me/s/chan?before=120".into())
        );
        assert_eq!(older_from_more(&base, "12x", None), None);
    }
}
