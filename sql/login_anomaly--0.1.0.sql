/* login_anomaly 0.1.0: types, functions, tables and the trigger function */

\echo Use "CREATE EXTENSION login_anomaly" to load this file. \quit

/*
 * The feature vector: what the model sees of one login.  Its text form is a
 * JSON object, so an analyst can read it and a dump can restore it exactly.
 */
CREATE TYPE login_anomaly.feature_vector;

CREATE FUNCTION login_anomaly.feature_vector_in(cstring)
RETURNS login_anomaly.feature_vector
AS 'MODULE_PATHNAME' LANGUAGE C IMMUTABLE STRICT PARALLEL SAFE;

CREATE FUNCTION login_anomaly.feature_vector_out(login_anomaly.feature_vector)
RETURNS cstring
AS 'MODULE_PATHNAME' LANGUAGE C IMMUTABLE STRICT PARALLEL SAFE;

CREATE FUNCTION login_anomaly.feature_vector_recv(internal)
RETURNS login_anomaly.feature_vector
AS 'MODULE_PATHNAME' LANGUAGE C IMMUTABLE STRICT PARALLEL SAFE;

CREATE FUNCTION login_anomaly.feature_vector_send(login_anomaly.feature_vector)
RETURNS bytea
AS 'MODULE_PATHNAME' LANGUAGE C IMMUTABLE STRICT PARALLEL SAFE;

CREATE TYPE login_anomaly.feature_vector (
	INPUT = login_anomaly.feature_vector_in,
	OUTPUT = login_anomaly.feature_vector_out,
	RECEIVE = login_anomaly.feature_vector_recv,
	SEND = login_anomaly.feature_vector_send,
	INTERNALLENGTH = VARIABLE,
	STORAGE = extended
);

/*
 * The model: one user's trained one-class SVM plus a summary of the values
 * the user has used.  Its text form is JSON with every double written so
 * that it reads back bit for bit.
 */
CREATE TYPE login_anomaly.model;

CREATE FUNCTION login_anomaly.model_in(cstring)
RETURNS login_anomaly.model
AS 'MODULE_PATHNAME' LANGUAGE C IMMUTABLE STRICT PARALLEL SAFE;

CREATE FUNCTION login_anomaly.model_out(login_anomaly.model)
RETURNS cstring
AS 'MODULE_PATHNAME' LANGUAGE C IMMUTABLE STRICT PARALLEL SAFE;

CREATE FUNCTION login_anomaly.model_recv(internal)
RETURNS login_anomaly.model
AS 'MODULE_PATHNAME' LANGUAGE C IMMUTABLE STRICT PARALLEL SAFE;

CREATE FUNCTION login_anomaly.model_send(login_anomaly.model)
RETURNS bytea
AS 'MODULE_PATHNAME' LANGUAGE C IMMUTABLE STRICT PARALLEL SAFE;

CREATE TYPE login_anomaly.model (
	INPUT = login_anomaly.model_in,
	OUTPUT = login_anomaly.model_out,
	RECEIVE = login_anomaly.model_recv,
	SEND = login_anomaly.model_send,
	INTERNALLENGTH = VARIABLE,
	STORAGE = extended
);

/* Encoding a login */

CREATE FUNCTION login_anomaly.features(
	ts timestamptz, ip inet, country text, region text, city text,
	user_agent text, lat float8 DEFAULT NULL, lon float8 DEFAULT NULL)
RETURNS login_anomaly.feature_vector
AS 'MODULE_PATHNAME', 'la_features' LANGUAGE C IMMUTABLE PARALLEL SAFE;

CREATE FUNCTION login_anomaly.user_agent_class(
	user_agent text,
	OUT browser text, OUT os text, OUT device text)
AS 'MODULE_PATHNAME', 'la_user_agent_class' LANGUAGE C IMMUTABLE PARALLEL SAFE;

/*
 * uap-core's full parse of a user agent.  NULL parses like the empty
 * string: family Other.
 */
CREATE FUNCTION login_anomaly.parse_user_agent(user_agent text,
	OUT ua_family text, OUT ua_major text, OUT ua_minor text, OUT ua_patch text,
	OUT os_family text, OUT os_major text, OUT os_minor text, OUT os_patch text,
	OUT os_patch_minor text,
	OUT device_family text, OUT device_brand text, OUT device_model text)
RETURNS record
AS 'MODULE_PATHNAME', 'la_parse_user_agent'
LANGUAGE C STABLE PARALLEL SAFE;

