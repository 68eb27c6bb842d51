--
-- input_ts: the login time through features(), scoring and the check_login
-- trigger.  A NULL or infinite time is a missing hour, not an error.  The
-- hour is taken in UTC, so the session's TimeZone changes nothing, and a
-- timestamp without time zone column is read as UTC.  User ids here start
-- with "in_ts_".
--
SET client_min_messages = warning;
CREATE EXTENSION IF NOT EXISTS login_anomaly;
RESET client_min_messages;

-- Times are shown in ISO style and UTC, whatever pg_regress sets
SET DateStyle = 'ISO';
SET TimeZone = 'UTC';

-- features(): NULL and both infinities have no time and no hour
SELECT k AS ts_kind, fv::text::jsonb -> 'ts' AS ts, fv::text::jsonb ? 'hour' AS has_hour
FROM (SELECT n, k, login_anomaly.features(ts, NULL, 'US', NULL, NULL, NULL) AS fv
      FROM (VALUES (1, 'NULL', NULL::timestamptz), (2, 'infinity', 'infinity'),
                   (3, '-infinity', '-infinity')) v(n, k, ts)) s
ORDER BY n;

-- ... and encode alike
SELECT count(DISTINCT login_anomaly.features(ts, NULL, 'US', NULL, NULL, NULL)::text) AS distinct_vectors
FROM (VALUES (NULL::timestamptz), ('infinity'), ('-infinity')) v(ts);

-- The same instant written with three offsets, under five TimeZone
-- settings, gives one feature vector: 03:00 UTC, hour 3
CREATE TEMP TABLE in_ts_zones (zone text);
INSERT INTO in_ts_zones VALUES ('UTC'), ('America/New_York'), ('Asia/Kolkata'),
  ('Pacific/Chatham'), ('America/St_Johns');
CREATE TEMP TABLE in_ts_seen (zone text, fv text, score_by_user float8, score_by_model float8);
CREATE FUNCTION pg_temp.in_ts_record(zone text) RETURNS void LANGUAGE plpgsql AS $$
BEGIN
  PERFORM set_config('TimeZone', zone, true);
  INSERT INTO in_ts_seen
  SELECT zone, login_anomaly.features(t, '198.51.100.20', 'US', 'NY', 'New York', NULL)::text,
         login_anomaly.score('in_ts_alice', t, '198.51.100.20', 'US', 'NY', 'New York', NULL),
         (SELECT login_anomaly.score(m.model,
                   login_anomaly.features(t, '198.51.100.20', 'US', 'NY', 'New York', NULL))
          FROM login_anomaly.models m WHERE m.user_id = 'in_ts_alice')
  FROM unnest(ARRAY['2024-02-05 03:00:00+00', '2024-02-04 22:00:00-05',
                    '2024-02-05 08:30:00+05:30']::timestamptz[]) t;
END $$;
SELECT count(pg_temp.in_ts_record(zone)) AS zones FROM in_ts_zones;
SELECT count(*) AS probes, count(DISTINCT fv) AS distinct_vectors,
       min(fv)::jsonb ->> 'ts' AS ts, min(fv)::jsonb ->> 'hour' AS hour
FROM in_ts_seen;
TRUNCATE in_ts_seen;

-- A timestamp without time zone passed to features() is first cast to
-- timestamptz by PostgreSQL, in the session's TimeZone: the hour then
-- depends on TimeZone.  Cast it with AT TIME ZONE 'UTC' to read it as UTC,
-- as check_login and train() do
SET TimeZone = 'America/New_York';
SELECT login_anomaly.features('2024-02-05 03:00'::timestamp, NULL, NULL, NULL, NULL, NULL)::text::jsonb ->> 'hour'
  AS hour_cast_in_session_zone,
       login_anomaly.features('2024-02-05 03:00'::timestamp AT TIME ZONE 'UTC', NULL, NULL, NULL, NULL, NULL)::text::jsonb ->> 'hour'
  AS hour_read_as_utc;
SET TimeZone = 'UTC';

