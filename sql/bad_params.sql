--
-- bad_params: training parameters and settings out of range.  Each gives
-- an error that names the bad value.  NULL nu and gamma take the settings.
-- User ids here start with "bad_params_".
--
SET client_min_messages = warning;
CREATE EXTENSION IF NOT EXISTS login_anomaly;
RESET client_min_messages;
-- Errors raised inside train() would otherwise print its whole INSERT
\set SHOW_CONTEXT never

CREATE TABLE bad_params_logins (
  user_id text, ts timestamptz, ip inet, country text, region text, city text,
  user_agent text);
INSERT INTO bad_params_logins
SELECT 'bad_params_alice', '2024-05-01 13:00+00'::timestamptz + i * interval '24 hours',
       '198.51.100.1', 'US', 'NY', 'New York', NULL
FROM generate_series(1, 5) i;

-- nu outside (0, 1] in the aggregate: 0, negative, above 1, NaN
SELECT login_anomaly.train_model(login_anomaly.features(ts, ip, country, region, city, user_agent), 0, 0.5)
FROM bad_params_logins;
SELECT login_anomaly.train_model(login_anomaly.features(ts, ip, country, region, city, user_agent), -0.1, 0.5)
FROM bad_params_logins;
SELECT login_anomaly.train_model(login_anomaly.features(ts, ip, country, region, city, user_agent), 1.5, 0.5)
FROM bad_params_logins;
SELECT login_anomaly.train_model(login_anomaly.features(ts, ip, country, region, city, user_agent), 'NaN', 0.5)
FROM bad_params_logins;

-- ... and in train()
SELECT login_anomaly.train('bad_params_logins', nu => 0);
SELECT login_anomaly.train('bad_params_logins', nu => 1.01);

-- nu = 1 is allowed
SELECT i.nu
FROM (SELECT login_anomaly.train_model(login_anomaly.features(ts, ip, country, region, city, user_agent), 1, 0.5) AS m
      FROM bad_params_logins) t, login_anomaly.model_info(m) i;

-- gamma must be above 0: 0, negative, infinite
SELECT login_anomaly.train_model(login_anomaly.features(ts, ip, country, region, city, user_agent), 0.05, 0)
FROM bad_params_logins;
SELECT login_anomaly.train_model(login_anomaly.features(ts, ip, country, region, city, user_agent), 0.05, -1)
FROM bad_params_logins;
SELECT login_anomaly.train_model(login_anomaly.features(ts, ip, country, region, city, user_agent), 0.05, 'Infinity')
FROM bad_params_logins;
SELECT login_anomaly.train('bad_params_logins', gamma => 0);

-- NULL nu and gamma take the settings login_anomaly.nu and
-- login_anomaly.gamma; nu_effective is raised to 1 / 5 logins here
SELECT i.nu, i.nu_effective, i.gamma
FROM (SELECT login_anomaly.train_model(login_anomaly.features(ts, ip, country, region, city, user_agent), NULL, NULL) AS m
      FROM bad_params_logins) t, login_anomaly.model_info(m) i;
SET login_anomaly.nu = 0.5;
SET login_anomaly.gamma = 2;
SELECT i.nu, i.gamma
FROM (SELECT login_anomaly.train_model(login_anomaly.features(ts, ip, country, region, city, user_agent), NULL, NULL) AS m
      FROM bad_params_logins) t, login_anomaly.model_info(m) i;
SELECT login_anomaly.train('bad_params_logins', nu => NULL, gamma => NULL);
SELECT i.nu, i.gamma
FROM login_anomaly.models m, login_anomaly.model_info(m.model) i WHERE m.user_id = 'bad_params_alice';
RESET login_anomaly.nu;
RESET login_anomaly.gamma;

-- The settings have the same ranges
SET login_anomaly.nu = 0;
SET login_anomaly.nu = 1.5;
SET login_anomaly.gamma = -1;
SET login_anomaly.max_training_logins = 0;

-- Bad login_anomaly.weights settings: an unknown name, a negative weight,
-- a weight that is not a number, an item without '='
SET login_anomaly.weights = 'colour=1';
SET login_anomaly.weights = 'country=-1';
SET login_anomaly.weights = 'country=heavy';
SET login_anomaly.weights = 'country';
SET login_anomaly.weights = 'country=1, browser';

-- ... or above 1000, or not finite
SET login_anomaly.weights = 'city=1001';
SET login_anomaly.weights = 'city=NaN';

-- A valid partial setting changes only the weights it names.  The others
-- keep their defaults, and the model keeps the weights it was trained with
SET login_anomaly.weights = 'browser=2, hour = 0';
SELECT i.weights
FROM (SELECT login_anomaly.train_model(login_anomaly.features(ts, ip, country, region, city, user_agent)) AS m
      FROM bad_params_logins) t, login_anomaly.model_info(m) i;
RESET login_anomaly.weights;
SELECT i.weights
FROM (SELECT login_anomaly.train_model(login_anomaly.features(ts, ip, country, region, city, user_agent)) AS m
      FROM bad_params_logins) t, login_anomaly.model_info(m) i;

-- train() takes weights for its own run only, and checks them the same way
SELECT login_anomaly.train('bad_params_logins', weights => 'place=0');
SELECT i.weights
FROM login_anomaly.models m, login_anomaly.model_info(m.model) i WHERE m.user_id = 'bad_params_alice';
SHOW login_anomaly.weights;
SELECT login_anomaly.train('bad_params_logins', weights => 'place=lots');

-- train() with a column that does not exist, with and without column_map
CREATE TABLE bad_params_renamed (account text, ts timestamptz, ip inet, country text,
                                 region text, city text, user_agent text);
SELECT login_anomaly.train('bad_params_renamed');
SELECT login_anomaly.train('bad_params_logins', column_map => '{"city": "town"}');

-- ... with an unknown column_map key
SELECT login_anomaly.train('bad_params_logins', column_map => '{"user": "account"}');

-- ... with a column_map that is not an object
SELECT login_anomaly.train('bad_params_logins', column_map => '["user_id"]');

-- ... with a table that does not exist
SELECT login_anomaly.train('bad_params_missing');

-- train() on an empty table returns 0
SELECT login_anomaly.train('bad_params_renamed', column_map => '{"user_id": "account"}');

-- ... and so does a table whose user ids are all NULL
INSERT INTO bad_params_renamed (account, ts) VALUES (NULL, '2024-05-01 13:00+00');
SELECT login_anomaly.train('bad_params_renamed', column_map => '{"user_id": "account"}');

-- Clean up
DELETE FROM login_anomaly.models WHERE user_id LIKE 'bad\_params\_%';
DROP TABLE bad_params_logins, bad_params_renamed;
