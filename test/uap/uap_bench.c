/*
 * uap_bench.c
 *		Time the standalone parser on every distinct user agent of uap-core's
 *		three test files: the one-time load, a cold pass (first parse of each
 *		string, regexes already loaded) and a warm pass (every string a cache
 *		hit), plus the hostile inputs of sql/parse_user_agent.sql.
 *
 * Usage: uap_bench [RUNS [REGEXES_YAML [TESTS_DIR]]]
 * Prints one "name value" line per figure, each the median over RUNS runs;
 * bench.py reads them.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "uap.h"
#include "uap_testfile.h"

static double
now_seconds(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return ts.tv_sec + ts.tv_nsec / 1e9;
}

static int
compare_doubles(const void *a, const void *b)
{
	double		x = *(const double *) a;
	double		y = *(const double *) b;

	return (x > y) - (x < y);
}

static double
median(double *v, int n)
{
	qsort(v, n, sizeof(double), compare_doubles);
	return n % 2 ? v[n / 2] : (v[n / 2 - 1] + v[n / 2]) / 2;
}

static int
compare_cases(const void *a, const void *b)
{
	const TestCase *x = a;
	const TestCase *y = b;

	if (x->user_agent_len != y->user_agent_len)
		return x->user_agent_len < y->user_agent_len ? -1 : 1;
	return memcmp(x->user_agent, y->user_agent, x->user_agent_len);
}

static UapParser *
load_or_die(const char *regexes, bool lazy, bool jit, bool prefilter)
{
	UapOptions	options = {.lazy_compile = lazy, .use_jit = jit, .use_prefilter = prefilter};
	char		errbuf[512];
	UapParser  *parser = uap_parser_load(regexes, &options, errbuf, sizeof(errbuf));

	if (parser == NULL)
	{
		fprintf(stderr, "uap_bench: %s\n", errbuf);
		exit(2);
	}
	return parser;
}

/* Median wall time of loading the file with the given options */
static double
time_load(const char *regexes, bool lazy, bool jit, bool prefilter, int runs)
{
	double		t[64];

	for (int r = 0; r < runs; r++)
	{
		double		start = now_seconds();
		UapParser  *parser = load_or_die(regexes, lazy, jit, prefilter);

		t[r] = now_seconds() - start;
		uap_parser_free(parser);
	}
	return median(t, runs);
}

