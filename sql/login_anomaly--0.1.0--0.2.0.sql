/* login_anomaly 0.1.0 to 0.2.0 */
\echo Use "ALTER EXTENSION login_anomaly UPDATE TO '0.2.0'" to load this file. \quit

/*
 * Scores change with the 0.2.0 library, on purpose, and stored models do
 * not.  A new network counts only in a location the user has used.  A
 * known user agent makes a new location count 0.5 of its novelty, and a
 * known wide network makes a new device count 0.2.  A new country is
 * priced by the user's first visits to countries.  The risk maps to the
 * score with midpoint 2.9 nats and scale 1.5 instead of 12 and 3 (README,
 * "How the score works"), so the default threshold 0.8 now stands for
 * about 5.0 nats instead of 16.  Review any threshold set by hand in a
 * trigger argument or in login_anomaly.threshold.
 */

/*
 * trigger_stats() also reports the fullest the NOTIFY queue was when this
 * session's check_login sent an alert, as a share of the queue (see the
 * settings login_anomaly.notify_queue_warning and notify_queue_limit).
 */
DROP FUNCTION login_anomaly.trigger_stats();

CREATE FUNCTION login_anomaly.trigger_stats(
	OUT logins_scored bigint, OUT logins_without_model bigint,
	OUT alerts bigint, OUT scoring_failures bigint, OUT notify_skipped bigint,
	OUT notify_queue_peak float8)
AS 'MODULE_PATHNAME', 'la_trigger_stats' LANGUAGE C VOLATILE;

/*
 * train() skips, with a WARNING, users whose id is longer than 1024 bytes:
 * such an id does not fit the primary key of login_anomaly.models, and in
 * 0.1.0 one such user made train() fail for every user.  A numeric
 * coordinate too large for a double is an unknown place instead of an
 * error.
 */
CREATE OR REPLACE FUNCTION login_anomaly.train(
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
	too_long bigint;
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
		/*
		 * A numeric coordinate that a double cannot hold is an unknown
		 * place, as in check_login, instead of an error that stops the
		 * training of every user; tiny ones are 0
		 */
		IF key IN ('lat', 'lon') AND col_type = 'numeric'::regtype THEN
			expr := expr || format('CASE WHEN abs(l.%1$I) BETWEEN 1e-300 AND 1000 THEN l.%1$I::float8'
								   ' WHEN abs(l.%1$I) < 1e-300 THEN 0::float8 END', col);
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
		'WITH t AS (
			SELECT %1$s::text AS uid,
				   login_anomaly.train_model(
					   login_anomaly.features(%2$s::timestamptz, %3$s::inet, %4$s::text,
											  %5$s::text, %6$s::text, %7$s::text,
											  %8$s::float8, %9$s::float8),
					   $2, $3) FILTER (WHERE octet_length(%1$s::text) <= 1024) AS model,
				   octet_length(%1$s::text) > 1024 AS too_long
			FROM %10$s l
			WHERE %1$s IS NOT NULL AND ($1::text IS NULL OR %1$s::text = $1::text) %11$s
			GROUP BY 1),
		 stored AS (
			INSERT INTO login_anomaly.models AS m (user_id, model, trained_at, logins)
			SELECT t.uid, t.model, now(), (login_anomaly.model_info(t.model)).logins
			FROM t
			WHERE t.model IS NOT NULL
			ON CONFLICT (user_id) DO UPDATE
			SET model = excluded.model, trained_at = excluded.trained_at,
				logins = excluded.logins
			RETURNING 1)
		 SELECT (SELECT count(*) FROM stored), (SELECT count(*) FROM t WHERE t.too_long)',
		expr[1], expr[2], expr[3], expr[4], expr[5], expr[6], expr[7], expr[8],
		expr[9], logins, skip_clause)
	INTO trained, too_long
	USING only_user, nu, gamma;
	IF too_long > 0 THEN
		RAISE WARNING 'train() skipped users whose id is longer than 1024 bytes: %', too_long
			USING HINT = 'Such a user has no model; check_login treats their logins as those of a user without one.';
	END IF;
	IF old_weights IS NOT NULL THEN
		PERFORM set_config('login_anomaly.weights', old_weights, true);
	END IF;

	RAISE DEBUG 'login_anomaly: trained % users from %', trained, logins;
	RETURN trained;
END
$$;

/*
 * train_model no longer has partial aggregation (combine, serialize and
 * deserialize).  PostgreSQL 15 runs the final function of a partial
 * aggregate, where libsvm trains, in the leader only, so a partial plan
 * never trained in parallel (0.99x on 2 cores in test/bench).  Worse, on a
 * table hash-partitioned by user_id the planner sometimes chose partial
 * aggregation within each partition over one complete aggregate per
 * partition in its own worker, which is what trains in parallel: the
 * README's partitionwise recipe took 0.95 s instead of 0.46 s (serial
 * 0.86 s).  Without a combine function only the complete aggregate per
 * partition is possible.  The support functions stay in the library for
 * version 0.1.0.
 */
DROP AGGREGATE login_anomaly.train_model(login_anomaly.feature_vector);
DROP AGGREGATE login_anomaly.train_model(login_anomaly.feature_vector, float8, float8);
DROP FUNCTION login_anomaly.train_model_combinefn(internal, internal);
DROP FUNCTION login_anomaly.train_model_serialfn(internal);
DROP FUNCTION login_anomaly.train_model_deserialfn(bytea, internal);

CREATE AGGREGATE login_anomaly.train_model(login_anomaly.feature_vector) (
	SFUNC = login_anomaly.train_model_transfn,
	STYPE = internal,
	FINALFUNC = login_anomaly.train_model_finalfn,
	FINALFUNC_MODIFY = SHAREABLE,
	PARALLEL = SAFE
);

CREATE AGGREGATE login_anomaly.train_model(login_anomaly.feature_vector, nu float8, gamma float8) (
	SFUNC = login_anomaly.train_model_transfn,
	STYPE = internal,
	FINALFUNC = login_anomaly.train_model_finalfn,
	FINALFUNC_EXTRA,
	FINALFUNC_MODIFY = SHAREABLE,
	PARALLEL = SAFE
);