-- Two logins tables, one with timestamptz and one with timestamp without
-- time zone, and thirty afternoon logins (14:00 to 17:00 UTC) of in_ts_alice
-- in the first, trained under TimeZone Asia/Tokyo
CREATE TABLE in_ts_logins (login_id bigserial PRIMARY KEY, note text, user_id text,
  ts timestamptz, ip inet, country text, region text, city text, user_agent text);
CREATE TABLE in_ts_plain (login_id bigserial PRIMARY KEY, note text, user_id text,
  ts timestamp, ip inet, country text, region text, city text, user_agent text);
INSERT INTO in_ts_logins (note, user_id, ts, ip, country, region, city)
SELECT 'history', 'in_ts_alice',
       '2024-01-01 14:00+00'::timestamptz + i * interval '24 hours' + (i % 4) * interval '1 hour',
       ('198.51.100.' || (10 + i % 5))::inet, 'US', 'NY', 'New York'
FROM generate_series(1, 30) i;
SET TimeZone = 'Asia/Tokyo';
SELECT login_anomaly.train('in_ts_logins') AS users_trained;
SET TimeZone = 'UTC';
SELECT model::text::jsonb -> 'hours' AS hours FROM login_anomaly.models WHERE user_id = 'in_ts_alice';

-- The same history in the timestamp table, trained under two TimeZone
-- settings: both models have the same hours, those of the timestamptz table
INSERT INTO in_ts_plain (note, user_id, ts, ip, country, region, city)
SELECT note, 'in_ts_bob', ts AT TIME ZONE 'UTC', ip, country, region, city FROM in_ts_logins;
SET TimeZone = 'Pacific/Chatham';
SELECT login_anomaly.train('in_ts_plain') AS users_trained;
CREATE TEMP TABLE in_ts_model_chatham AS
SELECT model::text::jsonb - 'trained_at' AS m FROM login_anomaly.models WHERE user_id = 'in_ts_bob';
SET TimeZone = 'America/Los_Angeles';
SELECT login_anomaly.train('in_ts_plain') AS users_trained;
SET TimeZone = 'UTC';
SELECT c.m = (b.model::text::jsonb - 'trained_at') AS same_model_in_both_zones,
       (b.model::text::jsonb -> 'hours') = (a.model::text::jsonb -> 'hours') AS same_hours_as_timestamptz
FROM in_ts_model_chatham c, login_anomaly.models a, login_anomaly.models b
WHERE a.user_id = 'in_ts_alice' AND b.user_id = 'in_ts_bob';

-- Scoring: the same login at 03:00 UTC scores higher than at 15:00 UTC,
-- because the hour is new, and explain() gives that reason.  A missing or infinite
-- time scores alike, and so does 15:00 UTC in the years 4713 BC and
-- 294276, whose hour is the usual one
CREATE TEMP TABLE in_ts_scores AS
SELECT n, k AS ts_kind,
       login_anomaly.score('in_ts_alice', ts, '198.51.100.20', 'US', 'NY', 'New York', NULL) AS by_user,
       login_anomaly.score(m.model, login_anomaly.features(ts, '198.51.100.20', 'US', 'NY', 'New York', NULL)) AS by_model,
       login_anomaly.explain('in_ts_alice', ts, '198.51.100.20', 'US', 'NY', 'New York', NULL) AS reasons
FROM (VALUES (1, '15:00 UTC', '2024-02-05 15:00+00'::timestamptz), (2, '03:00 UTC', '2024-02-05 03:00+00'),
             (3, 'NULL', NULL), (4, 'infinity', 'infinity'), (5, '-infinity', '-infinity'),
             (6, '4713 BC', '4713-01-01 15:00+00 BC'), (7, '294276 AD', '294276-12-31 15:00+00')) v(n, k, ts),
     login_anomaly.models m
WHERE m.user_id = 'in_ts_alice';
SELECT s.ts_kind, round(s.by_user::numeric, 3) AS score, s.by_user = s.by_model AS same_as_model_score,
       s.by_user > u.by_user AS above_15_utc, s.by_user = u.by_user AS same_as_15_utc,
       s.by_user = n.by_user AS same_as_null, s.reasons
