--
-- input_place: country, region and city through features(), scoring and
-- the check_login trigger, in a UTF8, a SQL_ASCII and a LATIN1 database.
-- NULL and empty are the value "unknown", a value is compared byte for
-- byte (no case folding, no Unicode normalization) on its first 200 bytes,
-- and none of it is an error.  User ids here start with "in_place_".
--
SET client_min_messages = warning;
CREATE EXTENSION IF NOT EXISTS login_anomaly;
RESET client_min_messages;

-- features(): the city label of each kind of value.  NULL and empty are
-- "unknown".  100 kB is cut to 200 bytes, and 100 kB of two-byte
-- characters to 100 characters.  Control characters and non-ASCII text are
-- kept and escaped in the JSON text form, which reads back to the same value
SELECT k AS city_kind, octet_length(fv::text::jsonb ->> 'city') AS label_bytes,
       CASE WHEN octet_length(c) > 40 THEN NULL ELSE fv::text::jsonb -> 'city' END AS label,
       fv::text::login_anomaly.feature_vector::text = fv::text AS round_trip
FROM (SELECT n, k, c, login_anomaly.features(NULL, NULL, 'US', 'NY', c, NULL) AS fv
      FROM (VALUES (1, 'NULL', NULL), (2, 'empty', ''), (3, 'plain', 'New York'),
                   (4, '100 kB', repeat('x', 100000)), (5, '100 kB of é', repeat('é', 50000)),
                   (6, 'CR LF tab', E'New York\r\n\t'), (7, 'C0 and DEL', E'\x01\x1f\x7f'),
                   (8, 'C1 control', E'\u0085'), (9, 'bidi override', E'\u202eNew York'),
                   (10, 'zero-width space', E'New\u200bYork'), (11, 'non-ASCII', 'Zürich'),
                   (12, 'Cyrillic', 'Київ'), (13, 'CJK', '東京'), (14, 'emoji', '🏙️'),
                   (15, 'quote and backslash', E'a"b\\c')) v(n, k, c)) s
ORDER BY n;

-- ... so NULL and empty encode alike, two 100 kB values that share their
-- first 200 bytes are one city, case matters, and the precomposed and the
-- decomposed Zürich are two cities
SELECT login_anomaly.features(NULL, NULL, NULL, NULL, NULL, NULL)::text
     = login_anomaly.features(NULL, NULL, '', '', '', NULL)::text AS empty_is_null,
       login_anomaly.features(NULL, NULL, 'US', 'NY', repeat('x', 100000) || 'a', NULL)::text
     = login_anomaly.features(NULL, NULL, 'US', 'NY', repeat('x', 100000) || 'b', NULL)::text AS cut_alike,
       login_anomaly.features(NULL, NULL, 'us', NULL, NULL, NULL)::text
     = login_anomaly.features(NULL, NULL, 'US', NULL, NULL, NULL)::text AS case_folded,
       login_anomaly.features(NULL, NULL, 'CH', 'ZH', U&'Z\00FCrich', NULL)::text
     = login_anomaly.features(NULL, NULL, 'CH', 'ZH', U&'Zu\0308rich', NULL)::text AS normalized;

-- Thirty usual logins of two users: alice in New York and zoë in Zürich
-- (precomposed ü)
CREATE TABLE in_place_logins (login_id bigserial PRIMARY KEY, note text, user_id text,
  ts timestamptz, ip inet, country text, region text, city text, user_agent text);
INSERT INTO in_place_logins (note, user_id, ts, ip, country, region, city)
SELECT 'history', u, '2024-01-01 14:00+00'::timestamptz + i * interval '24 hours',
       ('198.51.100.' || (10 + i % 5))::inet, c, r, t
FROM (VALUES ('in_place_alice', 'US', 'NY', 'New York'),
             ('in_place_zoë', 'CH', 'ZH', U&'Z\00FCrich')) v(u, c, r, t),
     generate_series(1, 30) i;
SELECT login_anomaly.train('in_place_logins') AS users_trained;

-- Scoring against alice's model, by user and with the model.  Only the
-- usual values as written score as usual, and every variant of a value
-- (case, trailing controls, normalization) is a new value
CREATE TEMP TABLE in_place_probes (n int, place_kind text, user_id text,
  country text, region text, city text);
