-- What the catalogue shows, on the package row itself: `visible` (listed, with a live
-- revision, of an approved vendor) and the live revision's `reference_price_cents`. The
-- catalogue's pages, facet counts and searches then read one table through partial indexes
-- over the visible packages, instead of joining every listed package to its vendor and
-- revision before counting (src/catalogue/store.rs; README "Catalogue misses").
--
-- The columns are kept by triggers, so that no write path can forget them: any write of a
-- package's status, live revision or vendor (or of the two columns themselves) recomputes both;
-- a vendor's change of status and a live revision's change of price touch the packages they
-- affect, which recomputes theirs.
ALTER TABLE packages ADD COLUMN visible BOOLEAN NOT NULL DEFAULT FALSE;
ALTER TABLE packages ADD COLUMN reference_price_cents BIGINT;

CREATE FUNCTION packages_catalogue_columns() RETURNS trigger AS $$
BEGIN
    NEW.reference_price_cents := (
        SELECT r.reference_price_cents FROM package_revisions r WHERE r.id = NEW.live_revision_id);
    NEW.visible := NEW.status = 'listed' AND NEW.live_revision_id IS NOT NULL
        AND EXISTS (SELECT 1 FROM vendors v WHERE v.id = NEW.vendor_id AND v.status = 'approved');
    RETURN NEW;
END;
$$ LANGUAGE plpgsql;
CREATE TRIGGER packages_catalogue_columns
    BEFORE INSERT OR UPDATE OF status, live_revision_id, vendor_id, visible, reference_price_cents
    ON packages FOR EACH ROW EXECUTE FUNCTION packages_catalogue_columns();

CREATE FUNCTION vendors_catalogue_columns() RETURNS trigger AS $$
BEGIN
    -- Touching `visible` makes the packages' own trigger recompute it.
    UPDATE packages SET visible = visible WHERE vendor_id = NEW.id;
    RETURN NULL;
END;
$$ LANGUAGE plpgsql;
CREATE TRIGGER vendors_catalogue_columns AFTER UPDATE OF status ON vendors
    FOR EACH ROW WHEN (OLD.status IS DISTINCT FROM NEW.status)
    EXECUTE FUNCTION vendors_catalogue_columns();

CREATE FUNCTION package_revisions_catalogue_columns() RETURNS trigger AS $$
BEGIN
    UPDATE packages SET reference_price_cents = NULL WHERE live_revision_id = NEW.id;
    RETURN NULL;
END;
$$ LANGUAGE plpgsql;
CREATE TRIGGER package_revisions_catalogue_columns AFTER UPDATE OF reference_price_cents ON package_revisions
    FOR EACH ROW WHEN (OLD.reference_price_cents IS DISTINCT FROM NEW.reference_price_cents)
    EXECUTE FUNCTION package_revisions_catalogue_columns();

UPDATE packages SET visible = visible;

-- The facet counts of listings filtered at most by category and sector (the catalogue's
-- landing page and most requests): visible packages per (category, sector), kept by a trigger
-- on every package row change, so that those counts read a dozen rows instead of counting
-- 10,000 index entries (4 ms) per request. Each firing moves one package between cells, from
-- its old row version to its new one.
CREATE TABLE catalogue_facet_counts (
    category      TEXT NOT NULL,
    target_sector TEXT NOT NULL,
    package_count BIGINT NOT NULL CHECK (package_count >= 0),
    PRIMARY KEY (category, target_sector)
);
INSERT INTO catalogue_facet_counts (category, target_sector, package_count)
    SELECT category, target_sector, COUNT(*) FROM packages WHERE visible GROUP BY category, target_sector;

CREATE FUNCTION catalogue_facet_counts_follow() RETURNS trigger AS $$
BEGIN
    IF TG_OP = 'UPDATE' AND OLD.visible = NEW.visible AND OLD.category = NEW.category
       AND OLD.target_sector = NEW.target_sector THEN
        RETURN NULL;
    END IF;
    IF TG_OP IN ('UPDATE', 'DELETE') AND OLD.visible THEN
        UPDATE catalogue_facet_counts SET package_count = package_count - 1
        WHERE category = OLD.category AND target_sector = OLD.target_sector;
    END IF;
    IF TG_OP IN ('INSERT', 'UPDATE') AND NEW.visible THEN
        INSERT INTO catalogue_facet_counts (category, target_sector, package_count)
        VALUES (NEW.category, NEW.target_sector, 1)
        ON CONFLICT (category, target_sector) DO UPDATE SET package_count = catalogue_facet_counts.package_count + 1;
    END IF;
    RETURN NULL;
END;
$$ LANGUAGE plpgsql;
CREATE TRIGGER catalogue_facet_counts_follow AFTER INSERT OR UPDATE OR DELETE ON packages
    FOR EACH ROW EXECUTE FUNCTION catalogue_facet_counts_follow();

-- The visible packages newest first, by price, and by facet (index-only counts).
CREATE INDEX packages_visible_newest ON packages (listed_at, id) WHERE visible;
CREATE INDEX packages_visible_price ON packages (reference_price_cents, id) WHERE visible;
CREATE INDEX packages_visible_facets ON packages (category, target_sector, reference_price_cents, vendor_id) WHERE visible;
-- Replaced by the three above.
DROP INDEX packages_catalogue;
DROP INDEX packages_listed;
