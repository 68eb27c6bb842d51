/*
 * db.c
 *		The mailer's side of the alert outbox: connecting, LISTEN, claiming
 *		due alerts, folding alert storms into digests and marking the
 *		outcome.
 *
 * Locking rules.  An alert is claimed with FOR UPDATE SKIP LOCKED inside a
 * transaction that stays open while the e-mail is sent, and the mark
 * (sent, or a failed attempt) is committed right after the SMTP server
 * replies.  So several mailers never mail the same alert, and a crash
 * between sending and committing leaves the row pending: it is mailed once
 * more with the same Message-ID, which is the only duplicate possible.
 *
 * With a storm window, a mailer also takes a transaction-level advisory
 * lock on (kind, user_id) before it decides whether the user's window is
 * open, so two mailers cannot both decide to mail the same user at once.
 * Both locks are only ever tried (SKIP LOCKED, pg_try_advisory_xact_lock),
 * never waited for, so mailers cannot deadlock each other.
 *
 * Every statement names its schema (login_anomaly.alerts, pg_catalog.*)
 * and the session's search_path is set to pg_catalog on connect, so a
 * search_path set for the role or database cannot redirect the mailer to
 * other tables or functions.
 */
#include <errno.h>
#include <poll.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "mailer.h"

/* First key of the advisory lock, "LAML" in ASCII, so other users of
 * two-key advisory locks are unlikely to collide with the mailer */
#define ADVISORY_LOCK_CLASS "1279348044"

/*
 * The columns of an alert that the e-mail shows, and the analyst's verdict
 * that decides whether it is mailed, in the order fetch_alert reads
 */
#define ALERT_COLUMNS \
	"alert_id, kind, user_id, " \
	"pg_catalog.date_part('epoch', login_ts), " \
	"pg_catalog.date_part('epoch', created_at), " \
	"pg_catalog.host(ip), " \
	"pg_catalog.network(pg_catalog.set_masklen(ip, " \
	"    CASE pg_catalog.family(ip) WHEN 4 THEN 24 ELSE 48 END))::text, " \
	"country, region, city, user_agent, browser, os, device, " \
	"pg_catalog.round(score::numeric, 3)::text, " \
	"pg_catalog.round(threshold::numeric, 3)::text, " \
	"risk, pg_catalog.array_to_string(reasons, E'\\x1f', ''), error, attempts, " \
	"verdict, verdict_by "

static const char *const claim_sql =
"SELECT " ALERT_COLUMNS
"FROM login_anomaly.alerts "
"WHERE status = 'pending' AND next_attempt_at <= pg_catalog.now() "
"  AND user_id <> ALL ($1::text[]) AND alert_id <> ALL ($2::bigint[]) "
"ORDER BY next_attempt_at, alert_id "
"LIMIT 1 FOR UPDATE SKIP LOCKED";

static const char *const user_lock_sql =
"SELECT pg_catalog.pg_try_advisory_xact_lock(" ADVISORY_LOCK_CLASS ", "
"    pg_catalog.hashtext($1::text OPERATOR(pg_catalog.||) ':' "
"                        OPERATOR(pg_catalog.||) $2::text))";

/* When did the user's last e-mail of this kind go out, and is its window still open */
static const char *const window_sql =
"SELECT (w.window_end)::text, "
"       w.window_end > pg_catalog.clock_timestamp() "
"FROM (SELECT pg_catalog.max(sent_at) "
"             + pg_catalog.make_interval(secs => $3::float8) AS window_end "
"      FROM login_anomaly.alerts "
"      WHERE user_id = $1::text AND kind = $2::text AND status = 'sent' "
"        AND message_id IS NOT NULL) w "
"WHERE w.window_end IS NOT NULL";

/*
 * Hold the user's pending alerts until the window closes, so that one
 * digest then covers them.  The claimed alert is among them, because the
 * claim locked it in this same transaction and SKIP LOCKED skips only
 * rows that other transactions lock.  Alerts with a verdict stay due, so
 * that their own claim marks them without an e-mail.
 */
static const char *const defer_sql =
"UPDATE login_anomaly.alerts SET next_attempt_at = $3::timestamptz "
"WHERE alert_id IN (SELECT alert_id FROM login_anomaly.alerts "
"                   WHERE user_id = $1::text AND kind = $2::text "
"                     AND status = 'pending' AND verdict IS NULL "
"                     AND next_attempt_at < $3::timestamptz "
"                   FOR UPDATE SKIP LOCKED) "
"RETURNING alert_id";

/*
 * The other pending alerts of the user, folded into the carrier's e-mail.
 * An alert with a verdict is left out and marked by its own claim.
 */
static const char *const members_sql =
"SELECT " ALERT_COLUMNS
"FROM login_anomaly.alerts "
"WHERE user_id = $1::text AND kind = $2::text AND status = 'pending' "
"  AND verdict IS NULL "
"  AND alert_id <> $3::bigint AND alert_id <> ALL ($4::bigint[]) "
"ORDER BY alert_id "
"LIMIT $5::integer FOR UPDATE SKIP LOCKED";

static const char *const mark_sent_sql =
"UPDATE login_anomaly.alerts "
"SET status = CASE WHEN alert_id = $1::bigint THEN 'sent' ELSE 'folded' END, "
"    folded_into = CASE WHEN alert_id = $1::bigint THEN NULL ELSE $1::bigint END, "
"    sent_at = pg_catalog.clock_timestamp(), "
"    message_id = $2::text, "
"    attempts = attempts + 1, "
"    last_error = NULL "
"WHERE alert_id = ANY ($3::bigint[]) AND status = 'pending'";