INSERT INTO in_place_probes VALUES
  (1, 'usual', 'in_place_alice', 'US', 'NY', 'New York'),
  (2, 'NULL city', 'in_place_alice', 'US', 'NY', NULL),
  (3, 'empty city', 'in_place_alice', 'US', 'NY', ''),
  (4, 'city with CR LF', 'in_place_alice', 'US', 'NY', E'New York\r\n'),
  (5, 'lower-case country', 'in_place_alice', 'us', 'NY', 'New York'),
  (6, '100 kB city', 'in_place_alice', 'US', 'NY', repeat('x', 100000)),
  (7, '100 kB country', 'in_place_alice', repeat('U', 100000), 'NY', 'New York'),
  (8, 'all NULL', 'in_place_alice', NULL, NULL, NULL),
  (9, 'Kyiv in Cyrillic', 'in_place_alice', 'UA', 'Київ', 'Київ'),
  (10, 'Zürich precomposed', 'in_place_zoë', 'CH', 'ZH', U&'Z\00FCrich'),
  (11, 'Zürich decomposed', 'in_place_zoë', 'CH', 'ZH', U&'Zu\0308rich');
CREATE TEMP TABLE in_place_scores AS
SELECT p.n, p.place_kind,
       login_anomaly.score(p.user_id, '2024-02-05 14:00+00', '198.51.100.20', p.country, p.region, p.city, NULL) AS by_user,
       login_anomaly.score(m.model, login_anomaly.features('2024-02-05 14:00+00', '198.51.100.20',
                                                           p.country, p.region, p.city, NULL)) AS by_model,
       login_anomaly.explain(p.user_id, '2024-02-05 14:00+00', '198.51.100.20', p.country, p.region, p.city, NULL) AS reasons
FROM in_place_probes p JOIN login_anomaly.models m USING (user_id);
SELECT s.place_kind, round(s.by_user::numeric, 3) AS score, s.by_user = s.by_model AS same_as_model_score,
       login_anomaly.risk_level(s.by_user) AS risk,
       cardinality(s.reasons) AS reasons,
       CASE WHEN octet_length(s.reasons[1]) > 100 THEN '(' || octet_length(s.reasons[1]) || ' bytes)'
            ELSE regexp_replace(s.reasons[1], '[[:cntrl:]]', '?', 'g') END AS first_reason
FROM in_place_scores s
ORDER BY s.n;

-- NULL and empty city score alike
SELECT a.by_user = b.by_user AS null_city_is_empty_city
FROM in_place_scores a, in_place_scores b WHERE a.n = 2 AND b.n = 3;

-- The trigger with threshold=0, so that every scored login writes an
-- alert that records its score and its place
CREATE TRIGGER in_place_check AFTER INSERT ON in_place_logins
  FOR EACH ROW EXECUTE FUNCTION login_anomaly.check_login('threshold=0');
INSERT INTO in_place_logins (note, user_id, ts, ip, country, region, city)
SELECT p.place_kind, p.user_id, '2024-02-05 14:00+00', '198.51.100.20', p.country, p.region, p.city
FROM in_place_probes p ORDER BY p.n;

-- Every login is stored and has one anomaly alert whose score is the one
-- score() gave.  The alert keeps the place as written, whole
SELECT count(*) AS stored FROM in_place_logins WHERE note <> 'history';
SELECT l.note, a.kind, a.score = s.by_user AS same_score,
       octet_length(a.country) AS country_bytes, octet_length(a.city) AS city_bytes,
       a.city IS NOT DISTINCT FROM l.city AS city_kept
FROM in_place_logins l
JOIN in_place_scores s ON s.place_kind = l.note
LEFT JOIN login_anomaly.alerts a ON a.login_table = 'in_place_logins'::regclass AND a.login_ref = l.login_id::text
ORDER BY s.n;
DELETE FROM login_anomaly.alerts WHERE login_table = 'in_place_logins'::regclass;

-- At the default threshold, Kyiv in Cyrillic at 3 a.m. on Firefox raises
-- an alert that names the city as written, and a NULL city does not
DROP TRIGGER in_place_check ON in_place_logins;
CREATE TRIGGER in_place_check AFTER INSERT ON in_place_logins
  FOR EACH ROW EXECUTE FUNCTION login_anomaly.check_login();
INSERT INTO in_place_logins (note, user_id, ts, ip, country, region, city, user_agent)
VALUES ('default Kyiv', 'in_place_alice', '2024-02-06 03:00+00', '91.198.4.7', 'UA', 'Київ', 'Київ',
        'Mozilla/5.0 (X11; Linux x86_64; rv:121.0) Gecko/20100101 Firefox/121.0'),
       ('default NULL city', 'in_place_alice', '2024-02-06 14:00+00', '198.51.100.20', 'US', 'NY', NULL, NULL);
