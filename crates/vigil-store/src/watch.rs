//! Watched sources and the posts seen on them (migration `0010_watch.sql`): what the poller
//! needs to capture every new post exactly once, across crashes, and to notice later that a
//! post was deleted or changed.
//!
//! The order of writes is what makes "exactly once" hold: a poll records the posts it found as
//! `pending` in one transaction with the source's new schedule; each pending post is then
//! captured through the normal capture path with its source and key in the capture's details,
//! and linked ([`Catalog::link_watch_capture`]). A capture committed but not linked (a kill in
//! between) is found again by [`Catalog::capture_of_watch_post`] instead of being repeated.

use serde::Serialize;
use sqlx::Row;

use crate::catalog::{Catalog, CatalogError};

/// A watched source as stored.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct WatchSource {
    /// Catalog id.
    pub id: i64,
    /// The source as given (normalised): a channel, a feed, a playlist.
    pub url: String,
    /// `telegram`, `feed` or `playlist`.
    pub kind: String,
    /// What is fetched to poll it.
    pub poll_url: String,
    /// Seconds between polls.
    pub every_secs: i64,
    /// Seconds between re-checks of a captured post (deletion, change).
    pub recheck_secs: i64,
    /// Free-text note, given to every capture from it.
    pub note: Option<String>,
    /// Tags, given to every capture from it.
    pub tags: Vec<String>,
    /// The collection its captures go into.
    pub collection_id: i64,
    /// When it was added (RFC 3339, UTC).
    pub added_at: String,
    /// Who added it.
    pub added_by: String,
    /// When it stopped being polled, if it did.
    pub removed_at: Option<String>,
    /// When it is next due.
    pub next_poll_at: String,
    /// When it was last polled.
    pub last_poll_at: Option<String>,
    /// `ok` or a stable failure code.
    pub last_outcome: Option<String>,
    /// What went wrong last, for a person.
    pub last_error: Option<String>,
    /// Failed polls in a row (the backoff grows with it).
    pub consecutive_failures: i64,
}

/// A source to start watching.
#[derive(Debug, Clone)]
pub struct NewWatchSource<'a> {
    /// The source, normalised.
    pub url: &'a str,
    /// `telegram`, `feed` or `playlist`.
    pub kind: &'a str,
    /// What is fetched to poll it.
    pub poll_url: &'a str,
    /// Seconds between polls (at least 60).
    pub every_secs: i64,
    /// Seconds between re-checks of captured posts (at least 60).
    pub recheck_secs: i64,
    /// Note for its captures.
    pub note: Option<&'a str>,
    /// Tags for its captures.
    pub tags: &'a [String],
    /// The collection its captures go into.
    pub collection_id: i64,
    /// Who adds it.
    pub added_by: &'a str,
    /// Now (RFC 3339, UTC): the first poll is due at once.
    pub at: &'a str,
}

/// A post seen on a source.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct WatchPost {
    /// Its source.
    pub source_id: i64,
    /// Its stable id within the source.
    pub post_key: String,
    /// The post's own page.
    pub url: String,
    /// Who posted it, as the platform says.
    pub author: Option<String>,
    /// When the platform says it was posted.
    pub published_at: Option<String>,
    /// When we first saw it.
    pub first_seen_at: String,
    /// `pending`, `captured` or `failed`.
    pub state: String,
    /// Its capture, once captured.
    pub capture_id: Option<i64>,
    /// Capture attempts so far.
    pub attempts: i64,
    /// Why the last attempt failed.
    pub last_error: Option<String>,
    /// When it is next re-checked.
    pub next_check_at: Option<String>,
    /// When it was last re-checked.
    pub last_checked_at: Option<String>,
    /// When it was first found deleted.
    pub gone_at: Option<String>,
    /// How its deletion showed (`http-404`, `not-found-page`…).
    pub gone_reason: Option<String>,
    /// When it was first found changed (its media or text no longer what we held).
    pub changed_at: Option<String>,
    /// Every way it was found changed (`media-replaced`, `media-removed`, `media-added`,
    /// `text-edited`; comma-separated).
    pub changed_reason: Option<String>,
}

/// Which posts of a source to list.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum PostSelection {
    /// Every post seen.
    All,
    /// Those found deleted at their source.
    Gone,
    /// Those found changed at their source.
    Changed,
}

