# login_anomaly: PGXS build of the extension and of the alert mailer.

EXTENSION = login_anomaly
MODULE_big = login_anomaly
OBJS = \
	src/login_anomaly.o \
	src/encode.o \
	src/feature_vector.o \
	src/useragent.o \
	src/uap.o \
	src/model.o \
	src/train.o \
	src/score.o \
	src/trigger.o \
	src/model_cache.o \
	src/serial.o

DATA = $(wildcard sql/login_anomaly--*.sql)

REGRESS = $(patsubst sql/%.sql,%,$(sort $(filter-out sql/login_anomaly--%,$(wildcard sql/*.sql))))
REGRESS_OPTS = --inputdir=. --outputdir=test/results

SHLIB_LINK = -lsvm -lpcre2-8 -lyaml -lm

PG_CONFIG ?= pg_config
PGXS := $(shell $(PG_CONFIG) --pgxs)
include $(PGXS)
