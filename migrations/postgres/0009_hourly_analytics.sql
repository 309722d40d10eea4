-- Hourly analytics (migrations/0009_hourly_analytics.sql on PostgreSQL): the aggregates of analytics_daily
-- per UTC hour, so that a time series can start its days at local midnight in any zone whose offset is whole
-- hours (a local day is 23, 24 or 25 UTC hours), and the removed conversations' counts per hour beside
-- analytics_retired.

-- One row per (assistant, phone number, UTC hour, org, channel, sentiment, resolution), with the '' rows
-- meaning "any" assistant or number, as analytics_daily. Written in the same transaction as analytics_daily.
CREATE TABLE analytics_hourly (
    assistant_id      TEXT COLLATE "C" NOT NULL,
    phone_number_id   TEXT COLLATE "C" NOT NULL,
    -- 'YYYY-MM-DDTHH' (UTC), the first 13 characters of the conversation's created_at.
    hour              TEXT COLLATE "C" NOT NULL,
    org_id            TEXT COLLATE "C" NOT NULL,
    channel           TEXT NOT NULL,
    sentiment         TEXT NOT NULL,
    resolution        TEXT NOT NULL,
    conversations     BIGINT NOT NULL,
    duration_seconds  BIGINT NOT NULL,
    PRIMARY KEY (assistant_id, phone_number_id, hour, org_id, channel, sentiment, resolution)
);

-- A time series in a zone reads each day's row and the hours between UTC and local midnight, a list of hours:
-- PostgreSQL's planner does not seek such a list through the third column of the primary key (it reads every
-- hour of the range and filters them). This index, of the "any assistant, any number" rows only, holds what
-- the read sums, so the listed hours are an index-only scan. (SQLite seeks each hour in the primary key.)
CREATE INDEX analytics_hourly_any ON analytics_hourly (hour, org_id)
    INCLUDE (channel, sentiment, resolution, conversations, duration_seconds)
    WHERE assistant_id = '' AND phone_number_id = '';

-- The removed conversations' counts per UTC hour, as analytics_retired per day: what the recount and
-- `edmo analytics rebuild` read for the hours of the conversations that are gone.
CREATE TABLE analytics_retired_hourly (
    assistant_id      TEXT COLLATE "C" NOT NULL,
    phone_number_id   TEXT COLLATE "C" NOT NULL,
    hour              TEXT COLLATE "C" NOT NULL,
    org_id            TEXT COLLATE "C" NOT NULL,
    channel           TEXT NOT NULL,
    sentiment         TEXT NOT NULL,
    resolution        TEXT NOT NULL,
    conversations     BIGINT NOT NULL,
    duration_seconds  BIGINT NOT NULL,
    PRIMARY KEY (assistant_id, phone_number_id, hour, org_id, channel, sentiment, resolution)
);

-- Conversations removed before this migration left only their day: they count at 12:00 UTC of it, the hour
-- that falls on the same date in every zone from UTC-12 to UTC+11.
INSERT INTO analytics_retired_hourly (assistant_id, phone_number_id, hour, org_id, channel, sentiment, resolution,
                                      conversations, duration_seconds)
SELECT assistant_id, phone_number_id, day || 'T12', org_id, channel, sentiment, resolution, conversations, duration_seconds
FROM analytics_retired;

-- The backfill: the four groupings of the rollup, from the stored conversations and the removed ones' counts.
WITH counted AS (
    SELECT COALESCE(assistant_id, '-') AS a, COALESCE(phone_number_id, '-') AS p, substr(created_at, 1, 13) AS hour,
           org_id, channel, sentiment, resolution, 1::bigint AS n, duration_seconds::bigint AS duration_seconds
    FROM conversations
    WHERE status = 'ended' AND sentiment IS NOT NULL AND resolution IS NOT NULL
    UNION ALL
    SELECT assistant_id, phone_number_id, hour, org_id, channel, sentiment, resolution, conversations, duration_seconds
    FROM analytics_retired_hourly
)
INSERT INTO analytics_hourly (assistant_id, phone_number_id, hour, org_id, channel, sentiment, resolution,
                              conversations, duration_seconds)
SELECT g.a, g.p, hour, org_id, channel, sentiment, resolution, sum(n), sum(duration_seconds)
FROM counted CROSS JOIN LATERAL (VALUES (counted.a, counted.p), (counted.a, ''), ('', counted.p), ('', '')) AS g(a, p)
GROUP BY g.a, g.p, hour, org_id, channel, sentiment, resolution;
