/*
 * login_anomaly.c
 *		Module entry point and settings of the login_anomaly extension.
 *
 * Settings that decide whether a login raises an alert (enabled, threshold,
 * channel, fail_closed, alert_without_model) can only be changed by a
 * superuser, or set for a role or database by one, so that the application
 * role whose logins are being checked cannot switch its own checks off.
 */
#include "postgres.h"

#include <float.h>

#include "fmgr.h"
#include "utils/guc.h"

#include "login_anomaly.h"
#include "useragent.h"

PG_MODULE_MAGIC;

#define DEFAULT_WEIGHTS \
	"country=1, region=0.5, city=0.5, browser=1, os=1, device=0.5, " \
	"network=0.5, wide_network=0.5, hour=0.5, place=1"

bool		la_enabled = true;
double		la_threshold = 0.8;
double		la_high_threshold = 0.95;
double		la_default_nu = 0.05;
double		la_default_gamma = 0.5;
int			la_max_training_logins = 500;
bool		la_fail_closed = false;
bool		la_alert_without_model = false;
char	   *la_channel = NULL;
double		la_notify_queue_warning = 0.5;
double		la_notify_queue_limit = 0.9;
double		la_weights[LA_NUM_WEIGHTS];

static char *weights_setting = NULL;

void		_PG_init(void);

static bool
check_weights(char **newval, void **extra, GucSource source)
{
	double	   *parsed = malloc(sizeof(double) * LA_NUM_WEIGHTS);
	char	   *problem;

	if (parsed == NULL)
		return false;

	/* start from the defaults, so a setting names only what it changes */
	for (int w = 0; w < LA_NUM_WEIGHTS; w++)
		parsed[w] = 0.0;
	problem = la_parse_weights(DEFAULT_WEIGHTS, parsed);
	Assert(problem == NULL);
	problem = la_parse_weights(*newval, parsed);
	if (problem != NULL)
	{
		GUC_check_errdetail("%s", problem);
		free(parsed);
		return false;
	}
	*extra = parsed;
	return true;
}

static void
assign_weights(const char *newval, void *extra)
{
	memcpy(la_weights, extra, sizeof(la_weights));
}

static bool
check_channel(char **newval, void **extra, GucSource source)
{
	if (**newval == '\0' || strlen(*newval) >= NAMEDATALEN)
	{
		GUC_check_errdetail("A channel name has 1 to %d bytes.", NAMEDATALEN - 1);
		return false;
	}
	return true;
}

void
_PG_init(void)
{
	DefineCustomBoolVariable("login_anomaly.enabled",
							 "Scores new logins in the check_login trigger.",
							 "Turn off while bulk-loading login history; logins are then stored without scoring.",
							 &la_enabled, true, PGC_SUSET, 0, NULL, NULL, NULL);

	DefineCustomRealVariable("login_anomaly.threshold",
							 "Score above which a login raises an alert.",
							 "Scores are in (0, 1); 0.8 corresponds to a risk of about 5.0 nats. A score exactly at the threshold does not alert.",
							 &la_threshold, 0.8, 0.0, 1.0, PGC_SUSET, 0,
							 NULL, NULL, NULL);

	DefineCustomRealVariable("login_anomaly.high_threshold",
							 "Score above which an alert's risk level is high rather than medium.",
							 NULL,
							 &la_high_threshold, 0.95, 0.0, 1.0, PGC_SUSET, 0,
							 NULL, NULL, NULL);

	DefineCustomRealVariable("login_anomaly.nu",
							 "Default nu of the one-class SVM: the share of training logins allowed outside the boundary.",
							 "Training raises it to 1 / logins for short histories.",
							 &la_default_nu, 0.05, DBL_MIN, 1.0, PGC_USERSET, 0,
							 NULL, NULL, NULL);

	DefineCustomRealVariable("login_anomaly.gamma",
							 "Default gamma of the RBF kernel.",
							 NULL,
							 &la_default_gamma, 0.5, DBL_MIN, 1e6, PGC_USERSET, 0,
							 NULL, NULL, NULL);

	DefineCustomIntVariable("login_anomaly.max_training_logins",
							"Most recent logins per user that training uses.",
							"Older logins are dropped, which bounds training time and memory.",
							&la_max_training_logins, 500, 1, 10000, PGC_SUSET, 0,
							NULL, NULL, NULL);

	DefineCustomStringVariable("login_anomaly.weights",
							   "Weights of the login's fields in the model's distance, as name=value pairs.",
							   "Names: country, region, city, browser, os, device, network, wide_network, hour, place. Fields not named keep their defaults. A model keeps the weights it was trained with.",
							   &weights_setting, DEFAULT_WEIGHTS, PGC_USERSET, 0,
							   check_weights, assign_weights, NULL);

	DefineCustomStringVariable("login_anomaly.channel",
							   "NOTIFY channel of the check_login trigger.",
							   NULL,
							   &la_channel, "login_anomaly", PGC_SUSET, 0,
							   check_channel, NULL, NULL);

	DefineCustomRealVariable("login_anomaly.notify_queue_warning",
							 "Share of the NOTIFY queue in use above which check_login warns when it sends an alert.",
							 "The warning repeats at most once a minute per session.",
							 &la_notify_queue_warning, 0.5, 0.0, 1.0, PGC_SUSET, 0,
							 NULL, NULL, NULL);

	DefineCustomRealVariable("login_anomaly.notify_queue_limit",
							 "Share of the NOTIFY queue in use above which check_login sends no NOTIFY.",
							 "The alert is still written to login_anomaly.alerts. A full queue would make the login's commit fail, so the trigger stops adding to it first.",
							 &la_notify_queue_limit, 0.9, 0.0, 1.0, PGC_SUSET, 0,
							 NULL, NULL, NULL);

	DefineCustomBoolVariable("login_anomaly.fail_closed",
							 "Makes an error while scoring fail the login's INSERT.",
							 "When off, the error becomes a WARNING and an alert of kind scoring_failed.",
							 &la_fail_closed, false, PGC_SUSET, 0, NULL, NULL, NULL);

	DefineCustomBoolVariable("login_anomaly.alert_without_model",
							 "Raises an alert for a login of a user who has no model yet.",
							 NULL,
							 &la_alert_without_model, false, PGC_SUSET, 0, NULL, NULL, NULL);

	la_useragent_define_gucs();
	MarkGUCPrefixReserved("login_anomaly");

	la_model_cache_init();
	la_trigger_cache_init();
}