FROM in_ts_scores s, in_ts_scores u, in_ts_scores n
WHERE u.n = 1 AND n.n = 3
ORDER BY s.n;

-- The same instant under every TimeZone gives one score, by user and by
-- model
SELECT count(pg_temp.in_ts_record(zone)) AS zones FROM in_ts_zones;
SELECT count(*) AS probes, count(DISTINCT score_by_user) AS distinct_scores,
       bool_and(score_by_user = score_by_model) AS same_as_model_score,
       round(min(score_by_user)::numeric, 3) AS score
FROM in_ts_seen;

-- ... while the same wall-clock time without an offset is a different
-- instant in each zone, and so gets a different score in each: the check
-- above would see a score that depended on the zone
CREATE TEMP TABLE in_ts_wall (zone text, score float8);
CREATE FUNCTION pg_temp.in_ts_wall_clock(zone text) RETURNS void LANGUAGE plpgsql AS $$
BEGIN
  PERFORM set_config('TimeZone', zone, true);
  -- EXECUTE, so that the literal is read under this zone and not under the
  -- zone of a cached plan
  EXECUTE $q$INSERT INTO in_ts_wall
    SELECT $1, login_anomaly.score('in_ts_alice', '2024-02-05 03:00', '198.51.100.20', 'US', 'NY', 'New York', NULL)$q$
  USING zone;
END $$;
SELECT count(pg_temp.in_ts_wall_clock(zone)) AS zones FROM in_ts_zones;
SELECT count(*) AS probes, count(DISTINCT score) AS distinct_scores FROM in_ts_wall;

-- The trigger, with threshold=0 so that every scored login writes an
-- alert that records its score
CREATE TRIGGER in_ts_check AFTER INSERT ON in_ts_logins
  FOR EACH ROW EXECUTE FUNCTION login_anomaly.check_login('threshold=0');
CREATE TRIGGER in_ts_check AFTER INSERT ON in_ts_plain
  FOR EACH ROW EXECUTE FUNCTION login_anomaly.check_login('threshold=0');

-- The same instant inserted under three TimeZone settings, into both
-- tables: a timestamptz written with an offset, and a timestamp without
-- time zone, which is read as UTC.  All six logins are stored, and all six
-- alerts have the same time and the same score
CREATE FUNCTION pg_temp.in_ts_insert(zone text) RETURNS void LANGUAGE plpgsql AS $$
BEGIN
  PERFORM set_config('TimeZone', zone, true);
  INSERT INTO in_ts_logins (note, user_id, ts, ip, country, region, city)
  VALUES ('zone ' || zone, 'in_ts_alice', '2024-02-05 03:00+00', '198.51.100.20', 'US', 'NY', 'New York');
  INSERT INTO in_ts_plain (note, user_id, ts, ip, country, region, city)
  VALUES ('zone ' || zone, 'in_ts_bob', '2024-02-05 03:00', '198.51.100.20', 'US', 'NY', 'New York');
END $$;
SELECT count(pg_temp.in_ts_insert(zone)) AS zones FROM (VALUES ('UTC'), ('Asia/Kolkata'), ('America/St_Johns')) v(zone);
SELECT (SELECT count(*) FROM in_ts_logins WHERE note LIKE 'zone %')
     + (SELECT count(*) FROM in_ts_plain WHERE note LIKE 'zone %') AS stored;
SELECT count(*) AS alerts, count(DISTINCT login_ts) AS distinct_times, min(login_ts) AS login_ts,
       count(DISTINCT score) AS distinct_scores, round(min(score)::numeric, 3) AS score
FROM login_anomaly.alerts
WHERE login_table IN ('in_ts_logins'::regclass, 'in_ts_plain'::regclass);
DELETE FROM login_anomaly.alerts WHERE login_table IN ('in_ts_logins'::regclass, 'in_ts_plain'::regclass);

