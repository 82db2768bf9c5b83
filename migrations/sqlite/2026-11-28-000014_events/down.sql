DROP INDEX outbox_dedupe_key;
ALTER TABLE outbox DROP COLUMN attachment_body;
ALTER TABLE outbox DROP COLUMN attachment_type;
ALTER TABLE outbox DROP COLUMN attachment_name;
ALTER TABLE outbox DROP COLUMN dedupe_key;
DROP TABLE event_registrations;
DROP TABLE event_topics;
DROP TABLE events;