/*
 * Mark an alert that already has a verdict as sent without an e-mail.  The
 * NULL message_id distinguishes it from a mailed alert, and attempts stays
 * as it was because nothing was tried.
 */
static const char *const mark_not_mailed_sql =
"UPDATE login_anomaly.alerts "
"SET status = 'sent', "
"    sent_at = pg_catalog.clock_timestamp(), "
"    message_id = NULL, "
"    last_error = NULL "
"WHERE alert_id = $1::bigint AND status = 'pending'";

/*
 * Count a failed attempt.  The delay doubles with each attempt up to the
 * cap, with +-10% jitter so that mailers restarted together spread out.
 */
static const char *const mark_failed_sql =
"UPDATE login_anomaly.alerts "
"SET attempts = attempts + 1, "
"    last_error = $2::text, "
"    status = CASE WHEN attempts + 1 >= $3::integer THEN 'failed' ELSE 'pending' END, "
"    next_attempt_at = pg_catalog.clock_timestamp() + pg_catalog.make_interval(secs => "
"        LEAST($4::float8 * pg_catalog.power(2::float8, LEAST(attempts, 30)::float8), "
"              $5::float8) * (0.9 + 0.2 * pg_catalog.random())) "
"WHERE alert_id = ANY ($1::bigint[]) AND status = 'pending' "
"RETURNING alert_id, status, attempts, "
"    pg_catalog.to_char(next_attempt_at, 'YYYY-MM-DD HH24:MI:SS TZ')";

static const char *const seconds_until_due_sql =
"SELECT pg_catalog.date_part('epoch', "
"    pg_catalog.min(next_attempt_at) - pg_catalog.clock_timestamp()) "
"FROM login_anomaly.alerts WHERE status = 'pending'";

/* Pending alerts that wait for a storm window or a retry delay */
static const char *const not_due_sql =
"SELECT pg_catalog.count(*), "
"    pg_catalog.date_part('epoch', pg_catalog.min(next_attempt_at)) "
"FROM login_anomaly.alerts "
"WHERE status = 'pending' AND next_attempt_at > pg_catalog.clock_timestamp()";

/*
 * The error text of a result or connection on one line: the server's
 * primary message and detail when there are any, else libpq's message.
 */
static char *
error_text(PGconn *conn, PGresult *res)
{
	const char *primary = res ? PQresultErrorField(res, PG_DIAG_MESSAGE_PRIMARY) : NULL;
	const char *detail = res ? PQresultErrorField(res, PG_DIAG_MESSAGE_DETAIL) : NULL;
	char	   *copy;
	size_t		len;

	if (primary != NULL)
		copy = detail ? xasprintf("%s (%s)", primary, detail) : xstrdup(primary);
	else
		copy = xstrdup(PQerrorMessage(conn));
	len = strlen(copy);
	while (len > 0 && (copy[len - 1] == '\n' || copy[len - 1] == ' '))
		copy[--len] = '\0';
	for (char *p = copy; *p; p++)
		if (*p == '\n' || *p == '\t')
			*p = ' ';
	return copy;
}

/* The privileges README.md grants the mailer role on the outbox */
#define OUTBOX_GRANT \
	"GRANT SELECT, UPDATE (status, attempts, next_attempt_at, last_error, " \
	"sent_at, message_id, folded_into) ON login_anomaly.alerts TO "

/* Set when a statement fails with a setup error (see log_setup_error) */
static bool setup_error_seen = false;

/*
 * Whether a setup error was logged.  The caller then stops with
 * EXIT_MAILER_CONFIG instead of reconnecting, because a missing privilege
 * or object stays missing until someone changes the database.
 */
bool
db_setup_error(void)
{
	return setup_error_seen;
}

/* The connected role as an SQL identifier, quoted only when it must be */
static char *
role_identifier(PGconn *conn)
{
	const char *role = PQuser(conn);
	bool		plain = role[0] != '\0' && strchr("0123456789$", role[0]) == NULL;
	char	   *quoted;
	char	   *copy;

	for (const char *p = role; *p && plain; p++)
		plain = (*p >= 'a' && *p <= 'z') || (*p >= '0' && *p <= '9') ||
			*p == '_' || *p == '$';
	if (plain)
		return xstrdup(role);
	quoted = PQescapeIdentifier(conn, role, strlen(role));
	if (quoted == NULL)
		return xstrdup(role);
	copy = xstrdup(quoted);
	PQfreemem(quoted);
	return copy;
}

/*
 * Log a permission or missing-object error (SQLSTATE class 42) with a hint
 * that names the grant or the object that is missing, and remember it, so
 * the caller stops (see db_setup_error).  user_query is true when the
 * failed statement is --user-address-query, whose tables the mailer cannot
 * know.
 */
