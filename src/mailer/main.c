/*
 * main.c
 *		The main loop of login-anomaly-mailer: connect, LISTEN, drain the
 *		outbox on every NOTIFY and on a timer, reconnect when the database
 *		goes away, and stop cleanly on SIGTERM or SIGINT.
 *
 * NOTIFY is only a wake-up, because the outbox table is the truth.  An
 * alert committed while the mailer was down or disconnected is found by the
 * drain that follows every connect.  One committed during a drain is found
 * by the next wake-up or timer.
 */
#include <errno.h>
#include <fcntl.h>
#include <math.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/select.h>
#include <time.h>
#include <unistd.h>

#include "mailer.h"

/* Maximum wait between reconnection attempts, in seconds */
#define RECONNECT_DELAY_MAX 60

static volatile sig_atomic_t stop_signal = 0;

/* Self-pipe: the signal handler writes a byte so select() wakes at once */
static int	wake_pipe[2] = {-1, -1};

/* Maximum alert ids listed in one log line, which counts the rest */
#define LOG_IDS_MAX 20

/* Counts of one run, for the --once exit code and the stop log line */
typedef struct RunStats
{
	long		sent;
	long		printed;		/* --dry-run: e-mails printed instead of sent */
	long		folded;
	long		not_mailed;		/* alerts that already had a verdict */
	long		held;			/* alerts held back by a storm window */
	long		retried;
	long		failed;
} RunStats;

typedef enum StepResult
{
	STEP_IDLE,					/* nothing more is due */
	STEP_DONE,					/* one alert or batch was handled */
	STEP_DB_FAILED				/* a statement failed: the connection is
								 * rebuilt, or the run ends after a setup
								 * error (db_setup_error) */
} StepResult;

static void
handle_stop_signal(int signo)
{
	int			saved_errno = errno;
	ssize_t		ignored;

	stop_signal = signo;
	ignored = write(wake_pipe[1], "x", 1);
	(void) ignored;
	errno = saved_errno;
}

static bool
install_signal_handlers(void)
{
	struct sigaction sa;

	if (pipe(wake_pipe) != 0 ||
		fcntl(wake_pipe[0], F_SETFL, O_NONBLOCK) != 0 ||
		fcntl(wake_pipe[1], F_SETFL, O_NONBLOCK) != 0)
	{
		log_msg(LOG_LEVEL_ERROR, "could not create the signal pipe: %s", strerror(errno));
		return false;
	}
	memset(&sa, 0, sizeof(sa));
	sa.sa_handler = handle_stop_signal;
	sigemptyset(&sa.sa_mask);
	/* SA_RESTART lets an SMTP transfer in progress finish */
	sa.sa_flags = SA_RESTART;
	sigaction(SIGTERM, &sa, NULL);
	sigaction(SIGINT, &sa, NULL);
	signal(SIGPIPE, SIG_IGN);
	return true;
}

static void
drain_wake_pipe(void)
{
	char		buf[64];

	while (read(wake_pipe[0], buf, sizeof(buf)) > 0)
		;
}

/*
 * Wait up to seconds for the signal pipe or, when sock >= 0, for input on
 * the database socket.  Returns true when the socket is readable.
 */
static bool
wait_for_input(int sock, double seconds)
{
	fd_set		fds;
	struct timeval tv;
	int			max_fd = wake_pipe[0];

	if (seconds < 0)
		seconds = 0;
	tv.tv_sec = (time_t) seconds;
	tv.tv_usec = (suseconds_t) ((seconds - floor(seconds)) * 1e6);
	FD_ZERO(&fds);
	FD_SET(wake_pipe[0], &fds);
	if (sock >= 0)
	{
		FD_SET(sock, &fds);
		if (sock > max_fd)
			max_fd = sock;
	}
	if (select(max_fd + 1, &fds, NULL, NULL, &tv) <= 0)
		return false;
	if (FD_ISSET(wake_pipe[0], &fds))
		drain_wake_pipe();
	return sock >= 0 && FD_ISSET(sock, &fds);
}

/* Format a UTC time as "YYYY-MM-DD HH:MM:SS UTC", rounded up to the second */
static void
format_utc(double epoch, char *buf, size_t size)
{
	time_t		t = (time_t) ceil(epoch);
	struct tm	tm;

	gmtime_r(&t, &tm);
	strftime(buf, size, "%Y-%m-%d %H:%M:%S UTC", &tm);
}

