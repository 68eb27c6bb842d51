--
-- bad_trigger_input: odd values in the columns check_login reads, and who
-- may attach the trigger.  None of them loses the login.  User ids here
-- start with "bti_".
--
SET client_min_messages = warning;
CREATE EXTENSION IF NOT EXISTS login_anomaly;
RESET client_min_messages;

-- A table whose address column is text, as a forwarded header often is
CREATE TABLE bti_logins (login_id bigserial PRIMARY KEY, user_id text, ts timestamp,
  ip text, country text, region text, city text, user_agent text);
INSERT INTO bti_logins (user_id, ts, ip, country, region, city, user_agent)
SELECT 'bti_alice', '2024-01-01 14:00'::timestamp + i * interval '24 hours',
       '198.51.100.10', 'US', 'NY', 'New York',
       'Mozilla/5.0 (Windows NT 10.0; Win64; x64) AppleWebKit/537.36 (KHTML, like Gecko) Chrome/120.0.0.0 Safari/537.36'
FROM generate_series(1, 30) i;

-- train() reads a timestamp without time zone as UTC, whatever TimeZone
-- is set to, as check_login does: the model's busiest hour is 14:00 under both
SET TimeZone = 'America/New_York';
SELECT login_anomaly.train('bti_logins');
SELECT model::text::jsonb -> 'hours' ->> 14 AS logins_at_14_utc
FROM login_anomaly.models WHERE user_id = 'bti_alice';
RESET TimeZone;

CREATE TRIGGER bti_check AFTER INSERT ON bti_logins
  FOR EACH ROW EXECUTE FUNCTION login_anomaly.check_login();

-- An address that does not parse counts as missing: no error, no
-- scoring_failed alert, and the login is stored
INSERT INTO bti_logins (user_id, ts, ip, country, region, city, user_agent)
VALUES ('bti_alice', '2024-02-01 14:00', 'not-an-address, 10.0.0.1', 'US', 'NY', 'New York',
        'Mozilla/5.0 (Windows NT 10.0; Win64; x64) AppleWebKit/537.36 (KHTML, like Gecko) Chrome/120.0.0.0 Safari/537.36');
SELECT count(*) AS stored FROM bti_logins WHERE ip LIKE 'not-an-address%';
SELECT count(*) FILTER (WHERE kind = 'scoring_failed') AS scoring_failures
FROM login_anomaly.alerts WHERE user_id = 'bti_alice';

-- parse_address() is how text addresses are read, by train() too: an
-- address that parses is used, anything else is NULL
SELECT a AS text, login_anomaly.parse_address(a) AS address
FROM unnest(ARRAY['203.0.113.7', '2001:db8::1', '::ffff:192.0.2.9',
                  'not-an-address, 10.0.0.1', '10.0.0.0/8', '', '999.1.1.1']) a;

-- A user agent whose family is long non-ASCII text: the family is cut at a
-- character boundary, so the feature vector stays valid and training of
-- every user still works
INSERT INTO bti_logins (user_id, ts, ip, country, region, city, user_agent)
SELECT 'bti_bob', '2024-01-01 10:00'::timestamp + i * interval '24 hours', '192.0.2.1',
       'DE', 'BE', 'Berlin', repeat('é', 40) || '/1.0 CFNetwork/1 Darwin/1'
FROM generate_series(1, 5) i;
SELECT octet_length(login_anomaly.features(NULL, NULL, NULL, NULL, NULL,
         repeat('é', 40) || '/1.0 CFNetwork/1 Darwin/1')::text::jsonb ->> 'browser') <= 63
  AS browser_cut;
SELECT login_anomaly.train('bti_logins') AS users_trained;

-- Only roles granted EXECUTE may attach check_login: otherwise a role could
-- probe any user's model through a table of its own
CREATE ROLE regress_bti_prober;
GRANT USAGE ON SCHEMA login_anomaly TO regress_bti_prober;
SET ROLE regress_bti_prober;
CREATE TEMP TABLE bti_probe (user_id text, ts timestamptz, ip inet, country text);
CREATE TRIGGER bti_probe_check AFTER INSERT ON bti_probe
  FOR EACH ROW EXECUTE FUNCTION login_anomaly.check_login('threshold=0');
RESET ROLE;

-- Clean up
DROP OWNED BY regress_bti_prober;
DROP ROLE regress_bti_prober;
DELETE FROM login_anomaly.alerts WHERE user_id LIKE 'bti\_%';
DELETE FROM login_anomaly.models WHERE user_id LIKE 'bti\_%';
DROP TABLE bti_logins;

-- Columns of domains and enums are read.  A column whose printing could
-- run an output function a user wrote is not, because the trigger runs
-- with its owner's rights: a composite type, say, whose fields may be of
-- any type.  That login is still stored, with a scoring_failed alert
CREATE DOMAIN bti_account AS text;
CREATE TYPE bti_plan AS ENUM ('free', 'paid');
CREATE TYPE bti_place AS (name text, code int);
CREATE TABLE bti_typed (login_id bigserial PRIMARY KEY, user_id bti_account,
  country bti_plan, city bti_place);
CREATE TRIGGER bti_typed_check AFTER INSERT ON bti_typed
  FOR EACH ROW EXECUTE FUNCTION login_anomaly.check_login();
INSERT INTO bti_typed (user_id, country) VALUES ('bti_carol', 'paid');
SELECT count(*) AS scoring_failures FROM login_anomaly.alerts
WHERE user_id = 'bti_carol' AND kind = 'scoring_failed';
INSERT INTO bti_typed (user_id, city) VALUES ('bti_carol', ROW('Paris', 75));
SELECT count(*) AS stored FROM bti_typed;
SELECT kind, error FROM login_anomaly.alerts WHERE user_id = 'bti_carol';
DELETE FROM login_anomaly.alerts WHERE user_id = 'bti_carol';
DROP TABLE bti_typed;
DROP TYPE bti_plan, bti_place;
DROP DOMAIN bti_account;
