--
-- input_user_id: odd user ids through by-user scoring, train() and the
-- check_login trigger.  features() takes no user id, so this file checks
-- the model lookup instead.  A missing or unknown user id means "no model":
-- no score, no alert unless login_anomaly.alert_without_model is on, and the
-- login is always stored.  User ids here start with "in_uid_".
--
SET client_min_messages = warning;
CREATE EXTENSION IF NOT EXISTS login_anomaly;
RESET client_min_messages;

-- A logins table with a "note" column naming each case, and an incompressible
-- 100 kB user id (3,200 MD5 digests) for the very long case
CREATE TABLE in_uid_logins (
  login_id bigserial PRIMARY KEY, note text,
  user_id text, ts timestamptz, ip inet, country text, region text, city text,
  user_agent text, lat float8, lon float8);
CREATE TEMP TABLE in_uid_long AS
SELECT 'in_uid_' || string_agg(md5(i::text), '') AS id FROM generate_series(1, 3200) i;
SELECT octet_length(id) AS bytes, pg_column_size(id) >= 100000 AS incompressible FROM in_uid_long;

-- Thirty usual logins (New York, Chrome on Windows, afternoons) for each
-- of in_uid_alice and five odd but valid user ids: non-ASCII, control
-- characters, a trailing space, upper case, and 200 bytes.  The last is
-- longer than the 127 bytes that the model cache keeps
CREATE TEMP TABLE in_uid_users (kind text, user_id text PRIMARY KEY);
INSERT INTO in_uid_users VALUES
  ('plain', 'in_uid_alice'), ('non-ASCII', 'in_uid_zoë_Łódź_東京'),
  ('controls', E'in_uid_tab\there\x01\x7f'), ('trailing space', 'in_uid_alice '),
  ('upper case', 'IN_UID_ALICE'), ('200 bytes', 'in_uid_' || repeat('x', 193));
INSERT INTO in_uid_logins (note, user_id, ts, ip, country, region, city, user_agent, lat, lon)
SELECT 'history', u.user_id,
       '2024-01-01 14:00+00'::timestamptz + i * interval '24 hours' + (i % 4) * interval '1 hour',
       ('198.51.100.' || (10 + i % 5))::inet, 'US', 'NY', 'New York',
       'Mozilla/5.0 (Windows NT 10.0; Win64; x64) AppleWebKit/537.36 (KHTML, like Gecko) Chrome/119.0.0.0 Safari/537.36',
       40.71, -74.01
FROM in_uid_users u, generate_series(1, 30) i;
SELECT login_anomaly.train('in_uid_logins') AS users_trained;

-- Each odd id is its own key: six models, ids kept byte for byte, and
-- 'in_uid_alice ' and 'IN_UID_ALICE' are not 'in_uid_alice'
SELECT u.kind, octet_length(m.user_id) AS id_bytes, m.logins
FROM login_anomaly.models m JOIN in_uid_users u USING (user_id)
ORDER BY u.kind;

-- score() by user finds every model, cached or not, and gives the same
-- score as score(model, features) with the stored model: low for a usual
-- login, high for Kyiv on Firefox at 3 a.m.
CREATE TEMP TABLE in_uid_probe AS
SELECT 'usual' AS probe, '2024-02-05 15:10+00'::timestamptz AS ts, '198.51.100.77'::inet AS ip,
       'US' AS country, 'NY' AS region, 'New York' AS city,
       'Mozilla/5.0 (Windows NT 10.0; Win64; x64) AppleWebKit/537.36 (KHTML, like Gecko) Chrome/120.0.0.0 Safari/537.36' AS user_agent,
       40.71::float8 AS lat, -74.01::float8 AS lon
UNION ALL
SELECT 'kyiv', '2024-02-05 03:00+00', '91.198.4.7', 'UA', '30', 'Kyiv',
       'Mozilla/5.0 (X11; Linux x86_64; rv:121.0) Gecko/20100101 Firefox/121.0', 50.45, 30.52;
SELECT u.kind, p.probe,
       login_anomaly.score(u.user_id, p.ts, p.ip, p.country, p.region, p.city, p.user_agent, p.lat, p.lon) > 0.8 AS unusual,
       login_anomaly.score(u.user_id, p.ts, p.ip, p.country, p.region, p.city, p.user_agent, p.lat, p.lon)
         = login_anomaly.score(m.model, login_anomaly.features(p.ts, p.ip, p.country, p.region, p.city, p.user_agent, p.lat, p.lon))
         AS same_as_model_score