/*
 * Append "1, 2, 3" for the alert ids of the batch, listing at most
 * LOG_IDS_MAX of them so that a digest of 1000 alerts fits on a log line.
 */
static void
append_batch_ids(StrBuf *out, const AlertBatch *batch)
{
	for (int i = 0; i < batch->n_alerts && i < LOG_IDS_MAX; i++)
		sb_appendf(out, "%s%lld", i ? ", " : "", batch->alerts[i].alert_id);
	if (batch->n_alerts > LOG_IDS_MAX)
		sb_appendf(out, " and %d more", batch->n_alerts - LOG_IDS_MAX);
}

/*
 * Print the e-mail that would be sent: the envelope, the header fields as
 * they would be sent, and the body as plain text, because its
 * quoted-printable form is hard to read.
 */
static void
print_dry_run(const AlertBatch *batch, const MailMessage *msg)
{
	const char *header_end = strstr(msg->text.data, "\r\n\r\n");
	const char *p;

	printf("==== dry run: alert %lld", batch->alerts[0].alert_id);
	if (batch->n_alerts > 1)
	{
		StrBuf		ids;

		sb_init(&ids);
		append_batch_ids(&ids, batch);
		printf(", a digest of %d alerts (ids %s)", batch->n_alerts, ids.data);
		sb_free(&ids);
	}
	printf("\n==== envelope from <%s> to", msg->envelope_from);
	for (int i = 0; i < msg->n_recipients; i++)
		printf(" <%s>", msg->recipients[i]);
	printf("\n==== subject: %s\n", msg->subject);
	printf("==== header fields as sent\n");
	for (p = msg->text.data; *p && p != header_end; p++)
		if (*p != '\r')
			putchar(*p);
	printf("\n==== body as plain text (sent as UTF-8 quoted-printable)\n");
	fputs(msg->body, stdout);
	printf("==== end of alert %lld\n\n", batch->alerts[0].alert_id);
	fflush(stdout);
}

/* Record a failed attempt for the batch and log it; false if the database is gone */
static bool
record_failure(PGconn *conn, const MailerConfig *cfg, const AlertBatch *batch,
			   const char *error, RunStats *stats)
{
	const Alert *carrier = &batch->alerts[0];
	bool		gave_up;
	char	   *next_attempt;

	if (!db_mark_attempt_failed(conn, cfg, batch, error, &gave_up, &next_attempt) ||
		!db_exec_simple(conn, "COMMIT"))
		return false;

	if (gave_up)
	{
		log_msg(LOG_LEVEL_ERROR, "alert %lld failed after %d %s, giving up: %s",
				carrier->alert_id, carrier->attempts + 1,
				plural(carrier->attempts + 1, "attempt", "attempts"), error);
		stats->failed++;
	}
	else
	{
		log_msg(LOG_LEVEL_WARNING,
				"alert %lld not sent (attempt %d of %d), retrying at %s: %s",
				carrier->alert_id, carrier->attempts + 1, cfg->max_attempts,
				next_attempt ? next_attempt : "a later time", error);
		stats->retried++;
	}
	if (batch->n_alerts > 1)
	{
		StrBuf		ids;

		sb_init(&ids);
		append_batch_ids(&ids, batch);
		log_msg(LOG_LEVEL_INFO,
				"alert %lld: the failed attempt was for a digest of %d alerts (ids %s), so each of them counts the attempt",
				carrier->alert_id, batch->n_alerts, ids.data);
		sb_free(&ids);
	}
	free(next_attempt);
	return true;
}

static void
log_sent(const AlertBatch *batch, const MailMessage *msg)
{
	const Alert *carrier = &batch->alerts[0];
	StrBuf		ids;

	if (batch->n_alerts == 1)
	{
		log_msg(LOG_LEVEL_INFO, "alert %lld sent to %d %s as %s",
				carrier->alert_id, msg->n_recipients,
				plural(msg->n_recipients, "recipient", "recipients"),
				msg->message_id);
		return;
	}

	sb_init(&ids);
	append_batch_ids(&ids, batch);
	log_msg(LOG_LEVEL_INFO,
			"alert %lld sent to %d %s as %s, a digest of %d alerts (ids %s)",
			carrier->alert_id, msg->n_recipients,
			plural(msg->n_recipients, "recipient", "recipients"),
			msg->message_id, batch->n_alerts, ids.data);
	sb_free(&ids);
	for (int i = 1; i < batch->n_alerts; i++)
		log_msg(LOG_LEVEL_DEBUG, "alert %lld folded into alert %lld",
				batch->alerts[i].alert_id, carrier->alert_id);
}

