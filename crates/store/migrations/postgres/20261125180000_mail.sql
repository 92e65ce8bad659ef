-- Mail channel: mailboxes, the mail details of contacts, Message-IDs for threading, the intake
-- keys that make mail intake idempotent, the auto-reply log (RFC 3834) and IMAP positions.
ALTER TABLE contacts ADD COLUMN mail TEXT;

CREATE TABLE mailboxes (
    id TEXT PRIMARY KEY,
    address TEXT NOT NULL UNIQUE,
    display_name TEXT NOT NULL,
    team_id TEXT REFERENCES teams(id),
    language TEXT NOT NULL,
    signature TEXT NOT NULL DEFAULT '',
    imap TEXT,
    outbound_route TEXT NOT NULL,
    active BOOLEAN NOT NULL DEFAULT TRUE,
    created_at BIGINT NOT NULL,
    updated_at BIGINT NOT NULL
);

-- Every Message-ID we received or sent, and the case it belongs to.
CREATE TABLE mail_messages (
    message_id TEXT NOT NULL,
    contact_id TEXT NOT NULL REFERENCES contacts(id),
    case_id TEXT NOT NULL REFERENCES cases(id),
    direction TEXT NOT NULL,
    created_at BIGINT NOT NULL,
    PRIMARY KEY (message_id, contact_id)
);
CREATE INDEX mail_messages_contact ON mail_messages (contact_id);

-- One row per stored inbound mail: a redelivery finds its key and changes nothing.
CREATE TABLE mail_intake (
    key TEXT PRIMARY KEY,
    contact_id TEXT NOT NULL REFERENCES contacts(id),
    case_id TEXT NOT NULL REFERENCES cases(id),
    created_at BIGINT NOT NULL
);

-- When each sender last got an automatic mail from us.
CREATE TABLE auto_replies (
    sender TEXT PRIMARY KEY,
    last_at BIGINT NOT NULL
);

-- How far the IMAP poller got in each mailbox's folder.
CREATE TABLE imap_state (
    mailbox_id TEXT PRIMARY KEY REFERENCES mailboxes(id),
    uid_validity BIGINT NOT NULL,
    last_uid BIGINT NOT NULL,
    updated_at BIGINT NOT NULL
);
