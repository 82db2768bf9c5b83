-- Risk indicators: contact details normalised into indexed keys (filled by the application,
-- which owns the normalisation; see src/risk/normalise.rs), who approved each application and
-- the price ceiling it was measured against, flags with a subject, a severity and the
-- applications they concern, and admins' declared conflicts of interest.
ALTER TABLE smes ADD COLUMN phone_key TEXT;
ALTER TABLE smes ADD COLUMN address_key TEXT;
ALTER TABLE smes ADD COLUMN email_domain TEXT;
CREATE INDEX smes_phone_key ON smes (phone_key) WHERE phone_key IS NOT NULL;
CREATE INDEX smes_address_key ON smes (address_key) WHERE address_key IS NOT NULL;
CREATE INDEX smes_email_domain ON smes (email_domain) WHERE email_domain IS NOT NULL;

ALTER TABLE vendors ADD COLUMN phone_key TEXT;
ALTER TABLE vendors ADD COLUMN address_key TEXT;
ALTER TABLE vendors ADD COLUMN email_domain TEXT;
ALTER TABLE vendors ADD COLUMN contact_name_key TEXT;
CREATE INDEX vendors_phone_key ON vendors (phone_key) WHERE phone_key IS NOT NULL;
CREATE INDEX vendors_address_key ON vendors (address_key) WHERE address_key IS NOT NULL;
CREATE INDEX vendors_email_domain ON vendors (email_domain) WHERE email_domain IS NOT NULL;

ALTER TABLE applications ADD COLUMN approved_by TEXT;
ALTER TABLE applications ADD COLUMN ceiling_cents BIGINT;
UPDATE applications SET ceiling_cents = (
    SELECT CASE r.pricing_model WHEN 'one_off' THEN pr.one_off_ceiling_cents ELSE pr.subscription_ceiling_cents END
    FROM enquiries e JOIN package_revisions r ON r.id = e.revision_id
    JOIN programme_rules pr ON pr.version = applications.rules_version
    WHERE e.id = applications.enquiry_id);
UPDATE applications SET approved_by = (
    SELECT ev.actor_id FROM audit_events ev
    WHERE ev.entity_type = 'application' AND ev.entity_id = applications.id
      AND ev.action = 'application.approve'
    ORDER BY ev.id DESC LIMIT 1)
WHERE approved_at IS NOT NULL;
CREATE INDEX applications_vendor_approved ON applications (vendor_id, approved_at) WHERE approved_at IS NOT NULL;
CREATE INDEX applications_vendor_payment ON applications (vendor_id) WHERE payment_reference IS NOT NULL;

CREATE TABLE risk_flags_v2 (
    id                  TEXT NOT NULL PRIMARY KEY,
    indicator           TEXT NOT NULL,
    severity            TEXT NOT NULL CHECK (severity IN ('low', 'medium', 'high')),
    status              TEXT NOT NULL CHECK (status IN ('open', 'dismissed', 'confirmed')),
    subject_type        TEXT NOT NULL CHECK (subject_type IN ('application', 'vendor', 'sme', 'user')),
    subject_id          TEXT NOT NULL,
    vendor_id           TEXT REFERENCES vendors (id),
    evidence_json       TEXT NOT NULL,
    raised_at           TIMESTAMP NOT NULL,
    updated_at          TIMESTAMP NOT NULL,
    resolved_by         TEXT REFERENCES users (id),
    resolved_at         TIMESTAMP,
    resolution_comment  TEXT,
    CHECK ((status = 'open') = (resolved_at IS NULL))
);
INSERT INTO risk_flags_v2 (id, indicator, severity, status, subject_type, subject_id, vendor_id,
                           evidence_json, raised_at, updated_at)
SELECT id, kind, 'high', status, 'application', application_id, vendor_id,
       json_object('detail', detail), created_at, created_at
FROM risk_flags WHERE application_id IS NOT NULL;
CREATE TABLE risk_flag_applications (
    flag_id         TEXT NOT NULL REFERENCES risk_flags_v2 (id),
    application_id  TEXT NOT NULL REFERENCES applications (id),
    added_at        TIMESTAMP NOT NULL,
    PRIMARY KEY (flag_id, application_id)
);
INSERT INTO risk_flag_applications (flag_id, application_id, added_at)
SELECT id, application_id, created_at FROM risk_flags WHERE application_id IS NOT NULL;
DROP TABLE risk_flags;
ALTER TABLE risk_flags_v2 RENAME TO risk_flags;
-- Raising is idempotent: one open flag per indicator and subject.
CREATE UNIQUE INDEX risk_flags_one_open ON risk_flags (indicator, subject_type, subject_id) WHERE status = 'open';
CREATE INDEX risk_flags_status ON risk_flags (status, raised_at);
CREATE INDEX risk_flags_vendor ON risk_flags (vendor_id, raised_at);
CREATE INDEX risk_flag_applications_application ON risk_flag_applications (application_id);

CREATE TABLE admin_conflicts (
    id           TEXT NOT NULL PRIMARY KEY,
    admin_id     TEXT NOT NULL REFERENCES users (id),
    vendor_id    TEXT NOT NULL REFERENCES vendors (id),
    reason       TEXT NOT NULL CHECK (length(reason) > 0),
    declared_at  TIMESTAMP NOT NULL,
    UNIQUE (admin_id, vendor_id)
);
CREATE INDEX admin_conflicts_vendor ON admin_conflicts (vendor_id);

-- The indicators' thresholds are programme parameters, versioned with the rules (JSON; NULL
-- is PROGRAMME-RULES.md's defaults).
ALTER TABLE programme_rules ADD COLUMN risk_thresholds_json TEXT;

-- A confirmed flag on a disbursed application marks its money for recovery.
CREATE TABLE application_recoveries (
    application_id  TEXT NOT NULL PRIMARY KEY REFERENCES applications (id),
    flag_id         TEXT NOT NULL REFERENCES risk_flags (id),
    amount_cents    BIGINT NOT NULL CHECK (amount_cents > 0),
    marked_by       TEXT NOT NULL REFERENCES users (id),
    marked_at       TIMESTAMP NOT NULL
);
CREATE INDEX application_recoveries_marked ON application_recoveries (marked_at);