/*
 * Log one line per alert that a claim held back for the user's storm
 * window.  In --dry-run the hold is rolled back, so the held alerts are
 * added to skip_alerts and not claimed again in this run.
 */
static void
log_held(const MailerConfig *cfg, const HeldAlerts *held, StrBuf *skip_alerts,
		 RunStats *stats)
{
	char	   *user_id = sanitize_text(held->user_id, 100);
	char		until[32];
	char		id_text[24];

	format_utc(held->until, until, sizeof(until));
	for (int i = 0; i < held->n_alerts; i++)
	{
		if (cfg->dry_run)
		{
			log_msg(LOG_LEVEL_INFO,
					"alert %lld of user \"%s\" would be held by the storm window (the user was mailed less than %d s ago) and sent at %s",
					held->alert_ids[i], user_id, cfg->storm_window, until);
			snprintf(id_text, sizeof(id_text), "%lld", held->alert_ids[i]);
			sql_array_append(skip_alerts, id_text);
		}
		else
			log_msg(LOG_LEVEL_INFO,
					"alert %lld of user \"%s\" held by the storm window (the user was mailed less than %d s ago) and will be sent %s %s",
					held->alert_ids[i], user_id, cfg->storm_window,
					cfg->once ? "by the first run after" : "at", until);
	}
	stats->held += held->n_alerts;
	free(user_id);
}

/*
 * Mark a claimed alert that already has an analyst's verdict as sent
 * without mailing it, because the analyst has dealt with it.  In --dry-run
 * the mark is rolled back and the alert is added to skip_alerts.
 */
static StepResult
close_with_verdict(PGconn *conn, const MailerConfig *cfg, const Alert *alert,
				   StrBuf *skip_alerts, RunStats *stats)
{
	char	   *verdict = sanitize_text(alert->verdict, 20);
	char	   *verdict_by = sanitize_text(alert->verdict_by, 100);
	const char *by = *verdict_by ? verdict_by : "an unknown role";
	char		id_text[24];
	StepResult	result = STEP_DONE;

	if (cfg->dry_run)
	{
		if (db_exec_simple(conn, "ROLLBACK"))
		{
			log_msg(LOG_LEVEL_INFO, "alert %lld would not be mailed: verdict %s recorded by %s",
					alert->alert_id, verdict, by);
			snprintf(id_text, sizeof(id_text), "%lld", alert->alert_id);
			sql_array_append(skip_alerts, id_text);
		}
		else
			result = STEP_DB_FAILED;
	}
	else if (db_mark_not_mailed(conn, alert) && db_exec_simple(conn, "COMMIT"))
	{
		log_msg(LOG_LEVEL_INFO, "alert %lld not mailed: verdict %s recorded by %s",
				alert->alert_id, verdict, by);
		stats->not_mailed++;
	}
	else
		result = STEP_DB_FAILED;
	free(verdict);
	free(verdict_by);
	return result;
}

/*
 * Claim the next due alert, mail it (with the user's other pending alerts
 * when it becomes a digest) and commit the outcome.
 */
