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
AS 'MODULE_PATHNAME', 'la_features' LANGUAGE C STABLE PARALLEL SAFE;

/*
 * A bare IPv4 or IPv6 address from text, or NULL when the text is not one
 * (a forwarded header with several addresses, say).  train() reads text
 * address columns through it, as check_login does.
 */
CREATE FUNCTION login_anomaly.parse_address(address text)
RETURNS inet
AS 'MODULE_PATHNAME', 'la_parse_address_sql' LANGUAGE C IMMUTABLE STRICT PARALLEL SAFE;

/*
 * Stable, not immutable: the user agent is read with the regexes file that
 * login_anomaly.uap_regexes names, which an upgrade of uap-core changes.
 */
CREATE FUNCTION login_anomaly.user_agent_class(
	user_agent text,
	OUT browser text, OUT os text, OUT device text)
AS 'MODULE_PATHNAME', 'la_user_agent_class' LANGUAGE C STABLE PARALLEL SAFE;

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
	FINALFUNC_MODIFY = SHAREABLE,
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
	FINALFUNC_MODIFY = SHAREABLE,
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

/*
 * Scoring and explaining by user id, through the per-backend model cache.
 * SECURITY DEFINER so that a role granted EXECUTE need not read the models
 * table; like check_login, they qualify every name and need no fixed
 * search_path.
 */

CREATE FUNCTION login_anomaly.score(
	user_id text, ts timestamptz, ip inet, country text, region text,
	city text, user_agent text, lat float8 DEFAULT NULL, lon float8 DEFAULT NULL)
RETURNS float8
AS 'MODULE_PATHNAME', 'la_score_user' LANGUAGE C STABLE PARALLEL RESTRICTED
SECURITY DEFINER;

CREATE FUNCTION login_anomaly.explain(
	user_id text, ts timestamptz, ip inet, country text, region text,
	city text, user_agent text, lat float8 DEFAULT NULL, lon float8 DEFAULT NULL)
RETURNS text[]
AS 'MODULE_PATHNAME', 'la_explain_user' LANGUAGE C STABLE PARALLEL RESTRICTED
SECURITY DEFINER;

/* By-user scoring reads the models: keep it from roles that may not */
REVOKE ALL ON FUNCTION login_anomaly.score(text, timestamptz, inet, text, text, text, text, float8, float8) FROM PUBLIC;
REVOKE ALL ON FUNCTION login_anomaly.explain(text, timestamptz, inet, text, text, text, text, float8, float8) FROM PUBLIC;

/* The trigger */

/*
 * SECURITY DEFINER without a fixed search_path: the C code qualifies every
 * name it looks up and runs no function a user wrote (it reads only
 * built-in column types), and a SET clause would save and restore the
 * setting on every row.
 */
CREATE FUNCTION login_anomaly.check_login()
RETURNS trigger
AS 'MODULE_PATHNAME', 'la_check_login' LANGUAGE C
SECURITY DEFINER;

/*
 * The trigger scores with every user's model: a role that could attach it
 * to a table of its own could probe any user's model.  Grant EXECUTE to
 * the owners of logins tables only.
 */
REVOKE ALL ON FUNCTION login_anomaly.check_login() FROM PUBLIC;

CREATE FUNCTION login_anomaly.trigger_stats(
	OUT logins_scored bigint, OUT logins_without_model bigint,
	OUT alerts bigint, OUT scoring_failures bigint, OUT notify_skipped bigint)
AS 'MODULE_PATHNAME', 'la_trigger_stats' LANGUAGE C VOLATILE;

/*
 * Train every user of a logins table, or only_user, into
 * login_anomaly.models.  column_map renames the expected columns, e.g.
 * '{"user_id": "account", "ts": "logged_in_at"}'; the key login_id names
 * the column that check_login stores as alerts.login_ref (default
 * login_id, then id).  NULL nu or gamma take the settings' values.
 *
 * skip decides which alerted logins training leaves out, so that a model
 * never learns an attacker's logins as normal:
 *   'confirmed_attacks'   logins whose alert has the verdict not_me
 *   'unconfirmed_alerts'  every alerted login not confirmed as it_was_me
 *   'none'                no login
 * A column other than user_id that the table lacks is NULL, as in
 * check_login, unless column_map names it.
 * Without a login reference column no alert can be matched and nothing is
 * left out.  Returns the number of users trained.
 */