FROM in_uid_users u JOIN login_anomaly.models m USING (user_id), in_uid_probe p
ORDER BY u.kind, p.probe;

-- A NULL user id has no score and no explanation.  The empty id, an
-- unknown id and the very long id have no model: score() is NULL and
-- explain() returns "no model for this user yet"
SELECT k AS user_id_kind,
       login_anomaly.score(id, '2024-02-05 03:00+00', NULL, 'UA', NULL, NULL, NULL) IS NULL AS no_score,
       login_anomaly.explain(id, '2024-02-05 03:00+00', NULL, 'UA', NULL, NULL, NULL) AS reasons
FROM (VALUES (1, 'NULL', NULL), (2, 'empty', ''), (3, 'unknown', 'in_uid_nobody'),
             (4, 'control only', E'\x01\x02'), (5, '100 kB', (SELECT id FROM in_uid_long))) v(n, k, id)
ORDER BY n;

-- The trigger, on the same table
CREATE TRIGGER in_uid_check AFTER INSERT ON in_uid_logins
  FOR EACH ROW EXECUTE FUNCTION login_anomaly.check_login();
CREATE TEMP TABLE in_uid_stats0 AS SELECT * FROM login_anomaly.trigger_stats();

-- Kyiv at 3 a.m. under every odd id with a model: each login is stored and
-- each gets one anomaly alert under its own id
INSERT INTO in_uid_logins (note, user_id, ts, ip, country, region, city, user_agent, lat, lon)
SELECT 'kyiv', u.user_id, p.ts, p.ip, p.country, p.region, p.city, p.user_agent, p.lat, p.lon
FROM in_uid_users u, in_uid_probe p WHERE p.probe = 'kyiv';
SELECT u.kind AS user_id_kind, a.kind, a.risk, a.user_id = l.user_id AS alert_user_kept
FROM in_uid_logins l JOIN in_uid_users u USING (user_id)
LEFT JOIN login_anomaly.alerts a ON a.login_table = 'in_uid_logins'::regclass AND a.login_ref = l.login_id::text
WHERE l.note = 'kyiv'
ORDER BY u.kind;
DELETE FROM login_anomaly.alerts WHERE login_table = 'in_uid_logins'::regclass;

-- Ids with no model: NULL, empty, unknown and 100 kB.  Each login is
-- stored, none raises an alert, and each counts as a login without a model
INSERT INTO in_uid_logins (note, user_id, ts, country)
VALUES ('no model: NULL', NULL, '2024-02-05 03:00+00', 'UA'),
       ('no model: empty', '', '2024-02-05 03:00+00', 'UA'),
       ('no model: unknown', 'in_uid_nobody', '2024-02-05 03:00+00', 'UA');
INSERT INTO in_uid_logins (note, user_id, ts, country)
SELECT 'no model: 100 kB', id, '2024-02-05 03:00+00', 'UA' FROM in_uid_long;
SELECT count(*) AS stored FROM in_uid_logins WHERE note LIKE 'no model:%';
SELECT count(*) AS alerts FROM login_anomaly.alerts WHERE login_table = 'in_uid_logins'::regclass;
SELECT s.logins_scored - s0.logins_scored AS scored,
       s.logins_without_model - s0.logins_without_model AS without_model,
       s.scoring_failures - s0.scoring_failures AS failures
FROM login_anomaly.trigger_stats() s, in_uid_stats0 s0;

-- With login_anomaly.alert_without_model on, each of them raises a
-- medium alert.  A NULL user id is stored in the alert as "(unknown)",
-- because alerts.user_id is NOT NULL.  The 100 kB id must not make the
-- alert's INSERT fail on the index of alerts.user_id and so lose the
-- login.  Messages below ERROR are hidden, as a fix may warn about it
SET login_anomaly.alert_without_model = on;
SET client_min_messages = error;
INSERT INTO in_uid_logins (note, user_id, ts, country)
VALUES ('alert: NULL', NULL, '2024-02-06 03:00+00', 'UA'),
       ('alert: empty', '', '2024-02-06 03:00+00', 'UA');
INSERT INTO in_uid_logins (note, user_id, ts, country)
SELECT 'alert: 100 kB', id, '2024-02-06 03:00+00', 'UA' FROM in_uid_long;
RESET client_min_messages;
RESET login_anomaly.alert_without_model;
SELECT l.note, a.kind, a.risk, a.score, a.reasons,
       left(a.user_id, 13) AS alert_user_id
