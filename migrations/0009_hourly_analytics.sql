-- Hourly analytics: the aggregates of analytics_daily per UTC hour, so that a time series can start its days
-- at local midnight in any zone whose offset is whole hours (a local day is 23, 24 or 25 UTC hours), and the
-- removed conversations' counts per hour beside analytics_retired.

-- One row per (assistant, phone number, UTC hour, org, channel, sentiment, resolution), with the '' rows
-- meaning "any" assistant or number, as analytics_daily. `hour` is 'YYYY-MM-DDTHH' (UTC), the first 13
-- characters of the conversation's created_at. Written in the same transaction as analytics_daily.
CREATE TABLE analytics_hourly (
    assistant_id      TEXT NOT NULL,
    phone_number_id   TEXT NOT NULL,
    hour              TEXT NOT NULL,
    org_id            TEXT NOT NULL,
    channel           TEXT NOT NULL,
    sentiment         TEXT NOT NULL,
    resolution        TEXT NOT NULL,
    conversations     INTEGER NOT NULL,
    duration_seconds  INTEGER NOT NULL,
    PRIMARY KEY (assistant_id, phone_number_id, hour, org_id, channel, sentiment, resolution)
) WITHOUT ROWID;

-- The removed conversations' counts per UTC hour, as analytics_retired per day: what the recount and
-- `edmo analytics rebuild` read for the hours of the conversations that are gone.
CREATE TABLE analytics_retired_hourly (
    assistant_id      TEXT NOT NULL,
    phone_number_id   TEXT NOT NULL,
    hour              TEXT NOT NULL,
    org_id            TEXT NOT NULL,
    channel           TEXT NOT NULL,
    sentiment         TEXT NOT NULL,
    resolution        TEXT NOT NULL,
    conversations     INTEGER NOT NULL,
    duration_seconds  INTEGER NOT NULL,
    PRIMARY KEY (assistant_id, phone_number_id, hour, org_id, channel, sentiment, resolution)
) WITHOUT ROWID;

-- Conversations removed before this migration left only their day: they count at 12:00 UTC of it, the hour
-- that falls on the same date in every zone from UTC-12 to UTC+11.
INSERT INTO analytics_retired_hourly (assistant_id, phone_number_id, hour, org_id, channel, sentiment, resolution,
                                      conversations, duration_seconds)
SELECT assistant_id, phone_number_id, day || 'T12', org_id, channel, sentiment, resolution, conversations, duration_seconds
FROM analytics_retired;

-- The backfill: the four groupings of the rollup, from the stored conversations and the removed ones' counts.
WITH counted AS (
    SELECT COALESCE(assistant_id, '-') AS a, COALESCE(phone_number_id, '-') AS p, substr(created_at, 1, 13) AS hour,
           org_id, channel, sentiment, resolution, 1 AS n, duration_seconds
    FROM conversations
    WHERE status = 'ended' AND sentiment IS NOT NULL AND resolution IS NOT NULL
    UNION ALL
    SELECT assistant_id, phone_number_id, hour, org_id, channel, sentiment, resolution, conversations, duration_seconds
    FROM analytics_retired_hourly
),
grouped AS (
    SELECT a, p, hour, org_id, channel, sentiment, resolution, n, duration_seconds FROM counted
    UNION ALL SELECT a, '', hour, org_id, channel, sentiment, resolution, n, duration_seconds FROM counted
    UNION ALL SELECT '', p, hour, org_id, channel, sentiment, resolution, n, duration_seconds FROM counted
    UNION ALL SELECT '', '', hour, org_id, channel, sentiment, resolution, n, duration_seconds FROM counted
)
INSERT INTO analytics_hourly (assistant_id, phone_number_id, hour, org_id, channel, sentiment, resolution,
                              conversations, duration_seconds)
SELECT a, p, hour, org_id, channel, sentiment, resolution, SUM(n), SUM(duration_seconds)
FROM grouped
GROUP BY a, p, hour, org_id, channel, sentiment, resolution;