static void
log_setup_error(PGconn *conn, PGresult *res, const char *what, bool user_query)
{
	const char *sqlstate = PQresultErrorField(res, PG_DIAG_SQLSTATE);
	const char *primary = PQresultErrorField(res, PG_DIAG_MESSAGE_PRIMARY);
	const char *schema_prefix = "permission denied for schema ";
	char	   *msg = error_text(conn, res);
	char	   *role = role_identifier(conn);
	bool		denied = strcmp(sqlstate, "42501") == 0;

	setup_error_seen = true;
	log_msg(LOG_LEVEL_ERROR, "%s failed: %s (SQLSTATE %s)", what, msg, sqlstate);
	if (denied && primary != NULL &&
		strncmp(primary, schema_prefix, strlen(schema_prefix)) == 0)
		log_hint("the role lacks USAGE on the schema: GRANT USAGE ON SCHEMA %s TO %s; see \"Least privilege\" in README.md",
				 primary + strlen(schema_prefix), role);
	else if (denied && user_query)
		log_hint("grant the role %s SELECT on the tables that --user-address-query reads; see \"Least privilege\" in README.md",
				 role);
	else if (denied)
		log_hint("the role lacks a privilege on the outbox: " OUTBOX_GRANT "%s; see \"Least privilege\" in README.md",
				 role);
	else if (user_query)
		log_hint("fix --user-address-query, or create the table, column or function it names in database \"%s\"",
				 PQdb(conn));
	else
		log_hint("login_anomaly.alerts in database \"%s\" is missing or differs from what this mailer (version %s) expects; install or update the login_anomaly extension there",
				 PQdb(conn), MAILER_VERSION);
	free(role);
	free(msg);
}

static bool
is_setup_error(PGresult *res)
{
	const char *sqlstate = res ? PQresultErrorField(res, PG_DIAG_SQLSTATE) : NULL;

	return sqlstate != NULL && strncmp(sqlstate, "42", 2) == 0;
}

static void
log_db_error(PGconn *conn, PGresult *res, const char *what)
{
	char	   *msg;

	if (is_setup_error(res))
	{
		log_setup_error(conn, res, what, false);
		return;
	}
	msg = error_text(conn, res);
	log_msg(LOG_LEVEL_ERROR, "%s failed: %s", what, msg);
	free(msg);
}

/* Run a query with text parameters and check its status */
static PGresult *
run(PGconn *conn, const char *what, const char *sql, int n_params,
	const char *const *params, ExecStatusType expected)
{
	PGresult   *res = PQexecParams(conn, sql, n_params, NULL, params, NULL, NULL, 0);

	if (PQresultStatus(res) != expected)
	{
		log_db_error(conn, res, what);
		PQclear(res);
		return NULL;
	}
	return res;
}

bool
db_exec_simple(PGconn *conn, const char *sql)
{
	PGresult   *res = PQexec(conn, sql);
	bool		ok = (PQresultStatus(res) == PGRES_COMMAND_OK ||
					  PQresultStatus(res) == PGRES_TUPLES_OK);

	if (!ok)
		log_db_error(conn, res, sql);
	PQclear(res);
	return ok;
}

/*
 * Append one element to a PostgreSQL array literal under construction.
 * array must start empty; the closing brace is added by the caller as "}".
 */
void
sql_array_append(StrBuf *array, const char *element)
{
	sb_append(array, array->len == 0 ? "{\"" : ",\"");
	for (const char *p = element; *p; p++)
	{
		if (*p == '"' || *p == '\\')
			sb_append_char(array, '\\');
		sb_append_char(array, *p);
	}
	sb_append_char(array, '"');
}

/* Close an array literal built with sql_array_append; the result is a new string */
static char *
array_literal(const StrBuf *array)
{
	if (array == NULL || array->len == 0)
		return xstrdup("{}");
	return xasprintf("%s}", array->data);
}

/*
 * The "connect_timeout" that libpq uses for this connection, from
 * --dbname or PGCONNECT_TIMEOUT, in seconds; 0 for none.  Like libpq 15,
 * a value of 1 counts as 2, because time() rounds.
 */
static int
connect_timeout_of(PGconn *conn)
{
	PQconninfoOption *options = PQconninfo(conn);
	int			timeout = 0;

	for (PQconninfoOption *opt = options; opt && opt->keyword; opt++)
		if (strcmp(opt->keyword, "connect_timeout") == 0 && opt->val != NULL)
			timeout = atoi(opt->val);
	PQconninfoFree(options);
	if (timeout < 0)
		timeout = 0;
	return timeout == 1 ? 2 : timeout;
}

/*
 * Open a connection whose error message contains the SQLSTATE of a server
 * error during the connection startup.
 *
 * libpq 15 offers no PGresult for a failed connection, so
 * PQresultErrorField cannot return the SQLSTATE.  It does format the
 * server's error into PQerrorMessage with the connection's error
 * verbosity, as "FATAL:  3D000: database "x" does not exist" under
 * PQERRORS_VERBOSE.  PQconnectdbParams gives the caller no chance to set
 * that verbosity before it connects, so this function starts the
 * connection with PQconnectStartParams, sets PQERRORS_VERBOSE and drives
 * PQconnectPoll itself.
 *
 * PQconnectPoll ignores connect_timeout, so the loop enforces it for the
 * whole attempt.  When it expires, the attempt is repeated with the
 * blocking PQconnectdbParams, whose timeout applies per host and moves on
 * to the next host of a multi-host --dbname.
 *
 * NOTE: the repeat waits for an unresponsive first host once more, and its
 * failure has default verbosity, so it is never taken for a setup error.
 * A wrong role or database behind a host that timed out makes the daemon
 * reconnect instead of exiting with EXIT_MAILER_CONFIG.
 */
