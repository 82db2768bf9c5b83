DROP TABLE outbox;
DROP TRIGGER audit_events_no_update ON audit_events;
DROP FUNCTION audit_events_append_only();
DROP TABLE audit_events;
DROP TABLE email_tokens;
DROP TABLE refresh_tokens;
DROP TABLE smes;
DROP TABLE vendors;
DROP TABLE users;
