-- Escrow shards of the programme budget: see the PostgreSQL migration. SQLite keeps one row
-- (its writers are serial anyway), but its schema is the same: the ledger is rebuilt because
-- SQLite cannot change a CHECK constraint in place.

CREATE TABLE budget_ledger_new (
    id              TEXT NOT NULL PRIMARY KEY,
    pool_id         TEXT NOT NULL REFERENCES budget_pools (id),
    kind            TEXT NOT NULL CHECK (kind IN ('adjust', 'reserve', 'commit', 'release_reserved', 'release_committed', 'disburse', 'transfer')),
    amount_cents    BIGINT NOT NULL CHECK (amount_cents <> 0 AND (kind IN ('adjust', 'transfer') OR amount_cents > 0)),
    application_id  TEXT REFERENCES applications (id),
    batch_id        TEXT REFERENCES intake_batches (id),
    actor_id        TEXT REFERENCES users (id),
    occurred_at     TIMESTAMP NOT NULL,
    seq             BIGINT NOT NULL DEFAULT 0,
    CHECK ((kind IN ('adjust', 'transfer')) = (application_id IS NULL))
);
INSERT INTO budget_ledger_new (id, pool_id, kind, amount_cents, application_id, batch_id, actor_id, occurred_at, seq)
SELECT id, pool_id, kind, amount_cents, application_id, batch_id, actor_id, occurred_at, seq FROM budget_ledger;
DROP TABLE budget_ledger;
ALTER TABLE budget_ledger_new RENAME TO budget_ledger;
CREATE INDEX budget_ledger_time ON budget_ledger (occurred_at, id);
CREATE INDEX budget_ledger_application ON budget_ledger (application_id);
CREATE UNIQUE INDEX budget_ledger_seq ON budget_ledger (seq) WHERE seq > 0;
CREATE INDEX budget_ledger_unnumbered ON budget_ledger (occurred_at, id) WHERE seq = 0;

-- The one change allowed: numbering an entry, once.
CREATE TRIGGER budget_ledger_no_update BEFORE UPDATE ON budget_ledger
WHEN NOT (OLD.seq = 0 AND NEW.seq > 0 AND NEW.id IS OLD.id AND NEW.pool_id IS OLD.pool_id
          AND NEW.kind IS OLD.kind AND NEW.amount_cents IS OLD.amount_cents
          AND NEW.application_id IS OLD.application_id AND NEW.batch_id IS OLD.batch_id
          AND NEW.actor_id IS OLD.actor_id AND NEW.occurred_at IS OLD.occurred_at)
BEGIN
    SELECT RAISE(ABORT, 'budget_ledger is append-only');
END;
CREATE TRIGGER budget_ledger_no_delete BEFORE DELETE ON budget_ledger
BEGIN
    SELECT RAISE(ABORT, 'budget_ledger is append-only');
END;

ALTER TABLE budget_pools DROP COLUMN ledger_seq;

-- The admins' list of all applications, newest first (and its next pages): without it,
-- PostgreSQL sorted 1,000,000 applications for each page (scripts/bench-scale: 598 ms).
CREATE INDEX applications_created ON applications (created_at, id);