static StepResult
process_one(PGconn *conn, const MailerConfig *cfg, StrBuf *skip_users,
			StrBuf *skip_alerts, RunStats *stats)
{
	AlertBatch	batch;
	MailMessage msg;
	ClaimResult claim;
	long long	carrier_id;
	HeldAlerts	held;
	char	   *error = NULL;
	char		id_text[24];
	StepResult	result = STEP_DONE;

	if (!db_exec_simple(conn, "BEGIN"))
		return STEP_DB_FAILED;

	claim = db_claim_batch(conn, cfg, skip_users, skip_alerts, &batch,
						   &carrier_id, &held);
	switch (claim)
	{
		case CLAIM_NONE:
			return db_exec_simple(conn, "ROLLBACK") ? STEP_IDLE : STEP_DB_FAILED;

		case CLAIM_DB_ERROR:
			return STEP_DB_FAILED;

		case CLAIM_BUSY:
			log_msg(LOG_LEVEL_DEBUG,
					"alert %lld: another mailer is mailing this user, skipping the user for now",
					carrier_id);
			return db_exec_simple(conn, "ROLLBACK") ? STEP_DONE : STEP_DB_FAILED;

		case CLAIM_DEFERRED:
			{
				bool		ok;

				ok = db_exec_simple(conn, cfg->dry_run ? "ROLLBACK" : "COMMIT");
				if (ok)
					log_held(cfg, &held, skip_alerts, stats);
				held_alerts_free(&held);
				return ok ? STEP_DONE : STEP_DB_FAILED;
			}

		case CLAIM_VERDICT:
			result = close_with_verdict(conn, cfg, &batch.alerts[0], skip_alerts,
										stats);
			alert_batch_free(&batch);
			return result;

		case CLAIM_BATCH:
			break;
	}

	/* Only anomaly alerts go to the user; scoring failures are for the team */
	if (strcmp(batch.alerts[0].kind, "anomaly") == 0 &&
		!db_lookup_user(conn, cfg, batch.alerts[0].user_id, &batch, &error))
	{
		/* A setup error counts no attempt, because the run ends */
		if (PQstatus(conn) != CONNECTION_OK || db_setup_error())
			result = STEP_DB_FAILED;
		else if (cfg->dry_run)
		{
			log_msg(LOG_LEVEL_WARNING, "alert %lld: %s", batch.alerts[0].alert_id, error);
			db_exec_simple(conn, "ROLLBACK");
		}
		else if (!record_failure(conn, cfg, &batch, error, stats))
			result = STEP_DB_FAILED;
		goto done;
	}

	if (!message_compose(cfg, &batch, &msg, &error))
	{
		if (cfg->dry_run)
		{
			log_msg(LOG_LEVEL_WARNING, "alert %lld: %s", batch.alerts[0].alert_id, error);
			db_exec_simple(conn, "ROLLBACK");
		}
		else if (!record_failure(conn, cfg, &batch, error, stats))
			result = STEP_DB_FAILED;
		goto done;
	}

	if (cfg->dry_run)
	{
		print_dry_run(&batch, &msg);
		stats->printed++;
		stats->folded += batch.n_alerts - 1;
		for (int i = 0; i < batch.n_alerts; i++)
		{
			snprintf(id_text, sizeof(id_text), "%lld", batch.alerts[i].alert_id);
			sql_array_append(skip_alerts, id_text);
		}
		if (!db_exec_simple(conn, "ROLLBACK"))
			result = STEP_DB_FAILED;
		message_free(&msg);
		goto done;
	}

	/*
	 * The row locks are held while the server takes the message, and the
	 * mark is committed right after.  If the process dies in between, the
	 * alerts stay pending and are mailed again with the same Message-ID.
	 */
	if (smtp_send(cfg, &msg, &error))
	{
		if (db_mark_sent(conn, &batch, msg.message_id) &&
			db_exec_simple(conn, "COMMIT"))
		{
			log_sent(&batch, &msg);
			stats->sent++;
			stats->folded += batch.n_alerts - 1;
		}
		else
		{
			log_msg(LOG_LEVEL_WARNING,
					"alert %lld was sent as %s but could not be marked sent; it will be sent again with the same Message-ID",
					batch.alerts[0].alert_id, msg.message_id);
			result = STEP_DB_FAILED;
		}
	}
	else if (!record_failure(conn, cfg, &batch, error, stats))
		result = STEP_DB_FAILED;
	message_free(&msg);

done:
	free(error);
	alert_batch_free(&batch);
	return result;
}

/* Drop the connection after a failed step; any open transaction is rolled back by the server */
static void
drop_connection(PGconn **conn)
{
	if (*conn != NULL)
	{
		PQfinish(*conn);
		*conn = NULL;
	}
}

