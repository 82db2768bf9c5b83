ALTER TABLE users DROP COLUMN disabled_reason;
ALTER TABLE users DROP COLUMN disabled_at;
DROP INDEX budget_ledger_seq;
ALTER TABLE budget_ledger DROP COLUMN seq;
ALTER TABLE budget_pools DROP COLUMN ledger_seq;
