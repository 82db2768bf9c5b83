DROP INDEX applications_client_ip;
DROP INDEX users_registration_ip;
ALTER TABLE applications DROP COLUMN client_ip;
ALTER TABLE users DROP COLUMN registration_ip;
