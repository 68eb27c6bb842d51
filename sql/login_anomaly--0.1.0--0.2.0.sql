/* login_anomaly 0.1.0 to 0.2.0 */
\echo Use "ALTER EXTENSION login_anomaly UPDATE TO '0.2.0'" to load this file. \quit

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
