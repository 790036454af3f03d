-- Event tickets: the same table as SQLite's 0012 (the reasons are there).
CREATE TABLE event_tickets (
    id          BIGINT GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
    ticket_hash BYTEA NOT NULL UNIQUE,
    sign_in     TEXT NOT NULL REFERENCES sessions(public_id) ON DELETE CASCADE,
    expires_at  BIGINT NOT NULL
);
CREATE INDEX event_tickets_by_sign_in ON event_tickets(sign_in, id);
CREATE INDEX event_tickets_expiry ON event_tickets(expires_at);
