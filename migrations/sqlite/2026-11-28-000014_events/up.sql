-- Seminars and events (issue 12, part B). An event's seat counts are held on its row, changed
-- only while that row is locked (as the budget is), so that exactly `capacity` registrations
-- are confirmed however many arrive at once; the checks keep the counts honest.
CREATE TABLE events (
    id                      TEXT NOT NULL PRIMARY KEY,
    title_en                TEXT NOT NULL,
    title_zh                TEXT NOT NULL,
    description_en          TEXT NOT NULL,
    description_zh          TEXT NOT NULL,
    starts_at               TIMESTAMP NOT NULL,
    ends_at                 TIMESTAMP NOT NULL,
    venue_en                TEXT,
    venue_zh                TEXT,
    online_url              TEXT,
    language                TEXT NOT NULL CHECK (language IN ('en', 'zh', 'bilingual')),
    capacity                BIGINT NOT NULL CHECK (capacity > 0),
    confirmed_count         BIGINT NOT NULL DEFAULT 0,
    waitlisted_count        BIGINT NOT NULL DEFAULT 0 CHECK (waitlisted_count >= 0),
    registration_closes_at  TIMESTAMP NOT NULL,
    audience                TEXT NOT NULL CHECK (audience IN ('sme', 'vendor', 'all')),
    status                  TEXT NOT NULL CHECK (status IN ('scheduled', 'cancelled')),
    -- RFC 5545 SEQUENCE: raised on every edit, so that calendars take the new version.
    sequence                BIGINT NOT NULL DEFAULT 0,
    cancel_reason           TEXT,
    created_by              TEXT REFERENCES users (id),
    created_at              TIMESTAMP NOT NULL,
    updated_at              TIMESTAMP NOT NULL,
    CHECK (ends_at > starts_at),
    CHECK (registration_closes_at <= starts_at),
    CHECK (confirmed_count >= 0 AND confirmed_count <= capacity),
    CHECK (venue_en IS NOT NULL OR online_url IS NOT NULL)
);
CREATE INDEX events_upcoming ON events (starts_at, id);

-- Topics are category codes.
CREATE TABLE event_topics (
    event_id  TEXT NOT NULL REFERENCES events (id),
    code      TEXT NOT NULL,
    PRIMARY KEY (event_id, code)
);
CREATE INDEX event_topics_code ON event_topics (code, event_id);

CREATE TABLE event_registrations (
    id            TEXT NOT NULL PRIMARY KEY,
    event_id      TEXT NOT NULL REFERENCES events (id),
    user_id       TEXT NOT NULL REFERENCES users (id),
    status        TEXT NOT NULL CHECK (status IN ('confirmed', 'waitlisted', 'cancelled')),
    created_at    TIMESTAMP NOT NULL,
    updated_at    TIMESTAMP NOT NULL,
    attended_at   TIMESTAMP
);
-- One live registration per person and event; a cancelled one may be followed by another.
CREATE UNIQUE INDEX event_registrations_one_live
    ON event_registrations (event_id, user_id) WHERE status <> 'cancelled';
-- The waitlist in order of arrival.
CREATE INDEX event_registrations_queue ON event_registrations (event_id, status, created_at, id);
CREATE INDEX event_registrations_user ON event_registrations (user_id, created_at);

-- Email that must go at most once per cause (a reminder per registration) carries a key, and a
-- calendar invitation rides along as an attachment.
ALTER TABLE outbox ADD COLUMN dedupe_key TEXT;
ALTER TABLE outbox ADD COLUMN attachment_name TEXT;
ALTER TABLE outbox ADD COLUMN attachment_type TEXT;
ALTER TABLE outbox ADD COLUMN attachment_body TEXT;
-- NULLs never collide in a unique index, on either backend: only keyed email is held to once.
CREATE UNIQUE INDEX outbox_dedupe_key ON outbox (dedupe_key);
