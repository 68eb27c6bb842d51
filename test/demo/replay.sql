-- Replay the test logins in timestamp order, five rows per INSERT.  psql
-- runs each generated statement in its own transaction (autocommit), so the
-- trigger's notifications reach the listener as the replay goes.
SELECT clock_timestamp() AS replay_started \gset

SELECT format('INSERT INTO demo.logins '
			  'SELECT login_id, user_id, ts, ip, country, region, city, user_agent, lat, lon '
			  'FROM demo.replay WHERE login_id BETWEEN %s AND %s ORDER BY ts, login_id',
			  min(login_id), max(login_id))
FROM (SELECT login_id,
			 (row_number() OVER (ORDER BY ts, login_id) - 1) / 5 AS batch
	  FROM demo.replay) numbered
GROUP BY batch
ORDER BY batch
\gexec

SELECT count(*) AS replayed,
	   round(extract(epoch FROM clock_timestamp() - :'replay_started'::timestamptz)::numeric, 1)
		   AS seconds
FROM demo.replay \gset
\echo 'Replayed' :replayed 'logins in' :seconds 's.'
