-- The login history and probe logins of the upgrade test (upgrade_chain.sh).
-- Deterministic: the same rows on every run, so that models trained from
-- them by one version of the library can be compared with another's.
CREATE TABLE logins (login_id bigserial PRIMARY KEY, user_id text, ts timestamptz, ip inet,
  country text, region text, city text, user_agent text, lat float8, lon float8);
INSERT INTO logins (user_id, ts, ip, country, region, city, user_agent, lat, lon)
SELECT 'u' || (i % 6),
       '2026-09-01 13:00+00'::timestamptz + i * interval '5 hours 13 minutes',
       CASE WHEN i % 6 = 5 THEN ('2001:db8:' || (i % 4) || '::' || (i % 9))::inet
            ELSE ('198.51.' || (i % 6) || '.' || (i % 11))::inet END,
       CASE WHEN i % 6 < 3 THEN 'US' ELSE 'DE' END,
       CASE WHEN i % 6 < 3 THEN 'New York' ELSE 'Berlin' END,
       CASE WHEN i % 6 < 3 THEN 'New York' ELSE 'Berlin' END,
       CASE WHEN i % 2 = 0
            THEN 'Mozilla/5.0 (Windows NT 10.0; Win64; x64) AppleWebKit/537.36 (KHTML, like Gecko) Chrome/120.0.0.0 Safari/537.36'
            ELSE 'Mozilla/5.0 (iPhone; CPU iPhone OS 17_1 like Mac OS X) AppleWebKit/605.1.15 (KHTML, like Gecko) Version/17.1 Mobile/15E148 Safari/604.1' END,
       CASE WHEN i % 6 < 3 THEN 40.71 ELSE 52.52 END + (i % 3) * 0.01,
       CASE WHEN i % 6 < 3 THEN -74.0 ELSE 13.40 END
FROM generate_series(1, 420) i;
-- u0 keeps five logins only: the short-history path
DELETE FROM logins WHERE user_id = 'u0' AND login_id > 30;

CREATE TABLE probes (probe int PRIMARY KEY, ts timestamptz, ip inet, country text, region text,
  city text, user_agent text, lat float8, lon float8);
INSERT INTO probes VALUES
  (1, '2026-11-03 15:00+00', '198.51.3.1', 'US', 'New York', 'New York',
   'Mozilla/5.0 (Windows NT 10.0; Win64; x64) AppleWebKit/537.36 (KHTML, like Gecko) Chrome/121.0.0.0 Safari/537.36', 40.72, -74.0),
  (2, '2026-11-03 03:00+00', '176.36.1.5', 'UA', 'Kyiv City', 'Kyiv',
   'Mozilla/5.0 (X11; Linux x86_64; rv:120.0) Gecko/20100101 Firefox/120.0', 50.45, 30.52),
  (3, '2026-11-04 09:30+00', '2001:db8:7::1', 'DE', 'Berlin', 'Berlin',
   'Mozilla/5.0 (iPhone; CPU iPhone OS 17_2 like Mac OS X) AppleWebKit/605.1.15 (KHTML, like Gecko) Version/17.2 Mobile/15E148 Safari/604.1', 52.5, 13.4),
  (4, '2026-11-05 22:00+00', NULL, NULL, NULL, NULL, NULL, NULL, NULL);
