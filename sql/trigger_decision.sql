--
-- trigger_decision: check_login alerts exactly when score() is above the
-- threshold.  The trigger skips the SVM's kernel sum for a login whose
-- novelty cannot reach the threshold, so its decisions are compared here
-- with the full score over many kinds of login and several thresholds.
-- User ids here start with "dec_".
--
SET client_min_messages = warning;
CREATE EXTENSION IF NOT EXISTS login_anomaly;
RESET client_min_messages;

CREATE TABLE dec_logins (
  login_id serial PRIMARY KEY,
  user_id text, ts timestamptz, ip inet, country text, region text, city text,
  user_agent text, lat float8, lon float8);

-- Two histories: a desktop that always sits at home, and a phone that
-- moves between the home line and a carrier's addresses
INSERT INTO dec_logins (user_id, ts, ip, country, region, city, user_agent, lat, lon)
SELECT 'dec_desk', '2024-01-01 14:00+00'::timestamptz + i * interval '1 day' + (i % 3) * interval '1 hour',
       ('198.51.100.' || (10 + i % 4))::inet, 'US', 'NY', 'New York',
       'Mozilla/5.0 (Windows NT 10.0; Win64; x64) AppleWebKit/537.36 (KHTML, like Gecko) Chrome/120.0.0.0 Safari/537.36',
       40.71, -74.01
FROM generate_series(1, 40) i
UNION ALL
SELECT 'dec_phone', '2024-01-01 08:00+00'::timestamptz + i * interval '19 hours',
       CASE WHEN i % 3 = 0 THEN ('198.51.100.' || (20 + i % 5))::inet
            ELSE ('203.0.' || (113 + i % 7) || '.' || (i % 200 + 1))::inet END,
       'US', 'NY', 'New York',
       'Mozilla/5.0 (iPhone; CPU iPhone OS 17_1 like Mac OS X) AppleWebKit/605.1.15 (KHTML, like Gecko) Version/17.1 Mobile/15E148 Safari/604.1',
       40.71, -74.01
FROM generate_series(1, 60) i;
SELECT login_anomaly.train('dec_logins');

-- The candidates: every mix of network, place, browser and hour, for both
-- users
CREATE TABLE dec_candidates AS
SELECT u.user_id, '2024-03-01'::timestamptz + h.hour * interval '1 hour' AS ts,
       n.ip, p.country, p.region, p.city, b.user_agent, p.lat, p.lon
FROM (VALUES ('dec_desk'), ('dec_phone')) u(user_id),
     (VALUES (3), (15)) h(hour),
     (VALUES ('198.51.100.11'::inet), ('198.51.7.9'), ('192.0.2.44'), ('2001:db8:1:2::7')) n(ip),
     (VALUES ('US', 'NY', 'New York', 40.71, -74.01), ('US', 'MA', 'Boston', 42.36, -71.06),
             ('UA', '30', 'Kyiv', 50.45, 30.52)) p(country, region, city, lat, lon),
     (VALUES ('Mozilla/5.0 (Windows NT 10.0; Win64; x64) AppleWebKit/537.36 (KHTML, like Gecko) Chrome/121.0.0.0 Safari/537.36'),
             ('Mozilla/5.0 (iPhone; CPU iPhone OS 17_2 like Mac OS X) AppleWebKit/605.1.15 (KHTML, like Gecko) Version/17.2 Mobile/15E148 Safari/604.1'),
             ('Mozilla/5.0 (X11; Linux x86_64; rv:121.0) Gecko/20100101 Firefox/121.0')) b(user_agent);
SELECT count(*) AS candidates FROM dec_candidates;

-- One table and trigger per threshold, each given every candidate
DO $$
DECLARE
  t text;
BEGIN
  FOREACH t IN ARRAY ARRAY['0.3', '0.6', '0.8', '0.95', '0.999'] LOOP
    EXECUTE format('CREATE TABLE %I (LIKE dec_logins INCLUDING ALL)', 'dec_at_' || replace(t, '.', '_'));
    EXECUTE format('CREATE TRIGGER dec_check AFTER INSERT ON %I FOR EACH ROW '
                   'EXECUTE FUNCTION login_anomaly.check_login(%L)',
                   'dec_at_' || replace(t, '.', '_'), 'threshold=' || t);
    EXECUTE format('INSERT INTO %I (user_id, ts, ip, country, region, city, user_agent, lat, lon) '
                   'SELECT * FROM dec_candidates', 'dec_at_' || replace(t, '.', '_'));
  END LOOP;
END
$$;

-- For each threshold: how many candidates score above it and how many
-- alerted, and how many disagree (must be none)
SELECT a.threshold, count(*) FILTER (WHERE s.above) AS above,
       count(*) FILTER (WHERE s.alerted) AS alerted,
       count(*) FILTER (WHERE s.above IS DISTINCT FROM s.alerted) AS disagree
