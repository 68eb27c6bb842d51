/*
 * config.c
 *		Options of login-anomaly-mailer: the command line, the config file
 *		(the same settings as "key = value" lines) and their validation.
 *
 * The config file is read first and the command line overrides it.  The
 * SMTP password is never taken from the command line, where any local user
 * could read it in /proc: it comes from --smtp-password-file or from the
 * environment variable LOGIN_ANOMALY_SMTP_PASSWORD.
 */
#include <ctype.h>
#include <errno.h>
#include <getopt.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

#include "mailer.h"

#define PASSWORD_ENV "LOGIN_ANOMALY_SMTP_PASSWORD"

enum
{
	OPT_DBNAME = 256,
	OPT_SMTP_URL,
	OPT_SMTP_USER,
	OPT_SMTP_PASSWORD_FILE,
	OPT_REQUIRE_STARTTLS,
	OPT_INSECURE_TLS,
	OPT_SMTP_TIMEOUT,
	OPT_FROM,
	OPT_TO,
	OPT_ONCE,
	OPT_DRY_RUN,
	OPT_CHANNEL,
	OPT_CONFIG,
	OPT_USER_ADDRESS_QUERY,
	OPT_MESSAGE_ID_DOMAIN,
	OPT_MAX_ATTEMPTS,
	OPT_RETRY_DELAY,
	OPT_RETRY_MAX_DELAY,
	OPT_POLL_INTERVAL,
	OPT_STORM_WINDOW,
	OPT_VERBOSE,
	OPT_HELP,
	OPT_VERSION
};

static const struct option long_options[] = {
	{"dbname", required_argument, NULL, OPT_DBNAME},
	{"smtp-url", required_argument, NULL, OPT_SMTP_URL},
	{"smtp-user", required_argument, NULL, OPT_SMTP_USER},
	{"smtp-password-file", required_argument, NULL, OPT_SMTP_PASSWORD_FILE},
	{"require-starttls", no_argument, NULL, OPT_REQUIRE_STARTTLS},
	{"insecure-tls", no_argument, NULL, OPT_INSECURE_TLS},
	{"smtp-timeout", required_argument, NULL, OPT_SMTP_TIMEOUT},
	{"from", required_argument, NULL, OPT_FROM},
	{"to", required_argument, NULL, OPT_TO},
	{"once", no_argument, NULL, OPT_ONCE},
	{"dry-run", no_argument, NULL, OPT_DRY_RUN},
	{"channel", required_argument, NULL, OPT_CHANNEL},
	{"config", required_argument, NULL, OPT_CONFIG},
	{"user-address-query", required_argument, NULL, OPT_USER_ADDRESS_QUERY},
	{"message-id-domain", required_argument, NULL, OPT_MESSAGE_ID_DOMAIN},
	{"max-attempts", required_argument, NULL, OPT_MAX_ATTEMPTS},
	{"retry-delay", required_argument, NULL, OPT_RETRY_DELAY},
	{"retry-max-delay", required_argument, NULL, OPT_RETRY_MAX_DELAY},
	{"poll-interval", required_argument, NULL, OPT_POLL_INTERVAL},
	{"storm-window", required_argument, NULL, OPT_STORM_WINDOW},
	{"verbose", no_argument, NULL, OPT_VERBOSE},
	{"help", no_argument, NULL, OPT_HELP},
	{"version", no_argument, NULL, OPT_VERSION},
	{NULL, 0, NULL, 0}
};