CREATE FUNCTION login_anomaly.train(
	logins regclass,
	only_user text DEFAULT NULL,
	column_map jsonb DEFAULT '{}',
	nu float8 DEFAULT NULL,
	gamma float8 DEFAULT NULL,
	weights text DEFAULT NULL,
	skip text DEFAULT 'confirmed_attacks')
RETURNS bigint
LANGUAGE plpgsql
SET search_path = pg_catalog, pg_temp
AS $$
DECLARE
	cols text[] := ARRAY['user_id', 'ts', 'ip', 'country', 'region', 'city',
						 'user_agent', 'lat', 'lon'];
	expr text[] := '{}';
	col text;
	col_type regtype;
	key text;
	ref_column text;
	old_weights text;
	skip_clause text := '';
	trained bigint;
BEGIN
	IF jsonb_typeof(coalesce(column_map, '{}')) <> 'object' THEN
		RAISE EXCEPTION 'column_map must be a JSON object, not %', jsonb_typeof(column_map)
			USING ERRCODE = 'invalid_parameter_value',
				  HINT = 'Map expected names to your columns, e.g. ''{"user_id": "account"}''.';
	END IF;
	FOR key IN SELECT jsonb_object_keys(coalesce(column_map, '{}'))
	LOOP
		IF NOT (key = ANY (cols) OR key = 'login_id') THEN
			RAISE EXCEPTION 'unknown column_map key "%"', key
				USING ERRCODE = 'invalid_parameter_value',
					  HINT = 'Keys are user_id, ts, ip, country, region, city, user_agent, lat, lon and login_id.';
		END IF;
	END LOOP;
	IF skip IS NULL OR skip NOT IN ('confirmed_attacks', 'unconfirmed_alerts', 'none') THEN
		RAISE EXCEPTION 'invalid skip "%"', skip
			USING ERRCODE = 'invalid_parameter_value',
				  HINT = 'Use ''confirmed_attacks'', ''unconfirmed_alerts'' or ''none''.';
	END IF;

	FOREACH key IN ARRAY cols
	LOOP
		col := coalesce(column_map ->> key, key);
		SELECT atttypid::regtype INTO col_type FROM pg_attribute
		WHERE attrelid = logins AND attname = col AND attnum > 0 AND NOT attisdropped;
		/* a timestamp without time zone is UTC, as check_login takes it */
		IF key = 'ts' AND col_type = 'timestamp'::regtype THEN
			expr := expr || format('(l.%I AT TIME ZONE ''UTC'')', col);
			CONTINUE;
		END IF;
		/* an address kept as text may not parse: it then counts as missing */
		IF key = 'ip' AND col_type IS NOT NULL
		   AND col_type NOT IN ('inet'::regtype, 'cidr'::regtype) THEN
			expr := expr || format('login_anomaly.parse_address(l.%I::text)', col);
			CONTINUE;
		END IF;
		IF col_type IS NULL THEN
			/* as in check_login, a missing column other than user_id is NULL */
			IF key <> 'user_id' AND NOT column_map ? key THEN
				expr := expr || 'NULL'::text;
				CONTINUE;
			END IF;
			RAISE EXCEPTION 'column "%" of table % does not exist', col, logins
				USING ERRCODE = 'undefined_column',
					  HINT = 'Map the column with column_map, e.g. ''{"' || key || '": "your_column"}''.';
		END IF;
		expr := expr || format('l.%I', col);
	END LOOP;

	/* the login reference column, found the way check_login finds it */
	IF column_map ? 'login_id' THEN
		ref_column := column_map ->> 'login_id';
		IF NOT EXISTS (SELECT 1 FROM pg_attribute
					   WHERE attrelid = logins AND attname = ref_column
						 AND attnum > 0 AND NOT attisdropped) THEN
			RAISE EXCEPTION 'column "%" of table % does not exist', ref_column, logins
				USING ERRCODE = 'undefined_column';
		END IF;
	ELSE
		SELECT attname INTO ref_column FROM pg_attribute
		WHERE attrelid = logins AND attname IN ('login_id', 'id')
		  AND attnum > 0 AND NOT attisdropped
		ORDER BY attname = 'id'
		LIMIT 1;
	END IF;
	IF ref_column IS NOT NULL AND skip <> 'none' THEN
		skip_clause := format(
			' AND NOT EXISTS (SELECT 1 FROM login_anomaly.alerts a'
			' WHERE a.login_table OPERATOR(pg_catalog.=) %s::pg_catalog.oid::pg_catalog.regclass'
			' AND a.login_ref OPERATOR(pg_catalog.=) l.%I::text AND %s)',
			logins::oid, ref_column,
			CASE skip WHEN 'confirmed_attacks'
				THEN 'a.verdict OPERATOR(pg_catalog.=) ''not_me'''
				ELSE 'a.verdict IS DISTINCT FROM ''it_was_me''' END);
	END IF;

	/* the weights apply to this training only, not to the caller's transaction */
	IF weights IS NOT NULL THEN
		old_weights := current_setting('login_anomaly.weights');
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
			   FROM %10$s l
			   WHERE %1$s IS NOT NULL AND ($1::text IS NULL OR %1$s::text = $1::text) %11$s
			   GROUP BY 1) t
		 WHERE t.model IS NOT NULL
		 ON CONFLICT (user_id) DO UPDATE
		 SET model = excluded.model, trained_at = excluded.trained_at,
			 logins = excluded.logins',
		expr[1], expr[2], expr[3], expr[4], expr[5], expr[6], expr[7], expr[8],
		expr[9], logins, skip_clause)
	USING only_user, nu, gamma;
	GET DIAGNOSTICS trained = ROW_COUNT;
	IF old_weights IS NOT NULL THEN
		PERFORM set_config('login_anomaly.weights', old_weights, true);
	END IF;

	RAISE DEBUG 'login_anomaly: trained % users from %', trained, logins;
	RETURN trained;
