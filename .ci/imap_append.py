#!/usr/bin/env python3
"""Seed and inspect an IMAP mailbox for integration tests (Python 3 stdlib only).

  imap_append.py HOST PORT USER PASSWORD FOLDER FILE...
      Appends each FILE (a raw RFC 5322 message) to FOLDER, creating FOLDER if missing.
      Prints one line per message: "UID" (from APPENDUID when the server has UIDPLUS).
  imap_append.py --list HOST PORT USER PASSWORD FOLDER
      Prints "UID FLAGS" for every message in FOLDER, one per line, in UID order; FLAGS is
      the space-separated flag list, e.g. "3 \\Seen \\Answered", or just "3" without flags
      (\\Recent, a per-session flag, is left out).
  imap_append.py --folders HOST PORT USER PASSWORD
      Prints every folder name, one per line (modified UTF-7 as the server sends it).

Plain IMAP without TLS, as .ci/dovecot.sh serves it. Exits non-zero with a message on error.
"""

import imaplib
import re
import sys

USAGE = __doc__


def quote(name):
    """Quote a mailbox name for an IMAP command."""
    return '"' + name.replace("\\", "\\\\").replace('"', '\\"') + '"'


def connect(host, port, user, password):
    conn = imaplib.IMAP4(host, int(port), timeout=30)
    conn.login(user, password)
    return conn


def check(result, what):
    typ, data = result
    if typ != "OK":
        raise SystemExit(f"imap_append.py: {what} failed: {typ} {data!r}")
    return data


def ensure_folder(conn, folder):
    if folder.upper() == "INBOX":
        return
    typ, data = conn.list('""', quote(folder))
    if typ == "OK" and any(d for d in data if d):
        return
    check(conn.create(quote(folder)), f"CREATE {folder}")
    conn.subscribe(quote(folder))


def append(host, port, user, password, folder, files):
    conn = connect(host, port, user, password)
    try:
        ensure_folder(conn, folder)
        for path in files:
            with open(path, "rb") as f:
                message = f.read()
            # Messages on the wire need CRLF line ends; files usually have bare LF.
            message = re.sub(rb"\r?\n", b"\r\n", message)
            data = check(conn.append(quote(folder), None, None, message), f"APPEND {path}")
            match = re.search(rb"APPENDUID \d+ (\d+)", data[0] or b"")
            print(match.group(1).decode() if match else "?")
    finally:
        conn.logout()


def list_messages(host, port, user, password, folder):
    conn = connect(host, port, user, password)
    try:
        check(conn.select(quote(folder), readonly=True), f"SELECT {folder}")
        typ, data = conn.uid("FETCH", "1:*", "(UID FLAGS)")
        if typ != "OK":
            raise SystemExit(f"imap_append.py: FETCH failed: {typ} {data!r}")
        rows = []
        for item in data:
            if not item:
                continue
            if isinstance(item, tuple):
                item = item[0]
            uid = re.search(rb"UID (\d+)", item)
            flags = re.search(rb"FLAGS \(([^)]*)\)", item)
            if uid:
                names = flags.group(1).decode().split() if flags else []
                # \Recent belongs to the session that saw the message first, not to the message.
                names = [n for n in names if n.lower() != "\\recent"]
                rows.append((int(uid.group(1)), " ".join(names)))
        for uid, flags in sorted(rows):
            print(f"{uid} {flags}".rstrip())
        conn.close()
    finally:
        conn.logout()


def list_folders(host, port, user, password):
    conn = connect(host, port, user, password)
    try:
        data = check(conn.list('""', "*"), "LIST")
        for line in data:
            if not line:
                continue
            if isinstance(line, tuple):  # name sent as a literal
                print(line[1].decode())
                continue
            # (\Flags) "delim" name   -- delimiter may be NIL, name may be quoted
            m = re.match(rb'\([^)]*\) (?:"(?:[^"\\]|\\.)*"|NIL) (.*)$', line)
            if not m:
                raise SystemExit(f"imap_append.py: unexpected LIST line {line!r}")
            name = m.group(1)
            if name.startswith(b'"') and name.endswith(b'"'):
                name = re.sub(rb"\\(.)", rb"\1", name[1:-1])
            print(name.decode())
    finally:
        conn.logout()


def main(argv):
    try:
        if argv[:1] == ["--list"] and len(argv) == 6:
            list_messages(*argv[1:])
        elif argv[:1] == ["--create"] and len(argv) == 6:
            append(*argv[1:6], [])
        elif argv[:1] == ["--folders"] and len(argv) == 5:
            list_folders(*argv[1:])
        elif len(argv) >= 6 and not argv[0].startswith("--"):
            append(*argv[:5], argv[5:])
        else:
            print(USAGE, file=sys.stderr)
            return 2
    except (imaplib.IMAP4.error, OSError) as e:
        print(f"imap_append.py: {e}", file=sys.stderr)
        return 1
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