/// How many posts of a source are in each state.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Serialize)]
pub struct WatchCounts {
    /// Posts seen.
    pub posts: i64,
    /// Captured.
    pub captured: i64,
    /// Waiting to be captured.
    pub pending: i64,
    /// Given up.
    pub failed: i64,
    /// Found deleted at their source.
    pub gone: i64,
    /// Found changed at their source.
    pub changed: i64,
}

/// One capture of a watched post (its page, a medium, or a later version of either), as a
/// re-check compares the post's present state with it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct WatchPostCapture {
    /// The capture.
    pub capture_id: i64,
    /// What was captured (the post's page, or a medium's URL).
    pub source: String,
    /// SHA-256 (hex) of the captured body, when the capture holds one.
    pub body_sha256: Option<String>,
    /// The post's text as the source showed it then.
    pub text: Option<String>,
    /// Set for a medium: the post it belongs to.
    pub media_of: Option<String>,
    /// Set for a capture made because a re-check found the post changed.
    pub change_reason: Option<String>,
}

/// A post a poll found.
#[derive(Debug, Clone)]
pub struct SeenPost<'a> {
    /// Its stable id within the source.
    pub post_key: &'a str,
    /// Its own page.
    pub url: &'a str,
    /// Who posted it.
    pub author: Option<&'a str>,
    /// When the platform says it was posted.
    pub published_at: Option<&'a str>,
}

/// How a poll ended, and when the source is due again.
#[derive(Debug, Clone)]
pub struct PollOutcome<'a> {
    /// When it was polled.
    pub at: &'a str,
    /// `ok` or a stable failure code.
    pub outcome: &'a str,
    /// What went wrong, for a person.
    pub error: Option<&'a str>,
    /// When it is next due (interval, jitter and backoff applied by the caller).
    pub next_poll_at: &'a str,
    /// Failed polls in a row, this one included.
    pub consecutive_failures: i64,
}

fn source_from_row(row: &sqlx::sqlite::SqliteRow) -> Result<WatchSource, CatalogError> {
    let tags: String = row.try_get("tags")?;
    let id: i64 = row.try_get("id")?;
    Ok(WatchSource {
        id,
        url: row.try_get("url")?,
        kind: row.try_get("kind")?,
        poll_url: row.try_get("poll_url")?,
        every_secs: row.try_get("every_secs")?,
        recheck_secs: row.try_get("recheck_secs")?,
        note: row.try_get("note")?,
        tags: serde_json::from_str(&tags).map_err(|e| CatalogError::Malformed {
            table: "watch_sources",
            key: id.to_string(),
            problem: format!("tags: {e}"),
        })?,
        collection_id: row.try_get("collection_id")?,
        added_at: row.try_get("added_at")?,
        added_by: row.try_get("added_by")?,
        removed_at: row.try_get("removed_at")?,
        next_poll_at: row.try_get("next_poll_at")?,
        last_poll_at: row.try_get("last_poll_at")?,
        last_outcome: row.try_get("last_outcome")?,
        last_error: row.try_get("last_error")?,
        consecutive_failures: row.try_get("consecutive_failures")?,
    })
}

fn post_from_row(row: &sqlx::sqlite::SqliteRow) -> Result<WatchPost, CatalogError> {
    Ok(WatchPost {
        source_id: row.try_get("source_id")?,
        post_key: row.try_get("post_key")?,
        url: row.try_get("url")?,
        author: row.try_get("author")?,
        published_at: row.try_get("published_at")?,
        first_seen_at: row.try_get("first_seen_at")?,
        state: row.try_get("state")?,
        capture_id: row.try_get("capture_id")?,
        attempts: row.try_get("attempts")?,
        last_error: row.try_get("last_error")?,
        next_check_at: row.try_get("next_check_at")?,
        last_checked_at: row.try_get("last_checked_at")?,
        gone_at: row.try_get("gone_at")?,
        gone_reason: row.try_get("gone_reason")?,
        changed_at: row.try_get("changed_at")?,
        changed_reason: row.try_get("changed_reason")?,
    })
}