END
$$;

/*
 * An analyst's verdict on an alert: 'it_was_me' (the user confirmed the
 * login) or 'not_me' (a takeover).  train() leaves out logins whose alert
 * says not_me.  It runs with the caller's rights, so the caller needs
 * UPDATE on the verdict columns, and verdict_by records who it was.
 */
/*
 * Whoever changes a verdict, through record_verdict() or an UPDATE of their
 * own, is recorded as its author, with the time: verdict_by and verdict_at
 * cannot be set by hand.
 */
CREATE FUNCTION login_anomaly.stamp_verdict()
RETURNS trigger
LANGUAGE plpgsql
SET search_path = pg_catalog, pg_temp
AS $$
BEGIN
	IF NEW.verdict IS DISTINCT FROM OLD.verdict THEN
		NEW.verdict_at := now();
		NEW.verdict_by := current_user;
	ELSE
		NEW.verdict_at := OLD.verdict_at;
		NEW.verdict_by := OLD.verdict_by;
	END IF;
	RETURN NEW;
END
$$;

CREATE TRIGGER stamp_verdict
	BEFORE UPDATE ON login_anomaly.alerts
	FOR EACH ROW EXECUTE FUNCTION login_anomaly.stamp_verdict();

CREATE FUNCTION login_anomaly.record_verdict(alert_id bigint, verdict text)
RETURNS void
LANGUAGE plpgsql
SET search_path = pg_catalog, pg_temp
AS $$
BEGIN
	IF verdict IS NULL OR verdict NOT IN ('it_was_me', 'not_me') THEN
		RAISE EXCEPTION 'invalid verdict "%"', verdict
			USING ERRCODE = 'invalid_parameter_value',
				  HINT = 'A verdict is ''it_was_me'' or ''not_me''.';
	END IF;
	UPDATE login_anomaly.alerts a
	SET verdict = record_verdict.verdict, verdict_at = now(), verdict_by = current_user
	WHERE a.alert_id = record_verdict.alert_id;
	IF NOT FOUND THEN
		RAISE EXCEPTION 'alert % does not exist', record_verdict.alert_id
			USING ERRCODE = 'no_data_found';
	END IF;
END
$$;

