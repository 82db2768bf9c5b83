-- Solution packages and their revisions. A package is what a vendor lists; each edit of a
-- listed package is a new revision reviewed on its own while the listed one stays live.

CREATE TABLE packages (
    id                   TEXT NOT NULL PRIMARY KEY,
    vendor_id            TEXT NOT NULL REFERENCES vendors (id),
    category             TEXT NOT NULL REFERENCES categories (code),
    target_sector        TEXT NOT NULL REFERENCES sectors (code),
    status               TEXT NOT NULL CHECK (status IN ('draft', 'submitted', 'changes_requested', 'listed', 'rejected', 'suspended', 'withdrawn')),
    -- The revision the catalogue shows; set once a revision is approved.
    live_revision_id     TEXT,
    -- The latest revision: the one the vendor edits or an admin reviews (may be the live one).
    current_revision_id  TEXT NOT NULL,
    listed_at            TIMESTAMP,
    created_at           TIMESTAMP NOT NULL,
    updated_at           TIMESTAMP NOT NULL
);
-- One package per (category, target sector) per vendor, among those not rejected or withdrawn.
CREATE UNIQUE INDEX packages_one_per_slot ON packages (vendor_id, category, target_sector)
    WHERE status NOT IN ('rejected', 'withdrawn');
CREATE INDEX packages_vendor ON packages (vendor_id, created_at);
CREATE INDEX packages_status ON packages (status, created_at);

CREATE TABLE package_revisions (
    id                   TEXT NOT NULL PRIMARY KEY,
    package_id           TEXT NOT NULL REFERENCES packages (id),
    number               BIGINT NOT NULL CHECK (number > 0),
    status               TEXT NOT NULL CHECK (status IN ('draft', 'submitted', 'changes_requested', 'approved', 'rejected', 'superseded')),
    name_en              TEXT NOT NULL,
    name_zh              TEXT NOT NULL,
    summary_en           TEXT NOT NULL,
    summary_zh           TEXT NOT NULL,
    pricing_model        TEXT NOT NULL CHECK (pricing_model IN ('one_off', 'subscription')),
    price_cents          BIGINT CHECK (price_cents > 0),
    monthly_price_cents  BIGINT CHECK (monthly_price_cents > 0),
    min_term_months      BIGINT CHECK (min_term_months > 0),
    deployment_days      BIGINT NOT NULL CHECK (deployment_days > 0),
    -- JSON array of {kind, description, quantity}.
    components_json      TEXT NOT NULL,
    -- The programme rules the revision was last validated against.
    rules_version        BIGINT NOT NULL REFERENCES programme_rules (version),
    created_at           TIMESTAMP NOT NULL,
    updated_at           TIMESTAMP NOT NULL,
    submitted_at         TIMESTAMP,
    decided_at           TIMESTAMP,
    UNIQUE (package_id, number),
    CHECK ((pricing_model = 'one_off' AND price_cents IS NOT NULL AND monthly_price_cents IS NULL AND min_term_months IS NULL)
        OR (pricing_model = 'subscription' AND price_cents IS NULL AND monthly_price_cents IS NOT NULL AND min_term_months IS NOT NULL))
);

-- Optional add-ons, each with a fixed price, per revision.
CREATE TABLE package_options (
    id           TEXT NOT NULL PRIMARY KEY,
    revision_id  TEXT NOT NULL REFERENCES package_revisions (id),
    position     BIGINT NOT NULL CHECK (position >= 0),
    name_en      TEXT NOT NULL,
    name_zh      TEXT,
    price_cents  BIGINT NOT NULL CHECK (price_cents > 0),
    UNIQUE (revision_id, position)
);

-- The review history: who did what to which revision, when, and why.
CREATE TABLE package_reviews (
    id           TEXT NOT NULL PRIMARY KEY,
    package_id   TEXT NOT NULL REFERENCES packages (id),
    revision_id  TEXT NOT NULL REFERENCES package_revisions (id),
    actor_id     TEXT NOT NULL REFERENCES users (id),
    actor_role   TEXT NOT NULL,
    action       TEXT NOT NULL,
    comment      TEXT,
    from_status  TEXT NOT NULL,
    to_status    TEXT NOT NULL,
    created_at   TIMESTAMP NOT NULL
);
CREATE INDEX package_reviews_package ON package_reviews (package_id, created_at);
