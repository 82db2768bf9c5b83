-- The SME journey and the money: the programme budget, intake batches, enquiries, applications,
-- the append-only budget ledger, idempotency keys and risk flags.
--
-- Every balance is a BIGINT of cents backed by CHECK constraints, so that no bug can overdraw
-- it; the code only ever moves money with guarded relative UPDATEs (never read, compute, write).
-- Lock order in every transaction: idempotency key, budget pool, intake batch, SME.

-- The programme budget. One row, 'programme'; the buckets always sum to the total.
CREATE TABLE budget_pools (
    id               TEXT NOT NULL PRIMARY KEY,
    total_cents      BIGINT NOT NULL CHECK (total_cents >= 0),
    available_cents  BIGINT NOT NULL CHECK (available_cents >= 0),
    reserved_cents   BIGINT NOT NULL CHECK (reserved_cents >= 0),
    committed_cents  BIGINT NOT NULL CHECK (committed_cents >= 0),
    disbursed_cents  BIGINT NOT NULL CHECK (disbursed_cents >= 0),
    updated_at       TIMESTAMP NOT NULL,
    CHECK (available_cents + reserved_cents + committed_cents + disbursed_cents = total_cents)
);
INSERT INTO budget_pools (id, total_cents, available_cents, reserved_cents, committed_cents, disbursed_cents, updated_at)
SELECT 'programme', budget_total_cents, budget_total_cents, 0, 0, 0, strftime('%Y-%m-%d %H:%M:%f', 'now')
FROM programme_rules ORDER BY version DESC LIMIT 1;

-- Intake windows. A quota, when set, caps the subsidies held (reserved, committed or
-- disbursed) by the batch's applications, exactly as the budget caps the programme.
CREATE TABLE intake_batches (
    id           TEXT NOT NULL PRIMARY KEY,
    name         TEXT NOT NULL CHECK (length(name) > 0),
    opens_at     TIMESTAMP NOT NULL,
    closes_at    TIMESTAMP NOT NULL,
    quota_cents  BIGINT CHECK (quota_cents > 0),
    used_cents   BIGINT NOT NULL DEFAULT 0 CHECK (used_cents >= 0),
    created_by   TEXT REFERENCES users (id),
    created_at   TIMESTAMP NOT NULL,
    CHECK (closes_at > opens_at),
    CHECK (quota_cents IS NULL OR used_cents <= quota_cents)
);
CREATE INDEX intake_batches_window ON intake_batches (opens_at, closes_at);

-- What an SME's applications hold of its cap: every application not yet released, waitlisted
-- ones included, so a promotion never breaks the cap.
ALTER TABLE smes ADD COLUMN subsidy_held_cents BIGINT NOT NULL DEFAULT 0 CHECK (subsidy_held_cents >= 0);

-- An SME's request for a package with chosen add-ons and term; confirming it freezes the quote.
CREATE TABLE enquiries (
    id                   TEXT NOT NULL PRIMARY KEY,
    sme_id               TEXT NOT NULL REFERENCES smes (id),
    package_id           TEXT NOT NULL REFERENCES packages (id),
    vendor_id            TEXT NOT NULL REFERENCES vendors (id),
    -- The live revision at the time of the enquiry: its price is the one quoted.
    revision_id          TEXT NOT NULL REFERENCES package_revisions (id),
    -- JSON array of the chosen add-ons: [{id, name_en, name_zh, price_cents}].
    options_json         TEXT NOT NULL,
    term_months          BIGINT CHECK (term_months > 0),
    message              TEXT,
    status               TEXT NOT NULL CHECK (status IN ('open', 'confirmed', 'declined')),
    eligible_cost_cents  BIGINT NOT NULL CHECK (eligible_cost_cents > 0),
    vendor_note          TEXT,
    decline_reason       TEXT,
    answered_by          TEXT REFERENCES users (id),
    answered_at          TIMESTAMP,
    created_at           TIMESTAMP NOT NULL,
    updated_at           TIMESTAMP NOT NULL
);
-- One enquiry awaiting an answer per SME and package.
CREATE UNIQUE INDEX enquiries_one_open ON enquiries (sme_id, package_id) WHERE status = 'open';
CREATE INDEX enquiries_vendor ON enquiries (vendor_id, created_at);
CREATE INDEX enquiries_sme ON enquiries (sme_id, created_at);

