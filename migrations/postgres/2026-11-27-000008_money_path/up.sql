-- The ledger's order of commit: every entry takes the next number of its pool's counter while
-- it holds the pool row's lock, which it keeps until commit, so entries commit in number order
-- and a reader paging forward by number never skips one that commits late.
ALTER TABLE budget_pools ADD COLUMN ledger_seq BIGINT NOT NULL DEFAULT 0 CHECK (ledger_seq >= 0);
ALTER TABLE budget_ledger ADD COLUMN seq BIGINT NOT NULL DEFAULT 0;

ALTER TABLE budget_ledger DISABLE TRIGGER budget_ledger_no_update;
UPDATE budget_ledger SET seq = numbered.n
FROM (SELECT id, row_number() OVER (ORDER BY occurred_at, id) AS n FROM budget_ledger) AS numbered
WHERE budget_ledger.id = numbered.id;
ALTER TABLE budget_ledger ENABLE TRIGGER budget_ledger_no_update;

UPDATE budget_pools SET ledger_seq = (SELECT COUNT(*) FROM budget_ledger);
CREATE UNIQUE INDEX budget_ledger_seq ON budget_ledger (seq);

-- Disabled accounts: they cannot log in, and their tokens are refused at the next request.
ALTER TABLE users ADD COLUMN disabled_at TIMESTAMP;
ALTER TABLE users ADD COLUMN disabled_reason TEXT;
