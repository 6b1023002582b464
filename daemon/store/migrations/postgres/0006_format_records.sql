-- Format records. The whole record is JSON; what filters reach is a plain column. The
-- `format.parameters` tag drops used to set becomes the parameters column (and leaves the tags).
ALTER TABLE versions ADD COLUMN IF NOT EXISTS format_info jsonb DEFAULT '{}';
ALTER TABLE versions ADD COLUMN IF NOT EXISTS format_parameters bigint DEFAULT 0;
ALTER TABLE versions ADD COLUMN IF NOT EXISTS format_architecture text DEFAULT '';
ALTER TABLE versions ADD COLUMN IF NOT EXISTS format_framework text DEFAULT '';
ALTER TABLE versions ADD COLUMN IF NOT EXISTS format_dtypes jsonb DEFAULT '[]';
ALTER TABLE files ADD COLUMN IF NOT EXISTS format_info jsonb DEFAULT '{}';
-- As DuckDB's TRY_CAST(... AS BIGINT): a decimal number, rounded half away from zero, that fits a
-- bigint; else nothing. PostgreSQL has no TRY_CAST, so only text shaped as a number is cast (hex,
-- binary and digits with underscores, which DuckDB also reads, were never written by studbook).
WITH parsed AS (
    SELECT model, number,
           -- Nested, since PostgreSQL does not promise to evaluate an AND's operands in order.
           CASE WHEN tags->>'format.parameters' ~ '^[ \t\n\r\f\v]*[+-]?([0-9]+\.?[0-9]*|\.[0-9]+)([eE][+-]?[0-9]{1,3})?[ \t\n\r\f\v]*$'
                THEN CASE WHEN round((tags->>'format.parameters')::numeric)
                               BETWEEN -9223372036854775808 AND 9223372036854775807
                          THEN round((tags->>'format.parameters')::numeric)::bigint END
           END AS parameters
    FROM versions
    WHERE tags ? 'format.parameters'
)
UPDATE versions SET
    format_parameters = coalesce(parsed.parameters, 0),
    format_info = CASE WHEN parsed.parameters > 0
        THEN jsonb_build_object('parameters', parsed.parameters)
        ELSE '{}' END,
    tags = versions.tags - 'format.parameters'
FROM parsed
WHERE versions.model = parsed.model AND versions.number = parsed.number;
