DROP INDEX packages_listed;
DROP INDEX packages_catalogue;
ALTER TABLE package_revisions DROP COLUMN reference_price_cents;