int
main(int argc, char **argv)
{
	int			runs = argc > 1 ? atoi(argv[1]) : 5;
	const char *regexes = argc > 2 ? argv[2] : "/usr/share/uap-core/regexes.yaml";
	const char *tests_dir = argc > 3 ? argv[3] : "/usr/share/uap-core/tests";
	const char *files[] = {"test_ua.yaml", "test_os.yaml", "test_device.yaml"};
	const char *no_keys[] = {NULL};
	TestCase   *all = NULL;
	int			nall = 0;
	int			ndistinct = 0;
	double		cold[64], warm[64], lazy_first[64], cold_noprefilter[64];
	char		errbuf[512];
	size_t		longest = 0;

	if (runs < 1 || runs > 64)
		runs = 5;

	/* gather the distinct user agents of the three files */
	for (int f = 0; f < 3; f++)
	{
		char		path[1024];
		TestFile	tf;

		snprintf(path, sizeof(path), "%s/%s", tests_dir, files[f]);
		tf = testfile_load(path, no_keys, 0);
		all = realloc(all, (nall + tf.ncases) * sizeof(TestCase));
		memcpy(all + nall, tf.cases, tf.ncases * sizeof(TestCase));
		nall += tf.ncases;
		free(tf.cases);
	}
	qsort(all, nall, sizeof(TestCase), compare_cases);
	for (int i = 0; i < nall; i++)
	{
		if (ndistinct > 0 && compare_cases(&all[ndistinct - 1], &all[i]) == 0)
			continue;
		all[ndistinct++] = all[i];
		if (all[i].user_agent_len > longest)
			longest = all[i].user_agent_len;
	}
	/* parse in a fixed pseudo-random order, not sorted, to defeat locality */
	srand(42);
	for (int i = ndistinct - 1; i > 0; i--)
	{
		int			j = rand() % (i + 1);
		TestCase	tmp = all[i];

		all[i] = all[j];
		all[j] = tmp;
	}
	printf("distinct_user_agents %d\n", ndistinct);
	printf("longest_user_agent_bytes %zu\n", longest);

	printf("load_eager_jit_ms %.2f\n", 1000 * time_load(regexes, false, true, true, runs));
	printf("load_eager_jit_noprefilter_ms %.2f\n", 1000 * time_load(regexes, false, true, false, runs));
	printf("load_eager_nojit_ms %.2f\n", 1000 * time_load(regexes, false, false, true, runs));
	printf("load_lazy_ms %.2f\n", 1000 * time_load(regexes, true, true, true, runs));

	for (int r = 0; r < runs; r++)
	{
		UapParser  *parser = load_or_die(regexes, false, true, true);
		UapCache   *cache = uap_cache_create(ndistinct * 2);
		double		start;

		start = now_seconds();
		for (int i = 0; i < ndistinct; i++)
		{
			if (!uap_cache_parse(cache, parser, all[i].user_agent, all[i].user_agent_len,
								 errbuf, sizeof(errbuf)))
			{
				fprintf(stderr, "uap_bench: %s\n", errbuf);
				return 2;
			}
		}
		cold[r] = now_seconds() - start;

		start = now_seconds();
		for (int i = 0; i < ndistinct; i++)
			uap_cache_parse(cache, parser, all[i].user_agent, all[i].user_agent_len,
							errbuf, sizeof(errbuf));
		warm[r] = now_seconds() - start;

		uap_cache_free(cache);
		uap_parser_free(parser);

		/* lazy mode: load plus the first pass, which compiles on demand */
		start = now_seconds();
		parser = load_or_die(regexes, true, true, true);
		cache = uap_cache_create(0);
		for (int i = 0; i < ndistinct; i++)
			uap_cache_parse(cache, parser, all[i].user_agent, all[i].user_agent_len,
							errbuf, sizeof(errbuf));
		lazy_first[r] = now_seconds() - start;
		if (r == 0)
		{
			UapStats	stats;

			uap_parser_stats(parser, &stats);
			printf("lazy_regexes_compiled %d of %d\n", stats.ncompiled,
				   stats.nrules[0] + stats.nrules[1] + stats.nrules[2]);
		}
		uap_cache_free(cache);
		uap_parser_free(parser);

		/* the cold pass again without the literal prefilter */
		parser = load_or_die(regexes, false, true, false);
		cache = uap_cache_create(0);
		start = now_seconds();
		for (int i = 0; i < ndistinct; i++)
			uap_cache_parse(cache, parser, all[i].user_agent, all[i].user_agent_len,
							errbuf, sizeof(errbuf));
		cold_noprefilter[r] = now_seconds() - start;
		uap_cache_free(cache);
		uap_parser_free(parser);
	}
	printf("cold_noprefilter_per_second %.0f\n", ndistinct / median(cold_noprefilter, runs));
	printf("cold_seconds %.4f\n", median(cold, runs));
	printf("cold_per_second %.0f\n", ndistinct / median(cold, runs));
	printf("warm_seconds %.6f\n", median(warm, runs));
	printf("warm_per_second %.0f\n", ndistinct / median(warm, runs));
	printf("lazy_load_and_first_pass_seconds %.4f\n", median(lazy_first, runs));

	/* hostile inputs, parsed without a cache; the worst single parse is shown */
	{
		const char *chrome = "Mozilla/5.0 (Windows NT 10.0; Win64; x64) AppleWebKit/537.36 "
		"(KHTML, like Gecko) Chrome/120.0.0.0 Safari/537.36";
		size_t		clen = strlen(chrome);
		char	   *big = malloc(200 * (clen + 4) + 1);
		size_t		blen = 0;
		const char	invalid[] = "Mozilla/5.0 (\xff\xfe\xc3\x28 Android \xe2\x82; SM-G\x80) Chrome/\xf0\x28\x8c\x28";
		struct
		{
			const char *name;
			const char *s;
			size_t		len;
		}			hostile[4];
		UapParser  *parser = load_or_die(regexes, false, true, true);
		UapResult	result;

		for (int i = 0; i < 200; i++)
		{
			memcpy(big + blen, chrome, clen);
			blen += clen;
			big[blen++] = i % 3 == 0 ? '"' : (i % 3 == 1 ? '\\' : '\n');
		}
		big[blen] = '\0';
		hostile[0].name = "hostile_20kB";
		hostile[0].s = big;
		hostile[0].len = blen;
		hostile[1].name = "hostile_invalid_utf8";
		hostile[1].s = invalid;
		hostile[1].len = sizeof(invalid) - 1;
		hostile[2].name = "hostile_empty";
		hostile[2].s = "";
		hostile[2].len = 0;
		hostile[3].name = "hostile_null";
		hostile[3].s = NULL;
		hostile[3].len = 0;

		uap_result_init(&result);
		for (int h = 0; h < 4; h++)
		{
			double		worst = 0;

			for (int r = 0; r < runs; r++)
			{
				double		start = now_seconds();
				double		t;

				uap_parse(parser, hostile[h].s, hostile[h].len, &result, errbuf, sizeof(errbuf));
				t = now_seconds() - start;
				if (t > worst)
					worst = t;
			}
			printf("%s_max_ms %.3f (%zu bytes, ua_family %s)\n", hostile[h].name, 1000 * worst,
				   hostile[h].len, uap_result_get(&result, UAP_UA_FAMILY));
		}
		uap_result_free(&result);
		uap_parser_free(parser);
		free(big);
	}
	return 0;
}
