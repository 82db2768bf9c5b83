-- The drawdown report's application facts, kept incrementally (PostgreSQL; SQLite computes
-- them from the applications each time). See src/reports/rollup.rs.
--
-- Every insert or change of an application appends its contribution to application_deltas
-- (a change appends the old row's with sign -1 and the new row's with +1): an append, so
-- concurrent writers never wait for each other here. A report folds the deltas into the
-- counters below under an advisory lock and deletes them in the same transaction; a snapshot
-- therefore sees every delta exactly once, either folded or still in the table.

-- What an application's contribution depends on, besides its fixed keys.
CREATE TABLE application_deltas (
    id              BIGSERIAL PRIMARY KEY,
    application_id  TEXT NOT NULL,
    sign            SMALLINT NOT NULL CHECK (sign IN (-1, 1)),
    -- The application's first row: only these open (SME, group) pairs.
    is_insert       BOOLEAN NOT NULL,
    status          TEXT NOT NULL,
    reserved_at     TIMESTAMP,
    closed_at       TIMESTAMP,
    subsidy_cents   BIGINT NOT NULL,
    -- Set by the fold on the rows it takes, so that all its statements read the same rows.
    folding         BOOLEAN NOT NULL DEFAULT false
);
-- Rows come and go with every fold: vacuum after a thousand dead ones, not a fifth of the table.
ALTER TABLE application_deltas SET (autovacuum_vacuum_scale_factor = 0,
    autovacuum_vacuum_threshold = 1000, autovacuum_analyze_scale_factor = 0,
    autovacuum_analyze_threshold = 1000);

-- Applications by group: dimension is batch, category, sector, vendor, district, all (key
-- ''), week or month (key: the Hong Kong period's first day). Money and counts are the
-- applications' as they stand now; smes counts the SMEs with an application in the group.
CREATE TABLE report_groups (
    dimension         TEXT NOT NULL,
    key               TEXT NOT NULL,
    applications      BIGINT NOT NULL DEFAULT 0,
    waitlisted_count  BIGINT NOT NULL DEFAULT 0,
    waitlisted_cents  BIGINT NOT NULL DEFAULT 0,
    funded            BIGINT NOT NULL DEFAULT 0,
    reserved_cents    BIGINT NOT NULL DEFAULT 0,
    committed_cents   BIGINT NOT NULL DEFAULT 0,
    disbursed_cents   BIGINT NOT NULL DEFAULT 0,
    smes              BIGINT NOT NULL DEFAULT 0,
    PRIMARY KEY (dimension, key)
);

-- Each SME's first application in a group (sector and district are the SME's own: the 'all'
-- pair stands for them). Applications are never deleted and their keys never change (the
-- triggers below refuse both), so the earliest stays exact.
CREATE TABLE report_smes (
    dimension  TEXT NOT NULL,
    key        TEXT NOT NULL,
    sme_id     TEXT NOT NULL,
    first_at   TIMESTAMP NOT NULL,
    PRIMARY KEY (dimension, key, sme_id)
);
CREATE INDEX report_smes_first ON report_smes (dimension, key, first_at);

-- By Hong Kong day: applications queued, applications that joined the waitlist (by the day
-- they were queued) and left it (by the day they were reserved or closed), with their subsidy,
-- and the SMEs whose first application was queued that day.
CREATE TABLE report_days (
    day                TEXT NOT NULL PRIMARY KEY,
    applications       BIGINT NOT NULL DEFAULT 0,
    new_smes           BIGINT NOT NULL DEFAULT 0,
    waitlist_in        BIGINT NOT NULL DEFAULT 0,
    waitlist_in_cents  BIGINT NOT NULL DEFAULT 0,
    waitlist_out       BIGINT NOT NULL DEFAULT 0,
    waitlist_out_cents BIGINT NOT NULL DEFAULT 0
);

CREATE FUNCTION applications_report_deltas() RETURNS trigger AS $$
BEGIN
    IF TG_OP = 'UPDATE' THEN
        IF NEW.id <> OLD.id OR NEW.sme_id <> OLD.sme_id OR NEW.package_id <> OLD.package_id
           OR NEW.vendor_id <> OLD.vendor_id OR NEW.batch_id <> OLD.batch_id
           OR NEW.queued_at <> OLD.queued_at THEN
            RAISE EXCEPTION 'an application''s SME, package, vendor, batch and queue time never change (application %)', OLD.id;
        END IF;
        IF NEW.status = OLD.status AND NEW.subsidy_cents = OLD.subsidy_cents
           AND NEW.reserved_at IS NOT DISTINCT FROM OLD.reserved_at
           AND NEW.closed_at IS NOT DISTINCT FROM OLD.closed_at THEN
            RETURN NULL;
        END IF;
        INSERT INTO application_deltas (application_id, sign, is_insert, status, reserved_at, closed_at, subsidy_cents)
        VALUES (OLD.id, -1, false, OLD.status, OLD.reserved_at, OLD.closed_at, OLD.subsidy_cents),
               (NEW.id, 1, false, NEW.status, NEW.reserved_at, NEW.closed_at, NEW.subsidy_cents);
        RETURN NULL;
    END IF;
    INSERT INTO application_deltas (application_id, sign, is_insert, status, reserved_at, closed_at, subsidy_cents)
    VALUES (NEW.id, 1, true, NEW.status, NEW.reserved_at, NEW.closed_at, NEW.subsidy_cents);
    RETURN NULL;
END
$$ LANGUAGE plpgsql;

CREATE TRIGGER applications_report_deltas AFTER INSERT OR UPDATE ON applications
    FOR EACH ROW EXECUTE FUNCTION applications_report_deltas();

CREATE FUNCTION applications_no_delete() RETURNS trigger AS $$
BEGIN
    RAISE EXCEPTION 'applications are never deleted (application %)', OLD.id;
END
$$ LANGUAGE plpgsql;
CREATE TRIGGER applications_no_delete BEFORE DELETE ON applications
    FOR EACH ROW EXECUTE FUNCTION applications_no_delete();

-- The groups an application falls in are its SME's sector and district and its package's
-- category: fixed once it exists.
CREATE FUNCTION smes_groups_fixed() RETURNS trigger AS $$
BEGIN
    IF (NEW.sector <> OLD.sector OR NEW.district <> OLD.district)
       AND EXISTS (SELECT 1 FROM applications WHERE sme_id = OLD.id) THEN
        RAISE EXCEPTION 'an SME''s sector and district never change once it has applied (SME %)', OLD.id;
    END IF;
    RETURN NEW;
END
$$ LANGUAGE plpgsql;
CREATE TRIGGER smes_groups_fixed BEFORE UPDATE OF sector, district ON smes
    FOR EACH ROW EXECUTE FUNCTION smes_groups_fixed();

CREATE FUNCTION packages_category_fixed() RETURNS trigger AS $$
BEGIN
    IF NEW.category <> OLD.category
       AND EXISTS (SELECT 1 FROM applications WHERE package_id = OLD.id) THEN
        RAISE EXCEPTION 'a package''s category never changes once it has applications (package %)', OLD.id;
    END IF;
    RETURN NEW;
END
$$ LANGUAGE plpgsql;
CREATE TRIGGER packages_category_fixed BEFORE UPDATE OF category ON packages
    FOR EACH ROW EXECUTE FUNCTION packages_category_fixed();

-- The applications already there, folded by the first report.
INSERT INTO application_deltas (application_id, sign, is_insert, status, reserved_at, closed_at, subsidy_cents)
SELECT id, 1, true, status, reserved_at, closed_at, subsidy_cents FROM applications ORDER BY queued_at, id;
