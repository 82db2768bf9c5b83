-- PostgreSQL stores its search tsvector in this migration; SQLite's FTS5 table (migration
-- 2026-11-26-000005) already holds its tokens. Nothing changes here; the folder keeps the two
-- trees' names in step.
SELECT 1;
