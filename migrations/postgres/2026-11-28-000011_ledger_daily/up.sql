-- The ledger summed by Hong Kong day and kind, for the drawdown report's periods: kept up to
-- date incrementally by entry number (`seq`), which entries take in commit order, so the
-- entries not yet summed are always exactly those numbered after `through_seq`.
CREATE TABLE ledger_daily (
    day      TEXT NOT NULL,
    kind     TEXT NOT NULL,
    cents    BIGINT NOT NULL,
    entries  BIGINT NOT NULL,
    PRIMARY KEY (day, kind)
);
CREATE TABLE ledger_daily_state (
    id           TEXT NOT NULL PRIMARY KEY,
    through_seq  BIGINT NOT NULL CHECK (through_seq >= 0)
);
INSERT INTO ledger_daily_state (id, through_seq) VALUES ('ledger', 0);

-- Applications that waited for money (the report's waitlist by period reads only these).
CREATE INDEX applications_waited ON applications (queued_at)
    WHERE reserved_at IS NULL OR reserved_at > queued_at;
