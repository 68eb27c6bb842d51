--
-- input_user_agent: the user agent through features(), scoring and the
-- check_login trigger.  It reduces to browser family, OS family and device
-- class, parsed on its first 2,048 bytes.  NULL and empty are "unknown", a
-- string that no regex matches is "Other", and none of it is an error.
-- User ids here start with "in_ua_".
--
SET client_min_messages = warning;
CREATE EXTENSION IF NOT EXISTS login_anomaly;
RESET client_min_messages;

-- The cases, by name.  The 100 kB strings have a Chrome user agent at the
-- start (parsed) or after 100 kB of padding (beyond the parsed 2,048 bytes)
CREATE TEMP TABLE in_ua_cases (n int, ua_kind text, user_agent text);
INSERT INTO in_ua_cases VALUES
  (1, 'Chrome 120', 'Mozilla/5.0 (Windows NT 10.0; Win64; x64) AppleWebKit/537.36 (KHTML, like Gecko) Chrome/120.0.0.0 Safari/537.36'),
  (2, 'Chrome 121', 'Mozilla/5.0 (Windows NT 10.0; Win64; x64) AppleWebKit/537.36 (KHTML, like Gecko) Chrome/121.0.0.0 Safari/537.36'),
  (3, 'NULL', NULL),
  (4, 'empty', ''),
  (5, 'no regex matches', 'zzz'),
  (6, 'a dash', '-'),
  (7, 'controls only', E'\x01\x1f\x7f'),
  (8, 'Chrome with CR LF inside', E'Mozilla/5.0 (Windows NT 10.0; Win64; x64)\r\nX-Injected: 1\r\n AppleWebKit/537.36 (KHTML, like Gecko) Chrome/120.0.0.0 Safari/537.36'),
  (9, 'Chrome with non-ASCII tail', 'Mozilla/5.0 (Windows NT 10.0; Win64; x64) AppleWebKit/537.36 (KHTML, like Gecko) Chrome/120.0.0.0 Safari/537.36 Ünïcødé/1 🦊'),
  (10, 'non-ASCII family', 'Ünïcødé🦊/1.0 CFNetwork/1 Darwin/1'),
  (11, 'Chrome then 100 kB', 'Mozilla/5.0 (Windows NT 10.0; Win64; x64) AppleWebKit/537.36 (KHTML, like Gecko) Chrome/120.0.0.0 Safari/537.36 ' || repeat('y', 100000)),
  (12, '100 kB then Chrome', repeat('y', 100000) || ' Mozilla/5.0 (Windows NT 10.0; Win64; x64) AppleWebKit/537.36 (KHTML, like Gecko) Chrome/120.0.0.0 Safari/537.36'),
  (13, '100 kB of é', repeat('é', 50000)),
  (14, 'Googlebot', 'Mozilla/5.0 (compatible; Googlebot/2.1; +http://www.google.com/bot.html)'),
  (15, 'bingbot', 'Mozilla/5.0 (compatible; bingbot/2.0; +http://www.bing.com/bingbot.htm)'),
  (16, 'curl', 'curl/8.4.0'),
  (17, 'python-requests', 'python-requests/2.31.0'),
  (18, 'Firefox on Linux', 'Mozilla/5.0 (X11; Linux x86_64; rv:121.0) Gecko/20100101 Firefox/121.0'),
  (19, 'Safari on iPhone', 'Mozilla/5.0 (iPhone; CPU iPhone OS 17_1 like Mac OS X) AppleWebKit/605.1.15 (KHTML, like Gecko) Version/17.1 Mobile/15E148 Safari/604.1');

-- features(): what the encoder keeps of each, and user_agent_class()
-- agrees with it
SELECT c.ua_kind, fv::text::jsonb ->> 'browser' AS browser, fv::text::jsonb ->> 'os' AS os,
       fv::text::jsonb ->> 'device' AS device,
       (u.browser, u.os, u.device) = (fv::text::jsonb ->> 'browser', fv::text::jsonb ->> 'os',
                                      fv::text::jsonb ->> 'device') AS same_as_class
FROM in_ua_cases c,
     login_anomaly.features(NULL, NULL, NULL, NULL, NULL, c.user_agent) fv,
     login_anomaly.user_agent_class(c.user_agent) u
ORDER BY c.n;

-- ... so a browser update, a 100 kB tail and a header injected into the
-- string change nothing, and NULL and empty encode alike
SELECT count(DISTINCT login_anomaly.features(NULL, NULL, NULL, NULL, NULL, user_agent)::text) AS distinct_vectors
FROM in_ua_cases WHERE n IN (1, 2, 8, 9, 11);
SELECT count(DISTINCT login_anomaly.features(NULL, NULL, NULL, NULL, NULL, user_agent)::text) AS distinct_vectors
FROM in_ua_cases WHERE n IN (3, 4);

-- parse_user_agent() of the 100 kB strings: the start is parsed, the end
-- is not
SELECT c.ua_kind, p.ua_family, p.ua_major, p.os_family
FROM in_ua_cases c, login_anomaly.parse_user_agent(c.user_agent) p
WHERE c.n IN (11, 12, 13)
ORDER BY c.n;

-- Thirty logins of alice with Chrome on Windows, always from one network
-- in New York
CREATE TABLE in_ua_logins (login_id bigserial PRIMARY KEY, note text, user_id text,
  ts timestamptz, ip inet, country text, region text, city text, user_agent text);