FROM in_uid_logins l
LEFT JOIN login_anomaly.alerts a ON a.login_table = 'in_uid_logins'::regclass AND a.login_ref = l.login_id::text
WHERE l.note LIKE 'alert:%'
ORDER BY l.login_id;
DELETE FROM login_anomaly.alerts WHERE login_table = 'in_uid_logins'::regclass;

-- A scoring failure of a user with the 100 kB id (the time column below
-- is text, which check_login rejects) keeps the login too: its
-- scoring_failed alert must not fail on the index either
CREATE TABLE in_uid_text_ts (login_id bigserial PRIMARY KEY, user_id text, ts text);
CREATE TRIGGER in_uid_check AFTER INSERT ON in_uid_text_ts
  FOR EACH ROW EXECUTE FUNCTION login_anomaly.check_login();
SET client_min_messages = error;
INSERT INTO in_uid_text_ts (user_id, ts) VALUES ('in_uid_alice', '2024-02-05 03:00');
INSERT INTO in_uid_text_ts (user_id, ts) SELECT id, '2024-02-05 03:00' FROM in_uid_long;
RESET client_min_messages;
SELECT count(*) AS stored FROM in_uid_text_ts;
SELECT left(a.user_id, 13) AS user_id, a.kind, a.error
FROM login_anomaly.alerts a WHERE a.login_table = 'in_uid_text_ts'::regclass
ORDER BY a.alert_id;
DELETE FROM login_anomaly.alerts WHERE login_table = 'in_uid_text_ts'::regclass;
DROP TABLE in_uid_text_ts;

-- A user id column of another type is read as its text: the bigint id
-- 42 finds the model that train() stored under '42'
CREATE TABLE in_uid_numeric (login_id bigserial PRIMARY KEY, user_id bigint, ts timestamptz,
  ip inet, country text, region text, city text, user_agent text);
INSERT INTO in_uid_numeric (user_id, ts, ip, country, region, city, user_agent)
SELECT 42, '2024-01-01 14:00+00'::timestamptz + i * interval '24 hours', '198.51.100.10', 'US', 'NY', 'New York',
       'Mozilla/5.0 (Windows NT 10.0; Win64; x64) AppleWebKit/537.36 (KHTML, like Gecko) Chrome/119.0.0.0 Safari/537.36'
FROM generate_series(1, 30) i;
SELECT login_anomaly.train('in_uid_numeric') AS users_trained;
CREATE TRIGGER in_uid_check AFTER INSERT ON in_uid_numeric
  FOR EACH ROW EXECUTE FUNCTION login_anomaly.check_login();
INSERT INTO in_uid_numeric (user_id, ts, ip, country, region, city, user_agent)
VALUES (42, '2024-02-05 03:00+00', '91.198.4.7', 'UA', '30', 'Kyiv',
        'Mozilla/5.0 (X11; Linux x86_64; rv:121.0) Gecko/20100101 Firefox/121.0');
SELECT count(*) AS stored FROM in_uid_numeric;
SELECT user_id, kind, risk FROM login_anomaly.alerts WHERE login_table = 'in_uid_numeric'::regclass;
DELETE FROM login_anomaly.alerts WHERE login_table = 'in_uid_numeric'::regclass;
DELETE FROM login_anomaly.models WHERE user_id = '42';
DROP TABLE in_uid_numeric;

-- train() of a table where one user's id is too long for the primary key
-- of login_anomaly.models still trains the other users, and warns that it
-- skipped that one.  The history of the 100 kB id comes with scoring off
SET login_anomaly.enabled = off;
INSERT INTO in_uid_logins (note, user_id, ts, country)
SELECT 'history', id, '2024-01-01 14:00+00'::timestamptz + i * interval '24 hours', 'US'
FROM in_uid_long, generate_series(1, 5) i;
RESET login_anomaly.enabled;
DELETE FROM login_anomaly.models WHERE user_id LIKE 'in\_uid\_%' OR user_id LIKE 'IN\_UID\_%';
SELECT login_anomaly.train('in_uid_logins') >= 6 AS others_trained;
SELECT count(*) AS models FROM login_anomaly.models WHERE user_id IN (SELECT user_id FROM in_uid_users);

-- Clean up
DELETE FROM login_anomaly.alerts WHERE login_table = 'in_uid_logins'::regclass;
DELETE FROM login_anomaly.models WHERE user_id LIKE 'in\_uid\_%' OR user_id LIKE 'IN\_UID\_%';
DROP TABLE in_uid_logins, in_uid_long, in_uid_users, in_uid_probe, in_uid_stats0;
