--
-- explain: the reasons a login is unusual for its user, most telling first.
-- User ids here start with "explain_".
--
SET client_min_messages = warning;
CREATE EXTENSION IF NOT EXISTS login_anomaly;
RESET client_min_messages;

-- Alice: 30 logins from New York on Chrome on Windows, 14:00 to 17:59 UTC
CREATE TABLE explain_logins (
  user_id text, ts timestamptz, ip inet, country text, region text, city text,
  user_agent text, lat float8, lon float8);
INSERT INTO explain_logins
SELECT 'explain_alice',
       '2024-01-01 14:00+00'::timestamptz + i * interval '24 hours' + (i % 4) * interval '1 hour',
       ('198.51.100.' || (10 + i % 5))::inet, 'US', 'NY', 'New York',
       'Mozilla/5.0 (Windows NT 10.0; Win64; x64) AppleWebKit/537.36 (KHTML, like Gecko) Chrome/119.0.0.0 Safari/537.36',
       40.71, -74.01
FROM generate_series(1, 30) i;
SELECT login_anomaly.train('explain_logins');

-- The login from Kyiv on Firefox on Linux at 03:00 UTC: the country (UA,
-- which hides the region and city it implies), the browser, the OS, the
-- /16 network, the hour and the distance from New York, one reason each
SELECT unnest(login_anomaly.explain('explain_alice', '2024-02-05 03:00+00', '91.198.4.7',
                                    'UA', '30', 'Kyiv',
                                    'Mozilla/5.0 (X11; Linux x86_64; rv:121.0) Gecko/20100101 Firefox/121.0',
                                    50.45, 30.52)) AS reason;

-- A usual login has no reasons: Chrome 120, a new address in the same /24
SELECT login_anomaly.explain('explain_alice', '2024-02-05 15:10+00', '198.51.100.77',
                             'US', 'NY', 'New York',
                             'Mozilla/5.0 (Windows NT 10.0; Win64; x64) AppleWebKit/537.36 (KHTML, like Gecko) Chrome/120.0.0.0 Safari/537.36',
                             40.71, -74.01) AS reasons;

-- A new /24 in a usual /16 is named as a new network
SELECT login_anomaly.explain('explain_alice', '2024-02-05 15:10+00', '198.51.7.1',
                             'US', 'NY', 'New York',
                             'Mozilla/5.0 (Windows NT 10.0; Win64; x64) AppleWebKit/537.36 (KHTML, like Gecko) Chrome/120.0.0.0 Safari/537.36',
                             40.71, -74.01) AS reasons;

-- A new city in the usual country and region is named with the usual one.
-- Albany, about 220 km from New York, is not far enough to report a
-- distance (more than 500 km is)
SELECT login_anomaly.explain('explain_alice', '2024-02-05 15:10+00', '198.51.100.77',
                             'US', 'NY', 'Albany',
                             'Mozilla/5.0 (Windows NT 10.0; Win64; x64) AppleWebKit/537.36 (KHTML, like Gecko) Chrome/120.0.0.0 Safari/537.36',
                             42.65, -73.76) AS reasons;

-- explain(model, features) gives what explain(user_id, ...) gives
SELECT login_anomaly.explain(m.model, login_anomaly.features(
         '2024-02-05 03:00+00', '91.198.4.7', 'UA', '30', 'Kyiv',
         'Mozilla/5.0 (X11; Linux x86_64; rv:121.0) Gecko/20100101 Firefox/121.0', 50.45, 30.52))
     = login_anomaly.explain('explain_alice', '2024-02-05 03:00+00', '91.198.4.7', 'UA', '30', 'Kyiv',
         'Mozilla/5.0 (X11; Linux x86_64; rv:121.0) Gecko/20100101 Firefox/121.0', 50.45, 30.52)
       AS same_reasons
FROM login_anomaly.models m WHERE m.user_id = 'explain_alice';

-- A user without a model gets one item saying so
SELECT login_anomaly.explain('explain_nobody', '2024-02-05 15:10+00', '198.51.100.77',
                             'US', 'NY', 'New York', NULL) AS reasons;

-- A value seen in fewer than 2% of the logins is reported as rare: bob used
-- Firefox once in 60 logins
INSERT INTO explain_logins
SELECT 'explain_bob', '2024-01-01 09:00+00'::timestamptz + i * interval '24 hours',
       '192.0.2.1', 'DE', 'BE', 'Berlin',
       CASE WHEN i = 1
            THEN 'Mozilla/5.0 (X11; Linux x86_64; rv:121.0) Gecko/20100101 Firefox/121.0'
            ELSE 'Mozilla/5.0 (X11; Linux x86_64) AppleWebKit/537.36 (KHTML, like Gecko) Chrome/120.0.0.0 Safari/537.36'
       END,
       52.52, 13.405
FROM generate_series(1, 60) i;
SELECT login_anomaly.train('explain_logins', only_user => 'explain_bob');
SELECT login_anomaly.explain('explain_bob', '2024-03-05 09:00+00', '192.0.2.1',
                             'DE', 'BE', 'Berlin',
                             'Mozilla/5.0 (X11; Linux x86_64; rv:121.0) Gecko/20100101 Firefox/121.0',
                             52.52, 13.405) AS reasons;

-- A field of weight 0 is never given as a reason
SET login_anomaly.weights = 'browser=0';
SELECT login_anomaly.train('explain_logins', only_user => 'explain_bob');
RESET login_anomaly.weights;
SELECT login_anomaly.explain('explain_bob', '2024-03-05 09:00+00', '192.0.2.1',
                             'DE', 'BE', 'Berlin',
                             'Mozilla/5.0 (X11; Linux x86_64; rv:121.0) Gecko/20100101 Firefox/121.0',
                             52.52, 13.405) AS reasons;

-- Clean up
DELETE FROM login_anomaly.models WHERE user_id LIKE 'explain\_%';
DROP TABLE explain_logins;
