--
-- bad_model: a stored model may come from a restore, a hand-edited text
-- form or a bug.  Every value is validated before use, so each corruption
-- below is a clear error and never a crash.
--
SET client_min_messages = warning;
CREATE EXTENSION IF NOT EXISTS login_anomaly;
RESET client_min_messages;

-- A small valid model, written by hand: 2 logins, 2 support vectors that
-- differ in country only, a summary whose counts add up to 2 per field,
-- two countries each seen once, and both logins at 08:00 UTC
CREATE TABLE bad_model_base (j jsonb);
INSERT INTO bad_model_base VALUES ('{
  "format_version": 1, "logins": 2, "trained_at": "2024-03-01 12:00:00+00",
  "nu": 0.05, "nu_effective": 0.5, "gamma": 0.5, "rho": 0.75,
  "weights": {"country": 1, "region": 0.5, "city": 0.5, "browser": 1, "os": 1,
              "device": 0.5, "network": 0.5, "wide_network": 0.5, "hour": 0.5, "place": 1},
  "support_vectors": [
    {"alpha": 0.5, "hour": 8, "lat": 50, "lon": 10, "hashes": [1, 2, 3, 4, 5, 6, 7, 8]},
    {"alpha": 0.5, "hour": 8, "lat": 50, "lon": 10, "hashes": [11, 2, 3, 4, 5, 6, 7, 8]}],
  "summary": {
    "country": {"other": 0, "singletons": 2, "values": [{"hash": 1, "count": 1, "label": "FR"},
                                       {"hash": 11, "count": 1, "label": "DE"}]},
    "region": {"other": 0, "singletons": 0, "values": [{"hash": 2, "count": 2}]},
    "city": {"other": 0, "singletons": 0, "values": [{"hash": 3, "count": 2, "label": "Y", "lat": 50, "lon": 10}]},
    "browser": {"other": 0, "singletons": 0, "values": [{"hash": 4, "count": 2, "label": "Firefox"}]},
    "os": {"other": 0, "singletons": 0, "values": [{"hash": 5, "count": 2}]},
    "device": {"other": 0, "singletons": 0, "values": [{"hash": 6, "count": 2}]},
    "network": {"other": 0, "singletons": 0, "values": [{"hash": 7, "count": 2}]},
    "wide_network": {"other": 0, "singletons": 0, "values": [{"hash": 8, "count": 2}]}},
  "hours": [0, 0, 0, 0, 0, 0, 0, 0, 2, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0]}');

-- The base is valid (model_info shows the requested nu), and reads back to
-- the same JSON
SELECT i.format_version, i.logins, i.support_vectors, i.nu, i.gamma, i.rho,
       i.trained_at = '2024-03-01 12:00+00' AS trained_at_kept
FROM bad_model_base, login_anomaly.model_info(j::text::login_anomaly.model) i;
SELECT j::text::login_anomaly.model::text::jsonb = j AS same_json FROM bad_model_base;

-- ... and scores a login.  Its hashes are made up, so every real login
-- differs from both support vectors in every field and scores high
SELECT round(login_anomaly.score(j::text::login_anomaly.model,
                                 login_anomaly.features('2024-03-02 08:00+00', NULL, 'FR', NULL, NULL, NULL))::numeric, 3)
  AS score
FROM bad_model_base;

-- Not JSON
SELECT 'not a model'::login_anomaly.model;

-- A JSON array
SELECT '[]'::login_anomaly.model;

