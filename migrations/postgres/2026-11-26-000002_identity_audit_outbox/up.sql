-- Identity (users, vendor and SME profiles, tokens), the append-only audit trail, and the
-- transactional outbox of email.

CREATE TABLE users (
    id                 TEXT NOT NULL PRIMARY KEY,
    email              TEXT NOT NULL UNIQUE CHECK (email = lower(email) AND length(email) BETWEEN 3 AND 254),
    password_hash      TEXT NOT NULL,
    role               TEXT NOT NULL CHECK (role IN ('vendor', 'sme', 'admin')),
    email_verified_at  TIMESTAMP,
    created_at         TIMESTAMP NOT NULL,
    updated_at         TIMESTAMP NOT NULL
);

CREATE TABLE vendors (
    id                   TEXT NOT NULL PRIMARY KEY,
    user_id              TEXT NOT NULL UNIQUE REFERENCES users (id),
    company_name_en      TEXT NOT NULL,
    company_name_zh      TEXT,
    br_number            TEXT NOT NULL UNIQUE CHECK (length(br_number) = 8),
    contact_name         TEXT NOT NULL,
    phone                TEXT NOT NULL,
    address              TEXT NOT NULL,
    net_equity_positive  BOOLEAN NOT NULL,
    track_record         TEXT NOT NULL,
    status               TEXT NOT NULL CHECK (status IN ('pending', 'approved', 'rejected', 'suspended')),
    status_reason        TEXT,
    created_at           TIMESTAMP NOT NULL,
    updated_at           TIMESTAMP NOT NULL
);

CREATE TABLE smes (
    id                            TEXT NOT NULL PRIMARY KEY,
    user_id                       TEXT NOT NULL UNIQUE REFERENCES users (id),
    business_name_en              TEXT NOT NULL,
    business_name_zh              TEXT,
    br_number                     TEXT UNIQUE CHECK (br_number IS NULL OR length(br_number) = 8),
    hawker_licence                TEXT UNIQUE,
    sector                        TEXT NOT NULL REFERENCES sectors (code),
    full_time_employees           BIGINT NOT NULL CHECK (full_time_employees >= 0),
    district                      TEXT NOT NULL,
    address                       TEXT NOT NULL,
    phone                         TEXT NOT NULL,
    declared_listed_company       BOOLEAN NOT NULL,
    declared_statutory_body       BOOLEAN NOT NULL,
    declared_government_subvented BOOLEAN NOT NULL,
    eligible                      BOOLEAN NOT NULL,
    -- JSON array of the failed rules' codes, e.g. ["too_many_employees"].
    ineligibility_codes           TEXT NOT NULL,
    created_at                    TIMESTAMP NOT NULL,
    updated_at                    TIMESTAMP NOT NULL,
    CHECK (br_number IS NOT NULL OR hawker_licence IS NOT NULL)
);

-- Opaque refresh tokens, stored only as SHA-256 hashes. Rotation links a family; reuse of a
-- rotated token revokes the whole family.
CREATE TABLE refresh_tokens (
    id           TEXT NOT NULL PRIMARY KEY,
    user_id      TEXT NOT NULL REFERENCES users (id),
    family_id    TEXT NOT NULL,
    token_hash   TEXT NOT NULL UNIQUE,
    created_at   TIMESTAMP NOT NULL,
    expires_at   TIMESTAMP NOT NULL,
    rotated_at   TIMESTAMP,
    revoked_at   TIMESTAMP
);
CREATE INDEX refresh_tokens_family ON refresh_tokens (family_id);
CREATE INDEX refresh_tokens_user ON refresh_tokens (user_id);

-- Single-use, expiring email tokens (verification, password reset), stored only as hashes.
CREATE TABLE email_tokens (
    id           TEXT NOT NULL PRIMARY KEY,
    user_id      TEXT NOT NULL REFERENCES users (id),
    purpose      TEXT NOT NULL CHECK (purpose IN ('verify_email', 'password_reset')),
    token_hash   TEXT NOT NULL UNIQUE,
    created_at   TIMESTAMP NOT NULL,
    expires_at   TIMESTAMP NOT NULL,
    used_at      TIMESTAMP
);
CREATE INDEX email_tokens_user ON email_tokens (user_id, purpose);

-- Append-only: triggers refuse UPDATE and DELETE.
CREATE TABLE audit_events (
    id           BIGINT GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
    occurred_at  TIMESTAMP NOT NULL,
    actor_id     TEXT,
    actor_role   TEXT,
    action       TEXT NOT NULL,
    entity_type  TEXT NOT NULL,
    entity_id    TEXT,
    before_json  TEXT,
    after_json   TEXT,
    request_id   TEXT,
    ip           TEXT
);
CREATE INDEX audit_events_entity ON audit_events (entity_type, entity_id, id);
CREATE INDEX audit_events_actor ON audit_events (actor_id, id);

CREATE FUNCTION audit_events_append_only() RETURNS trigger AS $$
BEGIN
    RAISE EXCEPTION 'audit_events is append-only';
END;
$$ LANGUAGE plpgsql;

CREATE TRIGGER audit_events_no_update BEFORE UPDATE OR DELETE ON audit_events
    FOR EACH ROW EXECUTE FUNCTION audit_events_append_only();

-- Email written in the same transaction as the change that causes it; a worker sends it.
CREATE TABLE outbox (
    id               TEXT NOT NULL PRIMARY KEY,
    template         TEXT NOT NULL,
    recipient        TEXT NOT NULL,
    subject          TEXT NOT NULL,
    body_text        TEXT NOT NULL,
    status           TEXT NOT NULL CHECK (status IN ('pending', 'sent', 'dead')),
    attempts         BIGINT NOT NULL DEFAULT 0 CHECK (attempts >= 0),
    next_attempt_at  TIMESTAMP NOT NULL,
    locked_until     TIMESTAMP,
    last_error       TEXT,
    created_at       TIMESTAMP NOT NULL,
    sent_at          TIMESTAMP
);
CREATE INDEX outbox_due ON outbox (status, next_attempt_at);
