#!/usr/bin/env python3
"""Joins the results files of two bench/run.sh runs (BENCH_RESULTS, one per store) into one table: each row's
SQLite figure, its PostgreSQL figure and the ratio PostgreSQL / SQLite, then the goals of issue 12.

Usage: bench/compare.py SQLITE.tsv POSTGRES.tsv

A results file has one tab-separated line per row: KIND NAME REQ/S P50_MS P99_MS NOTE, where KIND is
meta, baseline, read, write, write-hashed, chat, analytics, timeseries, export, webhook, memory or pgconn
(export: REQ/S holds the seconds the export took), and NOTE holds
key=value pairs separated by ';' (bench/README.md, "Both stores").
"""
import sys

READ_GOAL = 0.6        # reads: PostgreSQL at least 0.6 of SQLite's req/s
WRITE_GOAL = 1.0       # writes: at least as fast (PostgreSQL's group commit)
ANALYTICS_P50_MS = 20  # analytics 90 days at 1,000,000 conversations, one client, p50
ANALYTICS_ROWS = 1000000
WEBHOOK_RATE = 2000    # webhook reports per second, durable
TIMESERIES_P50_MS = 20  # time series 365 days by day at 1,000,000 conversations, one client, p50
EXPORT_SECONDS, EXPORT_GROWTH_MIB = 15, 60  # CSV export of every conversation through nginx
TABLE_KINDS = ("baseline", "read", "write", "write-hashed", "chat", "analytics", "timeseries", "webhook")


class Row:
    def __init__(self, fields):
        fields += [""] * (6 - len(fields))
        self.kind, self.name = fields[0], fields[1]
        self.rps, self.p50, self.p99 = (number(f) for f in fields[2:5])
        self.note = dict(part.split("=", 1) for part in fields[5].split(";") if "=" in part)
        self.text = fields[5]


def number(text):
    try:
        return float(text)
    except ValueError:
        return None


def load(path):
    rows = {}
    with open(path, encoding="utf-8") as f:
        for line in f:
            line = line.rstrip("\n")
            if line:
                row = Row(line.split("\t"))
                rows[(row.kind, row.name)] = row
    return rows


def fmt(value, digits=0):
    return "-" if value is None else f"{value:.{digits}f}"


def ratio(a, b):
    return None if a is None or b is None or b == 0 else a / b


