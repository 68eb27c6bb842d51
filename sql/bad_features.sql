--
-- bad_features: input the encoder must survive, one kind per step.  Every
-- field of a login may be missing, huge or odd, and none of that is an
-- error.  Only malformed feature_vector text is.
--
SET client_min_messages = warning;
CREATE EXTENSION IF NOT EXISTS login_anomaly;
RESET client_min_messages;

-- NULL in every argument: no time, no place, every label "unknown"
SELECT login_anomaly.features(NULL, NULL, NULL, NULL, NULL, NULL, NULL, NULL);

-- Empty strings are missing values too
SELECT login_anomaly.features(NULL, NULL, '', '', '', '')::text
     = login_anomaly.features(NULL, NULL, NULL, NULL, NULL, NULL)::text AS empty_is_missing;

-- A 20 kB user agent and a 10 kB city: a field value is cut to 200 bytes
-- before hashing, so the city label is 200 bytes long and the user agent
-- still reduces to families
SELECT length(fv::text::jsonb ->> 'city') AS city_label_bytes,
       fv::text::jsonb ->> 'browser' AS browser,
       fv::text::jsonb ->> 'os' AS os
FROM (SELECT login_anomaly.features(NULL, NULL, 'US', 'NY', repeat('x', 10000),
        'Mozilla/5.0 (Windows NT 10.0; Win64; x64) AppleWebKit/537.36 (KHTML, like Gecko) Chrome/120.0.0.0 Safari/537.36 '
          || repeat('y', 20000)) AS fv) s;

-- ... so two huge values that share their first 200 bytes encode alike
SELECT login_anomaly.features(NULL, NULL, NULL, NULL, repeat('x', 200) || 'a', NULL)::text
     = login_anomaly.features(NULL, NULL, NULL, NULL, repeat('x', 200) || 'b', NULL)::text
  AS same_after_cut;

-- The cut falls on a character boundary: 150 two-byte characters keep 100
-- characters, 200 bytes, and the label is still valid UTF-8
SELECT octet_length(fv::text::jsonb ->> 'city') AS bytes,
       length(fv::text::jsonb ->> 'city') AS characters
FROM (SELECT login_anomaly.features(NULL, NULL, NULL, NULL, repeat('é', 150), NULL) AS fv) s;

-- Control characters survive the text form: they are escaped in the JSON
-- and read back to the same value
SELECT fv::text::jsonb ->> 'city' = E'a\r\n\tb' AS city_kept,
       fv::text::login_anomaly.feature_vector::text = fv::text AS round_trip
FROM (SELECT login_anomaly.features(NULL, NULL, NULL, NULL, E'a\r\n\tb', NULL) AS fv) s;
SELECT login_anomaly.features(NULL, NULL, NULL, NULL, E'a\r\n\tb', NULL)::text::jsonb -> 'city' AS city;

-- NaN, infinities and coordinates out of range are missing, never (0, 0):
-- the text form has no lat and no lon
SELECT lat, lon, fv::text::jsonb ? 'lat' AS has_lat, fv::text::jsonb ? 'lon' AS has_lon
FROM (SELECT lat, lon, login_anomaly.features(NULL, NULL, NULL, NULL, NULL, NULL, lat, lon) AS fv
      FROM (VALUES ('NaN'::float8, 10::float8), (10, 'NaN'),
                   ('Infinity', 10), (10, '-Infinity'),
                   (91, 10), (-91, 10), (10, 181), (10, -181)) v(lat, lon)) s;

-- ... while the edges of the range are places
SELECT fv::text::jsonb ->> 'lat' AS lat, fv::text::jsonb ->> 'lon' AS lon
FROM (SELECT login_anomaly.features(NULL, NULL, NULL, NULL, NULL, NULL, lat, lon) AS fv
      FROM (VALUES (90::float8, 180::float8), (-90, -180)) v(lat, lon)) s;

-- Infinite timestamps are a missing time
SELECT ts, fv::text::jsonb -> 'ts' AS ts_in_vector, fv::text::jsonb ? 'hour' AS has_hour
FROM (SELECT ts, login_anomaly.features(ts, NULL, NULL, NULL, NULL, NULL) AS fv
      FROM (VALUES ('infinity'::timestamptz), ('-infinity')) v(ts)) s;