static PGconn *
start_connection(const MailerConfig *cfg)
{
	const char *keys[] = {"dbname", "fallback_application_name", NULL};
	const char *values[] = {cfg->conninfo, MAILER_NAME, NULL};
	PostgresPollingStatusType state = PGRES_POLLING_WRITING;
	PGconn	   *conn;
	int			timeout;
	time_t		deadline;

	conn = PQconnectStartParams(keys, values, 1);
	if (conn == NULL || PQstatus(conn) == CONNECTION_BAD)
		return conn;
	PQsetErrorVerbosity(conn, PQERRORS_VERBOSE);
	timeout = connect_timeout_of(conn);
	deadline = time(NULL) + timeout;

	while (state != PGRES_POLLING_OK && state != PGRES_POLLING_FAILED)
	{
		struct pollfd pfd;
		int			wait_ms = -1;
		int			ready;

		if (timeout > 0)
		{
			time_t		remaining = deadline - time(NULL);

			if (remaining <= 0)
				break;
			wait_ms = (int) remaining * 1000;
		}
		pfd.fd = PQsocket(conn);
		pfd.events = state == PGRES_POLLING_READING ? POLLIN : POLLOUT;
		pfd.revents = 0;
		ready = poll(&pfd, 1, wait_ms);
		if (ready < 0 && errno == EINTR)
			continue;
		if (ready <= 0)
			break;
		state = PQconnectPoll(conn);
	}
	if (state == PGRES_POLLING_OK || state == PGRES_POLLING_FAILED)
		return conn;

	log_msg(LOG_LEVEL_DEBUG,
			"no connection after connect_timeout of %d s, trying again with libpq's own timeout handling",
			timeout);
	PQfinish(conn);
	return PQconnectdbParams(keys, values, 1);
}

/*
 * Format the failure of a connection attempt as one line, from
 * PQerrorMessage in the verbose form that start_connection requests.  The
 * SQLSTATE of the server error that ended the attempt is copied to
 * sqlstate, which stays empty when there was none, as with a refused
 * connection or a timeout.
 *
 * Each server error is a line "SEVERITY:  SQLSTATE: message" after libpq's
 * "connection to server ... failed: ", followed by "LOCATION:  " and
 * maybe "DETAIL:  " lines.  The SQLSTATE and the LOCATION line are cut
 * from the text, because the caller logs them apart or not at all.  libpq
 * 15 gives up after the first server error, unless it is 57P03
 * cannot_connect_now, after which it tries the next host.  So the last
 * SQLSTATE in the text is the one that ended the attempt.
 */
static char *
connection_error_text(PGconn *conn, char sqlstate[6])
{
	const char *line = conn ? PQerrorMessage(conn) : "out of memory\n";
	StrBuf		out;

	sqlstate[0] = '\0';
	sb_init(&out);
	while (*line != '\0')
	{
		const char *end = strchr(line, '\n');
		const char *next = end ? end + 1 : line + strlen(line);
		size_t		len = end ? (size_t) (end - line) : strlen(line);
		const char *code = NULL;

		/* libpq indents its own hint lines with a tab */
		while (len > 0 && *line == '\t')
		{
			line++;
			len--;
		}
		if (len == 0 || strncmp(line, "LOCATION:  ", 11) == 0)
		{
			line = next;
			continue;
		}

		/* The severity's ":  ", then five SQLSTATE characters and ": " */
		for (const char *p = line; p + 10 <= line + len && code == NULL; p++)
		{
			if (strncmp(p, ":  ", 3) == 0 && strspn(p + 3, "0123456789ABCDEFGHIJKLMNOPQRSTUVWXYZ") >= 5 &&
				strncmp(p + 8, ": ", 2) == 0)
				code = p + 3;
		}

		if (out.len > 0)
			sb_append_char(&out, ' ');
		if (code != NULL)
		{
			memcpy(sqlstate, code, 5);
			sqlstate[5] = '\0';
			sb_append_len(&out, line, code - line);
			sb_append_len(&out, code + 7, len - (code + 7 - line));
		}
		else
			sb_append_len(&out, line, len);
		line = next;
	}
	while (out.len > 0 && out.data[out.len - 1] == ' ')
		out.data[--out.len] = '\0';
	return out.data;
}

/*
 * Log why a connection attempt failed.  A failure that stays until someone
 * changes the role, the database, pg_hba.conf or the password file is a
 * setup error (see db_setup_error), logged with a hint:
 *
 * 28000 invalid_authorization_specification: no such role, a role without
 *       LOGIN, no pg_hba.conf entry, or a failed authentication that is
 *       not by password, such as peer
 * 28P01 invalid_password: password authentication failed
 * 3D000 invalid_catalog_name: no such database
 *
 * plus the server asking for a password that libpq could not find.  Any
 * other failure, such as a refused connection, a timeout, or 57P03
 * cannot_connect_now while the server starts up or shuts down, may pass,
 * so the caller retries it.
 */
