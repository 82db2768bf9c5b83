DROP INDEX applications_created;
ALTER TABLE budget_pools ADD COLUMN ledger_seq BIGINT NOT NULL DEFAULT 0 CHECK (ledger_seq >= 0);
UPDATE budget_pools SET ledger_seq = (SELECT COALESCE(MAX(seq), 0) FROM budget_ledger) WHERE id = 'programme';
DROP TRIGGER budget_ledger_no_update;
CREATE TRIGGER budget_ledger_no_update BEFORE UPDATE ON budget_ledger
BEGIN
    SELECT RAISE(ABORT, 'budget_ledger is append-only');
END;
DROP INDEX budget_ledger_unnumbered;
DROP INDEX budget_ledger_seq;
CREATE UNIQUE INDEX budget_ledger_seq ON budget_ledger (seq);
