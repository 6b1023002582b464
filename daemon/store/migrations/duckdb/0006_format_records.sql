-- Format records. The whole record is JSON; what filters reach is a plain column. The
-- `format.parameters` tag drops used to set becomes the parameters column (and leaves the tags).
ALTER TABLE versions ADD COLUMN IF NOT EXISTS format_info JSON DEFAULT '{}';
ALTER TABLE versions ADD COLUMN IF NOT EXISTS format_parameters BIGINT DEFAULT 0;
ALTER TABLE versions ADD COLUMN IF NOT EXISTS format_architecture VARCHAR DEFAULT '';
ALTER TABLE versions ADD COLUMN IF NOT EXISTS format_framework VARCHAR DEFAULT '';
ALTER TABLE versions ADD COLUMN IF NOT EXISTS format_dtypes JSON DEFAULT '[]';
ALTER TABLE files ADD COLUMN IF NOT EXISTS format_info JSON DEFAULT '{}';
UPDATE versions SET
    format_parameters = coalesce(TRY_CAST(tags->>'$."format.parameters"' AS BIGINT), 0),
    format_info = CASE WHEN TRY_CAST(tags->>'$."format.parameters"' AS BIGINT) > 0
        THEN json_object('parameters', TRY_CAST(tags->>'$."format.parameters"' AS BIGINT))
        ELSE '{}' END,
    tags = json_merge_patch(tags, '{"format.parameters": null}')
WHERE json_exists(tags, '$."format.parameters"');