static void
print_usage(FILE *out)
{
	fprintf(out,
			"%s turns the alerts of the login_anomaly extension into e-mails.\n"
			"\n"
			"Usage:\n"
			"  %s [OPTION]...\n"
			"\n"
			"Database:\n"
			"  --dbname=CONNINFO          libpq connection string or URI of the primary\n"
			"  --channel=NAME             NOTIFY channel to LISTEN on (default: login_anomaly)\n"
			"  --user-address-query=SQL   query returning the user's e-mail address for\n"
			"                             user_id $1, optionally a time zone name as the\n"
			"                             second column; tables must be schema-qualified\n"
			"\n"
			"SMTP:\n"
			"  --smtp-url=URL             smtp://host[:port] (STARTTLS when offered) or\n"
			"                             smtps://host[:port] (TLS from the start)\n"
			"  --smtp-user=NAME           log in as NAME; the password comes from\n"
			"                             --smtp-password-file or $%s\n"
			"  --smtp-password-file=FILE  file whose first line is the SMTP password\n"
			"  --require-starttls         fail unless an smtp:// server upgrades to TLS\n"
			"  --insecure-tls             do not verify the server certificate (tests only)\n"
			"  --smtp-timeout=SECONDS     timeout of one SMTP transaction (default: 60)\n"
			"  --from=ADDRESS             sender, \"Name <address>\" or \"address\"\n"
			"  --to=ADDRESS               fixed recipient such as the security team;\n"
			"                             repeat or separate with commas for several\n"
			"  --message-id-domain=NAME   domain part of Message-ID (default: host name)\n"
			"\n"
			"Behaviour:\n"
			"  --once                     mail the alerts that are due, then exit\n"
			"  --dry-run                  print the e-mails, send and mark nothing (implies --once)\n"
			"  --max-attempts=N           give up on an alert after N failed attempts (default: 10)\n"
			"  --retry-delay=SECONDS      delay before the first retry, doubled on each\n"
			"                             further failure (default: 60)\n"
			"  --retry-max-delay=SECONDS  cap of the retry delay (default: 3600)\n"
			"  --poll-interval=SECONDS    look at the outbox at least this often (default: 30)\n"
			"  --storm-window=SECONDS     at most one e-mail per user in this window; later\n"
			"                             alerts go into a digest (default: 300, 0 = off)\n"
			"  --config=FILE              read settings from FILE (key = value lines)\n"
			"  --verbose                  log debugging detail\n"
			"  --help                     show this help, then exit\n"
			"  --version                  show the version, then exit\n"
			"\n"
			"Exit status: 0 success, 1 invalid options or config, 2 database unreachable\n"
			"(--once), 3 some alerts not delivered (--once), 4 internal error.\n",
			MAILER_NAME, MAILER_NAME, PASSWORD_ENV);
}

static void
set_string(char **field, const char *value)
{
	free(*field);
	*field = xstrdup(value);
}

static bool
parse_int(const char *name, const char *value, int min, int max, int *out)
{
	char	   *end;
	long		v;

	errno = 0;
	v = strtol(value, &end, 10);
	if (errno != 0 || end == value || *end != '\0' || v < min || v > max)
	{
		log_msg(LOG_LEVEL_ERROR,
				"invalid value \"%s\" for %s: expected an integer from %d to %d",
				value, name, min, max);
		return false;
	}
	*out = (int) v;
	return true;
}

static bool
parse_seconds(const char *name, const char *value, double min, double *out)
{
	char	   *end;
	double		v;

	errno = 0;
	v = strtod(value, &end);
	if (errno != 0 || end == value || *end != '\0' || !(v >= min) || v > 86400.0)
	{
		log_msg(LOG_LEVEL_ERROR,
				"invalid value \"%s\" for %s: expected seconds from %g to 86400",
				value, name, min);
		return false;
	}
	*out = v;
	return true;
}

static bool
parse_bool(const char *name, const char *value, bool *out)
{
	if (strcasecmp(value, "true") == 0 || strcasecmp(value, "yes") == 0 ||
		strcasecmp(value, "on") == 0 || strcmp(value, "1") == 0)
		*out = true;
	else if (strcasecmp(value, "false") == 0 || strcasecmp(value, "no") == 0 ||
			 strcasecmp(value, "off") == 0 || strcmp(value, "0") == 0)
		*out = false;
	else
	{
		log_msg(LOG_LEVEL_ERROR,
				"invalid value \"%s\" for %s: expected true or false",
				value, name);
		return false;
	}
	return true;
}

/*
 * Check an addr-spec (RFC 5321 mailbox): a dot-atom local part of at most
 * 64 bytes, "@", and a domain of letters, digits and hyphens.  Quoted local
 * parts, address literals and non-ASCII (SMTPUTF8) addresses are rejected,
 * because none of them is needed for alert recipients and each one widens
 * what can reach an SMTP command line.
 */