static void
log_connect_error(PGconn *conn)
{
	char		sqlstate[6];
	char	   *msg = connection_error_text(conn, sqlstate);
	const char *user = conn ? PQuser(conn) : "";
	const char *db = conn ? PQdb(conn) : "";
	const char *passfile = "the password file (passfile in --dbname, else PGPASSFILE, else ~/.pgpass of the user who runs the mailer)";

	if (conn != NULL && PQconnectionNeedsPassword(conn))
	{
		log_msg(LOG_LEVEL_ERROR, "connection to the database failed: %s", msg);
		log_hint("the server requested a password for role \"%s\" and none was found; add a line for the role to %s",
				 user, passfile);
	}
	else if (strcmp(sqlstate, "28P01") == 0)
	{
		log_msg(LOG_LEVEL_ERROR, "connection to the database failed: %s (SQLSTATE %s)",
				msg, sqlstate);
		log_hint("check that %s contains the current password of role \"%s\"",
				 passfile, user);
	}
	else if (strcmp(sqlstate, "28000") == 0)
	{
		log_msg(LOG_LEVEL_ERROR, "connection to the database failed: %s (SQLSTATE %s)",
				msg, sqlstate);
		log_hint("check the user in --dbname: role \"%s\" must exist, have LOGIN, and be allowed into database \"%s\" by pg_hba.conf; see \"Least privilege\" in README.md",
				 user, db);
	}
	else if (strcmp(sqlstate, "3D000") == 0)
	{
		log_msg(LOG_LEVEL_ERROR, "connection to the database failed: %s (SQLSTATE %s)",
				msg, sqlstate);
		log_hint("check the database name in --dbname (\"%s\"), or create that database and run CREATE EXTENSION login_anomaly in it",
				 db);
	}
	else
	{
		if (sqlstate[0] != '\0')
			log_msg(LOG_LEVEL_ERROR, "connection to the database failed: %s (SQLSTATE %s)",
					msg, sqlstate);
		else
			log_msg(LOG_LEVEL_ERROR, "connection to the database failed: %s", msg);
		free(msg);
		return;
	}
	setup_error_seen = true;
	free(msg);
}

/*
 * Connect and prepare the session.  Returns NULL, after logging why, when
 * the server is unreachable or is a standby, when the role, its password
 * or the database is wrong, or when the outbox table or a privilege is
 * missing.  All but the first two are setup errors (see db_setup_error).
 */
PGconn *
db_connect(const MailerConfig *cfg)
{
	PGconn	   *conn;
	PGresult   *res;

	conn = start_connection(cfg);
	if (conn == NULL || PQstatus(conn) != CONNECTION_OK)
	{
		log_connect_error(conn);
		PQfinish(conn);
		return NULL;
	}
	/* Errors of statements have their fields in the PGresult */
	PQsetErrorVerbosity(conn, PQERRORS_DEFAULT);

	if (PQsetClientEncoding(conn, "UTF8") != 0 ||
		!db_exec_simple(conn,
						"SELECT pg_catalog.set_config('search_path', 'pg_catalog', false), "
						"pg_catalog.set_config('TimeZone', 'UTC', false)"))
	{
		PQfinish(conn);
		return NULL;
	}

	res = run(conn, "checking the server role",
			  "SELECT pg_catalog.pg_is_in_recovery(), "
			  "pg_catalog.to_regclass('login_anomaly.alerts') IS NOT NULL",
			  0, NULL, PGRES_TUPLES_OK);
	if (res == NULL)
	{
		PQfinish(conn);
		return NULL;
	}
	if (strcmp(PQgetvalue(res, 0, 0), "t") == 0)
	{
		log_msg(LOG_LEVEL_ERROR,
				"the server is a standby; point --dbname at the primary, for example with target_session_attrs=read-write");
		PQclear(res);
		PQfinish(conn);
		return NULL;
	}
	if (strcmp(PQgetvalue(res, 0, 1), "t") != 0)
	{
		log_msg(LOG_LEVEL_ERROR,
				"table login_anomaly.alerts not found in database \"%s\"",
				PQdb(conn));
		log_hint("run CREATE EXTENSION login_anomaly in that database, or point --dbname at the database where it is installed");
		setup_error_seen = true;
		PQclear(res);
		PQfinish(conn);
		return NULL;
	}
	PQclear(res);
	return conn;
}

bool
db_listen(PGconn *conn, const char *channel)
{
	char	   *ident = PQescapeIdentifier(conn, channel, strlen(channel));
	char	   *sql;
	bool		ok;

	if (ident == NULL)
	{
		log_db_error(conn, NULL, "quoting the channel name");
		return false;
	}
	sql = xasprintf("LISTEN %s", ident);
	PQfreemem(ident);
	ok = db_exec_simple(conn, sql);
	free(sql);
	return ok;
}

/* Prepare --user-address-query, so a mistake in it shows up at startup */
bool
db_prepare_user_query(PGconn *conn, const MailerConfig *cfg)
{
	const Oid	types[] = {25};	/* text */
	PGresult   *res;
	bool		ok;

	if (cfg->user_address_query == NULL)
		return true;
	res = PQprepare(conn, "user_address", cfg->user_address_query, 1, types);
	ok = PQresultStatus(res) == PGRES_COMMAND_OK;
	if (!ok && is_setup_error(res))
		log_setup_error(conn, res, "preparing --user-address-query", true);
	else if (!ok)
		log_db_error(conn, res, "preparing --user-address-query");
	PQclear(res);
	if (ok)
	{
		res = PQdescribePrepared(conn, "user_address");
		if (PQresultStatus(res) != PGRES_COMMAND_OK || PQnfields(res) < 1)
		{
			log_msg(LOG_LEVEL_ERROR,
					"--user-address-query must return the address as its first column");
			ok = false;
		}
		PQclear(res);
	}
	return ok;
}

static char *
get_text(PGresult *res, int row, int col)
{
	if (PQgetisnull(res, row, col))
		return NULL;
	return xstrdup(PQgetvalue(res, row, col));
}

