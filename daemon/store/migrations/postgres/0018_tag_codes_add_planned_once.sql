-- tag_codes_add (migration 17) as PL/pgSQL: a LANGUAGE sql function that inserts is planned at
-- every call, and the insert trigger calls it for every statement that inserts versions, whether
-- they carry tags or not: 0.28 ms of the server's time a group of registrations (measured with
-- pg_stat_statements, two daemons), where its insert took 0.02. PL/pgSQL keeps the plan for the
-- session. The parameter keeps its name (a replaced function cannot rename it).
CREATE OR REPLACE FUNCTION tag_codes_add(tags jsonb[]) RETURNS void LANGUAGE plpgsql AS $$
BEGIN
    INSERT INTO tag_codes (key, value)
    SELECT DISTINCT t.key, t.value FROM unnest(tags) a(version_tags), jsonb_each_text(a.version_tags) t(key, value)
    WHERE t.value IS NOT NULL AND octet_length(t.key) + octet_length(t.value) <= 2000
      AND (SELECT c.code FROM tag_codes c WHERE c.key = t.key AND c.value = t.value) IS NULL
    ON CONFLICT (key, value) DO NOTHING;
END $$;