def main():
    if len(sys.argv) != 3:
        sys.exit("usage: compare.py SQLITE.tsv POSTGRES.tsv")
    sq, pg = load(sys.argv[1]), load(sys.argv[2])

    for label, rows in (("SQLite", sq), ("PostgreSQL", pg)):
        store = rows.get(("meta", "store"))
        header = rows.get(("meta", "header"))
        started = rows.get(("meta", "started"))
        print(f"{label}: {store.text if store else '?'}")
        print(f"{' ' * len(label)}  run started {started.text if started else '?'}: {header.text if header else '?'}")

    # The C responder's ratio between the two runs is the machine's drift between them (the same code ran
    # twice): 1.00 when the machine was as busy in both. The "per C" column divides it out.
    hello = ratio(pg[("baseline", "hello")].rps, sq[("baseline", "hello")].rps) \
        if ("baseline", "hello") in pg and ("baseline", "hello") in sq else None

    keys = [k for k in sq if k[0] in TABLE_KINDS] + [k for k in pg if k[0] in TABLE_KINDS and k not in sq]
    width = max([len(k[1]) for k in keys] + [20])
    print()
    print(f"{'row':<{width}} {'SQLite':>9} {'p50':>7} {'p99':>7}   {'Postgres':>9} {'p50':>7} {'p99':>7}"
          f"   {'PG/SQLite':>9} {'per C':>6}")
    print(f"{'':<{width}} {'req/s':>9} {'ms':>7} {'ms':>7}   {'req/s':>9} {'ms':>7} {'ms':>7}")
    for key in keys:
        a, b = sq.get(key), pg.get(key)
        r = ratio(b.rps if b else None, a.rps if a else None)
        adjusted = ratio(r, hello) if key[0] != "baseline" else None
        print(f"{key[1]:<{width}} {fmt(a.rps if a else None):>9} {fmt(a.p50 if a else None, 2):>7} "
              f"{fmt(a.p99 if a else None, 2):>7}   {fmt(b.rps if b else None):>9} {fmt(b.p50 if b else None, 2):>7} "
              f"{fmt(b.p99 if b else None, 2):>7}   {fmt(r, 2):>9} {fmt(adjusted, 2):>6}")

    print()
    for key in [k for k in sq if k[0] == "memory"]:
        a, b = sq.get(key), pg.get(key)
        print(f"{key[1]}: SQLite {fmt(a.rps, 1)}, PostgreSQL {fmt(b.rps if b else None, 1)}")
    for name in ("writes", "table to webhooks", "contention"):
        c = pg.get(("pgconn", name))
        if c and c.rps is not None:
            pool = int(c.note.get("pool", "0"))
            verdict = "bounded by the pool" if c.rps <= pool else "MORE than the pool"
            print(f"PostgreSQL connections, {name}: at most {c.rps:.0f} ({c.note.get('samples', '?')} samples of "
                  f"pg_stat_activity); pool {pool} per process ({c.note.get('workers', '?')} workers): {verdict}")
    if hello is not None:
        print(f"drift: the C responder ran at {hello:.2f}x in the PostgreSQL run of what it did in the SQLite run; "
              f"'per C' is PG/SQLite divided by that")
    print()

    def below(kind, goal):
        rows = []
        for key in [k for k in sq if k[0] == kind]:
            r = ratio(pg[key].rps if key in pg else None, sq[key].rps)
            rows.append((key[1], r))
        missing = [n for n, r in rows if r is None]
        low = [(n, r) for n, r in rows if r is not None and r < goal]
        lowest = min((r for _, r in rows if r is not None), default=None)
        return rows, missing, low, lowest

    for kind, goal, label in (("read", READ_GOAL, "reads"), ("write", WRITE_GOAL, "writes")):
        rows, missing, low, lowest = below(kind, goal)
        if not rows:
            continue
        met = "MET" if not low and not missing else "NOT MET"
        detail = f"lowest {fmt(lowest, 2)}" if lowest is not None else "no ratio"
        if low:
            detail += "; below: " + ", ".join(f"{n} {r:.2f}" for n, r in low)
        if missing:
            detail += "; missing on PostgreSQL: " + ", ".join(missing)
        extra = ""
        if kind == "write":
            hashed = [k for k in sq if k[0] == "write-hashed"]
            if hashed:
                extra = " (" + ", ".join(f"{k[1]} {fmt(ratio(pg[k].rps if k in pg else None, sq[k].rps), 2)}" for k in hashed) \
                    + " apart: argon2id-bound, not the store)"
        print(f"goal: {label} >= {goal:.1f} of SQLite (req/s, every {label[:-1]} row){extra}: {met} ({detail})")

    big = [r for k, r in pg.items() if k[0] == "analytics" and r.note.get("clients") == "1"]
    if big:
        row = max(big, key=lambda r: int(r.note.get("conversations", "0")))
        n = int(row.note.get("conversations", "0"))
        met = "MET" if row.p50 is not None and row.p50 <= ANALYTICS_P50_MS else "NOT MET"
        sql = sq.get(("analytics", row.name))
        scale = ""
        if n < ANALYTICS_ROWS:  # a short run (BENCH_ANALYTICS_ROWS): the figures, but no verdict
            met, scale = "NOT MEASURED", f" [at {n:,} conversations only: BENCH_ANALYTICS_ROWS={n}]"
        print(f"goal: PostgreSQL analytics 90 days at {ANALYTICS_ROWS:,} conversations, one client, p50 <= "
              f"{ANALYTICS_P50_MS} ms: {met} (p50 {fmt(row.p50, 2)} ms, p99 {fmt(row.p99, 2)} ms; SQLite p50 "
              f"{fmt(sql.p50 if sql else None, 2)} ms){scale}")
    for label, rows in (("SQLite", sq), ("PostgreSQL", pg)):
        for key in [k for k in rows if k[0] == "timeseries"]:
            row = rows[key]
            n = int(row.note.get("conversations", "0"))
            met = "MET" if row.p50 is not None and row.p50 <= TIMESERIES_P50_MS else "NOT MET"
            if n < ANALYTICS_ROWS:
                met = f"NOT MEASURED [at {n:,} conversations only]"
            zone = f" in {row.note['tz']}" if row.note.get("tz") else ""
            print(f"goal: {label} time series 365 days{zone} at {ANALYTICS_ROWS:,} conversations, one client, p50 <= "
                  f"{TIMESERIES_P50_MS} ms: {met} (p50 {fmt(row.p50, 2)} ms, p99 {fmt(row.p99, 2)} ms)")
        for key in [k for k in rows if k[0] == "export"]:
            row = rows[key]
            n, growth = int(row.note.get("rows", "0")), number(row.note.get("growth_mib", ""))
            met = "MET" if row.rps is not None and row.rps < EXPORT_SECONDS and growth is not None \
                and growth < EXPORT_GROWTH_MIB else "NOT MET"
            if n < ANALYTICS_ROWS:
                met = f"NOT MEASURED [{n:,} rows only]"
            print(f"goal: {label} CSV export of {ANALYTICS_ROWS:,} rows through nginx < {EXPORT_SECONDS} s, edmo's memory "
                  f"growth < {EXPORT_GROWTH_MIB} MiB: {met} ({fmt(row.rps, 2)} s, edmo's CPU {row.note.get('cpu_s', '?')} s, +{fmt(growth, 1)} MiB, "
                  f"{row.note.get('before_mib', '?')} -> {row.note.get('peak_mib', '?')} MiB)")
    wh = pg.get(("webhook", "webhook reports, 16 clients"))
    if wh:
        met = "MET" if wh.rps is not None and wh.rps >= WEBHOOK_RATE else "NOT MET"
        sql = sq.get(("webhook", wh.name))
        print(f"goal: PostgreSQL webhook reports >= {WEBHOOK_RATE:,}/s, durable (synchronous_commit=on): {met} "
              f"({fmt(wh.rps)}/s, {wh.note.get('stored', '?')} stored; SQLite {fmt(sql.rps if sql else None)}/s)")
    c = pg.get(("pgconn", "writes"))
    if c and c.rps is not None:
        pool = int(c.note.get("pool", "0"))
        print(f"goal: PostgreSQL connections bounded by the pool, whatever the load: "
              f"{'MET' if c.rps <= pool else 'NOT MET'} (at most {c.rps:.0f} during the write rows, 64 clients; pool {pool})")


if __name__ == "__main__":
    main()
