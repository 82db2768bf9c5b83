-- The client's address (after trusted proxies) when an account registered and when an
-- application was filed: risk indicators look for many accounts or applications from one place.
ALTER TABLE users ADD COLUMN registration_ip TEXT;
ALTER TABLE applications ADD COLUMN client_ip TEXT;
CREATE INDEX users_registration_ip ON users (registration_ip) WHERE registration_ip IS NOT NULL;
CREATE INDEX applications_client_ip ON applications (client_ip) WHERE client_ip IS NOT NULL;
