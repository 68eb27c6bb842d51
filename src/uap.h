/*
 * uap.h
 *		A user-agent parser driven by uap-core's regexes.yaml: the rules are
 *		read with libyaml and matched with PCRE2.
 *
 * This file and the parser's sources (uap_load.c, uap_prefilter.c,
 * uap_match.c and uap_cache.c, which share uap_internal.h) have no
 * PostgreSQL dependency, so that the standalone conformance test, the
 * benchmark and a fuzzing harness can link them directly.  Memory comes
 * from malloc and every error is returned as a message string; nothing is
 * printed.
 *
 * The semantics follow uap-core's specification.md (version 0.2 draft) and,
 * where the specification is silent, the reference Python parser
 * (python3-ua-parser 0.16), against which uap-core's test files are written.
 */
#ifndef LA_UAP_H
#define LA_UAP_H

#include <stdbool.h>
#include <stddef.h>

/*
 * Maximum input length in bytes.  A longer input is cut to it, at a UTF-8
 * character boundary, before matching.  The longest user agent in uap-core
 * 0.16's test files is 492 bytes, and the cap bounds the cost of a hostile
 * input.
 */
#define UAP_MAX_INPUT_LEN 2048

/* PCRE2 limits applied to every match.  A rule that hits one does not match. */
#define UAP_MATCH_LIMIT 100000
#define UAP_DEPTH_LIMIT 1000

/* The twelve output fields, in the order of the SQL result columns */
typedef enum UapField
{
	UAP_UA_FAMILY = 0,
	UAP_UA_MAJOR,
	UAP_UA_MINOR,
	UAP_UA_PATCH,
	UAP_OS_FAMILY,
	UAP_OS_MAJOR,
	UAP_OS_MINOR,
	UAP_OS_PATCH,
	UAP_OS_PATCH_MINOR,
	UAP_DEVICE_FAMILY,
	UAP_DEVICE_BRAND,
	UAP_DEVICE_MODEL,
	UAP_NFIELDS
} UapField;

extern const char *const uap_field_names[UAP_NFIELDS];

/*
 * One parse result.  Each field is an offset into data, or -1 where the
 * field is missing (SQL NULL).  The families are never missing: they are
 * "Other" when no rule matches.
 */
typedef struct UapResult
{
	int			offset[UAP_NFIELDS];
	char	   *data;			/* NUL-separated field values, malloc'd */
	size_t		data_len;		/* bytes used in data */
	size_t		data_cap;		/* bytes allocated for data */
} UapResult;

typedef struct UapParser UapParser;

/* Options for uap_parser_load */
typedef struct UapOptions
{
	bool		lazy_compile;	/* compile each regex on its first use */
	bool		use_jit;		/* JIT-compile where PCRE2 supports it */
	bool		use_prefilter;	/* skip rules whose required literals are absent */
} UapOptions;

/* Counters for the benchmark and for diagnostics */
typedef struct UapStats
{
	int			nrules[3];		/* user agent, OS and device rules */
	int			ncompiled;		/* regexes compiled so far */
	int			njit;			/* of which JIT-compiled */
	long		nlimit_hits;	/* matches stopped by a PCRE2 limit */
	int			nprefiltered;	/* rules with a required literal set */
	int			nliterals;		/* distinct literals in the prefilter */
} UapStats;

/*
 * Load a regexes.yaml file.  Returns NULL on failure with a message in
 * errbuf.  Without lazy_compile every regex is compiled here, so a bad
 * regex fails the load.  With it, a bad regex fails the first uap_parse
 * that reaches it.
 */
extern UapParser *uap_parser_load(const char *path, const UapOptions *options,
								  char *errbuf, size_t errlen);
extern void uap_parser_free(UapParser *parser);
extern void uap_parser_stats(const UapParser *parser, UapStats *stats);

/*
 * Parse one user agent of len bytes (need not be NUL-terminated nor valid
 * UTF-8) into result, which must have been set up by uap_result_init.
 * Returns false only when memory runs out or a regex fails to compile in
 * lazy mode; the message is then in errbuf.
 */
extern bool uap_parse(UapParser *parser, const char *ua, size_t len,
					  UapResult *result, char *errbuf, size_t errlen);

/*
 * Count rules the literal prefilter would wrongly skip on this user agent
 * (0 when it is sound for it); -1 on error.  Runs every regex: tests only.
 */
extern int	uap_prefilter_misses(UapParser *parser, const char *ua, size_t len);

extern void uap_result_init(UapResult *result);
extern void uap_result_free(UapResult *result);

/* The value of one field, or NULL where it is missing */
static inline const char *
uap_result_get(const UapResult *result, UapField field)
{
	return result->offset[field] < 0 ? NULL : result->data + result->offset[field];
}

/*
 * A bounded LRU cache of parse results keyed by the (clipped) user agent
 * bytes.  Capacity 0 disables caching.
 */
typedef struct UapCache UapCache;

extern UapCache *uap_cache_create(int capacity);
extern void uap_cache_free(UapCache *cache);
extern int	uap_cache_capacity(const UapCache *cache);
extern void uap_cache_counts(const UapCache *cache, long *hits, long *misses);

/*
 * Parse through the cache.  Returns a result that stays valid until the
 * next call on this cache, or NULL with a message in errbuf.
 */
extern const UapResult *uap_cache_parse(UapCache *cache, UapParser *parser,
										const char *ua, size_t len,
										char *errbuf, size_t errlen);

#endif							/* LA_UAP_H */
