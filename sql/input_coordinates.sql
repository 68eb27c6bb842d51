--
-- input_coordinates: latitude and longitude through features(), scoring
-- and the check_login trigger.  NULL, NaN, infinite or out-of-range
-- coordinates, and a pair with only one of them, mean "place unknown",
-- never (0, 0), and are not an error.  User ids here start with
-- "in_coord_".
--
SET client_min_messages = warning;
CREATE EXTENSION IF NOT EXISTS login_anomaly;
RESET client_min_messages;

-- The cases, by name
CREATE TEMP TABLE in_coord_cases (n int, coord_kind text, lat float8, lon float8);
INSERT INTO in_coord_cases VALUES
  (1, 'New York', 40.71, -74.01),
  (2, 'both NULL', NULL, NULL),
  (3, 'lat only', 40.71, NULL),
  (4, 'lon only', NULL, -74.01),
  (5, 'lat NaN', 'NaN', -74.01),
  (6, 'lon NaN', 40.71, 'NaN'),
  (7, 'lat Infinity', 'Infinity', -74.01),
  (8, 'lon -Infinity', 40.71, '-Infinity'),
  (9, 'lat 90.000001', 90.000001, -74.01),
  (10, 'lat -91', -91, -74.01),
  (11, 'lon 180.5', 40.71, 180.5),
  (12, 'lon -1e308', 40.71, -1e308),
  (13, 'lat 1e-320', 1e-320, -74.01),
  (14, 'north pole', 90, 0),
  (15, 'lon 180', 0, 180),
  (16, 'lon -180', 0, -180),
  (17, 'zero zero', 0, 0),
  (18, 'Kyiv', 50.45, 30.52);

-- features(): a valid pair is kept, anything else leaves both out
SELECT c.coord_kind, fv::text::jsonb ? 'lat' AS has_lat, fv::text::jsonb ? 'lon' AS has_lon,
       (fv::text::jsonb ->> 'lat')::float8 AS lat, (fv::text::jsonb ->> 'lon')::float8 AS lon,
       fv::text::login_anomaly.feature_vector::text = fv::text AS round_trip
FROM in_coord_cases c,
     login_anomaly.features(NULL, NULL, NULL, NULL, NULL, NULL, c.lat, c.lon) fv
ORDER BY c.n;

-- ... so every unknown place encodes as no coordinates at all
SELECT count(DISTINCT login_anomaly.features(NULL, NULL, NULL, NULL, NULL, NULL, lat, lon)::text) AS distinct_vectors
FROM in_coord_cases WHERE n BETWEEN 2 AND 12;

-- Thirty logins of alice in New York, located
CREATE TABLE in_coord_logins (login_id bigserial PRIMARY KEY, note text, user_id text,
  ts timestamptz, ip inet, country text, region text, city text, user_agent text,
  lat float8, lon float8);
INSERT INTO in_coord_logins (note, user_id, ts, ip, country, region, city, lat, lon)
SELECT 'history', 'in_coord_alice', '2024-01-01 14:00+00'::timestamptz + i * interval '24 hours',
       '198.51.100.10', 'US', 'NY', 'New York', 40.71, -74.01
FROM generate_series(1, 30) i;
SELECT login_anomaly.train('in_coord_logins') AS users_trained;

-- Scoring, by user and with the model, agree.  Every unknown place scores
-- as a NULL pair, a little above the usual place, because it costs a
-- quarter of the place weight.  (0, 0) is a real place in the Gulf of
-- Guinea, far from New York, and explain() gives its distance
CREATE TEMP TABLE in_coord_scores AS
SELECT c.n, c.coord_kind,
       login_anomaly.score('in_coord_alice', '2024-02-05 14:00+00', '198.51.100.10', 'US', 'NY', 'New York', NULL, c.lat, c.lon) AS by_user,
       login_anomaly.score(m.model, login_anomaly.features('2024-02-05 14:00+00', '198.51.100.10', 'US', 'NY',
                                                           'New York', NULL, c.lat, c.lon)) AS by_model,
       login_anomaly.explain('in_coord_alice', '2024-02-05 14:00+00', '198.51.100.10', 'US', 'NY', 'New York', NULL, c.lat, c.lon) AS reasons
FROM in_coord_cases c, login_anomaly.models m
WHERE m.user_id = 'in_coord_alice';
SELECT s.coord_kind, round(s.by_user::numeric, 3) AS score, s.by_user = s.by_model AS same_as_model_score,
       s.by_user = nul.by_user AS same_as_null, s.by_user > usual.by_user AS above_usual,
       s.reasons
FROM in_coord_scores s, in_coord_scores nul, in_coord_scores usual
WHERE nul.n = 2 AND usual.n = 1
ORDER BY s.n;

-- The trigger with threshold=0, so that every scored login writes an
-- alert that records its score and its coordinates
CREATE TRIGGER in_coord_check AFTER INSERT ON in_coord_logins
  FOR EACH ROW EXECUTE FUNCTION login_anomaly.check_login('threshold=0');
