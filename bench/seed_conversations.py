#!/usr/bin/env python3
"""Seeds analysed provider-call conversations straight into an edmo database, for the analytics benchmark:
N conversations spread over DAYS days before now, over the given assistants and numbers.
Usage: seed_conversations.py DB COUNT DAYS ORG_ID ASSISTANT_IDS(comma) NUMBER_IDS(comma) [START_INDEX]
DB is the SQLite file's path, or a PostgreSQL URL (postgres://... or postgresql://..., as in EDMO_DATABASE):
then the rows go in as CSV through `psql -c "\\copy conversations (...) FROM STDIN"`, and the table is
vacuumed and analysed afterwards (what autovacuum does within a minute of such a load on a live server).
The same seed gives the same rows on both stores.
The aggregates are not touched: run `edmo analytics rebuild` afterwards."""
import csv
import random
import sqlite3
import subprocess
import sys
import time
from datetime import datetime, timedelta, timezone

db_path, count, days, org = sys.argv[1], int(sys.argv[2]), int(sys.argv[3]), sys.argv[4]
assistants, numbers = sys.argv[5].split(","), sys.argv[6].split(",")
start = int(sys.argv[7]) if len(sys.argv) > 7 else 0
random.seed(start + 1)
now = datetime.now(timezone.utc)

COLUMNS = ("id, org_id, assistant_id, phone_number_id, channel, type, status, ended_reason, started_at, ended_at, "
           "last_activity_at, duration_seconds, sentiment, resolution, summary, success_evaluation, "
           "created_at, updated_at, day")


def fmt(t):
    return t.strftime("%Y-%m-%dT%H:%M:%S.") + "%03dZ" % (t.microsecond // 1000)


def rows():
    for i in range(start, start + count):
        created = now - timedelta(seconds=random.randrange(days * 86400))
        phone = random.random() < 0.6
        seconds = random.randrange(15, 900)
        stamp = fmt(created)
        yield (f"call-{i}", org, random.choice(assistants), random.choice(numbers) if phone else None,
               "phone" if phone else "web", "inboundPhoneCall" if phone else "webCall", "ended", "customer-ended-call",
               stamp, fmt(created + timedelta(seconds=seconds)), stamp, seconds,
               random.choice(["positive", "neutral", "negative"]), random.choice(["resolved", "resolved", "escalated", "failed"]),
               "Seeded call.", "true", stamp, stamp, stamp[:10])


def seed_sqlite():
    db = sqlite3.connect(db_path, timeout=30)
    db.execute("PRAGMA synchronous = OFF")  # seeding only; the server's own writes stay FULL
    db.executemany(f"INSERT INTO conversations ({COLUMNS}) VALUES ({', '.join('?' * 19)})", rows())
    db.commit()


def psql(*args, **kwargs):
    return subprocess.run(["psql", "-X", "-q", "-v", "ON_ERROR_STOP=1", "-d", db_path, *args], check=True, **kwargs)


def seed_postgres():
    # CSV: None is written as an empty unquoted field, which COPY's CSV format reads as NULL; no other value
    # here is empty. One COPY, one transaction: the server's own commits are untouched (synchronous_commit on).
    copy = subprocess.Popen(["psql", "-X", "-q", "-v", "ON_ERROR_STOP=1", "-d", db_path,
                             "-c", f"\\copy conversations ({COLUMNS}) FROM STDIN WITH (FORMAT csv)"],
                            stdin=subprocess.PIPE, text=True)
    writer = csv.writer(copy.stdin, lineterminator="\n")
    try:
        for row in rows():
            writer.writerow(row)
    finally:
        copy.stdin.close()
    if copy.wait() != 0:
        sys.exit("seed_conversations: psql \\copy failed")
    psql("-c", "VACUUM (ANALYZE) conversations")


started = time.time()
if db_path.startswith(("postgres://", "postgresql://")):
    seed_postgres()
else:
    seed_sqlite()
print(f"seeded {count} conversations in {time.time() - started:.1f}s", file=sys.stderr)
