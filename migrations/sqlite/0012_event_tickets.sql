-- Event tickets: what a browser's EventSource (which cannot send `Authorization`) opens an event
-- stream with. One use, a minute's life, bound to a sign-in by its public id (its token hash
-- changes at every refresh); only a keyed hash of the ticket is stored. `id` orders a sign-in's
-- tickets, so minting past the cap drops its oldest. A sign-in's row going (swept, or its account
-- deleted) takes its tickets along; an ended sign-in's tickets are refused when used.
CREATE TABLE event_tickets (
    id          INTEGER PRIMARY KEY,
    ticket_hash BLOB NOT NULL UNIQUE,
    sign_in     TEXT NOT NULL REFERENCES sessions(public_id) ON DELETE CASCADE,
    expires_at  INTEGER NOT NULL
) STRICT;
CREATE INDEX event_tickets_by_sign_in ON event_tickets(sign_in, id);
CREATE INDEX event_tickets_expiry ON event_tickets(expires_at);
