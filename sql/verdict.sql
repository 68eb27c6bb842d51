--
-- verdict: an analyst records whether an alert was the user, and training
-- leaves out confirmed takeovers so a model never learns them as normal.
-- User ids here start with "verdict_".
--
SET client_min_messages = warning;
CREATE EXTENSION IF NOT EXISTS login_anomaly;
RESET client_min_messages;

CREATE TABLE verdict_logins (login_id bigserial PRIMARY KEY, user_id text, ts timestamptz,
  ip inet, country text, region text, city text, user_agent text);
INSERT INTO verdict_logins (user_id, ts, ip, country, region, city, user_agent)
SELECT 'verdict_alice', '2024-01-01 14:00+00'::timestamptz + i * interval '24 hours',
       '198.51.100.10', 'US', 'NY', 'New York',
       'Mozilla/5.0 (Windows NT 10.0; Win64; x64) AppleWebKit/537.36 (KHTML, like Gecko) Chrome/120.0.0.0 Safari/537.36'
FROM generate_series(1, 30) i;
SELECT login_anomaly.train('verdict_logins');
CREATE TRIGGER verdict_check AFTER INSERT ON verdict_logins
  FOR EACH ROW EXECUTE FUNCTION login_anomaly.check_login();

-- A takeover from Kyiv raises an alert that refers to its login
INSERT INTO verdict_logins (user_id, ts, ip, country, region, city, user_agent)
VALUES ('verdict_alice', '2024-02-02 03:00+00', '176.36.1.5', 'UA', '30', 'Kyiv',
        'Mozilla/5.0 (X11; Linux x86_64; rv:120.0) Gecko/20100101 Firefox/120.0');
SELECT login_ref, risk FROM login_anomaly.alerts WHERE user_id = 'verdict_alice';

-- The probe: the same kind of login a few days later
CREATE TABLE verdict_probe AS
SELECT login_anomaly.features('2024-02-05 03:00+00', '176.36.1.5', 'UA', '30', 'Kyiv',
         'Mozilla/5.0 (X11; Linux x86_64; rv:120.0) Gecko/20100101 Firefox/120.0') AS fv;

-- Without a verdict, retraining learns the takeover: Kyiv now looks usual
SELECT login_anomaly.train('verdict_logins');
SELECT m.logins, login_anomaly.score(m.model, p.fv) < 0.5 AS kyiv_looks_usual
FROM login_anomaly.models m, verdict_probe p WHERE m.user_id = 'verdict_alice';

-- skip => 'unconfirmed_alerts' leaves out every alerted login nobody has
-- confirmed, so the takeover stays unusual
SELECT login_anomaly.train('verdict_logins', skip => 'unconfirmed_alerts');
SELECT m.logins, login_anomaly.score(m.model, p.fv) > 0.8 AS kyiv_unusual
FROM login_anomaly.models m, verdict_probe p WHERE m.user_id = 'verdict_alice';

-- The analyst records "not me": the default training leaves the login out
SELECT login_anomaly.record_verdict(alert_id, 'not_me')
FROM login_anomaly.alerts WHERE user_id = 'verdict_alice';
SELECT verdict, verdict_by = current_user AS by_me, verdict_at IS NOT NULL AS dated
FROM login_anomaly.alerts WHERE user_id = 'verdict_alice';
SELECT login_anomaly.train('verdict_logins');
SELECT m.logins, login_anomaly.score(m.model, p.fv) > 0.8 AS kyiv_unusual
FROM login_anomaly.models m, verdict_probe p WHERE m.user_id = 'verdict_alice';

-- Changed to "it was me", the login counts as normal again, also under
-- skip => 'unconfirmed_alerts'
SELECT login_anomaly.record_verdict(alert_id, 'it_was_me')
FROM login_anomaly.alerts WHERE user_id = 'verdict_alice';
SELECT login_anomaly.train('verdict_logins', skip => 'unconfirmed_alerts');
SELECT m.logins, login_anomaly.score(m.model, p.fv) < 0.5 AS kyiv_looks_usual
FROM login_anomaly.models m, verdict_probe p WHERE m.user_id = 'verdict_alice';

-- skip => 'none' leaves nothing out, the takeover included
SELECT login_anomaly.train('verdict_logins', skip => 'none');
SELECT logins FROM login_anomaly.models WHERE user_id = 'verdict_alice';

-- The author and time of a verdict cannot be set by hand: an UPDATE that
-- changes the verdict records its own author and time, and one that only
-- touches verdict_by or verdict_at changes nothing
UPDATE login_anomaly.alerts SET verdict = 'not_me', verdict_by = 'someone_else',
  verdict_at = '2000-01-01' WHERE user_id = 'verdict_alice';
SELECT verdict, verdict_by = current_user AS by_me, verdict_at > '2000-01-02' AS now_dated
FROM login_anomaly.alerts WHERE user_id = 'verdict_alice';
UPDATE login_anomaly.alerts SET verdict_by = 'someone_else', verdict_at = '2000-01-01'
WHERE user_id = 'verdict_alice';
SELECT verdict, verdict_by = current_user AS by_me, verdict_at > '2000-01-02' AS now_dated
FROM login_anomaly.alerts WHERE user_id = 'verdict_alice';

-- Bad verdicts, unknown alerts and a bad skip are clear errors
\set SHOW_CONTEXT never
SELECT login_anomaly.record_verdict(alert_id, 'maybe')
FROM login_anomaly.alerts WHERE user_id = 'verdict_alice';
SELECT login_anomaly.record_verdict(NULL, 'not_me');
SELECT login_anomaly.record_verdict(-1, 'not_me');
SELECT login_anomaly.train('verdict_logins', skip => 'everything');

-- A role without UPDATE on the verdict columns cannot record one
CREATE ROLE regress_verdict_nobody;
GRANT USAGE ON SCHEMA login_anomaly TO regress_verdict_nobody;
SET ROLE regress_verdict_nobody;
SELECT login_anomaly.record_verdict(1, 'not_me');
RESET ROLE;
\set SHOW_CONTEXT errors

-- Clean up
DROP OWNED BY regress_verdict_nobody;
DROP ROLE regress_verdict_nobody;
DELETE FROM login_anomaly.alerts WHERE user_id LIKE 'verdict\_%';
DELETE FROM login_anomaly.models WHERE user_id LIKE 'verdict\_%';
DROP TABLE verdict_logins, verdict_probe;
