-- What the catalogue shows, on the package row itself: `visible` (listed, with a live
-- revision, of an approved vendor) and the live revision's `reference_price_cents`, so that the
-- catalogue reads one table through partial indexes (see the PostgreSQL migration). Kept by
-- triggers: SQLite's triggers cannot assign NEW, so each one updates the row after the fact
-- (recursive triggers are off, so the update does not fire its own trigger again).
ALTER TABLE packages ADD COLUMN visible BOOLEAN NOT NULL DEFAULT 0;
ALTER TABLE packages ADD COLUMN reference_price_cents BIGINT;

-- A new row: touching `visible` makes the update trigger below compute both columns.
CREATE TRIGGER packages_catalogue_columns_insert AFTER INSERT ON packages
BEGIN
    UPDATE packages SET visible = visible WHERE id = NEW.id;
END;

CREATE TRIGGER packages_catalogue_columns_update
    AFTER UPDATE OF status, live_revision_id, vendor_id, visible, reference_price_cents ON packages
BEGIN
    UPDATE packages SET
        reference_price_cents = (
            SELECT r.reference_price_cents FROM package_revisions r WHERE r.id = NEW.live_revision_id),
        visible = (NEW.status = 'listed' AND NEW.live_revision_id IS NOT NULL
            AND EXISTS (SELECT 1 FROM vendors v WHERE v.id = NEW.vendor_id AND v.status = 'approved'))
    WHERE id = NEW.id;
END;

-- Touching `visible` makes the packages' own trigger recompute it.
CREATE TRIGGER vendors_catalogue_columns AFTER UPDATE OF status ON vendors
    WHEN OLD.status IS NOT NEW.status
BEGIN
    UPDATE packages SET visible = visible WHERE vendor_id = NEW.id;
END;

CREATE TRIGGER package_revisions_catalogue_columns AFTER UPDATE OF reference_price_cents ON package_revisions
    WHEN OLD.reference_price_cents IS NOT NEW.reference_price_cents
BEGIN
    UPDATE packages SET reference_price_cents = NULL WHERE live_revision_id = NEW.id;
END;

UPDATE packages SET visible = visible;

-- Facet counts of listings filtered at most by category and sector, kept by triggers (see the
-- PostgreSQL migration). Each firing moves one package from its old row version's cell to its
-- new one's, so nested updates (the column triggers above) add up to the final row.
CREATE TABLE catalogue_facet_counts (
    category      TEXT NOT NULL,
    target_sector TEXT NOT NULL,
    package_count BIGINT NOT NULL CHECK (package_count >= 0),
    PRIMARY KEY (category, target_sector)
);
INSERT INTO catalogue_facet_counts (category, target_sector, package_count)
    SELECT category, target_sector, COUNT(*) FROM packages WHERE visible GROUP BY category, target_sector;

CREATE TRIGGER catalogue_facet_counts_insert AFTER INSERT ON packages WHEN NEW.visible
BEGIN
    INSERT INTO catalogue_facet_counts (category, target_sector, package_count)
    VALUES (NEW.category, NEW.target_sector, 1)
    ON CONFLICT (category, target_sector) DO UPDATE SET package_count = package_count + 1;
END;
CREATE TRIGGER catalogue_facet_counts_update AFTER UPDATE ON packages
    WHEN OLD.visible IS NOT NEW.visible OR OLD.category IS NOT NEW.category
        OR OLD.target_sector IS NOT NEW.target_sector
BEGIN
    UPDATE catalogue_facet_counts SET package_count = package_count - 1
    WHERE OLD.visible AND category = OLD.category AND target_sector = OLD.target_sector;
    INSERT INTO catalogue_facet_counts (category, target_sector, package_count)
    SELECT NEW.category, NEW.target_sector, 1 WHERE NEW.visible
    ON CONFLICT (category, target_sector) DO UPDATE SET package_count = package_count + 1;
END;
CREATE TRIGGER catalogue_facet_counts_delete AFTER DELETE ON packages WHEN OLD.visible
BEGIN
    UPDATE catalogue_facet_counts SET package_count = package_count - 1
    WHERE category = OLD.category AND target_sector = OLD.target_sector;
END;

CREATE INDEX packages_visible_newest ON packages (listed_at, id) WHERE visible;
CREATE INDEX packages_visible_price ON packages (reference_price_cents, id) WHERE visible;
CREATE INDEX packages_visible_facets ON packages (category, target_sector, reference_price_cents, vendor_id) WHERE visible;
DROP INDEX packages_catalogue;
DROP INDEX packages_listed;