bool
address_is_valid(const char *address)
{
	const char *at;
	const char *p;
	size_t		local_len;
	size_t		label_len = 0;
	int			labels = 0;

	if (address == NULL || strlen(address) > 254)
		return false;
	at = strrchr(address, '@');
	if (at == NULL)
		return false;
	local_len = (size_t) (at - address);
	if (local_len == 0 || local_len > 64)
		return false;

	for (p = address; p < at; p++)
	{
		unsigned char c = (unsigned char) *p;

		if (c == '.')
		{
			if (p == address || p + 1 == at || p[1] == '.')
				return false;
			continue;
		}
		if (!isalnum(c) && strchr("!#$%&'*+/=?^_`{|}~-", c) == NULL)
			return false;
	}

	for (p = at + 1;; p++)
	{
		unsigned char c = (unsigned char) *p;

		if (c == '.' || c == '\0')
		{
			if (label_len == 0 || label_len > 63 || p[-1] == '-')
				return false;
			labels++;
			label_len = 0;
			if (c == '\0')
				break;
			continue;
		}
		if (!isalnum(c) && c != '-')
			return false;
		if (c == '-' && label_len == 0)
			return false;
		label_len++;
	}
	return labels >= 1;
}

static char *
trim(char *s)
{
	char	   *end;

	while (isspace((unsigned char) *s))
		s++;
	end = s + strlen(s);
	while (end > s && isspace((unsigned char) end[-1]))
		*--end = '\0';
	return s;
}

/* Add each comma-separated address of value to the fixed recipients */
static bool
add_recipients(MailerConfig *cfg, const char *value)
{
	char	   *copy = xstrdup(value);
	char	   *save = NULL;
	char	   *item;
	bool		ok = true;

	for (item = strtok_r(copy, ",", &save); item; item = strtok_r(NULL, ",", &save))
	{
		char	   *address = trim(item);

		if (*address == '\0')
			continue;
		if (!address_is_valid(address))
		{
			log_msg(LOG_LEVEL_ERROR, "invalid recipient address \"%s\"", address);
			ok = false;
			break;
		}
		cfg->to = xrealloc(cfg->to, sizeof(char *) * (cfg->n_to + 1));
		cfg->to[cfg->n_to++] = xstrdup(address);
	}
	free(copy);
	return ok;
}

static void
clear_recipients(MailerConfig *cfg)
{
	for (int i = 0; i < cfg->n_to; i++)
		free(cfg->to[i]);
	free(cfg->to);
	cfg->to = NULL;
	cfg->n_to = 0;
}

/*
 * Apply one setting.  name is the long option name; the config file uses
 * the same names, with "_" allowed in place of "-".
 */
static bool
apply_setting(MailerConfig *cfg, int opt, const char *name, const char *value)
{
	double		seconds;

	switch (opt)
	{
		case OPT_DBNAME:
			set_string(&cfg->conninfo, value);
			return true;
		case OPT_SMTP_URL:
			set_string(&cfg->smtp_url, value);
			return true;
		case OPT_SMTP_USER:
			set_string(&cfg->smtp_user, value);
			return true;
		case OPT_SMTP_PASSWORD_FILE:
			set_string(&cfg->smtp_password_file, value);
			return true;
		case OPT_REQUIRE_STARTTLS:
			return parse_bool(name, value, &cfg->require_starttls);
		case OPT_INSECURE_TLS:
			return parse_bool(name, value, &cfg->insecure_tls);
		case OPT_SMTP_TIMEOUT:
			return parse_int(name, value, 1, 3600, &cfg->smtp_timeout);
		case OPT_FROM:
			set_string(&cfg->from, value);
			return true;
		case OPT_TO:
			return add_recipients(cfg, value);
		case OPT_ONCE:
			return parse_bool(name, value, &cfg->once);
		case OPT_DRY_RUN:
			return parse_bool(name, value, &cfg->dry_run);
		case OPT_CHANNEL:
			set_string(&cfg->channel, value);
			return true;
		case OPT_USER_ADDRESS_QUERY:
			set_string(&cfg->user_address_query, value);
			return true;
		case OPT_MESSAGE_ID_DOMAIN:
			set_string(&cfg->message_id_domain, value);
			return true;
		case OPT_MAX_ATTEMPTS:
			return parse_int(name, value, 1, 1000, &cfg->max_attempts);
		case OPT_RETRY_DELAY:
			return parse_int(name, value, 1, 86400, &cfg->retry_delay);
		case OPT_RETRY_MAX_DELAY:
			return parse_int(name, value, 1, 7 * 86400, &cfg->retry_max_delay);
		case OPT_POLL_INTERVAL:
			if (!parse_seconds(name, value, 0.1, &seconds))
				return false;
			cfg->poll_interval = seconds;
			return true;
		case OPT_STORM_WINDOW:
			return parse_int(name, value, 0, 7 * 86400, &cfg->storm_window);
		case OPT_VERBOSE:
			return parse_bool(name, value, &cfg->verbose);
		default:
			log_msg(LOG_LEVEL_ERROR, "option \"%s\" cannot be set in a config file", name);
			return false;
	}
}

