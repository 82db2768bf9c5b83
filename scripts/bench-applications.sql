-- The bare reservation transaction for pgbench, beside scripts/bench-applications: the SME's cap
-- hold, the guarded budget-pool update (which also numbers the ledger entry, as
-- src/budget/store.rs::append does) and the ledger insert, nothing else. APPLICATION_ID is an
-- existing application id substituted by the script (the ledger's foreign key needs one).
\set sme random(1, :smes)
BEGIN;
UPDATE smes SET subsidy_held_cents = subsidy_held_cents + 1
    WHERE id = (SELECT id FROM bench_sme WHERE n = :sme) AND subsidy_held_cents + 1 <= 5000000;
UPDATE budget_pools SET available_cents = available_cents - 1, reserved_cents = reserved_cents + 1,
    ledger_seq = ledger_seq + 1, updated_at = now()
    WHERE id = 'programme' AND available_cents >= 1 RETURNING ledger_seq AS seq \gset
INSERT INTO budget_ledger (id, pool_id, kind, amount_cents, application_id, batch_id, occurred_at, seq)
    VALUES (md5(random()::text || clock_timestamp()::text), 'programme', 'reserve', 1, 'APPLICATION_ID', NULL, now(), :seq);
END;
