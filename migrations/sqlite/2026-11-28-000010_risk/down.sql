DROP TABLE application_recoveries;
ALTER TABLE programme_rules DROP COLUMN risk_thresholds_json;
DROP TABLE admin_conflicts;
DROP TABLE risk_flag_applications;
DROP TABLE risk_flags;
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
DROP INDEX applications_vendor_payment;
DROP INDEX applications_vendor_approved;
ALTER TABLE applications DROP COLUMN ceiling_cents;
ALTER TABLE applications DROP COLUMN approved_by;
ALTER TABLE vendors DROP COLUMN contact_name_key;
ALTER TABLE vendors DROP COLUMN email_domain;
ALTER TABLE vendors DROP COLUMN address_key;
ALTER TABLE vendors DROP COLUMN phone_key;
ALTER TABLE smes DROP COLUMN email_domain;
ALTER TABLE smes DROP COLUMN address_key;
ALTER TABLE smes DROP COLUMN phone_key;
