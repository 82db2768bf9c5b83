DROP INDEX smes_phone_key;
DROP INDEX smes_address_key;
DROP INDEX smes_email_domain;
CREATE INDEX smes_phone_key ON smes (phone_key) WHERE phone_key IS NOT NULL;
CREATE INDEX smes_address_key ON smes (address_key) WHERE address_key IS NOT NULL;
CREATE INDEX smes_email_domain ON smes (email_domain) WHERE email_domain IS NOT NULL;
ALTER TABLE smes DROP COLUMN contact_name_key;
ALTER TABLE smes DROP COLUMN contact_name;