/* Training: the aggregate and its support functions */

CREATE FUNCTION login_anomaly.train_model_transfn(internal, login_anomaly.feature_vector)
RETURNS internal
AS 'MODULE_PATHNAME', 'la_train_transfn' LANGUAGE C PARALLEL SAFE;

CREATE FUNCTION login_anomaly.train_model_transfn(internal, login_anomaly.feature_vector, float8, float8)
RETURNS internal
AS 'MODULE_PATHNAME', 'la_train_transfn' LANGUAGE C PARALLEL SAFE;

CREATE FUNCTION login_anomaly.train_model_finalfn(internal)
RETURNS login_anomaly.model
AS 'MODULE_PATHNAME', 'la_train_finalfn' LANGUAGE C PARALLEL SAFE;

CREATE FUNCTION login_anomaly.train_model_finalfn(internal, login_anomaly.feature_vector, float8, float8)
RETURNS login_anomaly.model
AS 'MODULE_PATHNAME', 'la_train_finalfn' LANGUAGE C PARALLEL SAFE;

CREATE FUNCTION login_anomaly.train_model_combinefn(internal, internal)
RETURNS internal
AS 'MODULE_PATHNAME', 'la_train_combinefn' LANGUAGE C PARALLEL SAFE;

CREATE FUNCTION login_anomaly.train_model_serialfn(internal)
RETURNS bytea
AS 'MODULE_PATHNAME', 'la_train_serialfn' LANGUAGE C STRICT PARALLEL SAFE;

CREATE FUNCTION login_anomaly.train_model_deserialfn(bytea, internal)
RETURNS internal
AS 'MODULE_PATHNAME', 'la_train_deserialfn' LANGUAGE C STRICT PARALLEL SAFE;

CREATE AGGREGATE login_anomaly.train_model(login_anomaly.feature_vector) (
	SFUNC = login_anomaly.train_model_transfn,
	STYPE = internal,
	FINALFUNC = login_anomaly.train_model_finalfn,
	COMBINEFUNC = login_anomaly.train_model_combinefn,
	SERIALFUNC = login_anomaly.train_model_serialfn,
	DESERIALFUNC = login_anomaly.train_model_deserialfn,
	PARALLEL = SAFE
);

CREATE AGGREGATE login_anomaly.train_model(login_anomaly.feature_vector, nu float8, gamma float8) (
	SFUNC = login_anomaly.train_model_transfn,
	STYPE = internal,
	FINALFUNC = login_anomaly.train_model_finalfn,
	FINALFUNC_EXTRA,
	COMBINEFUNC = login_anomaly.train_model_combinefn,
	SERIALFUNC = login_anomaly.train_model_serialfn,
	DESERIALFUNC = login_anomaly.train_model_deserialfn,
	PARALLEL = SAFE
);

/* Inspecting a model */

CREATE FUNCTION login_anomaly.model_info(
	model login_anomaly.model,
	OUT format_version int, OUT logins int, OUT support_vectors int,
	OUT nu float8, OUT nu_effective float8, OUT gamma float8, OUT rho float8,
	OUT trained_at timestamptz, OUT weights text, OUT size_bytes int)
AS 'MODULE_PATHNAME', 'la_model_info' LANGUAGE C IMMUTABLE STRICT PARALLEL SAFE;

/* Scoring and explaining with a model in hand */

CREATE FUNCTION login_anomaly.score(model login_anomaly.model, features login_anomaly.feature_vector)
RETURNS float8
AS 'MODULE_PATHNAME', 'la_score_model' LANGUAGE C IMMUTABLE STRICT PARALLEL SAFE;

CREATE FUNCTION login_anomaly.explain(model login_anomaly.model, features login_anomaly.feature_vector)
RETURNS text[]
AS 'MODULE_PATHNAME', 'la_explain_model' LANGUAGE C IMMUTABLE STRICT PARALLEL SAFE;

CREATE FUNCTION login_anomaly.risk_level(score float8)
RETURNS text
AS 'MODULE_PATHNAME', 'la_risk_level_sql' LANGUAGE C STABLE STRICT PARALLEL SAFE;

/* The stored models, one row per user */

CREATE TABLE login_anomaly.models (
	user_id text PRIMARY KEY,
	model login_anomaly.model NOT NULL,
	trained_at timestamptz NOT NULL DEFAULT now(),
	logins integer NOT NULL CHECK (logins >= 0)
);

