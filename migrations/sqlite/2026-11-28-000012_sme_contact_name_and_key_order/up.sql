-- An SME may name its contact person at registration, so that the vendor_related_party
-- indicator can compare contact names too (PROGRAMME-RULES.md). The key is the name
-- normalised by the application (src/risk/normalise.rs::name_key).
ALTER TABLE smes ADD COLUMN contact_name TEXT;
ALTER TABLE smes ADD COLUMN contact_name_key TEXT;

-- The SMEs sharing a contact key are read in order of registration, the first few at apply time
-- (src/risk/store.rs::sharing_head): keyed indexes in that order read only those, however many
-- SMEs share the key.
DROP INDEX smes_phone_key;
DROP INDEX smes_address_key;
DROP INDEX smes_email_domain;
CREATE INDEX smes_phone_key ON smes (phone_key, created_at, id) WHERE phone_key IS NOT NULL;
CREATE INDEX smes_address_key ON smes (address_key, created_at, id) WHERE address_key IS NOT NULL;
CREATE INDEX smes_email_domain ON smes (email_domain, created_at, id) WHERE email_domain IS NOT NULL;
