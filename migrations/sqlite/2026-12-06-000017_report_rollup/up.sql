-- The rules that let PostgreSQL keep the drawdown report's application facts incrementally
-- (see the PostgreSQL migration of the same name), held on SQLite too so that both backends
-- refuse the same writes. SQLite computes the facts from the applications each time.
CREATE TRIGGER applications_no_delete BEFORE DELETE ON applications
BEGIN
    SELECT RAISE(ABORT, 'applications are never deleted');
END;

CREATE TRIGGER applications_keys_fixed BEFORE UPDATE OF id, sme_id, package_id, vendor_id, batch_id, queued_at ON applications
WHEN NEW.id <> OLD.id OR NEW.sme_id <> OLD.sme_id OR NEW.package_id <> OLD.package_id
     OR NEW.vendor_id <> OLD.vendor_id OR NEW.batch_id <> OLD.batch_id
     OR NEW.queued_at <> OLD.queued_at
BEGIN
    SELECT RAISE(ABORT, 'an application''s SME, package, vendor, batch and queue time never change');
END;

CREATE TRIGGER smes_groups_fixed BEFORE UPDATE OF sector, district ON smes
WHEN (NEW.sector <> OLD.sector OR NEW.district <> OLD.district)
     AND EXISTS (SELECT 1 FROM applications WHERE sme_id = OLD.id)
BEGIN
    SELECT RAISE(ABORT, 'an SME''s sector and district never change once it has applied');
END;

CREATE TRIGGER packages_category_fixed BEFORE UPDATE OF category ON packages
WHEN NEW.category <> OLD.category
     AND EXISTS (SELECT 1 FROM applications WHERE package_id = OLD.id)
BEGIN
    SELECT RAISE(ABORT, 'a package''s category never changes once it has applications');
END;
