--
-- train: the train_model aggregate per user, and login_anomaly.train(),
-- which trains every user of a logins table into login_anomaly.models.
-- User ids here start with "train_", so other files' models are untouched.
--
SET client_min_messages = warning;
CREATE EXTENSION IF NOT EXISTS login_anomaly;
RESET client_min_messages;

-- A logins table of three users with 12, 8 and 5 logins
CREATE TABLE train_logins (
  login_id serial PRIMARY KEY,
  user_id text, ts timestamptz, ip inet, country text, region text, city text,
  user_agent text, lat float8, lon float8);
INSERT INTO train_logins (user_id, ts, ip, country, region, city, user_agent, lat, lon)
SELECT 'train_alice', '2024-05-01 13:00+00'::timestamptz + i * interval '24 hours',
       ('198.51.100.' || i)::inet, 'US', 'NY', 'New York',
       'Mozilla/5.0 (Windows NT 10.0; Win64; x64) AppleWebKit/537.36 (KHTML, like Gecko) Chrome/120.0.0.0 Safari/537.36',
       40.71, -74.01
FROM generate_series(1, 12) i
UNION ALL
SELECT 'train_bob', '2024-05-01 07:30+00'::timestamptz + i * interval '24 hours',
       ('192.0.2.' || i)::inet, 'DE', 'BE', 'Berlin',
       'Mozilla/5.0 (X11; Linux x86_64; rv:121.0) Gecko/20100101 Firefox/121.0',
       52.52, 13.405
FROM generate_series(1, 8) i
UNION ALL
SELECT 'train_carol', '2024-05-01 01:00+00'::timestamptz + i * interval '24 hours',
       ('2001:db8:1:2::' || i)::inet, 'JP', '13', 'Tokyo',
       'Mozilla/5.0 (iPhone; CPU iPhone OS 16_1 like Mac OS X) AppleWebKit/605.1.15 (KHTML, like Gecko) Version/16.1 Mobile/15E148 Safari/604.1',
       35.68, 139.69
FROM generate_series(1, 5) i;

-- The aggregate with GROUP BY user_id gives one model per user, each
-- trained on that user's logins only.  nu is the effective nu, raised from
-- the default 0.05 to 1 / logins for these short histories
SELECT user_id, i.logins, i.support_vectors >= 1 AS has_support_vectors, i.nu_effective
FROM (SELECT user_id,
             login_anomaly.train_model(
               login_anomaly.features(ts, ip, country, region, city, user_agent, lat, lon)) AS m
      FROM train_logins GROUP BY user_id) t,
     login_anomaly.model_info(m) i
ORDER BY user_id;

-- train() trains every user of the table and returns how many it trained
SELECT login_anomaly.train('train_logins');

-- ... into login_anomaly.models, with the login count in its own column
SELECT user_id, logins, (login_anomaly.model_info(model)).logins AS model_logins
FROM login_anomaly.models WHERE user_id LIKE 'train\_%' ORDER BY user_id;

-- only_user trains one user
DELETE FROM login_anomaly.models WHERE user_id LIKE 'train\_%';
SELECT login_anomaly.train('train_logins', only_user => 'train_bob');
SELECT user_id, logins FROM login_anomaly.models WHERE user_id LIKE 'train\_%' ORDER BY user_id;

-- ... and for a user with no logins it trains no model and returns 0
SELECT login_anomaly.train('train_logins', only_user => 'train_nobody');

-- Retraining updates the stored rows (ON CONFLICT) rather than adding rows:
-- bob gets 3 more logins, then every user is trained again
INSERT INTO train_logins (user_id, ts, ip, country, region, city, user_agent, lat, lon)
SELECT 'train_bob', '2024-06-01 07:30+00'::timestamptz + i * interval '24 hours',
       ('192.0.2.' || i)::inet, 'DE', 'BE', 'Berlin',
       'Mozilla/5.0 (X11; Linux x86_64; rv:121.0) Gecko/20100101 Firefox/121.0',
       52.52, 13.405
FROM generate_series(1, 3) i;
SELECT login_anomaly.train('train_logins');
SELECT user_id, logins FROM login_anomaly.models WHERE user_id LIKE 'train\_%' ORDER BY user_id;