-- A time without an offset in a timestamptz column is read by PostgreSQL
-- in the session's TimeZone before the trigger reads it: under
-- America/New_York, 03:00 is 08:00 UTC, and the alert shows that instant
SET TimeZone = 'America/New_York';
INSERT INTO in_ts_logins (note, user_id, ts, ip, country, region, city)
VALUES ('no offset', 'in_ts_alice', '2024-02-05 03:00', '198.51.100.20', 'US', 'NY', 'New York');
SET TimeZone = 'UTC';
SELECT login_ts FROM login_anomaly.alerts WHERE login_table = 'in_ts_logins'::regclass;
DELETE FROM login_anomaly.alerts WHERE login_table = 'in_ts_logins'::regclass;

-- NULL, infinite and far-off times in both tables: every login is stored
-- and scored.  The alert keeps the time as written, and the scores of the
-- NULL and infinite times are equal
INSERT INTO in_ts_logins (note, user_id, ts, ip, country, region, city)
VALUES ('NULL', 'in_ts_alice', NULL, '198.51.100.20', 'US', 'NY', 'New York'),
       ('infinity', 'in_ts_alice', 'infinity', '198.51.100.20', 'US', 'NY', 'New York'),
       ('-infinity', 'in_ts_alice', '-infinity', '198.51.100.20', 'US', 'NY', 'New York'),
       ('4713 BC', 'in_ts_alice', '4713-01-01 15:00+00 BC', '198.51.100.20', 'US', 'NY', 'New York');
INSERT INTO in_ts_plain (note, user_id, ts, ip, country, region, city)
VALUES ('NULL', 'in_ts_bob', NULL, '198.51.100.20', 'US', 'NY', 'New York'),
       ('infinity', 'in_ts_bob', 'infinity', '198.51.100.20', 'US', 'NY', 'New York'),
       ('-infinity', 'in_ts_bob', '-infinity', '198.51.100.20', 'US', 'NY', 'New York'),
       ('294276 AD', 'in_ts_bob', '294276-12-31 15:00', '198.51.100.20', 'US', 'NY', 'New York');
SELECT a.login_table, l.note, a.kind, a.login_ts, round(a.score::numeric, 3) AS score
FROM login_anomaly.alerts a
JOIN (SELECT 'in_ts_logins'::regclass AS t, login_id, note FROM in_ts_logins
      UNION ALL SELECT 'in_ts_plain'::regclass, login_id, note FROM in_ts_plain) l
  ON a.login_table = l.t AND a.login_ref = l.login_id::text
ORDER BY a.login_table::text, l.login_id;
DELETE FROM login_anomaly.alerts WHERE login_table IN ('in_ts_logins'::regclass, 'in_ts_plain'::regclass);

-- A time column of another type is a scoring error: the login is stored,
-- with a scoring_failed alert that names the type
CREATE TABLE in_ts_other (login_id bigserial PRIMARY KEY, user_id text, ts date, ts_text text);
CREATE TRIGGER in_ts_check AFTER INSERT ON in_ts_other
  FOR EACH ROW EXECUTE FUNCTION login_anomaly.check_login();
CREATE TRIGGER in_ts_check_text AFTER INSERT ON in_ts_other
  FOR EACH ROW EXECUTE FUNCTION login_anomaly.check_login('ts=ts_text');
SET client_min_messages = error;
INSERT INTO in_ts_other (user_id, ts, ts_text) VALUES ('in_ts_alice', '2024-02-05', '2024-02-05 03:00+00');
RESET client_min_messages;
SELECT count(*) AS stored FROM in_ts_other;
SELECT kind, login_ts, error FROM login_anomaly.alerts
WHERE login_table = 'in_ts_other'::regclass ORDER BY error;
DELETE FROM login_anomaly.alerts WHERE login_table = 'in_ts_other'::regclass;

-- Clean up
DELETE FROM login_anomaly.models WHERE user_id LIKE 'in\_ts\_%';
DROP TABLE in_ts_logins, in_ts_plain, in_ts_other, in_ts_zones, in_ts_seen, in_ts_model_chatham,
  in_ts_scores, in_ts_wall;
