-- Web UI sessions (PostgreSQL twin of sqlite/0008_sessions.sql): the cookie holds a random secret, the row only its hash. Every replica
-- reads the same table, so a session works whichever replica answers.

CREATE TABLE sessions (
    token_hash TEXT    PRIMARY KEY,
    user_id    BIGINT NOT NULL REFERENCES users (id) ON DELETE CASCADE,
    -- the value every form of this session must send back (CSRF)
    csrf_token TEXT    NOT NULL,
    created_at BIGINT NOT NULL,
    expires_at BIGINT NOT NULL
);
CREATE INDEX sessions_user ON sessions (user_id);
