--
-- input_ip: the login's address through features(), scoring and the
-- check_login trigger.  An IPv4-mapped IPv6 address is IPv4, a netmask is
-- ignored, an IPv6 address counts by its /64 and /48, and a text column
-- that contains anything but a bare address counts as no address.  None of it
-- is an error.  User ids here start with "in_ip_".
--
SET client_min_messages = warning;
CREATE EXTENSION IF NOT EXISTS login_anomaly;
RESET client_min_messages;

-- features(): the two network prefixes of each kind of address
SELECT k AS ip_kind, fv::text::jsonb ->> 'network' AS network,
       fv::text::jsonb ->> 'wide_network' AS wide_network
FROM (SELECT n, k, login_anomaly.features(NULL, ip, NULL, NULL, NULL, NULL) AS fv
      FROM (VALUES (1, 'NULL', NULL::inet),
                   (2, 'IPv4', '192.0.2.9'),
                   (3, 'IPv4-mapped', '::ffff:192.0.2.9'),
                   (4, 'IPv4 with netmask', '192.0.2.9/8'),
                   (5, 'IPv4-mapped with netmask', '::ffff:192.0.2.9/104'),
                   (6, 'cidr', '192.0.2.0/24'::cidr),
                   (7, 'IPv4-compatible', '::192.0.2.9'),
                   (8, 'NAT64', '64:ff9b::192.0.2.9'),
                   (9, 'IPv6', '2001:db8:1:2::1'),
                   (10, 'IPv6 written in full', '2001:0db8:0001:0002:0000:0000:0000:0001'),
                   (11, 'IPv6 privacy address', '2001:db8:1:2:a1b2:c3d4:e5f6:789'),
                   (12, 'IPv6 next /64', '2001:db8:1:3::1'),
                   (13, 'IPv6 with netmask', '2001:db8:1:2::1/32'),
                   (14, 'IPv6 link-local', 'fe80::1'),
                   (15, 'IPv6 loopback', '::1')) v(n, k, ip)) s
ORDER BY n;

-- ... so an IPv4-mapped address and the IPv4 address encode alike, with
-- or without a netmask, and so do the written forms of one IPv6 address
SELECT login_anomaly.features(NULL, '::ffff:192.0.2.9', NULL, NULL, NULL, NULL)::text
     = login_anomaly.features(NULL, '192.0.2.9', NULL, NULL, NULL, NULL)::text AS mapped_is_ipv4,
       login_anomaly.features(NULL, '192.0.2.9/8', NULL, NULL, NULL, NULL)::text
     = login_anomaly.features(NULL, '192.0.2.9', NULL, NULL, NULL, NULL)::text AS netmask_ignored,
       login_anomaly.features(NULL, '2001:0db8:0001:0002:0000:0000:0000:0001', NULL, NULL, NULL, NULL)::text
     = login_anomaly.features(NULL, '2001:db8:1:2::1', NULL, NULL, NULL, NULL)::text AS ipv6_forms_alike;

-- An address with a zone index is not an inet value: PostgreSQL rejects it
-- before the extension is called
SELECT login_anomaly.features(NULL, 'fe80::1%eth0', NULL, NULL, NULL, NULL);

-- parse_address(), which reads text address columns in check_login and
-- train(): a bare address or NULL, never an error
SELECT k AS text_kind, login_anomaly.parse_address(t) AS address
FROM (VALUES (1, 'IPv4', '192.0.2.9'),
             (2, 'IPv4-mapped', '::ffff:192.0.2.9'),
             (3, 'IPv6', '2001:db8::1'),
             (4, 'empty', ''),
             (5, 'leading space', ' 192.0.2.9'),
             (6, 'trailing newline', E'192.0.2.9\n'),
             (7, 'NUL-free control', E'192.0.2.9\x01'),
             (8, 'with port', '192.0.2.9:443'),
             (9, 'bracketed IPv6', '[2001:db8::1]'),
             (10, 'zone index', 'fe80::1%eth0'),
             (11, 'with netmask', '192.0.2.9/32'),
             (12, 'leading zeros', '192.000.002.009'),
             (13, 'short form', '127.1'),
             (14, 'forwarded header', '192.0.2.9, 10.0.0.1'),
             (15, 'full-width digits', '１９２.０.２.９'),
             (16, 'word', 'unknown'),
             (17, '100 kB', repeat('1', 100000)),
             (18, '100 kB of addresses', repeat('192.0.2.9,', 10000))) v(n, k, t)
ORDER BY n;
SELECT login_anomaly.parse_address(NULL) AS null_address;

-- A user with thirty logins from 198.51.100.0/24, trained from a table
-- whose address column is inet
CREATE TABLE in_ip_logins (login_id bigserial PRIMARY KEY, note text, user_id text,
  ts timestamptz, ip inet, country text, region text, city text, user_agent text);
INSERT INTO in_ip_logins (note, user_id, ts, ip, country, region, city, user_agent)
SELECT 'history', 'in_ip_alice',
       '2024-01-01 14:00+00'::timestamptz + i * interval '24 hours',
       ('198.51.100.' || (10 + i % 5))::inet, 'US', 'NY', 'New York',
       'Mozilla/5.0 (Windows NT 10.0; Win64; x64) AppleWebKit/537.36 (KHTML, like Gecko) Chrome/120.0.0.0 Safari/537.36'
