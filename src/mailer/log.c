/*
 * log.c
 *		Log lines on stderr and the small allocation and string-buffer
 *		helpers the rest of the mailer uses.
 *
 * Each log line carries a UTC timestamp, the process id and a level, so
 * lines from several mailers side by side can be distinguished.  Allocation
 * failure ends the program with EXIT_MAILER_INTERNAL: a daemon that cannot
 * get a few kilobytes cannot mail anything either, and systemd restarts it.
 */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/time.h>
#include <time.h>
#include <unistd.h>

#include "mailer.h"

static bool log_verbose = false;

static const char *const level_names[] = {
	"DEBUG", "INFO", "WARNING", "ERROR", "FATAL"
};

void
log_init(bool verbose)
{
	log_verbose = verbose;
}

/* Write one line to stderr, labelled with label, as "DATE UTC [PID] LABEL: text" */
static void
log_line(const char *label, const char *fmt, va_list ap)
__attribute__((format(printf, 2, 0)));

static void
log_line(const char *label, const char *fmt, va_list ap)
{
	struct timeval tv;
	struct tm	tm;
	char		stamp[32];
	char		line[4096];
	int			saved_errno = errno;

	gettimeofday(&tv, NULL);
	gmtime_r(&tv.tv_sec, &tm);
	strftime(stamp, sizeof(stamp), "%Y-%m-%d %H:%M:%S", &tm);

	vsnprintf(line, sizeof(line), fmt, ap);

	/* One fprintf per line, so lines of concurrent writers do not interleave */
	fprintf(stderr, "%s.%03d UTC [%d] %s: %s\n",
			stamp, (int) (tv.tv_usec / 1000), (int) getpid(), label, line);
	fflush(stderr);
	errno = saved_errno;
}

/*
 * Write one line to stderr.  DEBUG lines appear only with --verbose.
 */
void
log_msg(LogLevel level, const char *fmt,...)
{
	va_list		ap;

	if (level == LOG_LEVEL_DEBUG && !log_verbose)
		return;
	va_start(ap, fmt);
	log_line(level_names[level], fmt, ap);
	va_end(ap);
}

/*
 * Write a HINT line with the fix for the error logged just before it, as
 * PostgreSQL's server log does.
 */
void
log_hint(const char *fmt,...)
{
	va_list		ap;

	va_start(ap, fmt);
	log_line("HINT", fmt, ap);
	va_end(ap);
}

/*
 * Choose the word that agrees with the count n, as in
 * printf("%ld %s", n, plural(n, "alert", "alerts")).
 */
const char *
plural(long n, const char *singular, const char *plural_form)
{
	return n == 1 ? singular : plural_form;
}

void *
xmalloc(size_t size)
{
	void	   *p = malloc(size ? size : 1);

	if (p == NULL)
	{
		log_msg(LOG_LEVEL_FATAL, "out of memory allocating %zu bytes", size);
		exit(EXIT_MAILER_INTERNAL);
	}
	return p;
}

void *
xrealloc(void *ptr, size_t size)
{
	void	   *p = realloc(ptr, size ? size : 1);

	if (p == NULL)
	{
		log_msg(LOG_LEVEL_FATAL, "out of memory allocating %zu bytes", size);
		exit(EXIT_MAILER_INTERNAL);
	}
	return p;
}

char *
xstrdup(const char *s)
{
	size_t		len = strlen(s);
	char	   *p = xmalloc(len + 1);

	memcpy(p, s, len + 1);
	return p;
}

char *
xstrndup(const char *s, size_t len)
{
	char	   *p = xmalloc(len + 1);

	memcpy(p, s, len);
	p[len] = '\0';
	return p;
}

char *
xasprintf(const char *fmt,...)
{
	char	   *result;
	va_list		ap;
	int			needed;

	va_start(ap, fmt);
	needed = vsnprintf(NULL, 0, fmt, ap);
	va_end(ap);
	if (needed < 0)
	{
		log_msg(LOG_LEVEL_FATAL, "invalid format string \"%s\"", fmt);
		exit(EXIT_MAILER_INTERNAL);
	}

	result = xmalloc((size_t) needed + 1);
	va_start(ap, fmt);
	vsnprintf(result, (size_t) needed + 1, fmt, ap);
	va_end(ap);
	return result;
}

void
sb_init(StrBuf *sb)
{
	sb->cap = 256;
	sb->len = 0;
	sb->data = xmalloc(sb->cap);
	sb->data[0] = '\0';
}

void
sb_free(StrBuf *sb)
{
	free(sb->data);
	sb->data = NULL;
	sb->len = sb->cap = 0;
}

static void
sb_reserve(StrBuf *sb, size_t extra)
{
	if (sb->len + extra + 1 <= sb->cap)
		return;
	while (sb->len + extra + 1 > sb->cap)
		sb->cap *= 2;
	sb->data = xrealloc(sb->data, sb->cap);
}

void
sb_append_len(StrBuf *sb, const char *s, size_t len)
{
	sb_reserve(sb, len);
	memcpy(sb->data + sb->len, s, len);
	sb->len += len;
	sb->data[sb->len] = '\0';
}

void
sb_append(StrBuf *sb, const char *s)
{
	sb_append_len(sb, s, strlen(s));
}

void
sb_append_char(StrBuf *sb, char c)
{
	sb_append_len(sb, &c, 1);
}

void
sb_appendf(StrBuf *sb, const char *fmt,...)
{
	va_list		ap;
	int			needed;

	va_start(ap, fmt);
	needed = vsnprintf(NULL, 0, fmt, ap);
	va_end(ap);
	if (needed < 0)
		return;

	sb_reserve(sb, (size_t) needed);
	va_start(ap, fmt);
	vsnprintf(sb->data + sb->len, (size_t) needed + 1, fmt, ap);
	va_end(ap);
	sb->len += (size_t) needed;
}