INSERT INTO in_ua_logins (note, user_id, ts, ip, country, region, city, user_agent)
SELECT 'history', 'in_ua_alice', '2024-01-01 14:00+00'::timestamptz + i * interval '24 hours',
       '198.51.100.10', 'US', 'NY', 'New York', c.user_agent
FROM generate_series(1, 30) i, in_ua_cases c WHERE c.n = 1;
SELECT login_anomaly.train('in_ua_logins') AS users_trained;

-- Scoring, by user and with the model, agree.  Every Chrome on Windows
-- scores as the usual login.  Anything else is a new browser, OS and
-- device class, so a bot is as unusual as any other new device
CREATE TEMP TABLE in_ua_scores AS
SELECT c.n, c.ua_kind,
       login_anomaly.score('in_ua_alice', '2024-02-05 14:00+00', '198.51.100.10', 'US', 'NY', 'New York', c.user_agent) AS by_user,
       login_anomaly.score(m.model, login_anomaly.features('2024-02-05 14:00+00', '198.51.100.10', 'US', 'NY',
                                                           'New York', c.user_agent)) AS by_model,
       login_anomaly.explain('in_ua_alice', '2024-02-05 14:00+00', '198.51.100.10', 'US', 'NY', 'New York', c.user_agent) AS reasons
FROM in_ua_cases c, login_anomaly.models m
WHERE m.user_id = 'in_ua_alice';
SELECT s.ua_kind, round(s.by_user::numeric, 3) AS score, s.by_user = s.by_model AS same_as_model_score,
       s.by_user = usual.by_user AS as_usual, login_anomaly.risk_level(s.by_user) AS risk,
       cardinality(s.reasons) AS reasons
FROM in_ua_scores s, in_ua_scores usual
WHERE usual.n = 1
ORDER BY s.n;

-- The first reason for a bot and for the non-ASCII family
SELECT ua_kind, reasons[1] AS first_reason FROM in_ua_scores WHERE n IN (10, 14) ORDER BY n;

-- The trigger with threshold=0, so that every scored login writes an
-- alert that records its score and its user agent
CREATE TRIGGER in_ua_check AFTER INSERT ON in_ua_logins
  FOR EACH ROW EXECUTE FUNCTION login_anomaly.check_login('threshold=0');
INSERT INTO in_ua_logins (note, user_id, ts, ip, country, region, city, user_agent)
SELECT c.ua_kind, 'in_ua_alice', '2024-02-05 14:00+00', '198.51.100.10', 'US', 'NY', 'New York', c.user_agent
FROM in_ua_cases c ORDER BY c.n;

-- Every login is stored and has one anomaly alert with the score that
-- score() gave.  The alert keeps the user agent's first 1,024 bytes, cut
-- at a character boundary, and the families the encoder saw
SELECT count(*) AS stored FROM in_ua_logins WHERE note <> 'history';
SELECT s.ua_kind, a.kind, a.score = s.by_user AS same_score,
       octet_length(a.user_agent) AS alert_ua_bytes,
       a.user_agent IS NOT DISTINCT FROM left(l.user_agent, length(a.user_agent)) AS alert_ua_is_prefix,
       a.browser, a.os, a.device
FROM in_ua_logins l
JOIN in_ua_scores s ON s.ua_kind = l.note
LEFT JOIN login_anomaly.alerts a ON a.login_table = 'in_ua_logins'::regclass AND a.login_ref = l.login_id::text
ORDER BY s.n;
DELETE FROM login_anomaly.alerts WHERE login_table = 'in_ua_logins'::regclass;

-- At the default threshold, Firefox on Linux at 3 a.m. from Kyiv alerts,
-- and a 100 kB Chrome user agent from the usual place does not
DROP TRIGGER in_ua_check ON in_ua_logins;
CREATE TRIGGER in_ua_check AFTER INSERT ON in_ua_logins
  FOR EACH ROW EXECUTE FUNCTION login_anomaly.check_login();
INSERT INTO in_ua_logins (note, user_id, ts, ip, country, region, city, user_agent)
SELECT 'default ' || c.ua_kind, 'in_ua_alice', '2024-02-06 03:00+00', '91.198.4.7', 'UA', '30', 'Kyiv', c.user_agent
FROM in_ua_cases c WHERE c.n = 18;
INSERT INTO in_ua_logins (note, user_id, ts, ip, country, region, city, user_agent)
SELECT 'default ' || c.ua_kind, 'in_ua_alice', '2024-02-06 14:00+00', '198.51.100.10', 'US', 'NY', 'New York', c.user_agent
FROM in_ua_cases c WHERE c.n = 11;
SELECT l.note, a.kind, a.risk, a.browser
FROM in_ua_logins l
LEFT JOIN login_anomaly.alerts a ON a.login_table = 'in_ua_logins'::regclass AND a.login_ref = l.login_id::text
WHERE l.note LIKE 'default %' ORDER BY l.login_id;

-- Clean up
DELETE FROM login_anomaly.alerts WHERE login_table = 'in_ua_logins'::regclass;
DELETE FROM login_anomaly.models WHERE user_id LIKE 'in\_ua\_%';
DROP TABLE in_ua_logins, in_ua_cases, in_ua_scores;
