/*
 * useragent.h
 *		Reduce a user-agent string to what the encoder uses: browser family,
 *		OS family and device class, with no version numbers.
 */
#ifndef LA_USERAGENT_H
#define LA_USERAGENT_H

#define LA_UA_FAMILY_MAX 64

typedef struct LaUserAgent
{
	char		browser[LA_UA_FAMILY_MAX];	/* browser family, e.g. "Chrome" */
	char		os[LA_UA_FAMILY_MAX];	/* OS family, e.g. "Windows" */
	const char *device;			/* "desktop", "phone", "tablet", "bot",
								 * "other", or "unknown" for a missing user
								 * agent; a static string */
} LaUserAgent;

/*
 * Classify a user agent.  ua may be NULL or empty (the result is then
 * "unknown" for each part) and need not be valid UTF-8 or NUL-terminated.
 * Never raises an error for any input bytes.
 */
extern void la_classify_user_agent(const char *ua, int len, LaUserAgent *out);

/* Define the user-agent settings; called once from _PG_init */
extern void la_useragent_define_gucs(void);

#endif							/* LA_USERAGENT_H */
