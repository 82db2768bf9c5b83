-- The public catalogue filters and sorts on each revision's reference price: the eligible cost
-- of the basic package (a subscription at its minimum term, counted to the fundable months).
ALTER TABLE package_revisions ADD COLUMN reference_price_cents BIGINT CHECK (reference_price_cents > 0);

CREATE INDEX packages_catalogue ON packages (status, category, target_sector);
CREATE INDEX packages_listed ON packages (status, listed_at);
