-- Every application updates its SME's row (the cap it holds), and every release, approval and
-- withdrawal does again. An update that finds no room on the row's page writes the new version
-- elsewhere and adds an entry to each of the table's seven indexes; with room, PostgreSQL
-- updates the row in place as a heap-only tuple (HOT), touching no index. Registration fills
-- the table's pages to the brim, so almost no first update found room: keep a fifth of each
-- page free. Applies to pages written from now on (`VACUUM FULL smes` rewrites the others).
ALTER TABLE smes SET (fillfactor = 80);