-- column_map: a table with its own column names.  It has no lat and lon
-- columns, which train() allows for those two only
CREATE TABLE train_renamed (
  account text, logged_at timestamptz, addr inet, cc text, state text,
  town text, agent text);
INSERT INTO train_renamed
SELECT 'train_dave', '2024-05-01 10:00+00'::timestamptz + i * interval '24 hours',
       '203.0.113.5', 'FR', 'IDF', 'Paris',
       'Mozilla/5.0 (Macintosh; Intel Mac OS X 10_15_7) AppleWebKit/605.1.15 (KHTML, like Gecko) Version/17.1 Safari/605.1.15'
FROM generate_series(1, 6) i;
SELECT login_anomaly.train('train_renamed', column_map =>
  '{"user_id": "account", "ts": "logged_at", "ip": "addr", "country": "cc",
    "region": "state", "city": "town", "user_agent": "agent"}');
SELECT user_id, logins FROM login_anomaly.models WHERE user_id = 'train_dave';

-- The mapped columns were read: dave's usual login scores low, and the
-- model's summary contains the values of the renamed columns
SELECT round(login_anomaly.score(model, login_anomaly.features(
         '2024-05-20 10:00+00', '203.0.113.5', 'FR', 'IDF', 'Paris',
         'Mozilla/5.0 (Macintosh; Intel Mac OS X 10_15_7) AppleWebKit/605.1.15 (KHTML, like Gecko) Version/17.1 Safari/605.1.15'))::numeric, 3) <= 0.5
         AS usual_is_low,
       model::text::jsonb -> 'summary' -> 'city' -> 'values' -> 0 ->> 'label' AS city,
       model::text::jsonb -> 'summary' -> 'browser' -> 'values' -> 0 ->> 'label' AS browser
FROM login_anomaly.models WHERE user_id = 'train_dave';

-- Short histories: 1 login, 2 logins and 20 identical logins each give a
-- usable model.  nu is raised to 1 / logins, so none of the user's own
-- logins falls outside the SVM's boundary: every own login scores at most
-- 0.5 and is not flagged at the default threshold 0.8
CREATE TABLE train_short (user_id text, ts timestamptz, ip inet, country text,
                          region text, city text, user_agent text);
INSERT INTO train_short
SELECT 'train_one', '2024-03-01 09:00+00', '192.0.2.1', 'DE', 'BE', 'Berlin',
       'Mozilla/5.0 (Macintosh; Intel Mac OS X 10_15_7) AppleWebKit/605.1.15 (KHTML, like Gecko) Version/17.1 Safari/605.1.15'
UNION ALL
SELECT 'train_two', '2024-03-01 09:00+00'::timestamptz + i * interval '5 hours',
       ('192.0.2.' || i)::inet, 'DE', 'BE', 'Berlin',
       'Mozilla/5.0 (Macintosh; Intel Mac OS X 10_15_7) AppleWebKit/605.1.15 (KHTML, like Gecko) Version/17.1 Safari/605.1.15'
FROM generate_series(1, 2) i
UNION ALL
SELECT 'train_twenty', '2024-03-01 09:00+00', '192.0.2.1', 'DE', 'BE', 'Berlin',
       'Mozilla/5.0 (Macintosh; Intel Mac OS X 10_15_7) AppleWebKit/605.1.15 (KHTML, like Gecko) Version/17.1 Safari/605.1.15'
FROM generate_series(1, 20);
SELECT login_anomaly.train('train_short');
SELECT user_id, count(*) AS logins, min(nu_effective) AS nu_effective,
       bool_and(score <= 0.5 + 1e-9) AS all_at_most_half,
       bool_or(score = 'NaN') AS any_nan,
       bool_or(login_anomaly.risk_level(score) <> 'low') AS any_flagged
FROM (SELECT s.user_id, (login_anomaly.model_info(m.model)).nu_effective,
             login_anomaly.score(m.model, login_anomaly.features(
               ts, ip, country, region, city, user_agent)) AS score
      FROM train_short s JOIN login_anomaly.models m USING (user_id)) t
