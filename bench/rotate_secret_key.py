#!/usr/bin/env python3
"""Times `edmo rotate-secret-key` (README, "Rotating EDMO_SECRET_KEY") on a fresh database: COUNT tool secrets
and COUNT Twilio credentials sealed with a key A, straight into the tables, then the rotation to a key B with
each batch size given, a `--check`, and the sealed values opened with libsodium here (all with B, none with A).
Usage: rotate_secret_key.py DB COUNT [BATCH_SIZE ...]    (EDMO_BIN: the binary; default .build/debug/edmo)
DB: a SQLite file to create, or a PostgreSQL URL of an empty database (as in EDMO_DATABASE).
Each batch size rotates the other way (A to B, B to A, ...); a last run finds nothing to do."""
import ctypes
import ctypes.util
import os
import secrets
import sqlite3
import subprocess
import sys
import time

REPO = os.path.abspath(os.path.join(os.path.dirname(__file__), ".."))
EDMO = os.environ.get("EDMO_BIN", os.path.join(REPO, ".build", "debug", "edmo"))
SODIUM = ctypes.CDLL(ctypes.util.find_library("sodium"))
assert SODIUM.sodium_init() >= 0


def seal(plain, key):
    nonce = secrets.token_bytes(24)
    out = ctypes.create_string_buffer(len(plain) + 16)
    SODIUM.crypto_secretbox_easy(out, plain, ctypes.c_ulonglong(len(plain)), nonce, key)
    return nonce + out.raw


def opens(blob, key):
    out = ctypes.create_string_buffer(len(blob) - 40)
    return SODIUM.crypto_secretbox_open_easy(out, blob[24:], ctypes.c_ulonglong(len(blob) - 24), blob[:24], key) == 0


def psql(url, sql, stdin=None):
    r = subprocess.run(["psql", "-X", "-q", "-At", "-v", "ON_ERROR_STOP=1", "-d", url, "-c", sql], input=stdin,
                       capture_output=True, text=True, check=True)
    return r.stdout.splitlines()


def seed(db, count, key):
    stamp = "2024-01-01T00:00:00.000Z"
    tools = [(f"tool_{i:08d}", "org_bench", "{}", stamp, stamp) for i in range(count)]
    secret = [(f"tool_{i:08d}", seal(b"tool-secret-%d" % i, key)) for i in range(count)]
    numbers = [(f"pn_{i:08d}", "org_bench", "twilio", "+1555%07d" % i, stamp, stamp,
                seal(b'{"twilioAccountSid":"AC%032d","twilioAuthToken":"token-%d"}' % (i, i), key)) for i in range(count)]
    if not db.startswith(("postgres://", "postgresql://")):
        with sqlite3.connect(db) as c:
            c.execute("INSERT INTO organizations (id, name, created_at) VALUES ('org_bench', 'bench', ?)", (stamp,))
            c.executemany("INSERT INTO tools (id, org_id, body, created_at, updated_at) VALUES (?, ?, ?, ?, ?)", tools)
            c.executemany("INSERT INTO tool_secrets (tool_id, sealed) VALUES (?, ?)", secret)
            c.executemany("INSERT INTO phone_numbers (id, org_id, provider, number, created_at, updated_at, credentials) "
                          "VALUES (?, ?, ?, ?, ?, ?, ?)", numbers)
        return
    psql(db, f"INSERT INTO organizations (id, name, created_at) VALUES ('org_bench', 'bench', '{stamp}')")
    psql(db, "\\copy tools (id, org_id, body, created_at, updated_at) FROM STDIN",
         "".join("\t".join(row) + "\n" for row in tools))
    psql(db, "\\copy tool_secrets (tool_id, sealed) FROM STDIN",
         "".join(f"{t}\t\\\\x{blob.hex()}\n" for t, blob in secret))
    psql(db, "\\copy phone_numbers (id, org_id, provider, number, created_at, updated_at, credentials) FROM STDIN",
         "".join("\t".join(row[:6]) + f"\t\\\\x{row[6].hex()}\n" for row in numbers))
    psql(db, "VACUUM ANALYZE")


def sealed(db):
    if not db.startswith(("postgres://", "postgresql://")):
        with sqlite3.connect(db) as c:
            return [bytes(b) for (b,) in c.execute(
                "SELECT sealed FROM tool_secrets UNION ALL SELECT credentials FROM phone_numbers")]
    return [bytes.fromhex(h) for h in psql(
        db, "SELECT encode(sealed, 'hex') FROM tool_secrets UNION ALL SELECT encode(credentials, 'hex') FROM phone_numbers")]


def main():
    db, count = sys.argv[1], int(sys.argv[2])
    sizes = [int(s) for s in sys.argv[3:]] or [100]
    a, b = secrets.token_bytes(32), secrets.token_bytes(32)
    env = {**os.environ, "EDMO_DATABASE": db, "EDMO_MIGRATIONS": os.path.join(REPO, "migrations")}
    subprocess.run([EDMO, "migrate"], env=env, check=True, capture_output=True)
    seed(db, count, a)
    print(f"{2 * count} sealed values ({count} tool secrets, {count} phone credentials) on "
          f"{'PostgreSQL' if db.startswith('postgres') else 'SQLite'}")
    old, new = a, b
    for size in sizes:
        keys = {"EDMO_SECRET_KEY": new.hex(), "EDMO_SECRET_KEY_PREVIOUS": old.hex()}
        started = time.monotonic()
        r = subprocess.run([EDMO, "rotate-secret-key", "--batch-size", str(size)], env={**env, **keys},
                           capture_output=True, text=True)
        seconds = time.monotonic() - started
        assert r.returncode == 0, r.stderr
        print(f"  --batch-size {size}: {seconds:.2f} s, {2 * count / seconds:,.0f} per second; "
              + r.stdout.splitlines()[-2].split(": ", 1)[1])
        check = subprocess.run([EDMO, "rotate-secret-key", "--check"], env={**env, "EDMO_SECRET_KEY": new.hex()},
                               capture_output=True, text=True)
        assert check.returncode == 0, check.stdout + check.stderr
        values = sealed(db)
        assert len(values) == 2 * count and all(opens(v, new) and not opens(v, old) for v in values)
        old, new = new, old
    print("  each run: --check passed, and every value opens with the new key and none with the old one")
    keys = {"EDMO_SECRET_KEY": old.hex(), "EDMO_SECRET_KEY_PREVIOUS": new.hex()}
    started = time.monotonic()
    r = subprocess.run([EDMO, "rotate-secret-key"], env={**env, **keys}, capture_output=True, text=True, check=True)
    print(f"  run again, nothing to do: {time.monotonic() - started:.2f} s; " + r.stdout.splitlines()[-2].split(": ", 1)[1])


if __name__ == "__main__":
    main()