/* Consume pending input and notifications; returns false when the connection is lost */
static bool
consume_notifications(PGconn *conn, const MailerConfig *cfg, bool *woken)
{
	PGnotify   *notify;

	if (!PQconsumeInput(conn))
		return false;
	while ((notify = PQnotifies(conn)) != NULL)
	{
		if (strcmp(notify->relname, cfg->channel) == 0)
		{
			*woken = true;
			log_msg(LOG_LEVEL_DEBUG, "woken by NOTIFY with payload %s",
					notify->extra[0] ? notify->extra : "(empty)");
		}
		PQfreemem(notify);
	}
	return true;
}

/*
 * In --once mode, log how many pending alerts wait for a later run, so a
 * run that mails nothing still shows that alerts are waiting.
 */
static void
log_not_due(PGconn *conn)
{
	long		count;
	double		earliest;
	char		earliest_text[32];

	if (!db_count_not_due(conn, &count, &earliest) || count == 0)
		return;
	format_utc(earliest, earliest_text, sizeof(earliest_text));
	log_msg(LOG_LEVEL_INFO,
			"%ld pending %s not due yet (storm window or retry delay), the first at %s",
			count, plural(count, "alert is", "alerts are"), earliest_text);
}

/* Log the counts of the run as its last line */
static void
log_summary(const MailerConfig *cfg, const RunStats *stats)
{
	StrBuf		line;

	sb_init(&line);
	if (cfg->dry_run)
		sb_appendf(&line, "%ld %s printed and none sent (dry run)", stats->printed,
				   plural(stats->printed, "e-mail", "e-mails"));
	else
		sb_appendf(&line, "%ld %s sent", stats->sent,
				   plural(stats->sent, "e-mail", "e-mails"));
	sb_appendf(&line, ", %ld %s folded into digests", stats->folded,
			   plural(stats->folded, "alert", "alerts"));
	/* Only when there were any, so the usual line keeps its shape */
	if (stats->not_mailed > 0)
		sb_appendf(&line, ", %ld %s not mailed because of a verdict",
				   stats->not_mailed, plural(stats->not_mailed, "alert", "alerts"));
	if (cfg->dry_run)
		sb_appendf(&line, ", %ld %s would be held for later by the storm window",
				   stats->held, plural(stats->held, "alert", "alerts"));
	else if (cfg->once)
		sb_appendf(&line, ", %ld %s held for a later run by the storm window",
				   stats->held, plural(stats->held, "alert", "alerts"));
	else
		sb_appendf(&line, ", %ld %s held back by the storm window",
				   stats->held, plural(stats->held, "alert", "alerts"));
	sb_appendf(&line, ", %ld %s to retry, %ld %s failed",
			   stats->retried, plural(stats->retried, "attempt", "attempts"),
			   stats->failed, plural(stats->failed, "alert", "alerts"));
	log_msg(LOG_LEVEL_INFO, "stopped: %s", line.data);
	sb_free(&line);
}