GROUP BY user_id ORDER BY logins;

-- ... and each of them still flags a login from elsewhere
SELECT m.user_id,
       login_anomaly.score(m.model, login_anomaly.features(
         '2024-03-02 02:00+00', '203.0.113.77', 'BR', 'SP', 'Sao Paulo',
         'Mozilla/5.0 (Windows NT 10.0; Win64; x64) AppleWebKit/537.36 (KHTML, like Gecko) Chrome/120.0.0.0 Safari/537.36')) > 0.8
         AS foreign_flagged
FROM login_anomaly.models m WHERE m.user_id IN ('train_one', 'train_two', 'train_twenty')
ORDER BY m.user_id;

-- nu and gamma given explicitly, to train() and to the aggregate
SELECT login_anomaly.train('train_logins', only_user => 'train_alice', nu => 0.2, gamma => 0.1);
SELECT i.nu, i.gamma
FROM login_anomaly.models m, login_anomaly.model_info(m.model) i WHERE m.user_id = 'train_alice';
SELECT i.nu, i.gamma
FROM (SELECT login_anomaly.train_model(
               login_anomaly.features(ts, ip, country, region, city, user_agent), 0.3, 2.0) AS m
      FROM train_logins WHERE user_id = 'train_alice') t,
     login_anomaly.model_info(m) i;

-- login_anomaly.max_training_logins bounds the logins used: of 50 logins,
-- the 10 most recent.  The first 40 are from the US, the last 10 from
-- Canada, and the table stores them newest first
CREATE TABLE train_long AS
SELECT 'train_long' AS user_id, '2024-01-01 12:00+00'::timestamptz + i * interval '24 hours' AS ts,
       '198.51.100.1'::inet AS ip, CASE WHEN i > 40 THEN 'CA' ELSE 'US' END AS country,
       NULL::text AS region, NULL::text AS city, NULL::text AS user_agent
FROM generate_series(50, 1, -1) i;
SET login_anomaly.max_training_logins = 10;
SELECT login_anomaly.train('train_long');
SELECT i.logins, m.logins AS logins_column,
       m.model::text::jsonb -> 'summary' -> 'country' AS countries
FROM login_anomaly.models m, login_anomaly.model_info(m.model) i WHERE m.user_id = 'train_long';
SELECT i.logins
FROM (SELECT login_anomaly.train_model(
               login_anomaly.features(ts, ip, country, region, city, user_agent)) AS m
      FROM train_long) t, login_anomaly.model_info(m) i;
RESET login_anomaly.max_training_logins;

-- The README's recipe for training on all cores, a table hash-partitioned
-- by user_id with partitionwise aggregation, gives the same models as a
-- serial plan.  20 users have 200 logins each, with two usual places and
-- browsers each, so the models have several support vectors
CREATE TABLE train_big AS
SELECT 'train_p' || lpad(u::text, 2, '0') AS user_id,
       '2024-01-01 00:00+00'::timestamptz + i * interval '24 hours'
         + ((8 + (i * u) % 10) || ' hours')::interval AS ts,
       ('10.' || u || '.' || (i % 2) || '.' || (1 + i % 200))::inet AS ip,
       CASE WHEN i % 10 = 0 THEN 'CA' ELSE 'US' END AS country,
       CASE WHEN i % 10 = 0 THEN 'ON' ELSE 'NY' END AS region,
       CASE WHEN i % 10 = 0 THEN 'Toronto' ELSE 'New York' END AS city,
       CASE WHEN i % 3 = 0
            THEN 'Mozilla/5.0 (X11; Linux x86_64; rv:121.0) Gecko/20100101 Firefox/121.0'
            ELSE 'Mozilla/5.0 (Windows NT 10.0; Win64; x64) AppleWebKit/537.36 (KHTML, like Gecko) Chrome/120.0.0.0 Safari/537.36'
       END AS user_agent