/*
 * The alert outbox.  A row is written in the transaction of the login that
 * raised it; NOTIFY only wakes the mailer, which claims pending rows with
 * FOR UPDATE SKIP LOCKED and marks them sent or failed.
 *
 * status:
 *   pending  waiting for the mailer (also after a failed attempt that will
 *            be retried at next_attempt_at)
 *   sent     mailed; sent_at and message_id say when and as what
 *   failed   given up after the configured number of attempts; last_error
 *            says why
 *   folded   merged into the digest e-mail of alert folded_into
 *
 * kind:
 *   anomaly         the login scored above the threshold
 *   scoring_failed  scoring raised an error; error says which
 */
CREATE TABLE login_anomaly.alerts (
	alert_id bigint GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
	kind text NOT NULL DEFAULT 'anomaly'
		CHECK (kind IN ('anomaly', 'scoring_failed')),
	login_table regclass,
	login_ref text,
	user_id text NOT NULL,
	login_ts timestamptz,
	ip inet,
	country text,
	region text,
	city text,
	lat float8,
	lon float8,
	user_agent text,
	browser text,
	os text,
	device text,
	score float8,
	threshold float8,
	risk text CHECK (risk IN ('low', 'medium', 'high')),
	reasons text[] NOT NULL DEFAULT '{}',
	error text,
	created_at timestamptz NOT NULL DEFAULT now(),
	status text NOT NULL DEFAULT 'pending'
		CHECK (status IN ('pending', 'sent', 'failed', 'folded')),
	attempts integer NOT NULL DEFAULT 0,
	next_attempt_at timestamptz NOT NULL DEFAULT now(),
	last_error text,
	sent_at timestamptz,
	message_id text,
	folded_into bigint,			/* no foreign key: pg_dump warns about
								 * self-referencing ones on every run */
	verdict text CHECK (verdict IN ('it_was_me', 'not_me')),
	verdict_at timestamptz,
	verdict_by text
);

CREATE INDEX alerts_pending_idx ON login_anomaly.alerts (next_attempt_at, alert_id)
	WHERE status = 'pending';
CREATE INDEX alerts_user_idx ON login_anomaly.alerts (user_id, created_at);

SELECT pg_catalog.pg_extension_config_dump('login_anomaly.models', '');
SELECT pg_catalog.pg_extension_config_dump('login_anomaly.alerts', '');
SELECT pg_catalog.pg_extension_config_dump('login_anomaly.alerts_alert_id_seq', '');

/*
 * Every change to the models makes each backend drop its cached decoded
 * models at commit.
 */
CREATE FUNCTION login_anomaly.models_changed()
RETURNS trigger
AS 'MODULE_PATHNAME', 'la_models_changed' LANGUAGE C;

CREATE TRIGGER models_changed
	AFTER INSERT OR UPDATE OR DELETE OR TRUNCATE ON login_anomaly.models
	FOR EACH STATEMENT EXECUTE FUNCTION login_anomaly.models_changed();

/* Scoring and explaining by user id, through the per-backend model cache */

CREATE FUNCTION login_anomaly.score(
	user_id text, ts timestamptz, ip inet, country text, region text,
	city text, user_agent text, lat float8 DEFAULT NULL, lon float8 DEFAULT NULL)
RETURNS float8
AS 'MODULE_PATHNAME', 'la_score_user' LANGUAGE C STABLE PARALLEL RESTRICTED
SECURITY DEFINER SET search_path = pg_catalog, pg_temp;

CREATE FUNCTION login_anomaly.explain(
	user_id text, ts timestamptz, ip inet, country text, region text,
	city text, user_agent text, lat float8 DEFAULT NULL, lon float8 DEFAULT NULL)
RETURNS text[]
AS 'MODULE_PATHNAME', 'la_explain_user' LANGUAGE C STABLE PARALLEL RESTRICTED
SECURITY DEFINER SET search_path = pg_catalog, pg_temp;

/* By-user scoring reads the models: keep it from roles that may not */
REVOKE ALL ON FUNCTION login_anomaly.score(text, timestamptz, inet, text, text, text, text, float8, float8) FROM PUBLIC;
REVOKE ALL ON FUNCTION login_anomaly.explain(text, timestamptz, inet, text, text, text, text, float8, float8) FROM PUBLIC;

/* The trigger */