impl Catalog {
    /// Starts watching a source; a removed one with the same URL is watched again with the new
    /// settings. `None`: it is already watched.
    pub async fn add_watch_source(
        &self,
        s: &NewWatchSource<'_>,
    ) -> Result<Option<WatchSource>, CatalogError> {
        let tags = serde_json::to_string(s.tags).unwrap_or_else(|_| "[]".into());
        let row = sqlx::query(
            "INSERT INTO watch_sources (url, kind, poll_url, every_secs, recheck_secs, note, tags,
                                        collection_id, added_at, added_by, next_poll_at)
             VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8, ?9, ?10, ?9)
             ON CONFLICT (url) DO UPDATE SET
                kind = excluded.kind, poll_url = excluded.poll_url,
                every_secs = excluded.every_secs, recheck_secs = excluded.recheck_secs,
                note = excluded.note, tags = excluded.tags,
                collection_id = excluded.collection_id, added_at = excluded.added_at,
                added_by = excluded.added_by, removed_at = NULL,
                next_poll_at = excluded.next_poll_at, consecutive_failures = 0
             WHERE watch_sources.removed_at IS NOT NULL
             RETURNING *",
        )
        .bind(s.url)
        .bind(s.kind)
        .bind(s.poll_url)
        .bind(s.every_secs)
        .bind(s.recheck_secs)
        .bind(s.note)
        .bind(tags)
        .bind(s.collection_id)
        .bind(s.at)
        .bind(s.added_by)
        .fetch_optional(self.pool())
        .await?;
        row.as_ref().map(source_from_row).transpose()
    }

    /// Every source, by id; removed ones only when asked for.
    pub async fn watch_sources(
        &self,
        include_removed: bool,
    ) -> Result<Vec<WatchSource>, CatalogError> {
        let rows =
            sqlx::query("SELECT * FROM watch_sources WHERE ?1 OR removed_at IS NULL ORDER BY id")
                .bind(include_removed)
                .fetch_all(self.pool())
                .await?;
        rows.iter().map(source_from_row).collect()
    }

    /// One source by id.
    pub async fn watch_source(&self, id: i64) -> Result<Option<WatchSource>, CatalogError> {
        let row = sqlx::query("SELECT * FROM watch_sources WHERE id = ?")
            .bind(id)
            .fetch_optional(self.pool())
            .await?;
        row.as_ref().map(source_from_row).transpose()
    }

    /// Stops polling a source (its posts stay); whether it was being watched.
    pub async fn remove_watch_source(&self, id: i64, at: &str) -> Result<bool, CatalogError> {
        let done = sqlx::query(
            "UPDATE watch_sources SET removed_at = ? WHERE id = ? AND removed_at IS NULL",
        )
        .bind(at)
        .bind(id)
        .execute(self.pool())
        .await?;
        Ok(done.rows_affected() == 1)
    }

    /// Sources due at `now`, the most overdue first.
    pub async fn due_watch_sources(
        &self,
        now: &str,
        limit: i64,
    ) -> Result<Vec<WatchSource>, CatalogError> {
        let rows = sqlx::query(
            "SELECT * FROM watch_sources WHERE removed_at IS NULL AND next_poll_at <= ?
             ORDER BY next_poll_at, id LIMIT ?",
        )
        .bind(now)
        .bind(limit)
        .fetch_all(self.pool())
        .await?;
        rows.iter().map(source_from_row).collect()
    }

    /// Records a poll: its outcome and the next due time, and the posts it found, in one
    /// transaction. Returns the keys of the posts not seen before (now `pending`).
    pub async fn record_watch_poll(
        &self,
        source_id: i64,
        outcome: &PollOutcome<'_>,
        posts: &[SeenPost<'_>],
    ) -> Result<Vec<String>, CatalogError> {
        let mut tx = self.pool().begin().await?;
        sqlx::query(
            "UPDATE watch_sources SET last_poll_at = ?, last_outcome = ?, last_error = ?,
                 next_poll_at = ?, consecutive_failures = ? WHERE id = ?",
        )
        .bind(outcome.at)
        .bind(outcome.outcome)
        .bind(outcome.error)
        .bind(outcome.next_poll_at)
        .bind(outcome.consecutive_failures)
        .bind(source_id)
        .execute(&mut *tx)
        .await?;
        let mut new = Vec::new();
        for p in posts {
            let inserted = sqlx::query(
                "INSERT INTO watch_posts (source_id, post_key, url, author, published_at,
                                          first_seen_at, state)
                 VALUES (?, ?, ?, ?, ?, ?, 'pending') ON CONFLICT DO NOTHING",
            )
            .bind(source_id)
            .bind(p.post_key)
            .bind(p.url)
            .bind(p.author)
            .bind(p.published_at)
            .bind(outcome.at)
            .execute(&mut *tx)
            .await?;
            if inserted.rows_affected() == 1 {
                new.push(p.post_key.to_owned());
            }
        }
        tx.commit().await?;
        Ok(new)
    }

    /// How many of these post keys of a source were seen before (polling uses it to know
    /// whether a page holds only new posts).
    pub async fn watch_posts_known(
        &self,
        source_id: i64,
        post_keys: &[String],
    ) -> Result<i64, CatalogError> {
        if post_keys.is_empty() {
            return Ok(0);
        }
        let mut q = sqlx::QueryBuilder::new("SELECT count(*) FROM watch_posts WHERE source_id = ");
        q.push_bind(source_id);
        q.push(" AND post_key IN (");
        let mut keys = q.separated(", ");
        for key in post_keys {
            keys.push_bind(key.as_str());
        }
        q.push(")");
        Ok(q.build_query_scalar().fetch_one(self.pool()).await?)
    }

    /// Posts not captured yet (pending), oldest first.
    pub async fn pending_watch_posts(&self, limit: i64) -> Result<Vec<WatchPost>, CatalogError> {
        let rows = sqlx::query(
            "SELECT * FROM watch_posts WHERE state = 'pending'
             ORDER BY first_seen_at, source_id, rowid LIMIT ?",
        )
        .bind(limit)
        .fetch_all(self.pool())
        .await?;
        rows.iter().map(post_from_row).collect()
    }

    /// The capture already committed for a post, if a run captured it and was stopped before
    /// linking it: the capture of `url` whose details carry this source and key.
    pub async fn capture_of_watch_post(
        &self,
        source_id: i64,
        post_key: &str,
        url: &str,
    ) -> Result<Option<i64>, CatalogError> {
        Ok(sqlx::query_scalar(
            "SELECT id FROM captures WHERE source = ?
               AND json_extract(details, '$.watch.source_id') = ?
               AND json_extract(details, '$.watch.post_key') = ?
             ORDER BY id LIMIT 1",
        )
        .bind(url)
        .bind(source_id)
        .bind(post_key)
        .fetch_optional(self.pool())
        .await?)
    }

    /// Links a post to its capture and schedules its first re-check.
    pub async fn link_watch_capture(
        &self,
        source_id: i64,
        post_key: &str,
        capture_id: i64,
        next_check_at: &str,
    ) -> Result<(), CatalogError> {
        sqlx::query(
            "UPDATE watch_posts SET state = 'captured', capture_id = ?, next_check_at = ?,
                 attempts = attempts + 1, last_error = NULL
             WHERE source_id = ? AND post_key = ?",
        )
        .bind(capture_id)
        .bind(next_check_at)
        .bind(source_id)
        .bind(post_key)
        .execute(self.pool())
        .await?;
        Ok(())
    }

    /// Records a failed attempt to capture a post; `give_up` marks it `failed` for good.
    pub async fn watch_capture_failed(
        &self,
        source_id: i64,
        post_key: &str,
        error: &str,
        give_up: bool,
    ) -> Result<(), CatalogError> {
        sqlx::query(
            "UPDATE watch_posts SET attempts = attempts + 1, last_error = ?,
                 state = CASE WHEN ? THEN 'failed' ELSE state END
             WHERE source_id = ? AND post_key = ? AND state = 'pending'",
        )
        .bind(error)
        .bind(give_up)
        .bind(source_id)
        .bind(post_key)
        .execute(self.pool())
        .await?;
        Ok(())
    }

    /// Captured posts due for a re-check at `now` (not yet found deleted).
    pub async fn watch_posts_to_recheck(
        &self,
        now: &str,
        limit: i64,
    ) -> Result<Vec<WatchPost>, CatalogError> {
        let rows = sqlx::query(
            "SELECT * FROM watch_posts WHERE state = 'captured' AND gone_at IS NULL
               AND next_check_at <= ? ORDER BY next_check_at LIMIT ?",
        )
        .bind(now)
        .bind(limit)
        .fetch_all(self.pool())
        .await?;
        rows.iter().map(post_from_row).collect()
    }

    /// Records a re-check: `gone` (with how it showed) is kept from its first sighting;
    /// `changed` is every kind of change found so far (the caller's union), with the time of
    /// the first; the next check is scheduled.
    pub async fn record_watch_check(
        &self,
        source_id: i64,
        post_key: &str,
        at: &str,
        gone: Option<&str>,
        changed: Option<&str>,
        next_check_at: &str,
    ) -> Result<(), CatalogError> {
        sqlx::query(
            "UPDATE watch_posts SET last_checked_at = ?1, next_check_at = ?2,
                 gone_at = CASE WHEN ?3 IS NOT NULL THEN coalesce(gone_at, ?1) ELSE gone_at END,
                 gone_reason = coalesce(gone_reason, ?3),
                 changed_at = CASE WHEN ?4 IS NOT NULL THEN coalesce(changed_at, ?1)
                                   ELSE changed_at END,
                 changed_reason = coalesce(?4, changed_reason)
             WHERE source_id = ?5 AND post_key = ?6",
        )
        .bind(at)
        .bind(next_check_at)
        .bind(gone)
        .bind(changed)
        .bind(source_id)
        .bind(post_key)
        .execute(self.pool())
        .await?;
        Ok(())
    }

    /// Every successful capture of a watched post (its page, its media, later versions), in
    /// commit order, found by the source and key in their details (indexed).
    pub async fn watch_post_captures(
        &self,
        source_id: i64,
        post_key: &str,
    ) -> Result<Vec<WatchPostCapture>, CatalogError> {
        let rows = sqlx::query(
            "SELECT c.id, c.source,
                    (SELECT ci.sha256 FROM capture_items ci
                      WHERE ci.capture_id = c.id AND ci.role = 'body'
                      ORDER BY ci.position LIMIT 1) AS body_sha256,
                    json_extract(c.details, '$.watch.text') AS text,
                    json_extract(c.details, '$.watch.media_of') AS media_of,
                    json_extract(c.details, '$.watch.change_reason') AS change_reason
             FROM captures c
             WHERE json_extract(CASE WHEN json_valid(c.details) THEN c.details ELSE '{}' END,
                                '$.watch.source_id') = ?
               AND json_extract(CASE WHEN json_valid(c.details) THEN c.details ELSE '{}' END,
                                '$.watch.post_key') = ?
               AND c.status = 'ok'
             ORDER BY c.id",
        )
        .bind(source_id)
        .bind(post_key)
        .fetch_all(self.pool())
        .await?;
        rows.iter()
            .map(|row| {
                Ok(WatchPostCapture {
                    capture_id: row.try_get("id")?,
                    source: row.try_get("source")?,
                    body_sha256: row.try_get("body_sha256")?,
                    text: row.try_get("text")?,
                    media_of: row.try_get("media_of")?,
                    change_reason: row.try_get("change_reason")?,
                })
            })
            .collect()
    }

    /// Per source: posts seen, captured, pending, failed, and found deleted (one query, for
    /// `vigil watch list` and the web page).
    pub async fn watch_post_counts(
        &self,
    ) -> Result<std::collections::BTreeMap<i64, WatchCounts>, CatalogError> {
        let rows: Vec<(i64, i64, i64, i64, i64, i64, i64)> = sqlx::query_as(
            "SELECT source_id, count(*),
                    sum(state = 'captured'), sum(state = 'pending'), sum(state = 'failed'),
                    sum(gone_at IS NOT NULL), sum(changed_at IS NOT NULL)
             FROM watch_posts GROUP BY source_id",
        )
        .fetch_all(self.pool())
        .await?;
        Ok(rows
            .into_iter()
            .map(|(id, posts, captured, pending, failed, gone, changed)| {
                (
                    id,
                    WatchCounts {
                        posts,
                        captured,
                        pending,
                        failed,
                        gone,
                        changed,
                    },
                )
            })
            .collect())
    }

    /// The newest posts (first seen last) of these sources, at most `limit`, in one query.
    pub async fn recent_watch_posts(
        &self,
        source_ids: &[i64],
        limit: i64,
    ) -> Result<Vec<WatchPost>, CatalogError> {
        if source_ids.is_empty() {
            return Ok(Vec::new());
        }
        let mut q = sqlx::QueryBuilder::new("SELECT * FROM watch_posts WHERE source_id IN (");
        let mut ids = q.separated(", ");
        for id in source_ids {
            ids.push_bind(*id);
        }
        q.push(") ORDER BY first_seen_at DESC, rowid DESC LIMIT ");
        q.push_bind(limit);
        let rows = q.build().fetch_all(self.pool()).await?;
        rows.iter().map(post_from_row).collect()
    }

    /// The posts of a source: all, newest first seen first; or those found deleted (changed),
    /// most recently found first.
    pub async fn watch_posts_of(
        &self,
        source_id: i64,
        which: PostSelection,
        limit: i64,
    ) -> Result<Vec<WatchPost>, CatalogError> {
        let sql = match which {
            PostSelection::All => {
                "SELECT * FROM watch_posts WHERE source_id = ?
                 ORDER BY first_seen_at DESC, rowid DESC LIMIT ?"
            }
            PostSelection::Gone => {
                "SELECT * FROM watch_posts WHERE source_id = ? AND gone_at IS NOT NULL
                 ORDER BY gone_at DESC, rowid DESC LIMIT ?"
            }
            PostSelection::Changed => {
                "SELECT * FROM watch_posts WHERE source_id = ? AND changed_at IS NOT NULL
                 ORDER BY changed_at DESC, rowid DESC LIMIT ?"
            }
        };
        let rows = sqlx::query(sql)
            .bind(source_id)
            .bind(limit)
            .fetch_all(self.pool())
            .await?;
        rows.iter().map(post_from_row).collect()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    async fn catalog() -> (tempfile::TempDir, Catalog) {
        let dir = tempfile::tempdir().expect("tempdir");
        let cat = Catalog::open_sqlite(&dir.path().join("c.sqlite"), true)
            .await
            .expect("open");
        (dir, cat)
    }

    fn source<'a>(url: &'a str, at: &'a str, tags: &'a [String]) -> NewWatchSource<'a> {
        NewWatchSource {
            url,
            kind: "telegram",
            poll_url: "https://t.me/s/example_channel",
            every_secs: 600,
            recheck_secs: 21_600,
            note: Some("front-line channel"),
            tags,
            collection_id: 1,
            added_by: "tester",
            at,
        }
    }

    #[tokio::test(flavor = "multi_thread")]
    async fn sources_are_added_once_removed_and_watched_again() {
        let (_dir, cat) = catalog().await;
        let tags = vec!["pow".to_owned()];
        let url = "https://t.me/example_channel";
        let at = "2026-11-27T10:00:00.000000Z";
        let added = cat
            .add_watch_source(&source(url, at, &tags))
            .await
            .expect("add")
            .expect("new");
        assert_eq!(added.tags, tags);
        assert_eq!(added.next_poll_at, at, "due at once");
        assert!(
            cat.add_watch_source(&source(url, at, &tags))
                .await
                .expect("again")
                .is_none(),
            "already watched"
        );
        assert!(cat.remove_watch_source(added.id, at).await.expect("remove"));
        assert!(!cat.remove_watch_source(added.id, at).await.expect("twice"));
        assert!(cat.watch_sources(false).await.expect("list").is_empty());
        assert_eq!(cat.watch_sources(true).await.expect("all").len(), 1);
        let again = cat
            .add_watch_source(&source(url, "2026-11-28T10:00:00.000000Z", &tags))
            .await
            .expect("re-add")
            .expect("watched again");
        assert_eq!(again.id, added.id, "the same source, its posts kept");
        assert!(again.removed_at.is_none());
    }

    #[tokio::test(flavor = "multi_thread")]
    async fn posts_are_new_once_and_tracked_to_their_deletion() {
        let (_dir, cat) = catalog().await;
        let s = cat
            .add_watch_source(&source(
                "https://t.me/example_channel",
                "2026-11-27T10:00:00.000000Z",
                &[],
            ))
            .await
            .expect("add")
            .expect("new");
        let outcome = PollOutcome {
            at: "2026-11-27T10:00:01.000000Z",
            outcome: "ok",
            error: None,
            next_poll_at: "2026-11-27T10:10:00.000000Z",
            consecutive_failures: 0,
        };
        let post = |key: &'static str| SeenPost {
            post_key: key,
            url: "https://t.me/example_channel/1",
            author: Some("Example"),
            published_at: Some("2026-11-27T09:59:00Z"),
        };
        let new = cat
            .record_watch_poll(
                s.id,
                &outcome,
                &[post("example_channel/1"), post("example_channel/2")],
            )
            .await
            .expect("poll");
        assert_eq!(new.len(), 2);
        let new = cat
            .record_watch_poll(
                s.id,
                &outcome,
                &[post("example_channel/2"), post("example_channel/3")],
            )
            .await
            .expect("poll again");
        assert_eq!(new, ["example_channel/3"], "only the unseen post is new");
        let keys = |k: &[&str]| k.iter().map(|s| s.to_string()).collect::<Vec<_>>();
        assert_eq!(
            cat.watch_posts_known(s.id, &keys(&["example_channel/3", "example_channel/9"]))
                .await
                .expect("known"),
            1
        );
        assert_eq!(cat.watch_posts_known(s.id, &[]).await.expect("known"), 0);
        assert!(
            cat.due_watch_sources("2026-11-27T10:05:00.000000Z", 10)
                .await
                .expect("due")
                .is_empty(),
            "not due before its next poll"
        );
        assert_eq!(cat.pending_watch_posts(10).await.expect("pending").len(), 3);
        cat.watch_capture_failed(s.id, "example_channel/3", "timeout", true)
            .await
            .expect("failed");
        assert_eq!(cat.pending_watch_posts(10).await.expect("pending").len(), 2);

        // A linked capture; then the post is found deleted, and stays so from that moment.
        let capture = crate::test_support::capture(&[crate::Sha256Digest::of(b"post")]);
        let ids = cat.commit_captures(&[capture]).await.expect("capture");
        cat.link_watch_capture(
            s.id,
            "example_channel/1",
            ids[0],
            "2026-11-27T16:00:00.000000Z",
        )
        .await
        .expect("link");
        let due = cat
            .watch_posts_to_recheck("2026-11-27T17:00:00.000000Z", 10)
            .await
            .expect("due");
        assert_eq!(due.len(), 1);
        for at in ["2026-11-27T17:00:00.000000Z", "2026-11-27T23:00:00.000000Z"] {
            cat.record_watch_check(
                s.id,
                "example_channel/1",
                at,
                Some("http-404"),
                None,
                "2026-11-28T05:00:00.000000Z",
            )
            .await
            .expect("check");
        }
        let posts = cat
            .watch_posts_of(s.id, PostSelection::All, 10)
            .await
            .expect("posts");
        assert_eq!(
            cat.watch_posts_of(s.id, PostSelection::Gone, 10)
                .await
                .expect("gone")
                .len(),
            1
        );
        let gone = posts
            .iter()
            .find(|p| p.post_key == "example_channel/1")
            .expect("post");
        assert_eq!(gone.gone_at.as_deref(), Some("2026-11-27T17:00:00.000000Z"));
        assert_eq!(gone.gone_reason.as_deref(), Some("http-404"));
        assert_eq!(gone.capture_id, Some(ids[0]));
        let counts = cat.watch_post_counts().await.expect("counts")[&s.id];
        assert_eq!(
            counts,
            WatchCounts {
                posts: 3,
                captured: 1,
                pending: 1,
                failed: 1,
                gone: 1,
                changed: 0,
            }
        );

        // A capture committed for a post but not linked (a kill in between) is found again.
        let mut orphan = crate::test_support::capture(&[crate::Sha256Digest::of(b"post 2")]);
        orphan.source = "https://t.me/example_channel/2".into();
        orphan.details =
            serde_json::json!({ "watch": { "source_id": s.id, "post_key": "example_channel/2" } });
        let orphan_id = cat.commit_captures(&[orphan]).await.expect("orphan")[0];
        let found = cat
            .capture_of_watch_post(s.id, "example_channel/2", "https://t.me/example_channel/2")
            .await
            .expect("lookup");
        assert_eq!(found, Some(orphan_id));
        assert_eq!(
            cat.capture_of_watch_post(s.id, "example_channel/9", "https://t.me/example_channel/2")
                .await
                .expect("lookup"),
            None
        );
    }

    #[tokio::test]
    async fn a_posts_captures_are_found_and_its_changes_kept_from_first_sighting() {
        let (_dir, cat) = catalog().await;
        let s = cat
            .add_watch_source(&source(
                "https://t.me/example_channel",
                "2026-11-27T10:00:00.000000Z",
                &[],
            ))
            .await
            .expect("add")
            .expect("new");
        let watch = |media_of: Option<&str>, change: Option<&str>| {
            serde_json::json!({ "watch": {
                "source_id": s.id, "post_key": "example_channel/5", "text": "held text",
                "media_of": media_of, "change_reason": change,
            }})
        };
        let mut page = crate::test_support::capture(&[crate::Sha256Digest::of(b"page")]);
        page.source = "https://t.me/example_channel/5".into();
        page.details = watch(None, None);
        let mut photo = crate::test_support::capture(&[crate::Sha256Digest::of(b"photo")]);
        photo.source = "https://cdn.example/photo.jpg".into();
        photo.items[0].role = "body".into();
        photo.details = watch(
            Some("https://t.me/example_channel/5"),
            Some("media-replaced"),
        );
        let mut other = crate::test_support::capture(&[crate::Sha256Digest::of(b"other")]);
        other.details = serde_json::json!({ "watch": { "source_id": s.id, "post_key": "x/1" } });
        let ids = cat
            .commit_captures(&[page, photo, other])
            .await
            .expect("commit");
        let found = cat
            .watch_post_captures(s.id, "example_channel/5")
            .await
            .expect("captures");
        assert_eq!(found.len(), 2, "only this post's captures: {found:?}");
        assert_eq!(found[0].capture_id, ids[0]);
        assert_eq!(found[0].body_sha256, None, "a file item is not a body");
        assert_eq!(found[0].text.as_deref(), Some("held text"));
        assert_eq!(
            found[1].body_sha256,
            Some(crate::Sha256Digest::of(b"photo").to_hex())
        );
        assert_eq!(
            found[1].media_of.as_deref(),
            Some("https://t.me/example_channel/5")
        );
        assert_eq!(found[1].change_reason.as_deref(), Some("media-replaced"));

        cat.record_watch_poll(
            s.id,
            &PollOutcome {
                at: "2026-11-27T10:00:01.000000Z",
                outcome: "ok",
                error: None,
                next_poll_at: "2026-11-27T10:10:00.000000Z",
                consecutive_failures: 0,
            },
            &[SeenPost {
                post_key: "example_channel/5",
                url: "https://t.me/example_channel/5",
                author: None,
                published_at: None,
            }],
        )
        .await
        .expect("poll");
        for (at, reason) in [
            ("2026-11-27T17:00:00.000000Z", "media-replaced"),
            ("2026-11-27T23:00:00.000000Z", "media-replaced,text-edited"),
        ] {
            cat.record_watch_check(
                s.id,
                "example_channel/5",
                at,
                None,
                Some(reason),
                "2026-11-28T05:00:00.000000Z",
            )
            .await
            .expect("check");
        }
        let post = cat
            .watch_posts_of(s.id, PostSelection::Changed, 10)
            .await
            .expect("posts")[0]
            .clone();
        assert_eq!(
            cat.recent_watch_posts(&[s.id, 99], 5)
                .await
                .expect("recent"),
            std::slice::from_ref(&post)
        );
        assert!(
            cat.recent_watch_posts(&[99], 5)
                .await
                .expect("recent")
                .is_empty()
        );
        assert_eq!(
            post.changed_at.as_deref(),
            Some("2026-11-27T17:00:00.000000Z")
        );
        assert_eq!(
            post.changed_reason.as_deref(),
            Some("media-replaced,text-edited")
        );
        assert_eq!(post.gone_at, None);
        assert_eq!(
            cat.watch_post_counts().await.expect("counts")[&s.id].changed,
            1
        );
    }
}
