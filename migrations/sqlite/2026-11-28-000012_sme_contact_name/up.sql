-- An SME may name its contact person at registration, so that the vendor_related_party
-- indicator can compare contact names too (PROGRAMME-RULES.md). The key is the name
-- normalised by the application (src/risk/normalise.rs::name_key).
ALTER TABLE smes ADD COLUMN contact_name TEXT;
ALTER TABLE smes ADD COLUMN contact_name_key TEXT;
