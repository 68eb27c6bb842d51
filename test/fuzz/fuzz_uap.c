/*
 * fuzz_uap.c
 *		libFuzzer harness for the user-agent parser of src/uap_*.c with
 *		uap-core's real regexes.yaml: uap_parse and uap_cache_parse on
 *		arbitrary bytes.
 *
 * For every input: the parse succeeds (it fails only when memory runs
 * out), the three families are present, every field lies inside the
 * result buffer, a valid UTF-8 input gives valid UTF-8 fields, and the
 * cache returns the same fields as a direct parse.  For one input in 16
 * (chosen by its bytes, so runs are repeatable) the literal prefilter is
 * checked against running every regex.
 *
 * UAP_REGEXES overrides the regexes file (default
 * /usr/share/uap-core/regexes.yaml).
 */
#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "uap.h"
#include "fuzz_util.h"

/* Small, so that eviction runs often */
#define CACHE_CAPACITY 8

static UapParser *parser;
static UapCache *cache;

int
LLVMFuzzerInitialize(int *argc, char ***argv)
{
	const char *path = getenv("UAP_REGEXES");
	UapOptions	options = {.lazy_compile = false, .use_jit = true, .use_prefilter = true};
	char		errbuf[512];

	if (path == NULL)
		path = "/usr/share/uap-core/regexes.yaml";
	parser = uap_parser_load(path, &options, errbuf, sizeof(errbuf));
	if (parser == NULL)
	{
		fprintf(stderr, "fuzz_uap: cannot load %s: %s\n", path, errbuf);
		exit(1);
	}
	cache = uap_cache_create(CACHE_CAPACITY);
	if (cache == NULL)
		abort();
	return 0;
}

static void
check_result(const UapResult *r, bool input_valid)
{
	FUZZ_CHECK(uap_result_get(r, UAP_UA_FAMILY) != NULL, "user agent family missing");
	FUZZ_CHECK(uap_result_get(r, UAP_OS_FAMILY) != NULL, "OS family missing");
	FUZZ_CHECK(uap_result_get(r, UAP_DEVICE_FAMILY) != NULL, "device family missing");
	for (int f = 0; f < UAP_NFIELDS; f++)
	{
		const char *v = uap_result_get(r, f);
		size_t		len;

		if (v == NULL)
			continue;
		FUZZ_CHECK(r->offset[f] >= 0 && (size_t) r->offset[f] < r->data_len,
				   "field %s offset %d outside %zu bytes", uap_field_names[f],
				   r->offset[f], r->data_len);
		len = strnlen(v, r->data_len - r->offset[f]);
		FUZZ_CHECK((size_t) r->offset[f] + len < r->data_len,
				   "field %s is not terminated inside the buffer", uap_field_names[f]);
		if (input_valid)
			FUZZ_CHECK(fuzz_valid_utf8((const uint8_t *) v, len),
					   "field %s is not valid UTF-8 for a valid input", uap_field_names[f]);
	}
}

static bool
same_field(const char *a, const char *b)
{
	if (a == NULL || b == NULL)
		return a == b;
	return strcmp(a, b) == 0;
}

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	UapResult	direct;
	const UapResult *cached;
	char		errbuf[256];
	bool		input_valid;
	uint32_t	h = 2166136261u;

	/* The parser reads at most UAP_MAX_INPUT_LEN bytes; judge those */
	input_valid = fuzz_valid_utf8(data, size);

	uap_result_init(&direct);
	FUZZ_CHECK(uap_parse(parser, (const char *) data, size, &direct, errbuf, sizeof(errbuf)),
			   "uap_parse failed: %s", errbuf);
	check_result(&direct, input_valid);

	cached = uap_cache_parse(cache, parser, (const char *) data, size, errbuf, sizeof(errbuf));
	FUZZ_CHECK(cached != NULL, "uap_cache_parse failed: %s", errbuf);
	check_result(cached, input_valid);
	for (int f = 0; f < UAP_NFIELDS; f++)
		FUZZ_CHECK(same_field(uap_result_get(&direct, f), uap_result_get(cached, f)),
				   "cache and direct parse differ in %s", uap_field_names[f]);
	uap_result_free(&direct);

	for (size_t i = 0; i < size; i++)
		h = (h ^ data[i]) * 16777619u;
	if ((h & 15) == 0)
	{
		int			misses = uap_prefilter_misses(parser, (const char *) data, size);

		FUZZ_CHECK(misses == 0, "the literal prefilter skips %d matching rules", misses);
	}
	return 0;
}