/*
 * Read a config file of "key = value" lines.  Blank lines and lines
 * starting with "#" are skipped, and a value may be wrapped in double
 * quotes to keep leading or trailing spaces.
 */
static bool
read_config_file(MailerConfig *cfg, const char *path)
{
	FILE	   *f = fopen(path, "r");
	char	   *line = NULL;
	size_t		cap = 0;
	int			lineno = 0;
	bool		ok = true;

	if (f == NULL)
	{
		log_msg(LOG_LEVEL_ERROR, "could not open config file \"%s\": %s",
				path, strerror(errno));
		return false;
	}

	while (ok && getline(&line, &cap, f) != -1)
	{
		char	   *key;
		char	   *value;
		char	   *eq;
		int			opt = 0;

		lineno++;
		key = trim(line);
		if (*key == '\0' || *key == '#')
			continue;
		eq = strchr(key, '=');
		if (eq == NULL)
		{
			log_msg(LOG_LEVEL_ERROR, "%s:%d: missing \"=\" in \"%s\"", path, lineno, key);
			ok = false;
			break;
		}
		*eq = '\0';
		key = trim(key);
		value = trim(eq + 1);
		if (value[0] == '"' && strlen(value) >= 2 && value[strlen(value) - 1] == '"')
		{
			value[strlen(value) - 1] = '\0';
			value++;
		}
		for (char *p = key; *p; p++)
			if (*p == '_')
				*p = '-';

		if (strcmp(key, "smtp-password") == 0)
		{
			log_msg(LOG_LEVEL_ERROR,
					"%s:%d: the SMTP password is not read from the config file",
					path, lineno);
			log_msg(LOG_LEVEL_ERROR,
					"put it in a file named by smtp_password_file, readable only by the mailer");
			ok = false;
			break;
		}
		for (const struct option *o = long_options; o->name; o++)
		{
			if (strcmp(o->name, key) == 0)
			{
				opt = o->val;
				break;
			}
		}
		if (opt == 0 || opt == OPT_CONFIG || opt == OPT_HELP || opt == OPT_VERSION)
		{
			log_msg(LOG_LEVEL_ERROR, "%s:%d: unknown setting \"%s\"", path, lineno, key);
			ok = false;
			break;
		}
		if (!apply_setting(cfg, opt, key, value))
		{
			log_msg(LOG_LEVEL_ERROR, "%s:%d: invalid setting \"%s\"", path, lineno, key);
			ok = false;
		}
	}
	free(line);
	fclose(f);
	return ok;
}

