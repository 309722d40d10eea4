#!/usr/bin/env python3
"""Seeds analysed provider-call conversations straight into an edmo SQLite database, for the analytics
benchmark: N conversations spread over DAYS days before now, over the given assistants and numbers.
Usage: seed_conversations.py DB COUNT DAYS ORG_ID ASSISTANT_IDS(comma) NUMBER_IDS(comma) [START_INDEX]
The aggregates are not touched: run `edmo analytics rebuild` afterwards."""
import random
import sqlite3
import sys
import time
from datetime import datetime, timedelta, timezone

db_path, count, days, org = sys.argv[1], int(sys.argv[2]), int(sys.argv[3]), sys.argv[4]
assistants, numbers = sys.argv[5].split(","), sys.argv[6].split(",")
start = int(sys.argv[7]) if len(sys.argv) > 7 else 0
random.seed(start + 1)
now = datetime.now(timezone.utc)
db = sqlite3.connect(db_path, timeout=30)
db.execute("PRAGMA synchronous = OFF")  # seeding only; the server's own writes stay FULL


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


started = time.time()
db.executemany("""
    INSERT INTO conversations (id, org_id, assistant_id, phone_number_id, channel, type, status, ended_reason,
        started_at, ended_at, last_activity_at, duration_seconds, sentiment, resolution, summary, success_evaluation,
        created_at, updated_at, day)
    VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)""", rows())
db.commit()
print(f"seeded {count} conversations in {time.time() - started:.1f}s", file=sys.stderr)