-- A missing key
SELECT (j - 'rho')::text::login_anomaly.model FROM bad_model_base;
SELECT (j #- '{summary,city}')::text::login_anomaly.model FROM bad_model_base;

-- An unknown key
SELECT (j || '{"comment": "hand-made"}')::text::login_anomaly.model FROM bad_model_base;

-- A format version this code does not know
SELECT jsonb_set(j, '{format_version}', '2')::text::login_anomaly.model FROM bad_model_base;

-- nu = 0 and nu = 2 are outside (0, 1]
SELECT jsonb_set(j, '{nu}', '0')::text::login_anomaly.model FROM bad_model_base;
SELECT jsonb_set(j, '{nu}', '2')::text::login_anomaly.model FROM bad_model_base;

-- The effective nu is below the requested one
SELECT jsonb_set(j, '{nu_effective}', '0.01')::text::login_anomaly.model FROM bad_model_base;

-- gamma = -1
SELECT jsonb_set(j, '{gamma}', '-1')::text::login_anomaly.model FROM bad_model_base;

-- JSON has no NaN, so a number too large for a double is used instead
SELECT replace(j::text, '"rho": 0.75', '"rho": 1e400')::login_anomaly.model FROM bad_model_base;

-- A weight out of range
SELECT jsonb_set(j, '{weights,place}', '-1')::text::login_anomaly.model FROM bad_model_base;

-- A training time that is not a time, and an infinite one
SELECT jsonb_set(j, '{trained_at}', '"soon"')::text::login_anomaly.model FROM bad_model_base;
SELECT jsonb_set(j, '{trained_at}', '"infinity"')::text::login_anomaly.model FROM bad_model_base;

-- Negative counts: logins, a summary count, an "other" count, an hour count
SELECT jsonb_set(j, '{logins}', '-2')::text::login_anomaly.model FROM bad_model_base;
SELECT jsonb_set(j, '{summary,region,values,0,count}', '-2')::text::login_anomaly.model FROM bad_model_base;
SELECT jsonb_set(j, '{summary,region,other}', '-1')::text::login_anomaly.model FROM bad_model_base;
SELECT jsonb_set(j, '{hours,8}', '-2')::text::login_anomaly.model FROM bad_model_base;

-- Counts that do not add up to the logins
SELECT jsonb_set(j, '{summary,os,values,0,count}', '5')::text::login_anomaly.model FROM bad_model_base;
SELECT jsonb_set(j, '{hours,9}', '1')::text::login_anomaly.model FROM bad_model_base;

-- Summary values out of order, and one value listed twice
SELECT jsonb_set(j, '{summary,region,values}',
                 '[{"hash": 2, "count": 1}, {"hash": 12, "count": 2}]')::text::login_anomaly.model
FROM bad_model_base;
SELECT jsonb_set(jsonb_set(j, '{summary,country,values,0,count}', '1'),
                 '{summary,country,values,1,hash}', '1')::text::login_anomaly.model
FROM bad_model_base;

-- More support vectors than logins
SELECT jsonb_set(j, '{support_vectors}',
                 (j -> 'support_vectors') || (j -> 'support_vectors' -> 0))::text::login_anomaly.model
FROM bad_model_base;

-- No support vector at all
SELECT jsonb_set(j, '{support_vectors}', '[]')::text::login_anomaly.model FROM bad_model_base;

-- A support vector's alpha out of range, its hour out of range, its place
-- out of range, and lat without lon
SELECT jsonb_set(j, '{support_vectors,0,alpha}', '2')::text::login_anomaly.model FROM bad_model_base;
SELECT jsonb_set(j, '{support_vectors,0,hour}', '24')::text::login_anomaly.model FROM bad_model_base;
SELECT jsonb_set(j, '{support_vectors,0,lat}', '91')::text::login_anomaly.model FROM bad_model_base;
SELECT (j #- '{support_vectors,0,lon}')::text::login_anomaly.model FROM bad_model_base;

-- Hashes out of range (they have 27 bits), negative, or fractional
SELECT jsonb_set(j, '{support_vectors,0,hashes,0}', '134217728')::text::login_anomaly.model FROM bad_model_base;
SELECT jsonb_set(j, '{summary,network,values,0,hash}', '-7')::text::login_anomaly.model FROM bad_model_base;
SELECT jsonb_set(j, '{support_vectors,0,hashes,0}', '1.5')::text::login_anomaly.model FROM bad_model_base;

-- Seven hashes instead of eight
SELECT (j #- '{support_vectors,0,hashes,7}')::text::login_anomaly.model FROM bad_model_base;

-- 23 hour counts instead of 24
SELECT (j #- '{hours,23}')::text::login_anomaly.model FROM bad_model_base;

-- A label that is empty, or longer than the 48 bytes a summary keeps
SELECT jsonb_set(j, '{summary,browser,values,0,label}', '""')::text::login_anomaly.model FROM bad_model_base;
SELECT jsonb_set(j, '{summary,browser,values,0,label}', to_jsonb(repeat('x', 49)))::text::login_anomaly.model
FROM bad_model_base;

-- A label with a zero byte
SELECT jsonb_set(j, '{summary,browser,values,0,label}', '"Fire\u0000fox"')::text::login_anomaly.model
FROM bad_model_base;

-- Coordinates on a value of a field other than city
SELECT jsonb_set(j, '{summary,os,values,0}', '{"hash": 5, "count": 2, "lat": 1, "lon": 1}')::text::login_anomaly.model
FROM bad_model_base;

-- A string where a number belongs, and a number where an object belongs
SELECT jsonb_set(j, '{gamma}', '"0.5"')::text::login_anomaly.model FROM bad_model_base;
SELECT jsonb_set(j, '{summary,os}', '5')::text::login_anomaly.model FROM bad_model_base;

-- A corrupt model stored as text in a table fails when it is read as a
-- model, whichever function reads it
CREATE TABLE bad_model_text (t text);
INSERT INTO bad_model_text SELECT jsonb_set(j, '{gamma}', '-1')::text FROM bad_model_base;
SELECT login_anomaly.model_info(t::login_anomaly.model) FROM bad_model_text;
SELECT login_anomaly.score(t::login_anomaly.model, login_anomaly.features(NULL, NULL, NULL, NULL, NULL, NULL))
FROM bad_model_text;

-- The backend is still alive
DROP TABLE bad_model_base, bad_model_text;
SELECT 1 AS alive;
