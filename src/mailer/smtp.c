/*
 * smtp.c
 *		Hand a composed message to the SMTP server through libcurl.
 *
 * One easy handle lives for the whole process, so libcurl can keep the
 * SMTP connection open between e-mails.  For smtp:// URLs STARTTLS is used
 * when the server offers it (or required with --require-starttls); smtps://
 * uses TLS from the first byte.  Certificates and host names are verified
 * unless --insecure-tls is given.  libcurl also escapes lines that start
 * with "." in the message data (SMTP dot-stuffing).
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <curl/curl.h>

#include "mailer.h"

static CURL *curl_handle = NULL;

/* Read position in the message while libcurl uploads it */
typedef struct UploadState
{
	const char *data;
	size_t		len;
	size_t		offset;
} UploadState;

static size_t
read_message(char *buffer, size_t size, size_t nitems, void *userdata)
{
	UploadState *state = userdata;
	size_t		room = size * nitems;
	size_t		left = state->len - state->offset;
	size_t		n = left < room ? left : room;

	memcpy(buffer, state->data + state->offset, n);
	state->offset += n;
	return n;
}

bool
smtp_init(const MailerConfig *cfg)
{
	CURLcode	rc;

	if (cfg->dry_run)
		return true;
	rc = curl_global_init(CURL_GLOBAL_DEFAULT);
	if (rc != CURLE_OK)
	{
		log_msg(LOG_LEVEL_ERROR, "could not initialize libcurl: %s",
				curl_easy_strerror(rc));
		return false;
	}
	curl_handle = curl_easy_init();
	if (curl_handle == NULL)
	{
		log_msg(LOG_LEVEL_ERROR, "could not create a libcurl handle");
		return false;
	}
	return true;
}

void
smtp_cleanup(void)
{
	if (curl_handle != NULL)
	{
		curl_easy_cleanup(curl_handle);
		curl_handle = NULL;
		curl_global_cleanup();
	}
}

/*
 * Send msg.  On failure *error is a malloc'd description without secrets:
 * libcurl's messages name the failing step and the server's reply, never
 * the password.
 */
bool
smtp_send(const MailerConfig *cfg, const MailMessage *msg, char **error)
{
	struct curl_slist *rcpt = NULL;
	char		errbuf[CURL_ERROR_SIZE];
	char	   *mail_from;
	UploadState state;
	CURLcode	rc;
	long		response = 0;

	*error = NULL;
	state.data = msg->text.data;
	state.len = msg->text.len;
	state.offset = 0;
	errbuf[0] = '\0';

	for (int i = 0; i < msg->n_recipients; i++)
	{
		char	   *bracketed = xasprintf("<%s>", msg->recipients[i]);
		struct curl_slist *next = curl_slist_append(rcpt, bracketed);

		free(bracketed);
		if (next == NULL)
		{
			curl_slist_free_all(rcpt);
			*error = xstrdup("out of memory building the recipient list");
			return false;
		}
		rcpt = next;
	}
	mail_from = xasprintf("<%s>", msg->envelope_from);

	curl_easy_reset(curl_handle);
	curl_easy_setopt(curl_handle, CURLOPT_URL, cfg->smtp_url);
	curl_easy_setopt(curl_handle, CURLOPT_PROTOCOLS_STR, "smtp,smtps");
	curl_easy_setopt(curl_handle, CURLOPT_MAIL_FROM, mail_from);
	curl_easy_setopt(curl_handle, CURLOPT_MAIL_RCPT, rcpt);
	curl_easy_setopt(curl_handle, CURLOPT_UPLOAD, 1L);
	curl_easy_setopt(curl_handle, CURLOPT_READFUNCTION, read_message);
	curl_easy_setopt(curl_handle, CURLOPT_READDATA, &state);
	curl_easy_setopt(curl_handle, CURLOPT_INFILESIZE, (long) state.len);
	curl_easy_setopt(curl_handle, CURLOPT_ERRORBUFFER, errbuf);
	curl_easy_setopt(curl_handle, CURLOPT_NOSIGNAL, 1L);
	curl_easy_setopt(curl_handle, CURLOPT_CONNECTTIMEOUT, 10L);
	curl_easy_setopt(curl_handle, CURLOPT_TIMEOUT, (long) cfg->smtp_timeout);
	curl_easy_setopt(curl_handle, CURLOPT_USE_SSL,
					 cfg->require_starttls ? (long) CURLUSESSL_ALL : (long) CURLUSESSL_TRY);
	if (cfg->insecure_tls)
	{
		curl_easy_setopt(curl_handle, CURLOPT_SSL_VERIFYPEER, 0L);
		curl_easy_setopt(curl_handle, CURLOPT_SSL_VERIFYHOST, 0L);
	}
	if (cfg->smtp_user != NULL)
	{
		curl_easy_setopt(curl_handle, CURLOPT_USERNAME, cfg->smtp_user);
		curl_easy_setopt(curl_handle, CURLOPT_PASSWORD, cfg->smtp_password);
	}

	rc = curl_easy_perform(curl_handle);
	curl_easy_getinfo(curl_handle, CURLINFO_RESPONSE_CODE, &response);

	/* Drop pointers into our buffers before they are freed */
	curl_easy_setopt(curl_handle, CURLOPT_MAIL_RCPT, NULL);
	curl_easy_setopt(curl_handle, CURLOPT_ERRORBUFFER, NULL);
	curl_slist_free_all(rcpt);
	free(mail_from);

	if (rc != CURLE_OK)
	{
		if (response != 0)
			*error = xasprintf("SMTP %s: %s (last reply code %ld)",
							   curl_easy_strerror(rc),
							   errbuf[0] ? errbuf : "no detail", response);
		else
			*error = xasprintf("SMTP %s: %s", curl_easy_strerror(rc),
							   errbuf[0] ? errbuf : "no detail");
		return false;
	}
	return true;
}