SELECT l.note, a.kind, a.risk, a.city, a.reasons[1] AS first_reason
FROM in_place_logins l
LEFT JOIN login_anomaly.alerts a ON a.login_table = 'in_place_logins'::regclass AND a.login_ref = l.login_id::text
WHERE l.note LIKE 'default %' ORDER BY l.login_id;
DELETE FROM login_anomaly.alerts WHERE login_table = 'in_place_logins'::regclass;
DELETE FROM login_anomaly.models WHERE user_id LIKE 'in\_place\_%';
DROP TABLE in_place_logins, in_place_probes, in_place_scores;

-- A SQL_ASCII database stores bytes that are not valid UTF-8.  Bytes are
-- shown in hex, because they are not text in the UTF8 expected output
\set in_place_home :DBNAME
CREATE DATABASE in_place_sql_ascii ENCODING 'SQL_ASCII' LC_COLLATE 'C' LC_CTYPE 'C' TEMPLATE template0;
\c in_place_sql_ascii
SET client_min_messages = warning;
CREATE EXTENSION login_anomaly;
RESET client_min_messages;

-- features(): a Latin-1 ü, a lone UTF-8 lead byte and 0xFF 0xFE are kept
-- byte for byte.  300 bytes of 0xE9 are cut to 200 bytes, because one byte
-- is one character here.  The text form reads back to the same value
SELECT k AS city_kind, left(encode(textsend(fv::text::jsonb ->> 'city'), 'hex'), 16) AS label_hex_start,
       octet_length(fv::text::jsonb ->> 'city') AS label_bytes,
       fv::text::login_anomaly.feature_vector::text = fv::text AS round_trip
FROM (SELECT n, k, login_anomaly.features(NULL, NULL, 'DE', 'BY', c, NULL) AS fv
      FROM (VALUES (1, 'Latin-1 u-umlaut', E'M\xfcnchen'), (2, 'lone lead byte', E'ab\xc3'),
                   (3, 'FF FE', E'\xff\xfe'), (4, '300 bytes', repeat(E'\xe9', 300))) v(n, k, c)) s
ORDER BY n;

-- A user agent with such bytes is still classified
SELECT * FROM login_anomaly.user_agent_class(
  E'Mozilla/5.0 (Windows NT 10.0; Win64; x64) AppleWebKit/537.36 (KHTML, like Gecko) Chrome/120.0.0.0 Safari/537.36 \xff\xfe');

-- Training, scoring and the trigger: a user of Munich written in Latin-1
-- bytes.  The usual city is low, Munich in UTF-8 bytes is a new city, and
-- the trigger stores both logins and alerts on the second only
CREATE TABLE in_place_logins (login_id bigserial PRIMARY KEY, user_id text, ts timestamptz,
  ip inet, country text, region text, city text, user_agent text);
INSERT INTO in_place_logins (user_id, ts, ip, country, region, city, user_agent)
SELECT 'in_place_ascii', '2024-01-01 14:00+00'::timestamptz + i * interval '24 hours', '198.51.100.10',
       'DE', 'BY', E'M\xfcnchen',
       'Mozilla/5.0 (Windows NT 10.0; Win64; x64) AppleWebKit/537.36 (KHTML, like Gecko) Chrome/120.0.0.0 Safari/537.36'
FROM generate_series(1, 30) i;
SELECT login_anomaly.train('in_place_logins') AS users_trained;
SELECT model::text::login_anomaly.model::text = model::text AS model_round_trip
FROM login_anomaly.models WHERE user_id = 'in_place_ascii';
SELECT k AS city_kind,
       login_anomaly.score('in_place_ascii', '2024-02-05 14:00+00', '198.51.100.10', 'DE', 'BY', c,
         'Mozilla/5.0 (Windows NT 10.0; Win64; x64) AppleWebKit/537.36 (KHTML, like Gecko) Chrome/120.0.0.0 Safari/537.36') > 0.1 AS unusual,
       encode(textsend(array_to_string(login_anomaly.explain('in_place_ascii', '2024-02-05 14:00+00', '198.51.100.10', 'DE', 'BY', c,
         'Mozilla/5.0 (Windows NT 10.0; Win64; x64) AppleWebKit/537.36 (KHTML, like Gecko) Chrome/120.0.0.0 Safari/537.36'), '; ')), 'escape') AS reasons
FROM (VALUES (1, 'Latin-1 bytes', E'M\xfcnchen'), (2, 'UTF-8 bytes', E'M\xc3\xbcnchen')) v(n, k, c)
ORDER BY n;
CREATE TRIGGER in_place_check AFTER INSERT ON in_place_logins
  FOR EACH ROW EXECUTE FUNCTION login_anomaly.check_login('threshold=0.1');