/* Read the first line of the password file, warning when others can read it */
static bool
read_password_file(MailerConfig *cfg)
{
	FILE	   *f;
	struct stat st;
	char	   *line = NULL;
	size_t		cap = 0;
	ssize_t		n;

	f = fopen(cfg->smtp_password_file, "r");
	if (f == NULL)
	{
		log_msg(LOG_LEVEL_ERROR, "could not open SMTP password file \"%s\": %s",
				cfg->smtp_password_file, strerror(errno));
		return false;
	}
	if (fstat(fileno(f), &st) == 0 && (st.st_mode & (S_IRWXG | S_IRWXO)) != 0)
		log_msg(LOG_LEVEL_WARNING,
				"SMTP password file \"%s\" is readable by group or others; use chmod 600",
				cfg->smtp_password_file);
	n = getline(&line, &cap, f);
	fclose(f);
	if (n <= 0)
	{
		free(line);
		log_msg(LOG_LEVEL_ERROR, "SMTP password file \"%s\" is empty",
				cfg->smtp_password_file);
		return false;
	}
	while (n > 0 && (line[n - 1] == '\n' || line[n - 1] == '\r'))
		line[--n] = '\0';
	cfg->smtp_password = line;
	return true;
}

/* Split --from into display name and address and validate both */
static bool
parse_from(MailerConfig *cfg)
{
	char	   *lt = strchr(cfg->from, '<');

	if (lt == NULL)
	{
		char	   *copy = xstrdup(cfg->from);

		cfg->from_address = xstrdup(trim(copy));
		free(copy);
	}
	else
	{
		char	   *gt = strchr(lt, '>');
		char	   *name;

		if (gt == NULL || gt[1] != '\0')
		{
			log_msg(LOG_LEVEL_ERROR,
					"invalid --from \"%s\": expected \"Name <address>\" or \"address\"",
					cfg->from);
			return false;
		}
		cfg->from_address = xstrndup(lt + 1, (size_t) (gt - lt - 1));
		name = xstrndup(cfg->from, (size_t) (lt - cfg->from));
		cfg->from_name = sanitize_text(trim(name), 200);
		free(name);
		if (cfg->from_name[0] == '\0')
		{
			free(cfg->from_name);
			cfg->from_name = NULL;
		}
	}
	if (!address_is_valid(cfg->from_address))
	{
		log_msg(LOG_LEVEL_ERROR, "invalid sender address \"%s\" in --from",
				cfg->from_address);
		return false;
	}
	return true;
}

static bool
validate(MailerConfig *cfg)
{
	if (cfg->conninfo == NULL)
		cfg->conninfo = xstrdup("");
	if (cfg->channel == NULL)
		cfg->channel = xstrdup("login_anomaly");

	if (cfg->from == NULL)
	{
		log_msg(LOG_LEVEL_ERROR, "missing --from: the sender address is required");
		return false;
	}
	if (!parse_from(cfg))
		return false;

	if (cfg->n_to == 0 && cfg->user_address_query == NULL)
	{
		log_msg(LOG_LEVEL_ERROR,
				"no recipient: give --to, --user-address-query or both");
		return false;
	}

	if (!cfg->dry_run)
	{
		if (cfg->smtp_url == NULL)
		{
			log_msg(LOG_LEVEL_ERROR, "missing --smtp-url, for example smtp://localhost:25");
			return false;
		}
		if (strncasecmp(cfg->smtp_url, "smtp://", 7) != 0 &&
			strncasecmp(cfg->smtp_url, "smtps://", 8) != 0)
		{
			log_msg(LOG_LEVEL_ERROR,
					"invalid --smtp-url \"%s\": the scheme must be smtp:// or smtps://",
					cfg->smtp_url);
			return false;
		}
		{
			const char *host = strstr(cfg->smtp_url, "://") + 3;
			const char *end = host + strcspn(host, "/?#");

			if (memchr(host, '@', (size_t) (end - host)) != NULL)
			{
				/* Do not echo the URL: it contains the credentials */
				log_msg(LOG_LEVEL_ERROR,
						"--smtp-url must not contain a user name or password; use --smtp-user and --smtp-password-file");
				return false;
			}
		}
	}

	if (cfg->smtp_password_file != NULL)
	{
		if (!read_password_file(cfg))
			return false;
	}
	else if (getenv(PASSWORD_ENV) != NULL)
		cfg->smtp_password = xstrdup(getenv(PASSWORD_ENV));

	if (cfg->smtp_user != NULL && cfg->smtp_password == NULL)
	{
		log_msg(LOG_LEVEL_ERROR,
				"--smtp-user is set but no password: use --smtp-password-file or $%s",
				PASSWORD_ENV);
		return false;
	}

	if (cfg->message_id_domain != NULL)
	{
		for (const char *p = cfg->message_id_domain; *p; p++)
		{
			if (!isalnum((unsigned char) *p) && *p != '.' && *p != '-')
			{
				log_msg(LOG_LEVEL_ERROR,
						"invalid --message-id-domain \"%s\": use letters, digits, dots and hyphens",
						cfg->message_id_domain);
				return false;
			}
		}
	}

	if (cfg->retry_max_delay < cfg->retry_delay)
		cfg->retry_max_delay = cfg->retry_delay;
	if (cfg->dry_run)
		cfg->once = true;
	if (cfg->insecure_tls)
		log_msg(LOG_LEVEL_WARNING,
				"--insecure-tls: the SMTP server certificate is not verified; use this only in tests");
	return true;
}