FROM generate_series(1, 20) u, generate_series(1, 200) i;
ANALYZE train_big;
CREATE TABLE train_big_parts (LIKE train_big) PARTITION BY HASH (user_id);
CREATE TABLE train_big_part0 PARTITION OF train_big_parts FOR VALUES WITH (MODULUS 2, REMAINDER 0);
CREATE TABLE train_big_part1 PARTITION OF train_big_parts FOR VALUES WITH (MODULUS 2, REMAINDER 1);
INSERT INTO train_big_parts SELECT * FROM train_big;
ANALYZE train_big_parts;

-- Probe logins: usual, half usual, and foreign
CREATE TABLE train_probes AS
SELECT probe, login_anomaly.features(ts, ip, country, region, city, user_agent) AS fv
FROM (VALUES
  (1, '2024-09-01 12:00+00'::timestamptz, '10.1.0.7'::inet, 'US', 'NY', 'New York',
   'Mozilla/5.0 (Windows NT 10.0; Win64; x64) AppleWebKit/537.36 (KHTML, like Gecko) Chrome/120.0.0.0 Safari/537.36'),
  (2, '2024-09-01 12:00+00', '10.1.1.7', 'CA', 'ON', 'Toronto',
   'Mozilla/5.0 (X11; Linux x86_64; rv:121.0) Gecko/20100101 Firefox/121.0'),
  (3, '2024-09-01 03:00+00', '203.0.113.1', 'UA', 'Kyiv', 'Kyiv',
   'Mozilla/5.0 (Macintosh; Intel Mac OS X 10_15_7) AppleWebKit/605.1.15 (KHTML, like Gecko) Version/17.1 Safari/605.1.15')
) v(probe, ts, ip, country, region, city, user_agent);

-- The serial plan
SET max_parallel_workers_per_gather = 0;
CREATE TABLE train_serial AS
SELECT user_id, login_anomaly.train_model(
         login_anomaly.features(ts, ip, country, region, city, user_agent)) AS m
FROM train_big GROUP BY user_id;

-- The parallel plan: each partition's complete aggregate, final function
-- and so libsvm included, in a worker of its own.  train_model has no
-- partial aggregation on purpose: PostgreSQL runs the final function of a
-- partial aggregate in the leader alone, so partial aggregates (Partial
-- HashAggregate or Partial GroupAggregate) must not appear
SET parallel_setup_cost = 0;
SET parallel_tuple_cost = 0;
SET min_parallel_table_scan_size = 0;
SET max_parallel_workers_per_gather = 2;
SET enable_partitionwise_aggregate = on;
SET parallel_leader_participation = off;
EXPLAIN (COSTS OFF)
SELECT user_id, login_anomaly.train_model(
         login_anomaly.features(ts, ip, country, region, city, user_agent)) AS m
FROM train_big_parts GROUP BY user_id;
CREATE TABLE train_parallel AS
SELECT user_id, login_anomaly.train_model(
         login_anomaly.features(ts, ip, country, region, city, user_agent)) AS m
FROM train_big_parts GROUP BY user_id;

-- Neither form of train_model offers partial aggregation (version 0.1.0's
-- did, and on a table of 2,000 users in two partitions the planner then
-- chose partial aggregates within each partition, training in the leader)
SELECT aggfnoid::regprocedure AS aggregate, aggcombinefn = 0 AS no_combine,
       aggserialfn = 0 AS no_serialize
FROM pg_aggregate
WHERE aggfnoid::regproc::text = 'login_anomaly.train_model'
ORDER BY 1::text;
RESET parallel_setup_cost;
RESET parallel_tuple_cost;
RESET min_parallel_table_scan_size;
RESET max_parallel_workers_per_gather;
RESET enable_partitionwise_aggregate;
RESET parallel_leader_participation;

-- Both have every user with all 200 logins and the same summary of values
SELECT count(*) AS users,
       bool_and((login_anomaly.model_info(s.m)).logins = 200
                AND (login_anomaly.model_info(p.m)).logins = 200) AS all_logins,
       bool_and(s.m::text::jsonb -> 'summary' = p.m::text::jsonb -> 'summary') AS same_summary,
       bool_and(s.m::text::jsonb -> 'hours' = p.m::text::jsonb -> 'hours') AS same_hours
FROM train_serial s JOIN train_parallel p USING (user_id);

