-- What the replay produced: alerts matched to the truth of each login.
\pset footer off

CREATE TEMP VIEW replay_alerts AS
SELECT r.login_id, r.user_id, r.label, r.kind,
	   a.alert_id, a.score, a.risk, a.reasons, a.city, a.country, a.browser, a.os
FROM demo.replay r
LEFT JOIN LATERAL (
	SELECT *
	FROM login_anomaly.alerts al
	WHERE al.kind = 'anomaly' AND al.login_ref = r.login_id::text
	ORDER BY al.alert_id
	LIMIT 1
) a ON true;

SELECT count(*) AS replayed,
	   count(alert_id) AS alerted,
	   count(*) FILTER (WHERE label = 'attack') AS attacks,
	   count(alert_id) FILTER (WHERE label = 'attack') AS caught,
	   count(*) FILTER (WHERE label = 'legit') AS legit,
	   count(alert_id) FILTER (WHERE label = 'legit') AS false_alarms,
	   round(100.0 * count(alert_id) FILTER (WHERE label = 'legit')
			 / nullif(count(*) FILTER (WHERE label = 'legit'), 0), 2) AS false_alarm_pct
FROM replay_alerts \gset

SELECT count(*) AS failed_scorings
FROM login_anomaly.alerts
WHERE kind = 'scoring_failed' \gset

\echo
\echo 'Summary'
\echo '  logins replayed:   ' :replayed
\echo '  alerts raised:     ' :alerted
\echo '  takeovers caught:  ' :caught 'of' :attacks
\echo '  false alarms:      ' :false_alarms 'of' :legit 'legitimate logins (' :false_alarm_pct '%)'
\echo '  scoring failures:  ' :failed_scorings
\echo

\echo 'Takeovers caught, by kind (A1 anywhere else, A2 same country, A3 targeted):'
SELECT kind, count(*) AS attacks, count(alert_id) AS caught,
	   round(100.0 * count(alert_id) / count(*), 1) AS caught_pct
FROM replay_alerts
WHERE label = 'attack'
GROUP BY kind
ORDER BY kind;

\echo 'False alarms, by kind of legitimate login:'
SELECT kind, count(*) AS logins, count(alert_id) AS false_alarms,
	   round(100.0 * count(alert_id) / count(*), 2) AS false_alarm_pct
FROM replay_alerts
WHERE label = 'legit'
GROUP BY kind
ORDER BY count(*) DESC;

\echo 'Three example alerts with their reasons:'
SELECT user_id, label || ' ' || kind AS truth,
	   concat_ws(', ', city, country) AS place,
	   concat_ws(' on ', browser, os) AS browser,
	   round(score::numeric, 2) AS score, risk,
	   array_to_string(reasons, '; ') AS reasons
FROM (
	SELECT DISTINCT ON (label, kind) *
	FROM replay_alerts
	WHERE alert_id IS NOT NULL
	ORDER BY label, kind, score DESC
) one_per_kind
ORDER BY label, kind
LIMIT 3;