/*
 * Fill cfg from the config file and the command line.  Returns -1 when the
 * program should go on, or the exit code when it should stop (after --help,
 * --version or an error).
 */
int
config_load(MailerConfig *cfg, int argc, char **argv)
{
	const char *config_path = NULL;
	bool		to_from_command_line = false;
	int			c;

	memset(cfg, 0, sizeof(*cfg));
	cfg->smtp_timeout = 60;
	cfg->max_attempts = 10;
	cfg->retry_delay = 60;
	cfg->retry_max_delay = 3600;
	cfg->poll_interval = 30.0;
	cfg->storm_window = 300;

	/* First pass: --help, --version and --config only */
	opterr = 0;
	optind = 0;
	while ((c = getopt_long(argc, argv, "", long_options, NULL)) != -1)
	{
		if (c == OPT_HELP)
		{
			print_usage(stdout);
			return EXIT_MAILER_OK;
		}
		if (c == OPT_VERSION)
		{
			printf("%s %s\n", MAILER_NAME, MAILER_VERSION);
			return EXIT_MAILER_OK;
		}
		if (c == OPT_CONFIG)
			config_path = optarg;
	}

	if (config_path != NULL && !read_config_file(cfg, config_path))
		return EXIT_MAILER_CONFIG;

	/* Second pass: the command line overrides the file */
	opterr = 1;
	optind = 0;
	while ((c = getopt_long(argc, argv, "", long_options, NULL)) != -1)
	{
		const char *name = NULL;

		if (c == '?')
		{
			fprintf(stderr, "Try \"%s --help\" for more information.\n", MAILER_NAME);
			return EXIT_MAILER_CONFIG;
		}
		if (c == OPT_CONFIG)
			continue;
		for (const struct option *o = long_options; o->name; o++)
			if (o->val == c)
				name = o->name;
		if (c == OPT_TO && !to_from_command_line)
		{
			clear_recipients(cfg);
			to_from_command_line = true;
		}
		if (!apply_setting(cfg, c, name, optarg ? optarg : "true"))
			return EXIT_MAILER_CONFIG;
	}
	if (optind < argc)
	{
		log_msg(LOG_LEVEL_ERROR, "unexpected argument \"%s\"", argv[optind]);
		fprintf(stderr, "Try \"%s --help\" for more information.\n", MAILER_NAME);
		return EXIT_MAILER_CONFIG;
	}

	if (!validate(cfg))
		return EXIT_MAILER_CONFIG;
	return -1;
}

void
config_free(MailerConfig *cfg)
{
	free(cfg->conninfo);
	free(cfg->smtp_url);
	free(cfg->smtp_user);
	free(cfg->smtp_password_file);
	if (cfg->smtp_password)
	{
		/* Overwrite the secret before the memory goes back to malloc */
		explicit_bzero(cfg->smtp_password, strlen(cfg->smtp_password));
		free(cfg->smtp_password);
	}
	free(cfg->from);
	free(cfg->from_name);
	free(cfg->from_address);
	clear_recipients(cfg);
	free(cfg->channel);
	free(cfg->user_address_query);
	free(cfg->message_id_domain);
	memset(cfg, 0, sizeof(*cfg));
}