-- ... and score the probes the same, to within 0.001.  The logins reach
-- libsvm in another order, so the fit may differ in the last digits
SELECT count(*) AS scores,
       count(*) FILTER (WHERE abs(login_anomaly.score(s.m, fv) - login_anomaly.score(p.m, fv)) < 0.001)
         AS equal_scores
FROM train_serial s JOIN train_parallel p USING (user_id), train_probes;

-- The probes themselves, for the user whose usual networks the first two
-- use: the usual login and the one from the second usual place and browser
-- score low, the foreign one near 1
SELECT probe, round(login_anomaly.score(s.m, fv)::numeric, 2) AS score
FROM train_serial s, train_probes WHERE s.user_id = 'train_p01' ORDER BY probe;

-- Clean up
DELETE FROM login_anomaly.models WHERE user_id LIKE 'train\_%';
DROP TABLE train_logins, train_renamed, train_short, train_long, train_big, train_big_parts,
  train_probes, train_serial, train_parallel;

-- A weights argument applies to that training only: the caller's setting
-- is unchanged afterwards, also inside the same transaction
CREATE TABLE train_weights (user_id text, ts timestamptz, ip inet, country text,
  region text, city text, user_agent text);
INSERT INTO train_weights VALUES ('train_weights_u', '2024-01-01 10:00+00', '192.0.2.1',
  'DE', 'BE', 'Berlin', NULL);
BEGIN;
SELECT login_anomaly.train('train_weights', weights => 'country=3');
SHOW login_anomaly.weights;
COMMIT;
SELECT (login_anomaly.model_info(model)).weights LIKE 'country=3,%' AS trained_with_argument
FROM login_anomaly.models WHERE user_id = 'train_weights_u';

-- Parallel training keeps values longer than the summary's labels apart:
-- a 60-byte city is the same city in serial and parallel plans
CREATE TABLE train_long_city AS
SELECT 'train_lc' || (i % 20) AS user_id,
       '2024-01-01 10:00+00'::timestamptz + i * interval '1 hour' AS ts,
       '192.0.2.1'::inet AS ip, 'DE' AS country, 'BE' AS region,
       repeat('Berlin-', 8) || 'Mitte' AS city, NULL::text AS user_agent
FROM generate_series(1, 4000) i;
ANALYZE train_long_city;
SET parallel_setup_cost = 0;
SET parallel_tuple_cost = 0;
SET min_parallel_table_scan_size = 0;
SET max_parallel_workers_per_gather = 2;
SET parallel_leader_participation = off;
SELECT count(*) AS users,
       bool_and(NOT EXISTS (SELECT 1 FROM unnest(reasons) r WHERE r LIKE 'city%')) AS own_city_is_usual
FROM (SELECT user_id, login_anomaly.explain(
             login_anomaly.train_model(login_anomaly.features(ts, ip, country, region, city, user_agent)),
             login_anomaly.features('2024-03-01 10:00+00', '192.0.2.1', 'DE', 'BE',
                                    repeat('Berlin-', 8) || 'Mitte', NULL)) AS reasons
      FROM train_long_city GROUP BY user_id) t;
RESET parallel_setup_cost;
RESET parallel_tuple_cost;
RESET min_parallel_table_scan_size;
RESET max_parallel_workers_per_gather;
RESET parallel_leader_participation;
DELETE FROM login_anomaly.models WHERE user_id LIKE 'train\_%';
DROP TABLE train_weights, train_long_city;

-- A table without region or city trains as the trigger reads it: the
-- missing columns are NULL, the value "unknown"
CREATE TABLE train_sparse (user_id text, ts timestamptz, ip inet, country text, user_agent text);
INSERT INTO train_sparse VALUES ('train_sparse_u', '2024-01-01 10:00+00', '192.0.2.1', 'DE', NULL);
SELECT login_anomaly.train('train_sparse');
SELECT model::text::jsonb -> 'summary' -> 'city' -> 'values' -> 0 ->> 'label' AS city
FROM login_anomaly.models WHERE user_id = 'train_sparse_u';
DELETE FROM login_anomaly.models WHERE user_id = 'train_sparse_u';
DROP TABLE train_sparse;