static int
run(const MailerConfig *cfg)
{
	PGconn	   *conn = NULL;
	StrBuf		skip_users;
	StrBuf		skip_alerts;
	RunStats	stats = {0, 0, 0, 0, 0, 0, 0};
	int			reconnect_delay = 1;
	int			exit_code = EXIT_MAILER_OK;
	bool		ever_connected = false;

	sb_init(&skip_users);
	sb_init(&skip_alerts);

	while (!stop_signal)
	{
		bool		woken = false;
		double		due_in;
		double		timeout;

		if (conn == NULL)
		{
			conn = db_connect(cfg);
			if (conn != NULL && !db_prepare_user_query(conn, cfg))
			{
				exit_code = EXIT_MAILER_CONFIG;
				break;
			}
			if (conn != NULL && !cfg->once && !db_listen(conn, cfg->channel))
				drop_connection(&conn);
			if (conn == NULL && db_setup_error())
			{
				exit_code = EXIT_MAILER_CONFIG;
				break;
			}
			if (conn == NULL)
			{
				if (cfg->once)
				{
					exit_code = EXIT_MAILER_DATABASE;
					break;
				}
				log_msg(LOG_LEVEL_WARNING, "database unavailable, reconnecting in %d s",
						reconnect_delay);
				wait_for_input(-1, reconnect_delay);
				reconnect_delay = reconnect_delay * 2 > RECONNECT_DELAY_MAX
					? RECONNECT_DELAY_MAX : reconnect_delay * 2;
				continue;
			}
			log_msg(LOG_LEVEL_INFO, "%s to database \"%s\" on %s port %s as user \"%s\"%s%s%s",
					ever_connected ? "reconnected" : "connected",
					PQdb(conn), PQhost(conn), PQport(conn), PQuser(conn),
					cfg->once ? "" : ", listening on channel \"",
					cfg->once ? "" : cfg->channel,
					cfg->once ? "" : "\"");
			ever_connected = true;
			reconnect_delay = 1;
		}

		/* Drain everything that is due, skipping users another mailer has locked */
		skip_users.len = 0;
		skip_users.data[0] = '\0';
		for (;;)
		{
			StepResult step;

			if (stop_signal)
				break;
			step = process_one(conn, cfg, &skip_users, &skip_alerts, &stats);
			if (step == STEP_IDLE)
				break;
			if (step == STEP_DB_FAILED)
			{
				if (!db_setup_error())
					log_msg(LOG_LEVEL_WARNING, "lost the database connection");
				drop_connection(&conn);
				break;
			}
		}
		if (conn == NULL && db_setup_error())
		{
			exit_code = EXIT_MAILER_CONFIG;
			break;
		}
		if (conn == NULL)
		{
			if (cfg->once)
			{
				exit_code = EXIT_MAILER_DATABASE;
				break;
			}
			continue;
		}
		if (cfg->once || stop_signal)
			break;

		/* A NOTIFY that arrived during the drain is already in libpq's buffer */
		if (!consume_notifications(conn, cfg, &woken))
		{
			log_msg(LOG_LEVEL_WARNING, "lost the database connection");
			drop_connection(&conn);
			continue;
		}
		if (woken)
			continue;

		due_in = db_seconds_until_due(conn);
		if (due_in == -2)
		{
			drop_connection(&conn);
			if (db_setup_error())
			{
				exit_code = EXIT_MAILER_CONFIG;
				break;
			}
			continue;
		}
		timeout = cfg->poll_interval;
		if (due_in >= 0 && due_in < timeout)
		{
			/*
			 * Something due now that the drain left is held by another
			 * mailer; look again shortly rather than spin.
			 */
			timeout = due_in > 0 ? due_in + 0.01 : 1.0;
			if (timeout > cfg->poll_interval)
				timeout = cfg->poll_interval;
		}

		if (wait_for_input(PQsocket(conn), timeout) &&
			!consume_notifications(conn, cfg, &woken))
		{
			log_msg(LOG_LEVEL_WARNING, "lost the database connection");
			drop_connection(&conn);
		}
	}

	if (stop_signal)
		log_msg(LOG_LEVEL_INFO, "received signal %d, stopping", (int) stop_signal);
	if (db_setup_error())
		log_msg(LOG_LEVEL_ERROR,
				"stopping with exit code %d after the setup error above, because reconnecting cannot fix it",
				EXIT_MAILER_CONFIG);
	if (conn != NULL && cfg->once && !cfg->dry_run)
		log_not_due(conn);
	log_summary(cfg, &stats);
	drop_connection(&conn);
	sb_free(&skip_users);
	sb_free(&skip_alerts);

	if (exit_code == EXIT_MAILER_OK && cfg->once && !cfg->dry_run &&
		(stats.retried > 0 || stats.failed > 0))
		exit_code = EXIT_MAILER_UNSENT;
	return exit_code;
}

int
main(int argc, char **argv)
{
	MailerConfig cfg;
	int			rc;

	/* Log lines, the Date header and time zone switching all assume UTC */
	setenv("TZ", "UTC", 1);
	tzset();

	rc = config_load(&cfg, argc, argv);
	if (rc >= 0)
	{
		config_free(&cfg);
		return rc;
	}
	log_init(cfg.verbose);

	if (!install_signal_handlers() || !smtp_init(&cfg))
	{
		config_free(&cfg);
		return EXIT_MAILER_INTERNAL;
	}

	log_msg(LOG_LEVEL_INFO, "%s %s starting%s%s", MAILER_NAME, MAILER_VERSION,
			cfg.dry_run ? " in dry-run mode" : (cfg.once ? " in --once mode" : ""),
			cfg.storm_window > 0 ? "" : ", storm window off");
	rc = run(&cfg);

	smtp_cleanup();
	config_free(&cfg);
	close(wake_pipe[0]);
	close(wake_pipe[1]);
	return rc;
}
