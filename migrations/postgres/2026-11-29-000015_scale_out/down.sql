DROP INDEX applications_created;
CREATE OR REPLACE FUNCTION budget_ledger_append_only() RETURNS trigger AS $$
BEGIN
    RAISE EXCEPTION 'budget_ledger is append-only';
END;
$$ LANGUAGE plpgsql;
ALTER TABLE budget_pools ADD COLUMN ledger_seq BIGINT NOT NULL DEFAULT 0 CHECK (ledger_seq >= 0);
UPDATE budget_pools SET ledger_seq = (SELECT COALESCE(MAX(seq), 0) FROM budget_ledger) WHERE id = 'programme';
DROP INDEX budget_ledger_unnumbered;
DROP INDEX budget_ledger_seq;
CREATE UNIQUE INDEX budget_ledger_seq ON budget_ledger (seq);
ALTER TABLE budget_ledger DROP CONSTRAINT budget_ledger_check1;
ALTER TABLE budget_ledger ADD CONSTRAINT budget_ledger_check1 CHECK ((kind = 'adjust') = (application_id IS NULL));
ALTER TABLE budget_ledger DROP CONSTRAINT budget_ledger_check;
ALTER TABLE budget_ledger ADD CONSTRAINT budget_ledger_check CHECK (amount_cents <> 0 AND (kind = 'adjust' OR amount_cents > 0));
ALTER TABLE budget_ledger DROP CONSTRAINT budget_ledger_kind_check;
ALTER TABLE budget_ledger ADD CONSTRAINT budget_ledger_kind_check
    CHECK (kind IN ('adjust', 'reserve', 'commit', 'release_reserved', 'release_committed', 'disburse'));
DROP TRIGGER programme_rules_catalogue_changed ON programme_rules;
DROP TRIGGER categories_catalogue_changed ON categories;
DROP TRIGGER vendors_catalogue_changed ON vendors;
DROP TRIGGER package_options_catalogue_changed ON package_options;
DROP TRIGGER package_revisions_catalogue_changed ON package_revisions;
DROP TRIGGER packages_catalogue_changed ON packages;
DROP FUNCTION catalogue_changed();
