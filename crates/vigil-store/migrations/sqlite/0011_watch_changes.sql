-- Changed posts (issue 9): why a re-check found a captured post no longer what we hold
-- (`media-replaced`, `media-removed`, `media-added`, `text-edited`, comma-separated when
-- several), and an index to find every capture of one watched post from its details.
--
-- The index expression guards with json_valid so that a damaged row (reported by `vigil
-- verify`) can never make this migration, or a later insert, fail; queries repeat it exactly.

ALTER TABLE watch_posts ADD COLUMN changed_reason TEXT;

CREATE INDEX captures_by_watch_post ON captures (
    json_extract(CASE WHEN json_valid(details) THEN details ELSE '{}' END, '$.watch.source_id'),
    json_extract(CASE WHEN json_valid(details) THEN details ELSE '{}' END, '$.watch.post_key')
);
