-- The demo's login table, and the labelled test logins waiting to be replayed.
CREATE EXTENSION IF NOT EXISTS login_anomaly;
CREATE SCHEMA demo;

CREATE TABLE demo.logins (
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

-- test.csv: the same columns plus the truth of each login.  label is legit
-- or attack; kind is ordinary, travel, vpn, new_device, few_logins, A1, A2
-- or A3.
CREATE TABLE demo.replay (
	LIKE demo.logins INCLUDING ALL,
	label text NOT NULL CHECK (label IN ('legit', 'attack')),
	kind text NOT NULL
);
