--
-- score_cache: score(model, features) decodes each model once.  A model
-- kept in the row stays decoded for the session, and one kept out of line
-- (TOAST) for one query.  Lookups compare whole stored forms, so models that
-- differ in one support vector never share a decoded model.  User ids here
-- start with "cache_".
--
SET client_min_messages = warning;
CREATE EXTENSION IF NOT EXISTS login_anomaly;
RESET client_min_messages;

-- 200 logins over 8 cities, 20 networks and every hour: a model with many
-- support vectors, a few kilobytes long
CREATE TABLE cache_logins (
  login_id serial PRIMARY KEY,
  user_id text, ts timestamptz, ip inet, country text, region text, city text,
  user_agent text, lat float8, lon float8);
INSERT INTO cache_logins (user_id, ts, ip, country, region, city, user_agent, lat, lon)
SELECT 'cache_wide',
       '2024-01-01 00:00+00'::timestamptz + i * interval '7 hours 13 minutes',
       ('10.' || (i % 20) || '.1.' || (i % 7))::inet, 'US', 'R' || (i % 8), 'City ' || (i % 8),
       'Mozilla/5.0 (Windows NT 10.0; Win64; x64) AppleWebKit/537.36 (KHTML, like Gecko) Chrome/119.0.0.0 Safari/537.36',
       30 + i % 8, -90 - i % 8
FROM generate_series(1, 200) i;
-- and a user with three logins, whose model is small
INSERT INTO cache_logins (user_id, ts, ip, country, region, city, user_agent, lat, lon)
SELECT 'cache_small', ts, ip, country, region, city, user_agent, lat, lon
FROM cache_logins WHERE login_id <= 3;
SELECT login_anomaly.train('cache_logins');

