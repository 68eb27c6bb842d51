-- Tables of the speed benchmark (test/bench/bench.py), in the schema bench.
CREATE SCHEMA bench;

-- The generated history, in the shape login_anomaly expects.
CREATE TABLE bench.logins (
	login_id bigint PRIMARY KEY,
	user_id text NOT NULL,
	ts timestamptz NOT NULL,
	ip inet,
	country text,
	region text,
	city text,
	user_agent text,
	lat float8,
	lon float8
);
-- for bench.train_user(), which reads one user's logins
CREATE INDEX logins_user_id_idx ON bench.logins (user_id);

-- The generated test period, with its labels, and the test set taken from it.
CREATE TABLE bench.test_all (
	LIKE bench.logins,
	label text,
	kind text
);
CREATE TABLE bench.test_logins (
	seq integer PRIMARY KEY,	-- 1..n, so pgbench can pick a login at random
	LIKE bench.logins
);

CREATE TABLE bench.users (user_id text PRIMARY KEY);

-- The history again, hash-partitioned by user for partitionwise aggregation.
CREATE TABLE bench.logins_p2 (LIKE bench.logins) PARTITION BY HASH (user_id);
CREATE TABLE bench.logins_p2_0 PARTITION OF bench.logins_p2 FOR VALUES WITH (MODULUS 2, REMAINDER 0);
CREATE TABLE bench.logins_p2_1 PARTITION OF bench.logins_p2 FOR VALUES WITH (MODULUS 2, REMAINDER 1);
CREATE TABLE bench.logins_p4 (LIKE bench.logins) PARTITION BY HASH (user_id);
CREATE TABLE bench.logins_p4_0 PARTITION OF bench.logins_p4 FOR VALUES WITH (MODULUS 4, REMAINDER 0);
CREATE TABLE bench.logins_p4_1 PARTITION OF bench.logins_p4 FOR VALUES WITH (MODULUS 4, REMAINDER 1);
CREATE TABLE bench.logins_p4_2 PARTITION OF bench.logins_p4 FOR VALUES WITH (MODULUS 4, REMAINDER 2);
CREATE TABLE bench.logins_p4_3 PARTITION OF bench.logins_p4 FOR VALUES WITH (MODULUS 4, REMAINDER 3);

-- One user's model.  PARALLEL SAFE and a high COST let the planner run a
-- scan of bench.users calling it in parallel workers, one user per call.
CREATE FUNCTION bench.train_user(uid text)
RETURNS login_anomaly.model
LANGUAGE sql STABLE PARALLEL SAFE COST 100000
AS $$
	SELECT login_anomaly.train_model(login_anomaly.features(
		ts, ip, country, region, city, user_agent, lat, lon))
	FROM bench.logins WHERE user_id = uid
$$;

-- Models of the naive Python path: pickled scikit-learn objects.
CREATE TABLE bench.naive_models (user_id text PRIMARY KEY, model bytea NOT NULL);

-- Targets of the INSERT benchmarks, the same but for the trigger.
CREATE TABLE bench.insert_plain (
	login_id bigserial PRIMARY KEY,
	user_id text NOT NULL,
	ts timestamptz NOT NULL,
	ip inet,
	country text,
	region text,
	city text,
	user_agent text,
	lat float8,
	lon float8
);
CREATE TABLE bench.insert_trigger (LIKE bench.insert_plain INCLUDING ALL);
CREATE TRIGGER insert_trigger_check_login
	AFTER INSERT ON bench.insert_trigger
	FOR EACH ROW EXECUTE FUNCTION login_anomaly.check_login('login_ref=login_id');

-- The logins of the INSERT ... SELECT and COPY benchmarks.
CREATE TABLE bench.bulk_source (LIKE bench.logins);
ALTER TABLE bench.bulk_source DROP COLUMN login_id;
