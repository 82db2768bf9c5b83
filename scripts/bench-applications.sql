-- The bare single-row reservation for pgbench, beside scripts/bench-applications: the SME's cap
-- hold, the guarded update of the one root budget row and the ledger insert (not numbered: on
-- PostgreSQL entries are numbered after commit, see src/budget/store.rs::number_entries),
-- nothing else. APPLICATION_ID is an existing application id substituted by the script (the
-- ledger's foreign key needs one).
\set sme random(1, :smes)
BEGIN;
UPDATE smes SET subsidy_held_cents = subsidy_held_cents + 1
    WHERE id = (SELECT id FROM bench_sme WHERE n = :sme) AND subsidy_held_cents + 1 <= 5000000;
UPDATE budget_pools SET available_cents = available_cents - 1, reserved_cents = reserved_cents + 1,
    updated_at = now()
    WHERE id = 'programme' AND available_cents >= 1;
INSERT INTO budget_ledger (id, pool_id, kind, amount_cents, application_id, batch_id, occurred_at, seq)
    VALUES (md5(random()::text || clock_timestamp()::text), 'programme', 'reserve', 1, 'APPLICATION_ID', NULL, now(), 0);
END;