INSERT INTO in_place_logins (user_id, ts, ip, country, region, city, user_agent)
VALUES ('in_place_ascii', '2024-02-05 14:00+00', '198.51.100.10', 'DE', 'BY', E'M\xfcnchen',
        'Mozilla/5.0 (Windows NT 10.0; Win64; x64) AppleWebKit/537.36 (KHTML, like Gecko) Chrome/120.0.0.0 Safari/537.36'),
       ('in_place_ascii', '2024-02-05 14:00+00', '198.51.100.10', 'DE', 'BY', E'M\xc3\xbcnchen',
        'Mozilla/5.0 (Windows NT 10.0; Win64; x64) AppleWebKit/537.36 (KHTML, like Gecko) Chrome/120.0.0.0 Safari/537.36 \xff');
SELECT count(*) AS stored FROM in_place_logins;
SELECT kind, encode(textsend(city), 'hex') AS city_hex, browser FROM login_anomaly.alerts;
\c :in_place_home
DROP DATABASE in_place_sql_ascii;

-- A LATIN1 database: non-ASCII city names are one byte per character, so
-- 300 é are cut to 200 characters, and the labels, the JSON text form,
-- training, scoring and the alert all work in LATIN1.  The client sends
-- and reads UTF-8
CREATE DATABASE in_place_latin1 ENCODING 'LATIN1' LC_COLLATE 'C' LC_CTYPE 'C' TEMPLATE template0;
\c in_place_latin1
SET client_encoding = 'UTF8';
SET client_min_messages = warning;
CREATE EXTENSION login_anomaly;
RESET client_min_messages;
SELECT fv::text::jsonb -> 'city' AS city, fv::text::login_anomaly.feature_vector::text = fv::text AS round_trip
FROM (SELECT login_anomaly.features(NULL, NULL, 'DE', 'BY', 'München', NULL) AS fv) s;
SELECT length(fv::text::jsonb ->> 'city') AS characters,
       octet_length(convert_to(fv::text::jsonb ->> 'city', 'LATIN1')) AS latin1_bytes
FROM (SELECT login_anomaly.features(NULL, NULL, 'FR', 'IDF', repeat('é', 300), NULL) AS fv) s;
CREATE TABLE in_place_logins (login_id bigserial PRIMARY KEY, user_id text, ts timestamptz,
  ip inet, country text, region text, city text);
INSERT INTO in_place_logins (user_id, ts, ip, country, region, city)
SELECT 'in_place_latin1', '2024-01-01 14:00+00'::timestamptz + i * interval '24 hours', '198.51.100.10',
       'DE', 'BY', 'München'
FROM generate_series(1, 30) i;
SELECT login_anomaly.train('in_place_logins') AS users_trained;
SELECT model::text::jsonb -> 'summary' -> 'city' -> 'values' -> 0 ->> 'label' AS usual_city,
       model::text::login_anomaly.model::text = model::text AS model_round_trip
FROM login_anomaly.models WHERE user_id = 'in_place_latin1';
SELECT login_anomaly.score('in_place_latin1', '2024-02-05 14:00+00', '198.51.100.10', 'DE', 'BY', 'München', NULL) < 0.1
  AS munich_usual,
       login_anomaly.explain('in_place_latin1', '2024-02-05 14:00+00', '198.51.100.10', 'AT', 'Wien', 'Wien', NULL) AS vienna_reasons;
CREATE TRIGGER in_place_check AFTER INSERT ON in_place_logins
  FOR EACH ROW EXECUTE FUNCTION login_anomaly.check_login('threshold=0.1');
INSERT INTO in_place_logins (user_id, ts, ip, country, region, city)
VALUES ('in_place_latin1', '2024-02-05 14:00+00', '198.51.100.10', 'DE', 'BY', 'München'),
       ('in_place_latin1', '2024-02-05 14:00+00', '198.51.100.10', 'FR', 'IDF', 'Besançon');
SELECT count(*) AS stored FROM in_place_logins;
SELECT kind, city, reasons[1] AS first_reason FROM login_anomaly.alerts;

-- A city that LATIN1 cannot hold fails in the client's conversion, before
-- the row or the trigger exists: PostgreSQL's error, not the extension's
INSERT INTO in_place_logins (user_id, ts, city) VALUES ('in_place_latin1', '2024-02-05 14:00+00', 'Київ');
\c :in_place_home
DROP DATABASE in_place_latin1;
