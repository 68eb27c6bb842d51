/*
 * mailer.h
 *		Shared types of login-anomaly-mailer, the daemon that turns rows of
 *		the alert outbox (login_anomaly.alerts) into e-mails.
 *
 * The program is split by idea.  config.c reads options and the config
 * file, db.c claims and marks alerts, and message.c composes the MIME
 * message that smtp.c hands to libcurl.  log.c writes log lines and owns
 * the string buffer, and main.c runs the LISTEN/poll loop.
 */
#ifndef LOGIN_ANOMALY_MAILER_H
#define LOGIN_ANOMALY_MAILER_H

#include <stdbool.h>
#include <stddef.h>
#include <stdarg.h>

#include <libpq-fe.h>

#define MAILER_NAME "login-anomaly-mailer"
#define MAILER_VERSION "0.2.0"

/* Exit codes; README.md documents them for operators */
#define EXIT_MAILER_OK			0
#define EXIT_MAILER_CONFIG		1	/* invalid configuration; a role, password
									 * or database that the server rejects at
									 * connect time; a missing privilege or
									 * database object */
#define EXIT_MAILER_DATABASE	2	/* --once: database unreachable, starting
									 * up or shutting down */
#define EXIT_MAILER_UNSENT		3	/* --once: some alerts were not delivered */
#define EXIT_MAILER_INTERNAL	4	/* out of memory or another internal error */

/* Upper bound of alerts listed in one digest e-mail */
#define MAILER_DIGEST_MAX		1000

/* Log levels, lowest first */
typedef enum LogLevel
{
	LOG_LEVEL_DEBUG,
	LOG_LEVEL_INFO,
	LOG_LEVEL_WARNING,
	LOG_LEVEL_ERROR,
	LOG_LEVEL_FATAL
} LogLevel;

/* Growable NUL-terminated byte string */
typedef struct StrBuf
{
	char	   *data;
	size_t		len;
	size_t		cap;
} StrBuf;

/* Settings from the command line and the config file */
typedef struct MailerConfig
{
	char	   *conninfo;
	char	   *smtp_url;
	char	   *smtp_user;
	char	   *smtp_password_file;
	char	   *smtp_password;	/* loaded from the file or the environment */
	bool		require_starttls;
	bool		insecure_tls;
	int			smtp_timeout;	/* seconds */
	char	   *from;			/* as given, "Name <address>" or "address" */
	char	   *from_name;		/* display name, may be NULL */
	char	   *from_address;
	char	  **to;				/* fixed recipients, validated addresses */
	int			n_to;
	bool		once;
	bool		dry_run;
	bool		verbose;
	char	   *channel;
	char	   *user_address_query;
	char	   *message_id_domain;
	int			max_attempts;
	int			retry_delay;	/* seconds before the first retry */
	int			retry_max_delay;	/* cap of the exponential backoff */
	double		poll_interval;	/* seconds */
	int			storm_window;	/* seconds; 0 turns folding off */
} MailerConfig;

/* One row of login_anomaly.alerts as the e-mail needs it */
typedef struct Alert
{
	long long	alert_id;
	char	   *kind;
	char	   *user_id;
	bool		has_login_ts;
	double		login_ts;		/* seconds since the Unix epoch */
	double		created_at;
	char	   *ip;
	char	   *network;		/* the network prefix of ip */
	char	   *country;
	char	   *region;
	char	   *city;
	char	   *user_agent;
	char	   *browser;
	char	   *os;
	char	   *device;
	char	   *score;			/* text, NULL when unknown */
	char	   *threshold;
	char	   *risk;
	char	  **reasons;
	int			n_reasons;
	char	   *error;
	int			attempts;
	char	   *verdict;		/* it_was_me, not_me or NULL */
	char	   *verdict_by;		/* the role that recorded the verdict */
} Alert;

/*
 * What one e-mail covers: the carrier alert, whose id names the Message-ID,
 * plus the alerts folded into it when it is a digest.
 */
typedef struct AlertBatch
{
	Alert	   *alerts;
	int			n_alerts;		/* alerts[0] is the carrier */
	char	   *user_address;	/* the user's own address, or NULL */
	char	   *user_timezone;	/* IANA name, or NULL for UTC */
} AlertBatch;

