--
-- model: train a small model with the train_model aggregate, inspect it
-- with model_info, and read its text form back.
--
SET client_min_messages = warning;
CREATE EXTENSION IF NOT EXISTS login_anomaly;
RESET client_min_messages;

-- Ten logins of one user: weekday mornings in Berlin on Firefox/Linux,
-- from two addresses of one /24
CREATE TABLE model_logins AS
SELECT '2024-03-04 08:00:00+00'::timestamptz + i * interval '24 hours' + (i % 3) * interval '20 minutes' AS ts,
       ('192.0.2.' || (10 + i % 2))::inet AS ip,
       'DE' AS country, 'BE' AS region, 'Berlin' AS city,
       'Mozilla/5.0 (X11; Linux x86_64; rv:121.0) Gecko/20100101 Firefox/121.0' AS user_agent,
       52.52::float8 AS lat, 13.405::float8 AS lon
FROM generate_series(1, 10) i;

CREATE TABLE model_store AS
SELECT login_anomaly.train_model(
         login_anomaly.features(ts, ip, country, region, city, user_agent, lat, lon)) AS m
FROM model_logins;

-- model_info: the model used all 10 logins.  nu is the effective nu, raised
-- from the default 0.05 to 1 / 10 for this short history
SELECT format_version, logins, support_vectors BETWEEN 1 AND 10 AS sv_in_range,
       nu, nu_effective, gamma, rho > 0 AS rho_positive, size_bytes > 0 AS has_size, weights
FROM model_store, login_anomaly.model_info(m);

-- model_info returns these columns.  trained_at and rho vary between runs,
-- so they are left out above
SELECT i.* FROM model_store, login_anomaly.model_info(m) i WHERE false;

-- The text form is JSON: these are its top-level keys
SELECT jsonb_object_keys(m::text::jsonb) AS key FROM model_store;

-- ... with one entry per support vector, each with 8 field hashes
SELECT jsonb_array_length(m::text::jsonb -> 'support_vectors') = support_vectors AS sv_listed,
       (SELECT bool_and(jsonb_array_length(sv -> 'hashes') = 8)
        FROM jsonb_array_elements(m::text::jsonb -> 'support_vectors') sv) AS eight_hashes
FROM model_store, login_anomaly.model_info(m);

-- ... and a summary of the values the user has used, with the usual labels
SELECT key AS field, value -> 'values' -> 0 ->> 'label' AS usual,
       (value -> 'values' -> 0 ->> 'count')::int AS count
FROM model_store, jsonb_each(m::text::jsonb -> 'summary');

-- ... and the logins per UTC hour of day: all ten at 08:xx
SELECT m::text::jsonb -> 'hours' AS hours FROM model_store;

-- The text form reads back exactly
SELECT m::text::login_anomaly.model::text = m::text AS text_round_trip
FROM model_store;

-- The binary form (what COPY BINARY and the wire protocol carry) is the
-- stored value, and reading the text form back gives the same bytes
SELECT login_anomaly.model_send(m::text::login_anomaly.model) = login_anomaly.model_send(m)
  AS same_bytes
FROM model_store;

-- A model read back from its text form scores every login identically
SELECT bool_and(login_anomaly.score(m, fv) = login_anomaly.score(m::text::login_anomaly.model, fv))
  AS same_scores,
       count(*) AS logins
FROM model_store,
     (SELECT login_anomaly.features(ts, ip, country, region, city, user_agent, lat, lon) AS fv
      FROM model_logins
      UNION ALL
      SELECT login_anomaly.features('2024-03-20 02:00+00', '203.0.113.9', 'FR', 'IDF', 'Paris',
                                    'Mozilla/5.0 (Windows NT 10.0; Win64; x64) AppleWebKit/537.36 (KHTML, like Gecko) Chrome/120.0.0.0 Safari/537.36',
                                    48.86, 2.35)) probes;

-- A model stored in a table column and read back scores the same too
CREATE TABLE model_copy (m login_anomaly.model);
INSERT INTO model_copy SELECT m::text::login_anomaly.model FROM model_store;
SELECT login_anomaly.score(c.m, fv) = login_anomaly.score(s.m, fv) AS same_score
FROM model_copy c, model_store s,
     login_anomaly.features('2024-03-20 08:00+00', '192.0.2.10', 'DE', 'BE', 'Berlin', NULL) fv;

-- The text form is valid JSON for jsonb, with the expected keys
SELECT m::text::jsonb ? 'support_vectors' AS has_support_vectors,
       m::text::jsonb ->> 'format_version' AS format_version,
       (m::text::jsonb ->> 'logins')::int AS logins
FROM model_store;

-- A model of zero logins does not exist: the aggregate over no rows is NULL
SELECT login_anomaly.train_model(login_anomaly.features(ts, ip, country, region, city, user_agent)) IS NULL
  AS no_model
FROM model_logins WHERE false;

-- NULL feature vectors are skipped
SELECT logins
FROM (SELECT login_anomaly.train_model(fv) AS m
      FROM (SELECT login_anomaly.features(ts, ip, country, region, city, user_agent) AS fv
            FROM model_logins
            UNION ALL SELECT NULL) s) t,
     login_anomaly.model_info(m);

DROP TABLE model_copy, model_store, model_logins;