/* Copy one row of ALERT_COLUMNS into alert */
static void
fetch_alert(PGresult *res, int row, Alert *alert)
{
	char	   *reasons;

	memset(alert, 0, sizeof(*alert));
	alert->alert_id = strtoll(PQgetvalue(res, row, 0), NULL, 10);
	alert->kind = get_text(res, row, 1);
	alert->user_id = get_text(res, row, 2);
	alert->has_login_ts = !PQgetisnull(res, row, 3);
	if (alert->has_login_ts)
		alert->login_ts = strtod(PQgetvalue(res, row, 3), NULL);
	alert->created_at = strtod(PQgetvalue(res, row, 4), NULL);
	alert->ip = get_text(res, row, 5);
	alert->network = get_text(res, row, 6);
	alert->country = get_text(res, row, 7);
	alert->region = get_text(res, row, 8);
	alert->city = get_text(res, row, 9);
	alert->user_agent = get_text(res, row, 10);
	alert->browser = get_text(res, row, 11);
	alert->os = get_text(res, row, 12);
	alert->device = get_text(res, row, 13);
	alert->score = get_text(res, row, 14);
	alert->threshold = get_text(res, row, 15);
	alert->risk = get_text(res, row, 16);
	alert->error = get_text(res, row, 18);
	alert->attempts = atoi(PQgetvalue(res, row, 19));
	alert->verdict = get_text(res, row, 20);
	alert->verdict_by = get_text(res, row, 21);

	/* The reasons come joined by the unit separator, which sanitize_text removes */
	reasons = PQgetvalue(res, row, 17);
	if (*reasons != '\0')
	{
		char	   *p = reasons;

		for (;;)
		{
			char	   *sep = strchr(p, '\x1f');
			size_t		len = sep ? (size_t) (sep - p) : strlen(p);

			alert->reasons = xrealloc(alert->reasons,
									  sizeof(char *) * (alert->n_reasons + 1));
			alert->reasons[alert->n_reasons++] = xstrndup(p, len);
			if (sep == NULL)
				break;
			p = sep + 1;
		}
	}
}

static void
alert_free(Alert *alert)
{
	free(alert->kind);
	free(alert->user_id);
	free(alert->ip);
	free(alert->network);
	free(alert->country);
	free(alert->region);
	free(alert->city);
	free(alert->user_agent);
	free(alert->browser);
	free(alert->os);
	free(alert->device);
	free(alert->score);
	free(alert->threshold);
	free(alert->risk);
	for (int i = 0; i < alert->n_reasons; i++)
		free(alert->reasons[i]);
	free(alert->reasons);
	free(alert->error);
	free(alert->verdict);
	free(alert->verdict_by);
}

void
alert_batch_free(AlertBatch *batch)
{
	for (int i = 0; i < batch->n_alerts; i++)
		alert_free(&batch->alerts[i]);
	free(batch->alerts);
	free(batch->user_address);
	free(batch->user_timezone);
	memset(batch, 0, sizeof(*batch));
}

static int
compare_alert_ids(const void *a, const void *b)
{
	long long	x = *(const long long *) a;
	long long	y = *(const long long *) b;

	return (x > y) - (x < y);
}

/*
 * Move the pending alerts of the carrier's user and kind to window_end, the
 * end of the user's storm window, and list them in *held.
 */
static bool
hold_alerts(PGconn *conn, const Alert *carrier, const char *window_end,
			HeldAlerts *held)
{
	const char *params[3] = {carrier->user_id, carrier->kind, window_end};
	PGresult   *res;
	int			n;

	res = run(conn, "deferring alerts to the end of the storm window",
			  defer_sql, 3, params, PGRES_TUPLES_OK);
	if (res == NULL)
		return false;
	n = PQntuples(res);
	held->alert_ids = xmalloc(sizeof(long long) * (n > 0 ? n : 1));
	for (int i = 0; i < n; i++)
		held->alert_ids[i] = strtoll(PQgetvalue(res, i, 0), NULL, 10);
	held->n_alerts = n;
	qsort(held->alert_ids, n, sizeof(long long), compare_alert_ids);
	held->user_id = xstrdup(carrier->user_id);
	PQclear(res);

	res = run(conn, "reading the window end",
			  "SELECT pg_catalog.date_part('epoch', $1::timestamptz)",
			  1, &window_end, PGRES_TUPLES_OK);
	if (res == NULL)
	{
		held_alerts_free(held);
		return false;
	}
	held->until = strtod(PQgetvalue(res, 0, 0), NULL);
	PQclear(res);
	return true;
}

void
held_alerts_free(HeldAlerts *held)
{
	free(held->alert_ids);
	free(held->user_id);
	memset(held, 0, sizeof(*held));
}

/*
 * Claim the oldest due alert and build the batch its e-mail covers.  The
 * caller has opened a transaction and must end it.
 *
 * skip_users and skip_alerts are array literals under construction (see
 * sql_array_append) of users that another mailer has locked and, in
 * --dry-run, of alerts already printed or held.  On CLAIM_BUSY the user is
 * added to skip_users.  *carrier_id is the claimed alert.  On
 * CLAIM_VERDICT, batch holds only the claimed alert, which already has a
 * verdict; the caller marks it with db_mark_not_mailed.  On
 * CLAIM_DEFERRED, *held lists every alert of the user that this claim
 * held back, the carrier included; the caller frees it with
 * held_alerts_free.
 */