-- The trained model and a copy whose first support vector has half its
-- alpha, both kept in the row uncompressed (STORAGE PLAIN)
CREATE TABLE cache_models (name text PRIMARY KEY, model login_anomaly.model);
ALTER TABLE cache_models ALTER COLUMN model SET STORAGE PLAIN;
INSERT INTO cache_models SELECT 'trained', model FROM login_anomaly.models WHERE user_id = 'cache_wide';
INSERT INTO cache_models
SELECT 'halved', jsonb_set(model::text::jsonb, '{support_vectors,0,alpha}',
                           to_jsonb((model::text::jsonb #>> '{support_vectors,0,alpha}')::float8 / 2))::text::login_anomaly.model
FROM cache_models WHERE name = 'trained';
SELECT name, pg_column_size(model) = (login_anomaly.model_info(model)).size_bytes AS uncompressed
FROM cache_models ORDER BY name;

-- The two have the same length, and their bytes differ only between the
-- first 64 and the middle 64, which the cache's hash skips: the hashes
-- are equal, and only the full comparison distinguishes the models
WITH b AS (
  SELECT login_anomaly.model_send(t.model) AS t, login_anomaly.model_send(h.model) AS h
  FROM cache_models t, cache_models h WHERE t.name = 'trained' AND h.name = 'halved'),
d AS (
  SELECT min(i) AS first_diff, max(i) AS last_diff, length(t) AS len
  FROM b, generate_series(0, length(t) - 1) i
  WHERE length(t) = length(h) AND get_byte(t, i) <> get_byte(h, i)
  GROUP BY len)
SELECT len > 2000 AS a_few_kilobytes, first_diff >= 64 AS after_first_sample,
       last_diff + 4 < (len + 4 - 64) / 2 AS before_middle_sample
FROM d;

CREATE TABLE cache_login AS
SELECT login_anomaly.features('2024-03-01 12:00+00', '10.3.1.1', 'US', 'R3', 'City 3',
       'Mozilla/5.0 (Windows NT 10.0; Win64; x64) AppleWebKit/537.36 (KHTML, like Gecko) Chrome/119.0.0.0 Safari/537.36',
       33, -93) AS fv;

-- Scored in one query, each in a new session of its own, and again in one
-- query with the other order: each model keeps its own score
CREATE TABLE cache_scores AS
SELECT name, login_anomaly.score(model, fv) AS score
FROM cache_models, cache_login ORDER BY name;
\c
SELECT name, login_anomaly.score(model, fv) = s.score AS same_alone
FROM cache_models JOIN cache_scores s USING (name), cache_login WHERE name = 'trained';
\c
SELECT name, login_anomaly.score(model, fv) = s.score AS same_alone
FROM cache_models JOIN cache_scores s USING (name), cache_login WHERE name = 'halved';
SELECT name, login_anomaly.score(m.model, fv) = s.score AS same_again
FROM cache_models m JOIN cache_scores s USING (name), cache_login ORDER BY name DESC;
SELECT t.score <> h.score AS scores_differ
FROM cache_scores t, cache_scores h WHERE t.name = 'trained' AND h.name = 'halved';

-- Kept out of line (STORAGE EXTERNAL, a low toast_tuple_target): the same scores in two queries, and
-- the new model's score once the row has the other model
CREATE TABLE cache_toasted (id int PRIMARY KEY, model login_anomaly.model)
  WITH (toast_tuple_target = 128);
ALTER TABLE cache_toasted ALTER COLUMN model SET STORAGE EXTERNAL;
INSERT INTO cache_toasted SELECT 1, model FROM cache_models WHERE name = 'trained';
SELECT pg_relation_size(reltoastrelid) > 0 AS out_of_line FROM pg_class WHERE relname = 'cache_toasted';
SELECT login_anomaly.score(c.model, fv) = s.score AS same_as_in_row
FROM cache_toasted c, cache_login, cache_scores s WHERE s.name = 'trained';
SELECT login_anomaly.score(c.model, fv) = s.score AS same_as_in_row
FROM cache_toasted c, cache_login, cache_scores s WHERE s.name = 'trained';
UPDATE cache_toasted SET model = (SELECT model FROM cache_models WHERE name = 'halved');
SELECT login_anomaly.score(c.model, fv) = s.score AS follows_update
FROM cache_toasted c, cache_login, cache_scores s WHERE s.name = 'halved';
-- ... and a model kept out of line was decoded for its query only: the
-- session's table has the two in-row models decoded earlier in this session
SELECT count(*) AS models_in_session_table FROM pg_backend_memory_contexts
WHERE name = 'login_anomaly decoded model';

-- More models than one table keeps (4,096) in one query: the table empties
-- and starts again, and every score is still its model's.  The variants
-- of the small model differ in rho only, and a larger rho means a larger
-- score
CREATE TABLE cache_variants AS
WITH t AS (SELECT model::text::jsonb AS j FROM login_anomaly.models WHERE user_id = 'cache_small')
SELECT i, jsonb_set(j, '{rho}', to_jsonb((j ->> 'rho')::float8 * (1 + i * 1e-4)))::text::login_anomaly.model AS model
FROM t, generate_series(1, 4200) i;
CREATE TABLE cache_variant_scores AS
SELECT i, login_anomaly.score(model, fv) AS score FROM cache_variants, cache_login;
SELECT count(*) AS variants, bool_and(score > prev) AS rising
FROM (SELECT score, lag(score) OVER (ORDER BY i) AS prev FROM cache_variant_scores) s
WHERE prev IS NOT NULL;
SELECT count(*) FILTER (WHERE login_anomaly.score(v.model, fv) = s.score) AS same
FROM cache_variants v JOIN cache_variant_scores s USING (i), cache_login
WHERE i <= 10 OR i > 4190;

-- The session's table keeps each model's stored bytes and its decoded
-- form in a context of its own, never the decompressed bytes, which are
-- the call's.  300 variants of the wide model, compressed in the row
-- (STORAGE MAIN), are scored in a new session.  The table's context then
-- uses about one allocator chunk per model for the stored bytes (2.4 kB
-- rounded up to 4 kB), under 5,000 bytes.  A decompressed copy would add
-- 4 kB a model, a decoded model more.  The decoded models' own contexts
-- use exactly as much as those of the same 300 models stored uncompressed
\c
CREATE TABLE cache_compressed (i int, model login_anomaly.model);
ALTER TABLE cache_compressed ALTER COLUMN model SET STORAGE MAIN;
INSERT INTO cache_compressed
WITH t AS (SELECT model::text::jsonb AS j FROM cache_models WHERE name = 'trained')
SELECT i, jsonb_set(j, '{rho}', to_jsonb((j ->> 'rho')::float8 * (1 + i * 1e-4)))::text::login_anomaly.model
FROM t, generate_series(1, 300) i;
SELECT bool_and(pg_column_size(model) BETWEEN 2048 AND 4000) AS compressed_to_2_to_4_kb,
       bool_and(pg_column_size(model) < (login_anomaly.model_info(model)).size_bytes) AS compressed
FROM cache_compressed;
SELECT count(login_anomaly.score(model, fv)) FROM cache_compressed, cache_login;
SELECT (SELECT sum(used_bytes) FROM pg_backend_memory_contexts
        WHERE name = 'login_anomaly decoded models') / 300 < 5000 AS stored_bytes_only,
       (SELECT count(*) FROM pg_backend_memory_contexts
        WHERE name = 'login_anomaly decoded model') AS models_decoded;
CREATE TABLE cache_decoded_bytes AS
SELECT sum(used_bytes) AS compressed FROM pg_backend_memory_contexts
WHERE name = 'login_anomaly decoded model';
\c
CREATE TABLE cache_plain (i int, model login_anomaly.model);
ALTER TABLE cache_plain ALTER COLUMN model SET STORAGE PLAIN;
INSERT INTO cache_plain SELECT i, model::text::login_anomaly.model FROM cache_compressed;
SELECT bool_and(pg_column_size(model) = (login_anomaly.model_info(model)).size_bytes) AS uncompressed
FROM cache_plain;
SELECT count(login_anomaly.score(model, fv)) FROM cache_plain, cache_login;
SELECT sum(used_bytes) = (SELECT compressed FROM cache_decoded_bytes) AS same_as_uncompressed
FROM pg_backend_memory_contexts WHERE name = 'login_anomaly decoded model';

DROP TABLE cache_logins, cache_models, cache_login, cache_scores, cache_toasted,
  cache_variants, cache_variant_scores, cache_compressed, cache_decoded_bytes, cache_plain;
DELETE FROM login_anomaly.models WHERE user_id LIKE 'cache\_%';
