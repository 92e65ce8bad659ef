-- Call-back requests are promises of the kind 'callback' with the customer's number and the
-- window they asked for (the promise is due at the window's end).
ALTER TABLE promises ADD COLUMN kind TEXT NOT NULL DEFAULT 'promise';
ALTER TABLE promises ADD COLUMN window_from BIGINT;
ALTER TABLE promises ADD COLUMN phone TEXT;
CREATE INDEX promises_callbacks ON promises (kind, status, window_from);