FROM generate_series(1, 30) i;
SELECT login_anomaly.train('in_ip_logins') AS users_trained;

-- Scoring by user and with the model agree.  The usual /24 scores the
-- same written as IPv4, IPv4-mapped, with a netmask or as a cidr.  A new
-- /24 in the usual /16 scores higher, and a new /16, an IPv6 address and a
-- missing address score higher still, all three alike, since "unknown" is
-- a network this user never had
CREATE TEMP TABLE in_ip_scores AS
SELECT n, k AS ip_kind,
       login_anomaly.score('in_ip_alice', '2024-02-05 14:00+00', ip, 'US', 'NY', 'New York',
         'Mozilla/5.0 (Windows NT 10.0; Win64; x64) AppleWebKit/537.36 (KHTML, like Gecko) Chrome/120.0.0.0 Safari/537.36') AS by_user,
       login_anomaly.score(m.model, login_anomaly.features('2024-02-05 14:00+00', ip, 'US', 'NY', 'New York',
         'Mozilla/5.0 (Windows NT 10.0; Win64; x64) AppleWebKit/537.36 (KHTML, like Gecko) Chrome/120.0.0.0 Safari/537.36')) AS by_model
FROM (VALUES (1, 'IPv4', '198.51.100.77'::inet),
             (2, 'IPv4-mapped', '::ffff:198.51.100.77'),
             (3, 'IPv4 with netmask', '198.51.100.77/16'),
             (4, 'cidr', '198.51.100.0/24'::cidr),
             (5, 'NULL', NULL),
             (6, 'new /24, same /16', '198.51.7.1'),
             (7, 'new /16', '203.0.113.5'),
             (8, 'IPv6', '2001:db8::1')) v(n, k, ip),
     login_anomaly.models m
WHERE m.user_id = 'in_ip_alice';
SELECT s.ip_kind, round(s.by_user::numeric, 3) AS score, s.by_user = s.by_model AS same_as_model_score,
       s.by_user = v4.by_user AS same_as_ipv4, s.by_user > v4.by_user AS above_ipv4,
       s.by_user = nul.by_user AS same_as_null
FROM in_ip_scores s, in_ip_scores v4, in_ip_scores nul
WHERE v4.n = 1 AND nul.n = 5
ORDER BY s.n;

-- The trigger with threshold=0, so that every scored login writes an
-- alert recording its score, on the inet table and on a table whose
-- address column is text
CREATE TABLE in_ip_text (login_id bigserial PRIMARY KEY, note text, user_id text,
  ts timestamptz, ip text, country text, region text, city text, user_agent text);
CREATE TRIGGER in_ip_check AFTER INSERT ON in_ip_logins
  FOR EACH ROW EXECUTE FUNCTION login_anomaly.check_login('threshold=0');
CREATE TRIGGER in_ip_check AFTER INSERT ON in_ip_text
  FOR EACH ROW EXECUTE FUNCTION login_anomaly.check_login('threshold=0');
INSERT INTO in_ip_logins (note, user_id, ts, ip, country, region, city, user_agent)
SELECT k, 'in_ip_alice', '2024-02-05 14:00+00', ip, 'US', 'NY', 'New York',
       'Mozilla/5.0 (Windows NT 10.0; Win64; x64) AppleWebKit/537.36 (KHTML, like Gecko) Chrome/120.0.0.0 Safari/537.36'
FROM (VALUES ('IPv4', '198.51.100.77'::inet), ('IPv4-mapped', '::ffff:198.51.100.77'),
             ('IPv4 with netmask', '198.51.100.77/16'), ('cidr', '198.51.100.0/24'::cidr),
             ('NULL', NULL), ('new /16', '203.0.113.5')) v(k, ip);
INSERT INTO in_ip_text (note, user_id, ts, ip, country, region, city, user_agent)
SELECT k, 'in_ip_alice', '2024-02-05 14:00+00', ip, 'US', 'NY', 'New York',
       'Mozilla/5.0 (Windows NT 10.0; Win64; x64) AppleWebKit/537.36 (KHTML, like Gecko) Chrome/120.0.0.0 Safari/537.36'
FROM (VALUES ('text IPv4', '198.51.100.77'), ('text IPv4-mapped', '::ffff:198.51.100.77'),
             ('text NULL', NULL), ('text empty', ''), ('text with port', '198.51.100.77:443'),
             ('text forwarded header', '198.51.100.77, 10.0.0.1'),
             ('text with netmask', '198.51.100.77/24'), ('text control', E'198.51.100.77\r\n'),
             ('text non-ASCII', '198.51.100.７７'), ('text 100 kB', repeat('x', 100000))) v(k, ip);

-- Every login is stored, each has one anomaly alert (threshold 0), and no
-- scoring failed.  The alert keeps an inet address as written, and a text
-- address only when it parses.  The scores follow the encoding, so IPv4
-- and IPv4-mapped score alike, and every unparsable text scores as NULL
SELECT (SELECT count(*) FROM in_ip_logins WHERE note <> 'history')
     + (SELECT count(*) FROM in_ip_text) AS stored;
