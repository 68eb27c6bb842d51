--
-- score: how unusual a login is for its user, from 0 to 1: a logistic
-- curve over the risk in nats (what is new for this user, weighed by how
-- often the user brings something new, plus the SVM's evidence).
-- login_anomaly.threshold (default 0.8) decides what alerts.  User ids here start with "score_".
--
SET client_min_messages = warning;
CREATE EXTENSION IF NOT EXISTS login_anomaly;
RESET client_min_messages;

-- A user without a model has no score
SELECT login_anomaly.score('score_nobody', '2024-02-05 15:10+00', '198.51.100.77',
                           'US', 'NY', 'New York', NULL) IS NULL AS no_score;

-- ... and neither has a NULL user id
SELECT login_anomaly.score(NULL, '2024-02-05 15:10+00', '198.51.100.77',
                           'US', 'NY', 'New York', NULL) IS NULL AS no_score;

-- The canonical story: alice logged in 30 times from New York, from one /24,
-- on Chrome 119 on Windows, at office hours (14:00 to 17:59 UTC)
CREATE TABLE score_logins (
  login_id serial PRIMARY KEY,
  user_id text, ts timestamptz, ip inet, country text, region text, city text,
  user_agent text, lat float8, lon float8);
INSERT INTO score_logins (user_id, ts, ip, country, region, city, user_agent, lat, lon)
SELECT 'score_alice',
       '2024-01-01 14:00+00'::timestamptz + i * interval '24 hours' + (i % 4) * interval '1 hour'
         + (i * 7 % 60) * interval '1 minute',
       ('198.51.100.' || (10 + i % 5))::inet, 'US', 'NY', 'New York',
       'Mozilla/5.0 (Windows NT 10.0; Win64; x64) AppleWebKit/537.36 (KHTML, like Gecko) Chrome/119.0.0.0 Safari/537.36',
       40.71, -74.01
FROM generate_series(1, 30) i;
SELECT login_anomaly.train('score_logins');

-- Her 31st login is like the others: Chrome has moved to 120, the address
-- is new but in the same /24.  It scores below the threshold
SELECT round(s::numeric, 3) AS score, s < 0.8 AS below_threshold,
       login_anomaly.risk_level(s) AS risk
FROM login_anomaly.score('score_alice', '2024-02-05 15:10+00', '198.51.100.77',
                         'US', 'NY', 'New York',
                         'Mozilla/5.0 (Windows NT 10.0; Win64; x64) AppleWebKit/537.36 (KHTML, like Gecko) Chrome/120.0.0.0 Safari/537.36',
                         40.71, -74.01) s;

-- A login from Kyiv on Firefox on Linux at 03:00 UTC scores above it
SELECT round(s::numeric, 3) AS score, s > 0.8 AS above_threshold,
       login_anomaly.risk_level(s) AS risk
FROM login_anomaly.score('score_alice', '2024-02-05 03:00+00', '91.198.4.7',
                         'UA', '30', 'Kyiv',
                         'Mozilla/5.0 (X11; Linux x86_64; rv:121.0) Gecko/20100101 Firefox/121.0',
                         50.45, 30.52) s;

-- Each change on its own moves the score up by how rarely this user brings
-- something new at that level: a new /16 a little (networks change for
-- many users), a new browser more, and 03:00 instead of the afternoon
-- hardly at all (only through the SVM).  All together are far above the
-- threshold
SELECT change, round(login_anomaly.score('score_alice', ts, ip, country, region, city, ua, lat, lon)::numeric, 3) AS score
FROM (VALUES
  ('nothing', '2024-02-05 15:10+00'::timestamptz, '198.51.100.77'::inet, 'US', 'NY', 'New York',
   'Mozilla/5.0 (Windows NT 10.0; Win64; x64) AppleWebKit/537.36 (KHTML, like Gecko) Chrome/120.0.0.0 Safari/537.36', 40.71::float8, -74.01::float8),
  ('new /16', '2024-02-05 15:10+00', '203.0.113.77', 'US', 'NY', 'New York',
   'Mozilla/5.0 (Windows NT 10.0; Win64; x64) AppleWebKit/537.36 (KHTML, like Gecko) Chrome/120.0.0.0 Safari/537.36', 40.71, -74.01),
  ('browser', '2024-02-05 15:10+00', '198.51.100.77', 'US', 'NY', 'New York',
   'Mozilla/5.0 (Windows NT 10.0; Win64; x64; rv:121.0) Gecko/20100101 Firefox/121.0', 40.71, -74.01),
  ('hour', '2024-02-05 03:00+00', '198.51.100.77', 'US', 'NY', 'New York',
   'Mozilla/5.0 (Windows NT 10.0; Win64; x64) AppleWebKit/537.36 (KHTML, like Gecko) Chrome/120.0.0.0 Safari/537.36', 40.71, -74.01),
  ('everything', '2024-02-05 03:00+00', '91.198.4.7', 'UA', '30', 'Kyiv',
   'Mozilla/5.0 (X11; Linux x86_64; rv:121.0) Gecko/20100101 Firefox/121.0', 50.45, 30.52)
) v(change, ts, ip, country, region, city, ua, lat, lon);

-- score(model, features) gives exactly what score(user_id, ...) gives
SELECT login_anomaly.score(m.model, login_anomaly.features(
         '2024-02-05 03:00+00', '91.198.4.7', 'UA', '30', 'Kyiv',
         'Mozilla/5.0 (X11; Linux x86_64; rv:121.0) Gecko/20100101 Firefox/121.0', 50.45, 30.52))
     = login_anomaly.score('score_alice', '2024-02-05 03:00+00', '91.198.4.7', 'UA', '30', 'Kyiv',
         'Mozilla/5.0 (X11; Linux x86_64; rv:121.0) Gecko/20100101 Firefox/121.0', 50.45, 30.52)
       AS same_score
FROM login_anomaly.models m WHERE m.user_id = 'score_alice';

-- Scores lie strictly between 0 and 1, for the training logins too
SELECT min(s) > 0 AND max(s) < 1 AS in_open_interval, count(*) AS logins
FROM (SELECT login_anomaly.score(user_id, ts, ip, country, region, city, user_agent, lat, lon) AS s
      FROM score_logins) t;

-- A score exactly at the threshold does not alert: risk_level is 'low' up
-- to and including login_anomaly.threshold (0.8), 'medium' up to and
-- including login_anomaly.high_threshold (0.95), then 'high'
SELECT s, login_anomaly.risk_level(s) AS risk
FROM (VALUES (0.0::float8), (0.5), (0.8), (0.8000001), (0.95), (0.9500001), (1.0)) v(s);

-- The levels follow the settings
SET login_anomaly.threshold = 0.6;
SET login_anomaly.high_threshold = 0.7;
SELECT s, login_anomaly.risk_level(s) AS risk
FROM (VALUES (0.6::float8), (0.65), (0.7), (0.75)) v(s);
RESET login_anomaly.threshold;
RESET login_anomaly.high_threshold;

-- NaN has no level, and NULL in gives NULL out
SELECT login_anomaly.risk_level('NaN') IS NULL AS nan_is_null,
       login_anomaly.risk_level(NULL) IS NULL AS null_is_null;

-- Clean up
DELETE FROM login_anomaly.models WHERE user_id LIKE 'score\_%';
DROP TABLE score_logins;
