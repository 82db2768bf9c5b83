ALTER TABLE smes DROP COLUMN contact_name_key;
ALTER TABLE smes DROP COLUMN contact_name;
