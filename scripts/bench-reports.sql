-- Loads :apps applications (100,000 unless `psql -v apps=N` says otherwise) and five ledger
-- entries each into a seeded database, for scripts/bench-reports and scripts/bench-scale
-- (1,000,000 and 5,000,000). The rows are generated inside the server (INSERT … SELECT over
-- generate_series), so nothing crosses the wire. One SME per application (the catalogue's listed packages in turn), over
-- the last 52 weeks. Each application's ledger is five entries that keep the books sound:
-- reserve, release_reserved, reserve again, commit and (for 3 in 5) disburse, else release the
-- commitment; the budget pool is then set to the ledger's sums. A load, not a lifecycle: it
-- exists to give the report's queries realistic volume.
\set ON_ERROR_STOP on
\if :{?apps}
\else
\set apps 100000
\endif
BEGIN;
-- The report's application rollup takes the load in one pass at the end (below), not one
-- delta per row and change.
ALTER TABLE applications DISABLE TRIGGER applications_report_deltas;
CREATE TEMP TABLE bench_packages AS
SELECT row_number() OVER (ORDER BY p.id) - 1 AS n, p.id, p.vendor_id, p.live_revision_id
FROM packages p WHERE p.status = 'listed';
CREATE TEMP TABLE bench_batch AS SELECT id FROM intake_batches ORDER BY opens_at LIMIT 1;

INSERT INTO users (id, email, password_hash, role, email_verified_at, created_at, updated_at)
SELECT 'bu-' || g, 'bench-' || g || '@load.dtspp.test', '!', 'sme', now(), now(), now()
FROM generate_series(1, :apps) g;

INSERT INTO smes (id, user_id, business_name_en, hawker_licence, sector, full_time_employees,
                  district, address, phone, declared_listed_company, declared_statutory_body,
                  declared_government_subvented, eligible, ineligibility_codes, created_at,
                  updated_at, subsidy_held_cents)
SELECT 'bs-' || g, 'bu-' || g, 'Bench Shop ' || g, 'BENCH-' || g,
       CASE WHEN g % 2 = 0 THEN 'food_and_beverage' ELSE 'retail' END, 5,
       (ARRAY['Central and Western','Wan Chai','Eastern','Southern','Yau Tsim Mong','Sham Shui Po',
              'Kowloon City','Wong Tai Sin','Kwun Tong','Kwai Tsing','Tsuen Wan','Tuen Mun',
              'Yuen Long','North','Tai Po','Sha Tin','Sai Kung','Islands'])[1 + g % 18],
       'Shop ' || g || ', Bench Street', '2' || lpad((g % 10000000)::text, 7, '0'),
       false, false, false, true, '', now(), now(), 0
FROM generate_series(1, :apps) g;

INSERT INTO enquiries (id, sme_id, package_id, vendor_id, revision_id, options_json, status,
                       eligible_cost_cents, created_at, updated_at)
SELECT 'be-' || g, 'bs-' || g, p.id, p.vendor_id, p.live_revision_id, '[]', 'confirmed',
       200000 + (g % 97) * 100000, now(), now()
FROM generate_series(1, :apps) g
JOIN bench_packages p ON p.n = g % (SELECT count(*) FROM bench_packages);

-- Created over the last 52 weeks.
INSERT INTO applications (id, sme_id, package_id, vendor_id, enquiry_id, batch_id, rules_version,
                          status, eligible_cost_cents, subsidy_cents, sme_pays_cents, queued_at,
                          reserved_at, approved_at, created_at, updated_at, disbursed_at)
SELECT 'ba-' || g, e.sme_id, e.package_id, e.vendor_id, e.id, (SELECT id FROM bench_batch), 1,
       CASE WHEN g % 5 < 3 THEN 'disbursed' ELSE 'approved' END,
       e.eligible_cost_cents, e.eligible_cost_cents / 2, e.eligible_cost_cents / 2,
       t.at, t.at, t.at + interval '3 days', t.at, t.at + interval '20 days',
       CASE WHEN g % 5 < 3 THEN t.at + interval '20 days' END
FROM generate_series(1, :apps) g
JOIN enquiries e ON e.id = 'be-' || g
CROSS JOIN LATERAL (SELECT now() AT TIME ZONE 'UTC' - interval '364 days' + (g * (interval '364 days' / :apps)) AS at) t;

INSERT INTO budget_ledger (id, pool_id, kind, amount_cents, application_id, batch_id, occurred_at, seq)
SELECT 'bl-' || a.id || '-' || k.n, 'programme',
       CASE k.n WHEN 1 THEN 'reserve' WHEN 2 THEN 'release_reserved' WHEN 3 THEN 'reserve'
                WHEN 4 THEN 'commit'
                ELSE CASE WHEN a.status = 'disbursed' THEN 'disburse' ELSE 'release_committed' END END,
       a.subsidy_cents, a.id, a.batch_id,
       a.queued_at + (k.n - 1) * interval '1 day',
       (SELECT COALESCE(max(seq), 0) FROM budget_ledger WHERE seq > 0)
         + row_number() OVER (ORDER BY a.queued_at, a.id, k.n)
FROM applications a CROSS JOIN (VALUES (1), (2), (3), (4), (5)) AS k(n)
WHERE a.id LIKE 'ba-%';

-- 'approved' applications had their commitment released above; call them expired.
UPDATE applications SET status = 'expired', closed_at = updated_at
WHERE id LIKE 'ba-%' AND status = 'approved';

-- The pool takes the ledger's sums, with HK$100m still available; the total grows to match
-- (as a rules change would, through an adjustment).
CREATE TEMP TABLE bench_disbursed AS
SELECT COALESCE(sum(amount_cents), 0) AS cents FROM budget_ledger WHERE kind = 'disburse';
UPDATE budget_pools SET
    disbursed_cents = (SELECT cents FROM bench_disbursed),
    available_cents = 10000000000,
    total_cents = reserved_cents + committed_cents + 10000000000 + (SELECT cents FROM bench_disbursed)
WHERE id = 'programme';
INSERT INTO budget_ledger (id, pool_id, kind, amount_cents, occurred_at, seq)
SELECT 'bl-adjust', 'programme', 'adjust',
       (SELECT total_cents FROM budget_pools WHERE id = 'programme')
         - (SELECT sum(amount_cents) FROM budget_ledger WHERE kind = 'adjust'),
       now() AT TIME ZONE 'UTC' - interval '365 days',
       (SELECT max(seq) FROM budget_ledger WHERE seq > 0) + 1;
-- The opening balance was entered when the database was migrated (today); the programme's
-- money was there from its start, a year ago. (A fixture only: the ledger is append-only.)
ALTER TABLE budget_ledger DISABLE TRIGGER budget_ledger_no_update;
UPDATE budget_ledger SET occurred_at = now() AT TIME ZONE 'UTC' - interval '366 days'
WHERE kind = 'adjust' AND application_id IS NULL;
ALTER TABLE budget_ledger ENABLE TRIGGER budget_ledger_no_update;
-- The loaded applications as they stand, for the report's next fold (src/reports/rollup.rs).
ALTER TABLE applications ENABLE TRIGGER applications_report_deltas;
INSERT INTO application_deltas (application_id, sign, is_insert, status, reserved_at, closed_at,
                                subsidy_cents)
SELECT id, 1, true, status, reserved_at, closed_at, subsidy_cents FROM applications
WHERE id LIKE 'ba-%';
COMMIT;
ANALYZE;