CREATE FUNCTION login_anomaly.check_login()
RETURNS trigger
AS 'MODULE_PATHNAME', 'la_check_login' LANGUAGE C
SECURITY DEFINER SET search_path = pg_catalog, pg_temp;

CREATE FUNCTION login_anomaly.trigger_stats(
	OUT logins_scored bigint, OUT logins_without_model bigint,
	OUT alerts bigint, OUT scoring_failures bigint, OUT notify_skipped bigint)
AS 'MODULE_PATHNAME', 'la_trigger_stats' LANGUAGE C VOLATILE;

/*
 * Train every user of a logins table, or only_user, into
 * login_anomaly.models.  column_map renames the expected columns, e.g.
 * '{"user_id": "account", "ts": "logged_in_at"}'.  NULL nu or gamma take
 * the settings' values.  Returns the number of users trained.
 */
CREATE FUNCTION login_anomaly.train(
	logins regclass,
	only_user text DEFAULT NULL,
	column_map jsonb DEFAULT '{}',
	nu float8 DEFAULT NULL,
	gamma float8 DEFAULT NULL,
	weights text DEFAULT NULL)
RETURNS bigint
LANGUAGE plpgsql
SET search_path = pg_catalog, pg_temp
AS $$
DECLARE
	cols text[] := ARRAY['user_id', 'ts', 'ip', 'country', 'region', 'city',
						 'user_agent', 'lat', 'lon'];
	expr text[] := '{}';
	col text;
	key text;
	trained bigint;
BEGIN
	IF jsonb_typeof(coalesce(column_map, '{}')) <> 'object' THEN
		RAISE EXCEPTION 'column_map must be a JSON object, not %', jsonb_typeof(column_map)
			USING ERRCODE = 'invalid_parameter_value',
				  HINT = 'Map expected names to your columns, e.g. ''{"user_id": "account"}''.';
	END IF;
	FOR key IN SELECT jsonb_object_keys(coalesce(column_map, '{}'))
	LOOP
		IF NOT key = ANY (cols) THEN
			RAISE EXCEPTION 'unknown column_map key "%"', key
				USING ERRCODE = 'invalid_parameter_value',
					  HINT = 'Keys are user_id, ts, ip, country, region, city, user_agent, lat and lon.';
		END IF;
	END LOOP;

	FOREACH key IN ARRAY cols
	LOOP
		col := coalesce(column_map ->> key, key);
		IF NOT EXISTS (SELECT 1 FROM pg_attribute
					   WHERE attrelid = logins AND attname = col
						 AND attnum > 0 AND NOT attisdropped) THEN
			IF key IN ('lat', 'lon') AND NOT column_map ? key THEN
				expr := expr || 'NULL::float8'::text;
				CONTINUE;
			END IF;
			RAISE EXCEPTION 'column "%" of table % does not exist', col, logins
				USING ERRCODE = 'undefined_column',
					  HINT = 'Map the column with column_map, e.g. ''{"' || key || '": "your_column"}''.';
		END IF;
		expr := expr || format('%I', col);
	END LOOP;

	IF weights IS NOT NULL THEN
		PERFORM set_config('login_anomaly.weights', weights, true);
	END IF;

	EXECUTE format(
		'INSERT INTO login_anomaly.models AS m (user_id, model, trained_at, logins)
		 SELECT t.uid, t.model, now(), (login_anomaly.model_info(t.model)).logins
		 FROM (SELECT %1$s::text AS uid,
					  login_anomaly.train_model(
						  login_anomaly.features(%2$s::timestamptz, %3$s::inet, %4$s::text,
												 %5$s::text, %6$s::text, %7$s::text,
												 %8$s::float8, %9$s::float8),
						  $2, $3) AS model
			   FROM %10$s
			   WHERE %1$s IS NOT NULL AND ($1::text IS NULL OR %1$s::text = $1::text)
			   GROUP BY 1) t
		 WHERE t.model IS NOT NULL
		 ON CONFLICT (user_id) DO UPDATE
		 SET model = excluded.model, trained_at = excluded.trained_at,
			 logins = excluded.logins',
		expr[1], expr[2], expr[3], expr[4], expr[5], expr[6], expr[7], expr[8],
		expr[9], logins)
	USING only_user, nu, gamma;
	GET DIAGNOSTICS trained = ROW_COUNT;

	RAISE DEBUG 'login_anomaly: trained % users from %', trained, logins;
	RETURN trained;
END
$$;