ClaimResult
db_claim_batch(PGconn *conn, const MailerConfig *cfg,
			   StrBuf *skip_users, const StrBuf *skip_alerts,
			   AlertBatch *batch, long long *carrier_id, HeldAlerts *held)
{
	char	   *users_literal = array_literal(skip_users);
	char	   *alerts_literal = array_literal(skip_alerts);
	const char *params[5];
	PGresult   *res;
	Alert		carrier;
	ClaimResult result = CLAIM_DB_ERROR;
	char		window_text[32];
	char		limit_text[16];
	char		id_text[24];

	memset(batch, 0, sizeof(*batch));
	memset(held, 0, sizeof(*held));
	*carrier_id = 0;

	params[0] = users_literal;
	params[1] = alerts_literal;
	res = run(conn, "claiming an alert", claim_sql, 2, params, PGRES_TUPLES_OK);
	if (res == NULL)
		goto done;
	if (PQntuples(res) == 0)
	{
		PQclear(res);
		result = CLAIM_NONE;
		goto done;
	}
	fetch_alert(res, 0, &carrier);
	PQclear(res);
	*carrier_id = carrier.alert_id;

	batch->alerts = xmalloc(sizeof(Alert));
	batch->alerts[0] = carrier;
	batch->n_alerts = 1;

	/* An analyst has already dealt with it, so neither the user nor the window matters */
	if (carrier.verdict != NULL)
	{
		result = CLAIM_VERDICT;
		goto done;
	}

	if (cfg->storm_window <= 0)
	{
		result = CLAIM_BATCH;
		goto done;
	}

	/* Only one mailer at a time decides about one user */
	params[0] = carrier.kind;
	params[1] = carrier.user_id;
	res = run(conn, "locking the user", user_lock_sql, 2, params, PGRES_TUPLES_OK);
	if (res == NULL)
		goto done;
	if (strcmp(PQgetvalue(res, 0, 0), "t") != 0)
	{
		PQclear(res);
		sql_array_append(skip_users, carrier.user_id);
		result = CLAIM_BUSY;
		goto done;
	}
	PQclear(res);

	snprintf(window_text, sizeof(window_text), "%d", cfg->storm_window);
	params[0] = carrier.user_id;
	params[1] = carrier.kind;
	params[2] = window_text;
	res = run(conn, "checking the storm window", window_sql, 3, params, PGRES_TUPLES_OK);
	if (res == NULL)
		goto done;
	if (PQntuples(res) == 1 && strcmp(PQgetvalue(res, 0, 1), "t") == 0)
	{
		char	   *window_end = xstrdup(PQgetvalue(res, 0, 0));

		PQclear(res);
		if (hold_alerts(conn, &carrier, window_end, held))
			result = CLAIM_DEFERRED;
		free(window_end);
		goto done;
	}
	PQclear(res);

	/* The window is closed: this e-mail also covers the user's other pending alerts */
	snprintf(id_text, sizeof(id_text), "%lld", carrier.alert_id);
	snprintf(limit_text, sizeof(limit_text), "%d", MAILER_DIGEST_MAX - 1);
	params[0] = carrier.user_id;
	params[1] = carrier.kind;
	params[2] = id_text;
	params[3] = alerts_literal;
	params[4] = limit_text;
	res = run(conn, "collecting alerts for a digest", members_sql, 5, params,
			  PGRES_TUPLES_OK);
	if (res == NULL)
		goto done;
	if (PQntuples(res) > 0)
	{
		int			n = PQntuples(res);

		batch->alerts = xrealloc(batch->alerts, sizeof(Alert) * (n + 1));
		for (int i = 0; i < n; i++)
			fetch_alert(res, i, &batch->alerts[i + 1]);
		batch->n_alerts = n + 1;
	}
	PQclear(res);
	result = CLAIM_BATCH;

done:
	free(users_literal);
	free(alerts_literal);
	if (result != CLAIM_BATCH && result != CLAIM_VERDICT)
		alert_batch_free(batch);
	return result;
}

/*
 * Run --user-address-query for user_id inside a savepoint, so an error in
 * it leaves the claim transaction usable.  On success batch->user_address
 * (and user_timezone, from an optional second column) are set or left
 * NULL when the query returns no row or NULL.  On failure *error is set.
 */
bool
db_lookup_user(PGconn *conn, const MailerConfig *cfg, const char *user_id,
			   AlertBatch *batch, char **error)
{
	PGresult   *res;
	const char *params[1] = {user_id};

	*error = NULL;
	if (cfg->user_address_query == NULL)
		return true;
	if (!db_exec_simple(conn, "SAVEPOINT user_lookup"))
	{
		*error = error_text(conn, NULL);
		return false;
	}

	res = PQexecPrepared(conn, "user_address", 1, params, NULL, NULL, 0);
	if (PQresultStatus(res) != PGRES_TUPLES_OK)
	{
		char	   *msg = error_text(conn, res);

		/* The caller ends the run after a setup error; see db_setup_error */
		if (is_setup_error(res))
			log_setup_error(conn, res, "running --user-address-query", true);
		*error = xasprintf("--user-address-query failed: %s", msg);
		free(msg);
		PQclear(res);
		db_exec_simple(conn, "ROLLBACK TO SAVEPOINT user_lookup");
		return false;
	}
	if (PQntuples(res) > 0)
	{
		batch->user_address = get_text(res, 0, 0);
		if (PQnfields(res) > 1)
			batch->user_timezone = get_text(res, 0, 1);
	}
	PQclear(res);
	return db_exec_simple(conn, "RELEASE SAVEPOINT user_lookup");
}

