-- Escrow shards of the programme budget (src/budget/escrow.rs). Besides the row 'programme'
-- (the root), the budget may hold shard rows 'programme/NN', each with its own buckets, so that
-- applications reserve on different rows instead of all queueing on one. Money moves between
-- rows only by `transfer` ledger entries (signed, in pairs that sum to zero); the programme's
-- balances are the sums over the rows, and each row's buckets still sum to its own total. An
-- application's money stays on the row its `reserve` entry names until it is released, when
-- it returns to the root.

ALTER TABLE budget_ledger DROP CONSTRAINT budget_ledger_kind_check;
ALTER TABLE budget_ledger ADD CONSTRAINT budget_ledger_kind_check
    CHECK (kind IN ('adjust', 'reserve', 'commit', 'release_reserved', 'release_committed', 'disburse', 'transfer'));
ALTER TABLE budget_ledger DROP CONSTRAINT budget_ledger_check;
ALTER TABLE budget_ledger ADD CONSTRAINT budget_ledger_check
    CHECK (amount_cents <> 0 AND (kind IN ('adjust', 'transfer') OR amount_cents > 0));
ALTER TABLE budget_ledger DROP CONSTRAINT budget_ledger_check1;
ALTER TABLE budget_ledger ADD CONSTRAINT budget_ledger_check1
    CHECK ((kind IN ('adjust', 'transfer')) = (application_id IS NULL));

-- Entries are numbered after they commit, not while they hold the root row: an entry is
-- inserted with seq 0 and numbered once, by the next reader of the ledger, after every entry
-- numbered before it (src/budget/store.rs::number_entries). A reader paging forward by number
-- therefore never skips one, and no money movement waits for a ledger counter.
DROP INDEX budget_ledger_seq;
CREATE UNIQUE INDEX budget_ledger_seq ON budget_ledger (seq) WHERE seq > 0;
CREATE INDEX budget_ledger_unnumbered ON budget_ledger (occurred_at, id) WHERE seq = 0;
ALTER TABLE budget_pools DROP COLUMN ledger_seq;

CREATE OR REPLACE FUNCTION budget_ledger_append_only() RETURNS trigger AS $$
BEGIN
    -- The one change allowed: numbering an entry, once.
    IF TG_OP = 'UPDATE' AND OLD.seq = 0 AND NEW.seq > 0
       AND (to_jsonb(NEW) - 'seq') = (to_jsonb(OLD) - 'seq') THEN
        RETURN NEW;
    END IF;
    RAISE EXCEPTION 'budget_ledger is append-only';
END;
$$ LANGUAGE plpgsql;

-- Catalogue changes across instances (src/catalogue/changes.rs): every statement that changes
-- a table the catalogue shows notifies 'dtspp_catalogue' when it commits (PostgreSQL delivers
-- notifications at commit, once per transaction and channel), and every instance listening
-- retires its cached catalogue.
CREATE FUNCTION catalogue_changed() RETURNS trigger AS $$
BEGIN
    PERFORM pg_notify('dtspp_catalogue', '');
    RETURN NULL;
END;
$$ LANGUAGE plpgsql;
CREATE TRIGGER packages_catalogue_changed AFTER INSERT OR UPDATE OR DELETE OR TRUNCATE ON packages
    FOR EACH STATEMENT EXECUTE FUNCTION catalogue_changed();
CREATE TRIGGER package_revisions_catalogue_changed AFTER INSERT OR UPDATE OR DELETE OR TRUNCATE ON package_revisions
    FOR EACH STATEMENT EXECUTE FUNCTION catalogue_changed();
CREATE TRIGGER package_options_catalogue_changed AFTER INSERT OR UPDATE OR DELETE OR TRUNCATE ON package_options
    FOR EACH STATEMENT EXECUTE FUNCTION catalogue_changed();
CREATE TRIGGER vendors_catalogue_changed AFTER INSERT OR UPDATE OR DELETE OR TRUNCATE ON vendors
    FOR EACH STATEMENT EXECUTE FUNCTION catalogue_changed();
CREATE TRIGGER categories_catalogue_changed AFTER INSERT OR UPDATE OR DELETE OR TRUNCATE ON categories
    FOR EACH STATEMENT EXECUTE FUNCTION catalogue_changed();
CREATE TRIGGER programme_rules_catalogue_changed AFTER INSERT OR UPDATE OR DELETE OR TRUNCATE ON programme_rules
    FOR EACH STATEMENT EXECUTE FUNCTION catalogue_changed();

-- The admins' list of all applications, newest first (and its next pages): without it,
-- PostgreSQL sorted 1,000,000 applications for each page (scripts/bench-scale: 598 ms).
CREATE INDEX applications_created ON applications (created_at, id);