CREATE TABLE applications (
    id                     TEXT NOT NULL PRIMARY KEY,
    sme_id                 TEXT NOT NULL REFERENCES smes (id),
    package_id             TEXT NOT NULL REFERENCES packages (id),
    vendor_id              TEXT NOT NULL REFERENCES vendors (id),
    enquiry_id             TEXT NOT NULL UNIQUE REFERENCES enquiries (id),
    batch_id               TEXT NOT NULL REFERENCES intake_batches (id),
    rules_version          BIGINT NOT NULL REFERENCES programme_rules (version),
    status                 TEXT NOT NULL CHECK (status IN ('reserved', 'waitlisted', 'approved', 'rejected', 'withdrawn', 'expired', 'delivered', 'delivery_confirmed', 'claim_verified', 'disbursed')),
    eligible_cost_cents    BIGINT NOT NULL CHECK (eligible_cost_cents > 0),
    subsidy_cents          BIGINT NOT NULL CHECK (subsidy_cents > 0),
    sme_pays_cents         BIGINT NOT NULL CHECK (sme_pays_cents >= 0),
    -- The waitlist's order: first come, first served.
    queued_at              TIMESTAMP NOT NULL,
    reserved_at            TIMESTAMP,
    approved_at            TIMESTAMP,
    deadline_at            TIMESTAMP,
    delivered_on           TEXT,
    delivery_note          TEXT,
    payment_reference      TEXT,
    -- The reference normalised (trimmed, upper case): no two applications share one.
    payment_reference_key  TEXT UNIQUE,
    amount_paid_cents      BIGINT CHECK (amount_paid_cents >= 0),
    paid_on                TEXT,
    verified_by            TEXT REFERENCES users (id),
    verified_at            TIMESTAMP,
    disbursed_by           TEXT REFERENCES users (id),
    disbursed_at           TIMESTAMP,
    closed_at              TIMESTAMP,
    last_comment           TEXT,
    created_at             TIMESTAMP NOT NULL,
    updated_at             TIMESTAMP NOT NULL,
    CHECK (subsidy_cents + sme_pays_cents = eligible_cost_cents),
    -- Maker-checker: the admin who verified a claim never disburses it.
    CHECK (disbursed_by IS NULL OR verified_by IS NULL OR disbursed_by <> verified_by)
);
-- One live application per SME and package; a released one (rejected, withdrawn, expired)
-- does not block a new one.
CREATE UNIQUE INDEX applications_one_live ON applications (sme_id, package_id)
    WHERE status NOT IN ('rejected', 'withdrawn', 'expired');
CREATE INDEX applications_status ON applications (status, created_at);
CREATE INDEX applications_waitlist ON applications (queued_at, id) WHERE status = 'waitlisted';
CREATE INDEX applications_sme ON applications (sme_id, created_at);
CREATE INDEX applications_vendor ON applications (vendor_id, created_at);
CREATE INDEX applications_deadline ON applications (deadline_at) WHERE status = 'approved';

-- Every movement of budget money, append-only. Kinds and their effect on the buckets:
--   adjust            total and available change by amount (signed: a rules change)
--   reserve           available -> reserved
--   commit            reserved  -> committed
--   release_reserved  reserved  -> available
--   release_committed committed -> available
--   disburse          committed -> disbursed
CREATE TABLE budget_ledger (
    id              TEXT NOT NULL PRIMARY KEY,
    pool_id         TEXT NOT NULL REFERENCES budget_pools (id),
    kind            TEXT NOT NULL CHECK (kind IN ('adjust', 'reserve', 'commit', 'release_reserved', 'release_committed', 'disburse')),
    amount_cents    BIGINT NOT NULL CHECK (amount_cents <> 0 AND (kind = 'adjust' OR amount_cents > 0)),
    application_id  TEXT REFERENCES applications (id),
    batch_id        TEXT REFERENCES intake_batches (id),
    actor_id        TEXT REFERENCES users (id),
    occurred_at     TIMESTAMP NOT NULL,
    CHECK ((kind = 'adjust') = (application_id IS NULL))
);
CREATE INDEX budget_ledger_time ON budget_ledger (occurred_at, id);
CREATE INDEX budget_ledger_application ON budget_ledger (application_id);

CREATE TRIGGER budget_ledger_no_update BEFORE UPDATE ON budget_ledger
BEGIN
    SELECT RAISE(ABORT, 'budget_ledger is append-only');
END;

CREATE TRIGGER budget_ledger_no_delete BEFORE DELETE ON budget_ledger
BEGIN
    SELECT RAISE(ABORT, 'budget_ledger is append-only');
END;

-- The opening balance: the budget in force when this migration ran.
INSERT INTO budget_ledger (id, pool_id, kind, amount_cents, occurred_at)
SELECT 'opening-balance', 'programme', 'adjust', total_cents, updated_at FROM budget_pools;

-- Idempotency-Key replays, per user: the request's fingerprint and the first response.
CREATE TABLE idempotency_keys (
    user_id        TEXT NOT NULL REFERENCES users (id),
    key            TEXT NOT NULL,
    request_hash   TEXT NOT NULL,
    status_code    BIGINT,
    response_body  TEXT,
    created_at     TIMESTAMP NOT NULL,
    PRIMARY KEY (user_id, key)
);

-- Signals of possible fraud for admins to review.
CREATE TABLE risk_flags (
    id              TEXT NOT NULL PRIMARY KEY,
    kind            TEXT NOT NULL,
    status          TEXT NOT NULL CHECK (status IN ('open', 'dismissed', 'confirmed')),
    application_id  TEXT REFERENCES applications (id),
    vendor_id       TEXT REFERENCES vendors (id),
    sme_id          TEXT REFERENCES smes (id),
    detail          TEXT NOT NULL,
    created_at      TIMESTAMP NOT NULL
);
CREATE INDEX risk_flags_status ON risk_flags (status, created_at);
