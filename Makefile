# login_anomaly: PGXS build of the extension and of the alert mailer.

EXTENSION = login_anomaly
MODULE_big = login_anomaly
OBJS = \
	src/login_anomaly.o \
	src/encode.o \
	src/feature_vector.o \
	src/useragent.o \
	src/uap_load.o \
	src/uap_prefilter.o \
	src/uap_match.o \
	src/uap_cache.o \
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

# The alert mailer, a client program built and installed beside the module.
# PGXS cannot build PROGRAM and MODULE_big from one Makefile, hence these rules.
MAILER = src/mailer/login-anomaly-mailer
MAILER_OBJS = $(addprefix src/mailer/,main.o config.o db.o message.o smtp.o log.o)

all: $(MAILER)

# PGXS tracks header dependencies only in a server built with
# --enable-depend, so a changed header would leave stale objects (an
# inline function moved to a header then fails to load).  The bitcode
# files for JIT inlining go stale the same way.
$(OBJS) $(OBJS:.o=.bc): $(wildcard src/*.h)

$(MAILER_OBJS): src/mailer/mailer.h
$(MAILER_OBJS): override CPPFLAGS := -I$(includedir) $(CPPFLAGS)

$(MAILER): $(MAILER_OBJS)
	$(CC) $(CFLAGS) $(LDFLAGS) -o $@ $(MAILER_OBJS) -L$(libdir) -lpq $(shell curl-config --libs) -lm

install: install-mailer
install-mailer: $(MAILER)
	$(MKDIR_P) '$(DESTDIR)$(bindir)'
	$(INSTALL_PROGRAM) $(MAILER) '$(DESTDIR)$(bindir)/login-anomaly-mailer'

clean: clean-mailer
clean-mailer:
	rm -f $(MAILER) $(MAILER_OBJS)

uninstall: uninstall-mailer
uninstall-mailer:
	rm -f '$(DESTDIR)$(bindir)/login-anomaly-mailer'

.PHONY: install-mailer uninstall-mailer clean-mailer