static char *
batch_ids_literal(const AlertBatch *batch)
{
	StrBuf		ids;

	sb_init(&ids);
	sb_append_char(&ids, '{');
	for (int i = 0; i < batch->n_alerts; i++)
		sb_appendf(&ids, "%s%lld", i ? "," : "", batch->alerts[i].alert_id);
	sb_append_char(&ids, '}');
	return ids.data;
}

/*
 * Mark the carrier sent and the other alerts of the batch folded into it.
 * last_error is cleared because the alerts were delivered, while attempts
 * keeps counting, so a row still shows how many tries its delivery took.
 */
bool
db_mark_sent(PGconn *conn, const AlertBatch *batch, const char *message_id)
{
	char		id_text[24];
	char	   *ids = batch_ids_literal(batch);
	const char *params[3];
	PGresult   *res;
	bool		ok = false;

	snprintf(id_text, sizeof(id_text), "%lld", batch->alerts[0].alert_id);
	params[0] = id_text;
	params[1] = message_id;
	params[2] = ids;
	res = run(conn, "marking alerts sent", mark_sent_sql, 3, params, PGRES_COMMAND_OK);
	if (res != NULL)
	{
		ok = true;
		if (atoi(PQcmdTuples(res)) != batch->n_alerts)
			log_msg(LOG_LEVEL_WARNING,
					"alert %lld: marked %s of %d %s sent because the others were no longer pending",
					batch->alerts[0].alert_id, PQcmdTuples(res), batch->n_alerts,
					plural(batch->n_alerts, "alert", "alerts"));
		PQclear(res);
	}
	free(ids);
	return ok;
}

/* Mark an alert that has a verdict as sent without an e-mail; see mark_not_mailed_sql */
bool
db_mark_not_mailed(PGconn *conn, const Alert *alert)
{
	char		id_text[24];
	const char *params[1] = {id_text};
	PGresult   *res;

	snprintf(id_text, sizeof(id_text), "%lld", alert->alert_id);
	res = run(conn, "marking an alert with a verdict", mark_not_mailed_sql, 1,
			  params, PGRES_COMMAND_OK);
	if (res == NULL)
		return false;
	PQclear(res);
	return true;
}

/*
 * Count a failed attempt for every alert of the batch.  *gave_up is set
 * when the carrier reached --max-attempts and is now 'failed'.  Otherwise
 * *next_attempt is the carrier's next attempt time.
 */
bool
db_mark_attempt_failed(PGconn *conn, const MailerConfig *cfg,
					   const AlertBatch *batch, const char *error,
					   bool *gave_up, char **next_attempt)
{
	char	   *ids = batch_ids_literal(batch);
	char	   *short_error = sanitize_text(error, 1000);
	char		max_text[16];
	char		delay_text[16];
	char		cap_text[16];
	const char *params[5];
	PGresult   *res;

	*gave_up = false;
	*next_attempt = NULL;
	snprintf(max_text, sizeof(max_text), "%d", cfg->max_attempts);
	snprintf(delay_text, sizeof(delay_text), "%d", cfg->retry_delay);
	snprintf(cap_text, sizeof(cap_text), "%d", cfg->retry_max_delay);
	params[0] = ids;
	params[1] = short_error;
	params[2] = max_text;
	params[3] = delay_text;
	params[4] = cap_text;
	res = run(conn, "recording a failed attempt", mark_failed_sql, 5, params,
			  PGRES_TUPLES_OK);
	free(ids);
	free(short_error);
	if (res == NULL)
		return false;

	for (int i = 0; i < PQntuples(res); i++)
	{
		if (strtoll(PQgetvalue(res, i, 0), NULL, 10) != batch->alerts[0].alert_id)
			continue;
		*gave_up = strcmp(PQgetvalue(res, i, 1), "failed") == 0;
		*next_attempt = xstrdup(PQgetvalue(res, i, 3));
	}
	PQclear(res);
	return true;
}

/*
 * Seconds until the earliest pending alert is due: 0 when one is due now, -1 when nothing is pending, -2 on a database error.
 */
double
db_seconds_until_due(PGconn *conn)
{
	PGresult   *res = run(conn, "looking for the next due alert",
						  seconds_until_due_sql, 0, NULL, PGRES_TUPLES_OK);
	double		seconds;

	if (res == NULL)
		return -2;
	if (PQgetisnull(res, 0, 0))
		seconds = -1;
	else
	{
		seconds = strtod(PQgetvalue(res, 0, 0), NULL);
		if (seconds < 0)
			seconds = 0;
	}
	PQclear(res);
	return seconds;
}

/*
 * Count the pending alerts that are not due yet, because they wait for a
 * storm window to close or for a retry delay.  *earliest is when the first of them is due,
 * in seconds since the Unix epoch, and 0 when there is none.  Returns
 * false on a database error.
 */
bool
db_count_not_due(PGconn *conn, long *count, double *earliest)
{
	PGresult   *res = run(conn, "counting alerts not due yet", not_due_sql,
						  0, NULL, PGRES_TUPLES_OK);

	*count = 0;
	*earliest = 0;
	if (res == NULL)
		return false;
	*count = strtol(PQgetvalue(res, 0, 0), NULL, 10);
	if (!PQgetisnull(res, 0, 1))
		*earliest = strtod(PQgetvalue(res, 0, 1), NULL);
	PQclear(res);
	return true;
}