-- Times before 2000 and far in the future have an hour of day like any other
SELECT fv::text::jsonb ->> 'ts' AS ts, fv::text::jsonb ->> 'hour' AS hour
FROM (SELECT login_anomaly.features(ts, NULL, NULL, NULL, NULL, NULL) AS fv
      FROM (VALUES ('1970-01-01 23:45+00'::timestamptz), ('1999-12-31 23:59:59+00'),
                   ('4713-01-01 06:00+00 BC'), ('294276-12-31 18:00+00')) v(ts)) s;

-- ... and their text forms read back to the same values
SELECT bool_and(fv::text::login_anomaly.feature_vector::text = fv::text) AS round_trip
FROM (SELECT login_anomaly.features(ts, NULL, NULL, NULL, NULL, NULL) AS fv
      FROM (VALUES ('1970-01-01 23:45+00'::timestamptz), ('1999-12-31 23:59:59+00'),
                   ('4713-01-01 06:00+00 BC'), ('294276-12-31 18:00+00')) v(ts)) s;

-- Odd addresses are encoded like any other: all-zero, broadcast, the IPv6
-- unspecified and loopback addresses, and an inet with a netmask, whose
-- host part counts
SELECT ip, fv::text::jsonb ->> 'network' AS network,
       fv::text::jsonb ->> 'wide_network' AS wide_network
FROM (SELECT ip, login_anomaly.features(NULL, ip, NULL, NULL, NULL, NULL) AS fv
      FROM (VALUES ('0.0.0.0'::inet), ('255.255.255.255'), ('::'), ('::1'),
                   ('10.0.0.0/8'), ('10.1.2.3/8'), ('::ffff:0.0.0.0')) v(ip)) s;

-- A cidr value is an inet too
SELECT login_anomaly.features(NULL, '192.168.7.0/24'::cidr, NULL, NULL, NULL, NULL)::text::jsonb ->> 'network'
  AS network;

-- Malformed feature_vector text: not JSON
SELECT 'not json'::login_anomaly.feature_vector;

-- ... a JSON array, or a scalar
SELECT '[1, 2]'::login_anomaly.feature_vector;
SELECT '"US"'::login_anomaly.feature_vector;

-- ... an unknown key
SELECT '{"country": "US", "colour": "red"}'::login_anomaly.feature_vector;

-- ... lat without lon
SELECT '{"lat": 10}'::login_anomaly.feature_vector;

-- ... coordinates out of range
SELECT '{"lat": 91, "lon": 0}'::login_anomaly.feature_vector;

-- ... wrong types: a number for a label, a string for a coordinate, a
-- number for the time, a time that is not a time, an infinite time
SELECT '{"country": 7}'::login_anomaly.feature_vector;
SELECT '{"lat": "10", "lon": 10}'::login_anomaly.feature_vector;
SELECT '{"ts": 1700000000}'::login_anomaly.feature_vector;
SELECT '{"ts": "yesterday-ish"}'::login_anomaly.feature_vector;
SELECT '{"ts": "infinity"}'::login_anomaly.feature_vector;

-- ... a number too large for a double
SELECT '{"lat": 1e400, "lon": 0}'::login_anomaly.feature_vector;

-- The smallest valid text: an empty object, with every field missing.  It
-- is the same login as features() with every argument NULL
SELECT '{}'::login_anomaly.feature_vector;
SELECT '{}'::login_anomaly.feature_vector::text
     = login_anomaly.features(NULL, NULL, NULL, NULL, NULL, NULL)::text AS same_as_all_null;

-- The derived hour is ignored on input and recomputed from ts
SELECT '{"ts": "2024-01-01 06:00:00+00", "hour": 17}'::login_anomaly.feature_vector;

-- Labels in the text form are cut like arguments
SELECT length(format('{"city": "%s"}', repeat('z', 500))::login_anomaly.feature_vector::text::jsonb ->> 'city')
  AS city_label_bytes;

-- Negative zero reads as zero, so the text form reads back to the same text
-- (a coordinate of -1e-400 is -0 once parsed)
SELECT v::text = v::text::login_anomaly.feature_vector::text AS stable_text,
       v::text::jsonb -> 'lon' AS lon
FROM (SELECT '{"lat": 4.6, "lon": -1e-400, "country": "CO"}'::login_anomaly.feature_vector AS v) t;
SELECT login_anomaly.features(NULL, NULL, NULL, NULL, NULL, NULL, -0.0::float8, 5)::text::jsonb -> 'lat'
  AS lat;