INSERT INTO in_coord_logins (note, user_id, ts, ip, country, region, city, lat, lon)
SELECT c.coord_kind, 'in_coord_alice', '2024-02-05 14:00+00', '198.51.100.10', 'US', 'NY', 'New York', c.lat, c.lon
FROM in_coord_cases c ORDER BY c.n;

-- Every login is stored and has one anomaly alert with the score that
-- score() gave.  The alert keeps finite coordinates as written, in range
-- or not, and stores NULL for NaN and the infinities
SELECT count(*) AS stored FROM in_coord_logins WHERE note <> 'history';
SELECT s.coord_kind, a.kind, a.score = s.by_user AS same_score, a.lat, a.lon
FROM in_coord_logins l
JOIN in_coord_scores s ON s.coord_kind = l.note
LEFT JOIN login_anomaly.alerts a ON a.login_table = 'in_coord_logins'::regclass AND a.login_ref = l.login_id::text
ORDER BY s.n;
DELETE FROM login_anomaly.alerts WHERE login_table = 'in_coord_logins'::regclass;

-- Coordinate columns of other numeric types are read too.  A numeric NaN
-- or infinity is an unknown place like a float8 one, and so is a numeric
-- too large for a double (1e400): out of range, it must not turn into a
-- scoring failure.  Triggers fire in name order, so the alerts of each
-- login come from the numeric, the real and the integer columns in turn.
-- Integers 41 and -74 are a place near, not at, the usual one
CREATE TABLE in_coord_typed (login_id bigserial PRIMARY KEY, note text, user_id text,
  ts timestamptz, ip inet, country text, region text, city text,
  lat numeric, lon numeric, lat4 real, lon4 real, lat_int int, lon_int bigint);
CREATE TRIGGER in_coord_check AFTER INSERT ON in_coord_typed
  FOR EACH ROW EXECUTE FUNCTION login_anomaly.check_login('threshold=0');
CREATE TRIGGER in_coord_check4 AFTER INSERT ON in_coord_typed
  FOR EACH ROW EXECUTE FUNCTION login_anomaly.check_login('threshold=0', 'lat=lat4', 'lon=lon4');
CREATE TRIGGER in_coord_check_int AFTER INSERT ON in_coord_typed
  FOR EACH ROW EXECUTE FUNCTION login_anomaly.check_login('threshold=0', 'lat=lat_int', 'lon=lon_int');
SET client_min_messages = error;
INSERT INTO in_coord_typed (note, user_id, ts, ip, country, region, city, lat, lon, lat4, lon4, lat_int, lon_int)
VALUES ('usual', 'in_coord_alice', '2024-02-05 14:00+00', '198.51.100.10', 'US', 'NY', 'New York',
        40.71, -74.01, 40.71, -74.01, 41, -74),
       ('NaN and Infinity', 'in_coord_alice', '2024-02-05 14:00+00', '198.51.100.10', 'US', 'NY', 'New York',
        'NaN', 'Infinity', 'NaN', '-Infinity', NULL, 2147483647),
       ('1e400', 'in_coord_alice', '2024-02-05 14:00+00', '198.51.100.10', 'US', 'NY', 'New York',
        1e400, -74.01, 1e30, -74.01, -2147483648, -74);
RESET client_min_messages;
SELECT count(*) AS stored FROM in_coord_typed;
SELECT l.note,
       (ARRAY['numeric', 'real', 'integer'])[row_number() OVER (PARTITION BY l.login_id ORDER BY a.alert_id)] AS columns,
       a.kind, a.score = (SELECT by_user FROM in_coord_scores WHERE n = 2) AS same_as_null,
       a.score = (SELECT by_user FROM in_coord_scores WHERE n = 1) AS same_as_usual,
       left(a.error, 40) AS error
FROM in_coord_typed l
JOIN login_anomaly.alerts a ON a.login_table = 'in_coord_typed'::regclass AND a.login_ref = l.login_id::text
ORDER BY l.login_id, a.alert_id;
DELETE FROM login_anomaly.alerts WHERE login_table = 'in_coord_typed'::regclass;

-- A coordinate column of a non-numeric type is a scoring error: the login
-- is stored, with a scoring_failed alert that names the type
CREATE TABLE in_coord_text (login_id bigserial PRIMARY KEY, user_id text, lat text, lon text);
CREATE TRIGGER in_coord_check AFTER INSERT ON in_coord_text
  FOR EACH ROW EXECUTE FUNCTION login_anomaly.check_login();
SET client_min_messages = error;
INSERT INTO in_coord_text (user_id, lat, lon) VALUES ('in_coord_alice', '40.71', '-74.01');
RESET client_min_messages;
SELECT count(*) AS stored FROM in_coord_text;
SELECT kind, error FROM login_anomaly.alerts WHERE login_table = 'in_coord_text'::regclass;

-- Clean up
DELETE FROM login_anomaly.alerts
WHERE login_table IN ('in_coord_logins'::regclass, 'in_coord_typed'::regclass, 'in_coord_text'::regclass);
DELETE FROM login_anomaly.models WHERE user_id LIKE 'in\_coord\_%';
DROP TABLE in_coord_logins, in_coord_typed, in_coord_text, in_coord_cases, in_coord_scores;
