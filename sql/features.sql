--
-- features: what the encoder keeps of a typical login.  The text form of a
-- feature vector is a JSON object, so single keys are read with ->>.
--
SET client_min_messages = warning;
CREATE EXTENSION IF NOT EXISTS login_anomaly;
RESET client_min_messages;

-- A complete IPv4 login: the time in UTC with its hour of day, the place,
-- the location labels as given, the user agent reduced to families and the
-- address reduced to its /24 and /16 networks
SELECT login_anomaly.features(
  '2024-01-15 14:30:00+00', '203.0.113.7', 'US', 'CA', 'San Francisco',
  'Mozilla/5.0 (Windows NT 10.0; Win64; x64) AppleWebKit/537.36 (KHTML, like Gecko) Chrome/120.0.0.0 Safari/537.36',
  37.77, -122.42);

-- Two addresses in the same /24 share both networks.  One in another /24
-- of the same /16 shares only the wide network
SELECT ip,
       fv::text::jsonb ->> 'network' AS network,
       fv::text::jsonb ->> 'wide_network' AS wide_network
FROM (SELECT ip, login_anomaly.features(NULL, ip, NULL, NULL, NULL, NULL) AS fv
      FROM (VALUES ('203.0.113.7'::inet), ('203.0.113.250'), ('203.0.99.1')) v(ip)) s;

-- IPv6: the /64 and the /48 prefix
SELECT fv::text::jsonb ->> 'network' AS network,
       fv::text::jsonb ->> 'wide_network' AS wide_network
FROM (SELECT login_anomaly.features(NULL, '2001:db8:abcd:12:1::5', NULL, NULL, NULL, NULL) AS fv) s;

-- An IPv4-mapped IPv6 address encodes exactly like its IPv4 form
SELECT login_anomaly.features('2024-01-15 14:30:00+00', '::ffff:203.0.113.7', 'US', NULL, NULL, NULL)::text
     = login_anomaly.features('2024-01-15 14:30:00+00', '203.0.113.7', 'US', NULL, NULL, NULL)::text
  AS mapped_equals_ipv4;
SELECT login_anomaly.features(NULL, '::ffff:203.0.113.7', NULL, NULL, NULL, NULL)::text::jsonb ->> 'network'
  AS mapped_network;

-- The hour of day is taken in UTC: 09:30 in New York in January is 14:30 UTC
SELECT fv::text::jsonb ->> 'ts' AS ts, fv::text::jsonb ->> 'hour' AS hour
FROM (SELECT login_anomaly.features('2024-01-15 09:30:00-05', NULL, NULL, NULL, NULL, NULL) AS fv) s;

-- ... and on a circle: (cos, sin) of the hour angle, so 23:30 and 00:30 UTC
-- are as close as 11:30 and 12:30
SELECT h, round(cos(h * pi() / 12)::numeric, 4) AS x, round(sin(h * pi() / 12)::numeric, 4) AS y
FROM (SELECT (fv::text::jsonb ->> 'hour')::float8 AS h
      FROM (SELECT login_anomaly.features(t, NULL, NULL, NULL, NULL, NULL) AS fv
            FROM (VALUES ('2024-01-15 23:30+00'::timestamptz), ('2024-01-16 00:30+00')) v(t)) s) s2;

-- The session TimeZone changes neither the text form nor the hour
SET TimeZone = 'America/New_York';
CREATE TEMP TABLE features_tz AS
  SELECT 'new_york' AS zone,
         login_anomaly.features('2024-07-01 03:15:00+00', '198.51.100.4', 'US', 'NY', 'New York', NULL)::text AS fv;
SET TimeZone = 'Asia/Kolkata';
INSERT INTO features_tz
  SELECT 'kolkata',
         login_anomaly.features('2024-07-01 03:15:00+00', '198.51.100.4', 'US', 'NY', 'New York', NULL)::text;
RESET TimeZone;
SELECT count(DISTINCT fv) AS distinct_text_forms, min(fv::jsonb ->> 'hour') AS hour
FROM features_tz;
DROP TABLE features_tz;

-- The text form reads back to the same value
SELECT fv::text::login_anomaly.feature_vector::text = fv::text AS round_trip
FROM (SELECT login_anomaly.features(
        '2024-01-15 14:30:00.123456+00', '2001:db8::1', 'DE', 'BE', 'Berlin',
        'Mozilla/5.0 (X11; Linux x86_64; rv:121.0) Gecko/20100101 Firefox/121.0',
        52.52, 13.405) AS fv) s;

-- ... and so does a login with nothing known
SELECT fv::text, fv::text::login_anomaly.feature_vector::text = fv::text AS round_trip
FROM (SELECT login_anomaly.features(NULL, NULL, NULL, NULL, NULL, NULL) AS fv) s;

-- The user agent is reduced to families without versions: Chrome 119 and
-- Chrome 120 on the same system give the same browser, OS and device
SELECT ua_version, fv::text::jsonb ->> 'browser' AS browser,
       fv::text::jsonb ->> 'os' AS os, fv::text::jsonb ->> 'device' AS device
FROM (SELECT v AS ua_version, login_anomaly.features(NULL, NULL, NULL, NULL, NULL,
        format('Mozilla/5.0 (Windows NT 10.0; Win64; x64) AppleWebKit/537.36 (KHTML, like Gecko) Chrome/%s Safari/537.36', v)) AS fv
      FROM (VALUES ('119.0.6045.159'), ('120.0.6099.109')) x(v)) s;

-- The same reduction as user_agent_class() shows it, for a few devices
SELECT c.*
FROM (VALUES
  ('Mozilla/5.0 (X11; Linux x86_64; rv:121.0) Gecko/20100101 Firefox/121.0'),
  ('Mozilla/5.0 (iPhone; CPU iPhone OS 16_1 like Mac OS X) AppleWebKit/605.1.15 (KHTML, like Gecko) Version/16.1 Mobile/15E148 Safari/604.1'),
  ('Mozilla/5.0 (compatible; Googlebot/2.1; +http://www.google.com/bot.html)')) v(ua),
  LATERAL login_anomaly.user_agent_class(v.ua) c;

-- A NULL or empty user agent is "unknown" in each part
SELECT ua IS NULL AS ua_is_null, fv::text::jsonb ->> 'browser' AS browser,
       fv::text::jsonb ->> 'os' AS os, fv::text::jsonb ->> 'device' AS device
FROM (SELECT ua, login_anomaly.features(NULL, NULL, NULL, NULL, NULL, ua) AS fv
      FROM (VALUES (NULL::text), ('')) v(ua)) s;

-- Missing coordinates mean no place: the text form has no lat or lon,
-- whether both are NULL, only one is given, or they are left out
SELECT fv::text::jsonb ? 'lat' AS has_lat, fv::text::jsonb ? 'lon' AS has_lon
FROM (VALUES
  (login_anomaly.features(NULL, NULL, 'US', NULL, NULL, NULL, NULL, NULL)),
  (login_anomaly.features(NULL, NULL, 'US', NULL, NULL, NULL, 40.7, NULL)),
  (login_anomaly.features(NULL, NULL, 'US', NULL, NULL, NULL))) v(fv);
