-- The catalogue's search on PostgreSQL, as postings that answer a broad search from a few
-- index pages instead of every match's package row (src/catalogue/store.rs; README "Catalogue
-- misses").
--
-- A package's search document (`packages.search_document`, built by src/catalogue/search.rs)
-- holds its distinct tokens. `package_terms` holds one row per visible package and every
-- prefix of every token: a query's whole word or CJK token is one equality lookup, and the
-- last word typed, a prefix, is one too (no range to scan, and no package met twice). Each row
-- carries what a search needs of its package, so that the lookup is an index-only scan:
--   rank: the package's place among the term's packages, lower first: the number of tokens of
--         its document (a shorter document is about fewer things), plus 2^32 when the term is
--         only a prefix of its words there (a whole word first). Rank < 2^32: a whole token.
--   category, target_sector: the facets.
-- The primary key is the order a page reads: the first page of a search is the first rows of
-- its term, however many packages match.
--
-- `package_term_cells` keeps each term's matches per (category, target_sector), as
-- `catalogue_facet_counts` does for the listing: the facets of a one-term search are a dozen
-- rows, whole tokens and prefixes counted apart.
--
-- Both tables follow the packages by a trigger on every change of a package's document,
-- visibility, category or sector (a vendor's suspension included: it touches `visible`), so
-- that no write path can forget them. Replaces the stored tsvector and its GIN index
-- (migration 000006), which no query reads any more.
CREATE TABLE package_terms (
    term          TEXT COLLATE "C" NOT NULL,
    rank          BIGINT NOT NULL,
    package_id    TEXT COLLATE "C" NOT NULL,
    category      TEXT NOT NULL,
    target_sector TEXT NOT NULL,
    PRIMARY KEY (term, rank, package_id) INCLUDE (category, target_sector)
);

CREATE TABLE package_term_cells (
    term          TEXT COLLATE "C" NOT NULL,
    category      TEXT NOT NULL,
    target_sector TEXT NOT NULL,
    -- No CHECK (>= 0): the trigger's upsert proposes each change as a row of deltas, which
    -- PostgreSQL checks before it finds the row to add them to.
    packages      BIGINT NOT NULL,
    whole         BIGINT NOT NULL,
    PRIMARY KEY (term, category, target_sector)
);

-- A document's terms: every prefix of every token, each once, with its rank.
CREATE FUNCTION package_terms_of(document TEXT) RETURNS TABLE (term TEXT, rank BIGINT) AS $$
    WITH token AS (
        SELECT DISTINCT t FROM unnest(string_to_array(document, ' ')) AS t WHERE t <> ''
    ), prefix AS (
        SELECT left(t, n) AS term, n = char_length(t) AS whole
        FROM token, generate_series(1, char_length(t)) AS n
    )
    SELECT term COLLATE "C",
           CASE WHEN bool_or(whole) THEN 0 ELSE 4294967296 END + (SELECT count(*) FROM token)
    FROM prefix GROUP BY term
$$ LANGUAGE sql IMMUTABLE;

-- A package's change moves its rows out of and into the postings: each statement finds its rows
-- by key (the old ones by their terms and two possible ranks; a plan of its own cannot scan the
-- table), and each document is expanded once.
CREATE FUNCTION package_terms_follow() RETURNS trigger AS $$
DECLARE
    old_terms TEXT[];
    old_ranks BIGINT[];
    new_terms TEXT[];
    new_ranks BIGINT[];
BEGIN
    -- A bulk load (`dtspp seed`) defers the postings to one rebuild at its end: thousands of
    -- packages in one transaction would each update the same hot cells ('p', 'po', …), and
    -- each update of a row the transaction has already updated walks the row's versions.
    IF current_setting('dtspp.package_terms', true) = 'deferred' THEN
        RETURN NULL;
    END IF;
    IF TG_OP = 'UPDATE' AND OLD.visible = NEW.visible AND OLD.category = NEW.category
       AND OLD.target_sector = NEW.target_sector
       AND OLD.search_document IS NOT DISTINCT FROM NEW.search_document THEN
        RETURN NULL;
    END IF;
    IF TG_OP IN ('UPDATE', 'DELETE') AND OLD.visible THEN
        SELECT array_agg(term), array_agg(rank) INTO old_terms, old_ranks
        FROM package_terms_of(OLD.search_document);
        DELETE FROM package_terms
        WHERE term = ANY (old_terms) AND rank = ANY (old_ranks) AND package_id = OLD.id;
    END IF;
    IF TG_OP IN ('INSERT', 'UPDATE') AND NEW.visible THEN
        SELECT array_agg(term), array_agg(rank) INTO new_terms, new_ranks
        FROM package_terms_of(NEW.search_document);
        INSERT INTO package_terms (term, rank, package_id, category, target_sector)
        SELECT term, rank, NEW.id, NEW.category, NEW.target_sector
        FROM unnest(new_terms, new_ranks) AS n(term, rank);
    END IF;
    -- The counts move in one statement, in key order, so that two packages changing at once
    -- take their cells' row locks in the same order.
    INSERT INTO package_term_cells AS c (term, category, target_sector, packages, whole)
    SELECT term, category, target_sector, SUM(n), COALESCE(SUM(n) FILTER (WHERE rank < 4294967296), 0)
    FROM (
        SELECT o.term, o.rank, OLD.category AS category, OLD.target_sector AS target_sector, -1 AS n
        FROM unnest(old_terms, old_ranks) AS o(term, rank)
        UNION ALL
        SELECT o.term, o.rank, NEW.category, NEW.target_sector, 1
        FROM unnest(new_terms, new_ranks) AS o(term, rank)
    ) AS moves
    GROUP BY term, category, target_sector
    HAVING SUM(n) <> 0 OR COALESCE(SUM(n) FILTER (WHERE rank < 4294967296), 0) <> 0
    ORDER BY term, category, target_sector
    ON CONFLICT (term, category, target_sector) DO UPDATE
        SET packages = c.packages + excluded.packages, whole = c.whole + excluded.whole;
    RETURN NULL;
END;
$$ LANGUAGE plpgsql
-- Planned while the table is small (a new database, a seed that fills it in one transaction),
-- a plan that scans it whole would be kept for the session and read ever more rows per package.
SET enable_seqscan = off;
CREATE TRIGGER package_terms_follow AFTER INSERT OR UPDATE OR DELETE ON packages
    FOR EACH ROW EXECUTE FUNCTION package_terms_follow();

-- Both tables afresh from the visible packages: here, and at the end of a bulk load that
-- deferred the trigger (src/catalogue/terms.rs, `rebuild`). The lock keeps other transactions'
-- triggers out until the rebuild commits.
CREATE FUNCTION package_terms_rebuild() RETURNS void AS $$
    LOCK TABLE package_terms, package_term_cells IN EXCLUSIVE MODE;
    DELETE FROM package_terms;
    DELETE FROM package_term_cells;
    INSERT INTO package_terms (term, rank, package_id, category, target_sector)
        SELECT o.term, o.rank, p.id, p.category, p.target_sector
        FROM packages p, package_terms_of(p.search_document) AS o WHERE p.visible;
    INSERT INTO package_term_cells (term, category, target_sector, packages, whole)
        SELECT term, category, target_sector, COUNT(*), COUNT(*) FILTER (WHERE rank < 4294967296)
        FROM package_terms GROUP BY term, category, target_sector;
$$ LANGUAGE sql;
SELECT package_terms_rebuild();

DROP INDEX packages_search_vector;
ALTER TABLE packages DROP COLUMN search_vector;