CREATE TEMP TABLE in_ip_alerts AS
SELECT l.login_id, l.note, a.kind, a.ip, a.score
FROM login_anomaly.alerts a
JOIN (SELECT 'in_ip_logins'::regclass AS t, login_id, note FROM in_ip_logins
      UNION ALL SELECT 'in_ip_text'::regclass, login_id, note FROM in_ip_text) l
  ON a.login_table = l.t AND a.login_ref = l.login_id::text;
SELECT s.note, s.kind, s.ip AS alert_ip, round(s.score::numeric, 3) AS score,
       s.score = v4.score AS same_as_ipv4, s.score = nul.score AS same_as_null
FROM in_ip_alerts s, in_ip_alerts v4, in_ip_alerts nul
WHERE v4.note = 'IPv4' AND nul.note = 'NULL'
ORDER BY s.note LIKE 'text%', s.login_id;
DELETE FROM login_anomaly.alerts WHERE login_table IN ('in_ip_logins'::regclass, 'in_ip_text'::regclass);

-- Above the default threshold nothing is written for the usual /24 in any
-- form, nor for garbage text, and a new /16 alone is not an alert either
DROP TRIGGER in_ip_check ON in_ip_text;
CREATE TRIGGER in_ip_check AFTER INSERT ON in_ip_text
  FOR EACH ROW EXECUTE FUNCTION login_anomaly.check_login();
INSERT INTO in_ip_text (note, user_id, ts, ip, country, region, city, user_agent)
SELECT 'default ' || k, 'in_ip_alice', '2024-02-06 14:00+00', ip, 'US', 'NY', 'New York',
       'Mozilla/5.0 (Windows NT 10.0; Win64; x64) AppleWebKit/537.36 (KHTML, like Gecko) Chrome/120.0.0.0 Safari/537.36'
FROM (VALUES ('IPv4-mapped', '::ffff:198.51.100.77'), ('garbage', 'not an address'),
             ('new /16', '203.0.113.5')) v(k, ip);
SELECT count(*) AS stored FROM in_ip_text WHERE note LIKE 'default %';
SELECT count(*) AS alerts FROM login_anomaly.alerts WHERE login_table = 'in_ip_text'::regclass;

-- train() reads a text address column as parse_address() does: bob's
-- history written as IPv4-mapped text makes the same model as the same
-- history in an inet column written as IPv4
INSERT INTO in_ip_text (note, user_id, ts, ip, country, region, city, user_agent)
SELECT 'history', 'in_ip_bob', ts, '::ffff:' || host(ip), country, region, city, user_agent
FROM in_ip_logins WHERE note = 'history';
SELECT login_anomaly.train('in_ip_text', only_user => 'in_ip_bob') AS users_trained;
SELECT (b.model::text::jsonb - 'trained_at') = (a.model::text::jsonb - 'trained_at') AS same_model
FROM login_anomaly.models a, login_anomaly.models b
WHERE a.user_id = 'in_ip_alice' AND b.user_id = 'in_ip_bob';

-- Network labels equal PostgreSQL's own network() of the address.  IPv6
-- gets /64 and /48, checked on zero words in every combination of
-- positions (256 addresses, so every "::" the text form can take).  IPv4
-- gets /24 and /16, checked on addresses with every value of each byte
WITH v6 AS (
  SELECT (SELECT string_agg(CASE WHEN (m >> w) & 1 = 1 THEN '0' ELSE to_hex(w * 4097 + m + 1) END,
                            ':' ORDER BY w)
          FROM generate_series(0, 7) w)::inet AS ip
  FROM generate_series(0, 255) m),
v4 AS (
  SELECT (b || '.' || (255 - b) || '.' || (b * 7 % 256) || '.' || (b * 13 % 256))::inet AS ip
  FROM generate_series(0, 255) b),
labels AS (
  SELECT ip, login_anomaly.features(NULL, ip, NULL, NULL, NULL, NULL)::text::jsonb AS f
  FROM (SELECT ip FROM v6 UNION ALL SELECT ip FROM v4) a)
SELECT family(ip) AS family, count(*) AS addresses,
       count(*) FILTER (WHERE f ->> 'network' IS DISTINCT FROM
                        network(set_masklen(ip, CASE family(ip) WHEN 6 THEN 64 ELSE 24 END))::text) AS network_differs,
       count(*) FILTER (WHERE f ->> 'wide_network' IS DISTINCT FROM
                        network(set_masklen(ip, CASE family(ip) WHEN 6 THEN 48 ELSE 16 END))::text) AS wide_network_differs
FROM labels GROUP BY 1 ORDER BY 1;

-- Clean up
DELETE FROM login_anomaly.alerts WHERE login_table IN ('in_ip_logins'::regclass, 'in_ip_text'::regclass);
DELETE FROM login_anomaly.models WHERE user_id LIKE 'in\_ip\_%';
DROP TABLE in_ip_logins, in_ip_text, in_ip_scores, in_ip_alerts;
