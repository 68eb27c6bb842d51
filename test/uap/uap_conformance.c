/*
 * uap_conformance.c
 *		Run every case of uap-core's three test files through the standalone
 *		parser (src/uap_*.c), without PostgreSQL, and print the pass count per
 *		file and each failure.
 *
 * Usage: uap_conformance [--lazy] [--no-jit] [--no-prefilter]
 *		[REGEXES_YAML [TESTS_DIR]]
 * Exits 0 when test_ua.yaml and test_os.yaml pass completely and
 * test_device.yaml passes at least 99.5%, 1 otherwise.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "uap.h"
#include "uap_testfile.h"

typedef struct Suite
{
	const char *file;
	UapField	first;			/* first result field compared */
	int			nkeys;
	const char *keys[TESTCASE_MAX_FIELDS];
	double		target;			/* minimum pass fraction */
} Suite;

static const Suite suites[] = {
	{"test_ua.yaml", UAP_UA_FAMILY, 4, {"family", "major", "minor", "patch"}, 1.0},
	{"test_os.yaml", UAP_OS_FAMILY, 5, {"family", "major", "minor", "patch", "patch_minor"}, 1.0},
	{"test_device.yaml", UAP_DEVICE_FAMILY, 3, {"family", "brand", "model"}, 0.995},
};

static bool
same_value(const char *a, const char *b)
{
	if (a == NULL || b == NULL)
		return a == b;
	return strcmp(a, b) == 0;
}

int
main(int argc, char **argv)
{
	const char *regexes = "/usr/share/uap-core/regexes.yaml";
	const char *tests_dir = "/usr/share/uap-core/tests";
	UapOptions	options = {.lazy_compile = false, .use_jit = true, .use_prefilter = true};
	bool		all_met = true;
	bool		prefilter_ok = true;
	int			npositional = 0;
	char		errbuf[512];
	UapParser  *parser;
	UapResult	result;

	for (int i = 1; i < argc; i++)
	{
		if (strcmp(argv[i], "--lazy") == 0)
			options.lazy_compile = true;
		else if (strcmp(argv[i], "--no-jit") == 0)
			options.use_jit = false;
		else if (strcmp(argv[i], "--no-prefilter") == 0)
			options.use_prefilter = false;
		else if (npositional++ == 0)
			regexes = argv[i];
		else
			tests_dir = argv[i];
	}

	parser = uap_parser_load(regexes, &options, errbuf, sizeof(errbuf));
	if (parser == NULL)
	{
		fprintf(stderr, "uap_conformance: %s\n", errbuf);
		return 2;
	}
	uap_result_init(&result);

	for (size_t s = 0; s < sizeof(suites) / sizeof(suites[0]); s++)
	{
		const Suite *suite = &suites[s];
		char		path[1024];
		TestFile	tf;
		int			passed = 0;

		snprintf(path, sizeof(path), "%s/%s", tests_dir, suite->file);
		tf = testfile_load(path, suite->keys, suite->nkeys);

		for (int i = 0; i < tf.ncases; i++)
		{
			TestCase   *tc = &tf.cases[i];
			bool		ok = true;

			if (uap_prefilter_misses(parser, tc->user_agent, tc->user_agent_len) != 0)
			{
				printf("PREFILTER %s: a rule the prefilter skips matches %s\n",
					   suite->file, tc->user_agent);
				prefilter_ok = false;
			}
			if (!uap_parse(parser, tc->user_agent, tc->user_agent_len, &result,
						   errbuf, sizeof(errbuf)))
			{
				fprintf(stderr, "uap_conformance: %s\n", errbuf);
				return 2;
			}
			for (int k = 0; k < suite->nkeys; k++)
			{
				if (!same_value(uap_result_get(&result, suite->first + k), tc->expected[k]))
					ok = false;
			}
			if (ok)
			{
				passed++;
				continue;
			}
			/* every failure is listed, with the fields that differ */
			{
				printf("FAIL %s: %s\n", suite->file, tc->user_agent);
				for (int k = 0; k < suite->nkeys; k++)
				{
					const char *got = uap_result_get(&result, suite->first + k);

					if (!same_value(got, tc->expected[k]))
						printf("    %s: expected %s%s%s, got %s%s%s\n", suite->keys[k],
							   tc->expected[k] ? "'" : "", tc->expected[k] ? tc->expected[k] : "NULL",
							   tc->expected[k] ? "'" : "",
							   got ? "'" : "", got ? got : "NULL", got ? "'" : "");
				}
			}
		}
		printf("%s: %d of %d passed (%.2f%%)\n", suite->file, passed, tf.ncases,
			   tf.ncases ? 100.0 * passed / tf.ncases : 0.0);
		if (tf.ncases == 0 || (double) passed < suite->target * tf.ncases)
			all_met = false;
		testfile_free(&tf);
	}

	{
		UapStats	stats;

		uap_parser_stats(parser, &stats);
		printf("prefilter: %d of %d rules have a required literal set (%d literals); %s\n",
			   stats.nprefiltered, stats.nrules[0] + stats.nrules[1] + stats.nrules[2],
			   stats.nliterals,
			   prefilter_ok ? "it skipped no matching rule on any case" : "it skipped matching rules");
	}
	uap_result_free(&result);
	uap_parser_free(parser);
	return all_met && prefilter_ok ? 0 : 1;
}
