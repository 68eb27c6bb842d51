/*
 * libsvm_floor.c
 *		The floor for login_anomaly's training and scoring benchmarks: libsvm
 *		called directly on the sparse vectors the extension gives it.
 *
 * export_vectors.py writes every user's training and test vectors, built
 * exactly as src/train.c's svm_vector() builds them, into one binary file.
 * This program trains one one-class SVM per user with the parameters of
 * src/train.c (RBF kernel, nu raised to 1 / logins, the same gamma, cache
 * size, eps and shrinking), then calls svm_predict_values on every test
 * vector against its user's model.  Only svm_train and svm_predict_values
 * are timed; reading the file and building the problems are not.
 *
 * Input (native byte order):
 *	 8 bytes "LAFLOOR1"
 *	 f8 gamma, f8 cache size in MB, f8 eps, i32 shrinking, i32 users
 *	 per user: i32 training vectors, i32 test vectors, f8 effective nu,
 *			   then the vectors, each i32 count and count x {i32 index, f8 value}
 *
 * Usage: libsvm_floor INPUT REPETITIONS MODELS_OUT
 *
 * Prints "name value" lines: the training and prediction seconds of each
 * repetition, and the vector counts.  MODELS_OUT gets one line per user,
 * "index rho support_vectors", from the first repetition, so the caller can
 * check that these models match the extension's.
 */
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include <libsvm/svm.h>

typedef struct UserData
{
	int			ntrain;
	int			ntest;
	double		nu;
	struct svm_node **train;
	struct svm_node **test;
	double	   *labels;
	struct svm_model *model;
} UserData;

static FILE *input;
static const char *input_name;

static void
read_exact(void *buf, size_t size)
{
	if (fread(buf, 1, size, input) != size)
	{
		fprintf(stderr, "libsvm_floor: %s is truncated\n", input_name);
		exit(1);
	}
}

static int32_t
read_i32(void)
{
	int32_t		v;

	read_exact(&v, sizeof(v));
	return v;
}

static double
read_f8(void)
{
	double		v;

	read_exact(&v, sizeof(v));
	return v;
}

static struct svm_node *
read_vector(void)
{
	int32_t		count = read_i32();
	struct svm_node *x;

	if (count < 0 || count > 64)
	{
		fprintf(stderr, "libsvm_floor: invalid vector length %d in %s\n",
				count, input_name);
		exit(1);
	}
	x = malloc(sizeof(struct svm_node) * (count + 1));
	for (int i = 0; i < count; i++)
	{
		x[i].index = read_i32();
		x[i].value = read_f8();
	}
	x[count].index = -1;
	return x;
}

static double
now_seconds(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return ts.tv_sec + ts.tv_nsec / 1e9;
}

static void
quiet_print(const char *s)
{
}

int
main(int argc, char **argv)
{
	char		magic[8];
	struct svm_parameter param;
	int			users;
	int			repetitions;
	UserData   *data;
	long		train_vectors = 0;
	long		test_vectors = 0;
	double		checksum = 0.0;
	FILE	   *models_out;

	if (argc != 4)
	{
		fprintf(stderr, "usage: libsvm_floor INPUT REPETITIONS MODELS_OUT\n");
		return 2;
	}
	input_name = argv[1];
	repetitions = atoi(argv[2]);
	if (repetitions < 1)
	{
		fprintf(stderr, "libsvm_floor: REPETITIONS must be at least 1, not \"%s\"\n", argv[2]);
		return 2;
	}
	input = fopen(input_name, "rb");
	if (input == NULL)
	{
		perror(input_name);
		return 1;
	}
	read_exact(magic, sizeof(magic));
	if (memcmp(magic, "LAFLOOR1", 8) != 0)
	{
		fprintf(stderr, "libsvm_floor: %s is not a vector file (bad magic)\n", input_name);
		return 1;
	}

	/* the parameters of fit_svm() in src/train.c */
	memset(&param, 0, sizeof(param));
	param.svm_type = ONE_CLASS;
	param.kernel_type = RBF;
	param.gamma = read_f8();
	param.cache_size = read_f8();
	param.eps = read_f8();
	param.shrinking = read_i32();
	param.probability = 0;
	users = read_i32();
	if (users < 0)
	{
		fprintf(stderr, "libsvm_floor: invalid user count %d\n", users);
		return 1;
	}

	data = calloc(users > 0 ? users : 1, sizeof(UserData));
	for (int u = 0; u < users; u++)
	{
		UserData   *d = &data[u];

		d->ntrain = read_i32();
		d->ntest = read_i32();
		d->nu = read_f8();
		if (d->ntrain < 1 || d->ntest < 0)
		{
			fprintf(stderr, "libsvm_floor: user %d has %d training and %d test vectors\n",
					u, d->ntrain, d->ntest);
			return 1;
		}
		d->train = malloc(sizeof(struct svm_node *) * d->ntrain);
		d->labels = malloc(sizeof(double) * d->ntrain);
		for (int i = 0; i < d->ntrain; i++)
		{
			d->train[i] = read_vector();
			d->labels[i] = 1.0;
		}
		d->test = malloc(sizeof(struct svm_node *) * (d->ntest > 0 ? d->ntest : 1));
		for (int i = 0; i < d->ntest; i++)
			d->test[i] = read_vector();
		train_vectors += d->ntrain;
		test_vectors += d->ntest;
	}
	fclose(input);

	svm_set_print_string_function(quiet_print);
	models_out = fopen(argv[3], "w");
	if (models_out == NULL)
	{
		perror(argv[3]);
		return 1;
	}

	for (int rep = 0; rep < repetitions; rep++)
	{
		double		train_seconds = 0.0;
		double		predict_seconds;
		double		start;

		for (int u = 0; u < users; u++)
		{
			UserData   *d = &data[u];
			struct svm_problem prob;
			const char *problem;

			prob.l = d->ntrain;
			prob.y = d->labels;
			prob.x = d->train;
			param.nu = d->nu;
			problem = svm_check_parameter(&prob, &param);
			if (problem != NULL)
			{
				fprintf(stderr, "libsvm_floor: user %d: %s\n", u, problem);
				return 1;
			}
			if (d->model != NULL)
				svm_free_and_destroy_model(&d->model);

			start = now_seconds();
			d->model = svm_train(&prob, &param);
			train_seconds += now_seconds() - start;

			if (rep == 0)
				fprintf(models_out, "%d %.17g %d\n", u, d->model->rho[0], d->model->l);
		}
		printf("train_seconds %.6f\n", train_seconds);

		/* every test vector against its user's model, in one timed loop */
		start = now_seconds();
		for (int u = 0; u < users; u++)
		{
			UserData   *d = &data[u];

			for (int i = 0; i < d->ntest; i++)
			{
				double		value;

				svm_predict_values(d->model, d->test[i], &value);
				checksum += value;
			}
		}
		predict_seconds = now_seconds() - start;
		printf("predict_seconds %.6f\n", predict_seconds);
		fflush(stdout);
	}
	fclose(models_out);

	printf("users %d\n", users);
	printf("train_vectors %ld\n", train_vectors);
	printf("test_vectors %ld\n", test_vectors);
	/* printed so the compiler cannot drop the prediction loop */
	printf("checksum %.6g\n", checksum);
	return 0;
}