/* A composed message with its SMTP envelope */
typedef struct MailMessage
{
	char	   *message_id;		/* with angle brackets */
	char	   *envelope_from;
	char	  **recipients;
	int			n_recipients;
	StrBuf		text;			/* the whole RFC 5322 message, CRLF line ends */
	char	   *subject;		/* the Subject before RFC 2047 encoding */
	char	   *body;			/* the body before quoted-printable, LF line ends */
} MailMessage;

/*
 * The alerts that one claim held back because the user's storm window is
 * open.  They are due again when the window closes.
 */
typedef struct HeldAlerts
{
	long long  *alert_ids;		/* in ascending order */
	int			n_alerts;
	char	   *user_id;
	double		until;			/* end of the window, seconds since the Unix epoch */
} HeldAlerts;

/* Outcome of one claim in the outbox */
typedef enum ClaimResult
{
	CLAIM_NONE,					/* nothing due */
	CLAIM_BATCH,				/* a batch is locked and ready to mail */
	CLAIM_VERDICT,				/* the claimed alert already has a verdict */
	CLAIM_DEFERRED,				/* the user's storm window is open */
	CLAIM_BUSY,					/* another mailer holds this user */
	CLAIM_DB_ERROR
} ClaimResult;

/* log.c */
extern void log_init(bool verbose);
extern void log_msg(LogLevel level, const char *fmt,...)
			__attribute__((format(printf, 2, 3)));
extern void log_hint(const char *fmt,...)
			__attribute__((format(printf, 1, 2)));
extern const char *plural(long n, const char *singular, const char *plural_form);
extern void *xmalloc(size_t size);
extern void *xrealloc(void *ptr, size_t size);
extern char *xstrdup(const char *s);
extern char *xstrndup(const char *s, size_t len);
extern char *xasprintf(const char *fmt,...)
			__attribute__((format(printf, 1, 2)));
extern void sb_init(StrBuf *sb);
extern void sb_free(StrBuf *sb);
extern void sb_append(StrBuf *sb, const char *s);
extern void sb_append_len(StrBuf *sb, const char *s, size_t len);
extern void sb_append_char(StrBuf *sb, char c);
extern void sb_appendf(StrBuf *sb, const char *fmt,...)
			__attribute__((format(printf, 2, 3)));

/* config.c */
extern int	config_load(MailerConfig *cfg, int argc, char **argv);
extern void config_free(MailerConfig *cfg);
extern bool address_is_valid(const char *address);

/* db.c */
extern PGconn *db_connect(const MailerConfig *cfg);
extern bool db_listen(PGconn *conn, const char *channel);
extern bool db_prepare_user_query(PGconn *conn, const MailerConfig *cfg);
extern bool db_exec_simple(PGconn *conn, const char *sql);
extern bool db_setup_error(void);
extern ClaimResult db_claim_batch(PGconn *conn, const MailerConfig *cfg,
								  StrBuf *skip_users,
								  const StrBuf *skip_alerts,
								  AlertBatch *batch, long long *carrier_id,
								  HeldAlerts *held);
extern void held_alerts_free(HeldAlerts *held);
extern bool db_lookup_user(PGconn *conn, const MailerConfig *cfg,
						   const char *user_id, AlertBatch *batch,
						   char **error);
extern bool db_mark_sent(PGconn *conn, const AlertBatch *batch,
						 const char *message_id);
extern bool db_mark_not_mailed(PGconn *conn, const Alert *alert);
extern bool db_mark_attempt_failed(PGconn *conn, const MailerConfig *cfg,
								   const AlertBatch *batch, const char *error,
								   bool *gave_up, char **next_attempt);
extern double db_seconds_until_due(PGconn *conn);
extern bool db_count_not_due(PGconn *conn, long *count, double *earliest);
extern void alert_batch_free(AlertBatch *batch);
extern void sql_array_append(StrBuf *array, const char *element);

/* message.c */
extern bool message_compose(const MailerConfig *cfg, const AlertBatch *batch,
							MailMessage *msg, char **error);
extern void message_free(MailMessage *msg);
extern char *message_id_for(const MailerConfig *cfg, long long alert_id);
extern char *sanitize_text(const char *s, size_t max_bytes);

/* smtp.c */
extern bool smtp_init(const MailerConfig *cfg);
extern bool smtp_send(const MailerConfig *cfg, const MailMessage *msg,
					  char **error);
extern void smtp_cleanup(void);

#endif							/* LOGIN_ANOMALY_MAILER_H */