FROM (VALUES (0.3::float8, 'dec_at_0_3'), (0.6, 'dec_at_0_6'), (0.8, 'dec_at_0_8'),
             (0.95, 'dec_at_0_95'), (0.999, 'dec_at_0_999')) a(threshold, tab),
     LATERAL (
       SELECT login_anomaly.score(c.user_id, c.ts, c.ip, c.country, c.region, c.city,
                                  c.user_agent, c.lat, c.lon) > a.threshold AS above,
              EXISTS (SELECT 1 FROM login_anomaly.alerts al
                      WHERE al.user_id = c.user_id AND al.login_table::text = a.tab
                        AND al.login_ts = c.ts AND al.ip = c.ip AND al.city = c.city
                        AND al.user_agent = c.user_agent) AS alerted
       FROM dec_candidates c) s
GROUP BY a.threshold ORDER BY a.threshold;

-- A threshold equal to a login's exact score: that login does not alert
-- (alerts are strictly above), and neither does one that scores less
SET extra_float_digits = 3;
CREATE TABLE dec_exact (LIKE dec_logins INCLUDING ALL);
DO $$
DECLARE
  s float8;
BEGIN
  SELECT login_anomaly.score('dec_desk', '2024-03-01 15:00+00', '192.0.2.44', 'US', 'NY', 'New York',
                             'Mozilla/5.0 (Windows NT 10.0; Win64; x64) AppleWebKit/537.36 (KHTML, like Gecko) Chrome/121.0.0.0 Safari/537.36',
                             40.71, -74.01) INTO s;
  EXECUTE format('CREATE TRIGGER dec_check AFTER INSERT ON dec_exact FOR EACH ROW '
                 'EXECUTE FUNCTION login_anomaly.check_login(%L)', 'threshold=' || s::text);
END
$$;
RESET extra_float_digits;
INSERT INTO dec_exact (user_id, ts, ip, country, region, city, user_agent, lat, lon) VALUES
  ('dec_desk', '2024-03-01 15:00+00', '192.0.2.44', 'US', 'NY', 'New York',
   'Mozilla/5.0 (Windows NT 10.0; Win64; x64) AppleWebKit/537.36 (KHTML, like Gecko) Chrome/121.0.0.0 Safari/537.36',
   40.71, -74.01),
  ('dec_desk', '2024-03-01 15:00+00', '198.51.100.11', 'US', 'NY', 'New York',
   'Mozilla/5.0 (Windows NT 10.0; Win64; x64) AppleWebKit/537.36 (KHTML, like Gecko) Chrome/121.0.0.0 Safari/537.36',
   40.71, -74.01),
  ('dec_desk', '2024-03-01 03:00+00', '192.0.2.44', 'UA', '30', 'Kyiv',
   'Mozilla/5.0 (X11; Linux x86_64; rv:121.0) Gecko/20100101 Firefox/121.0', 50.45, 30.52);
SELECT ip, city FROM login_anomaly.alerts WHERE login_table = 'dec_exact'::regclass ORDER BY ip;

-- A login with nothing new, at an hour and a place far from every usual
-- one, has only the SVM's evidence.  With the threshold at its exact score
-- it does not alert.  With the threshold 1e-9 lower it does.
SELECT round(login_anomaly.score('dec_desk', '2024-03-01 03:00+00', '198.51.100.11', 'US', 'NY', 'New York',
             'Mozilla/5.0 (Windows NT 10.0; Win64; x64) AppleWebKit/537.36 (KHTML, like Gecko) Chrome/121.0.0.0 Safari/537.36',
             -45.0, 170.0)::numeric, 4) AS far_score;
SET extra_float_digits = 3;
CREATE TABLE dec_edge (LIKE dec_logins INCLUDING ALL);
CREATE TABLE dec_edge_below (LIKE dec_logins INCLUDING ALL);
DO $$
DECLARE
  s float8;
BEGIN
  SELECT login_anomaly.score('dec_desk', '2024-03-01 03:00+00', '198.51.100.11', 'US', 'NY', 'New York',
                             'Mozilla/5.0 (Windows NT 10.0; Win64; x64) AppleWebKit/537.36 (KHTML, like Gecko) Chrome/121.0.0.0 Safari/537.36',
                             -45.0, 170.0) INTO s;
  EXECUTE format('CREATE TRIGGER dec_check AFTER INSERT ON dec_edge FOR EACH ROW '
                 'EXECUTE FUNCTION login_anomaly.check_login(%L)', 'threshold=' || s::text);
  EXECUTE format('CREATE TRIGGER dec_check AFTER INSERT ON dec_edge_below FOR EACH ROW '
                 'EXECUTE FUNCTION login_anomaly.check_login(%L)', 'threshold=' || (s - 1e-9)::text);
END
$$;
RESET extra_float_digits;
INSERT INTO dec_edge (user_id, ts, ip, country, region, city, user_agent, lat, lon)
VALUES ('dec_desk', '2024-03-01 03:00+00', '198.51.100.11', 'US', 'NY', 'New York',
        'Mozilla/5.0 (Windows NT 10.0; Win64; x64) AppleWebKit/537.36 (KHTML, like Gecko) Chrome/121.0.0.0 Safari/537.36',
        -45.0, 170.0);
INSERT INTO dec_edge_below SELECT * FROM dec_edge;
SELECT login_table, count(*) AS alerts FROM login_anomaly.alerts
WHERE login_table IN ('dec_edge'::regclass, 'dec_edge_below'::regclass)
GROUP BY login_table ORDER BY login_table::text;

DELETE FROM login_anomaly.alerts WHERE user_id LIKE 'dec\_%';
