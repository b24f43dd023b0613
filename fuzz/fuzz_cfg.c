/*
 * fuzz_cfg.c: drives the configuration loader lib/cfg.c.  The input is a
 * list of "NAME=VALUE" lines served by a fake cfg_getenv_fn to cfg_load()
 * (lists, integers, booleans, CIDRs, the production rules); the raw input
 * also goes to cfg_parse_int() and cfg_parse_cidr() directly.
 */
#include "compat.h"

#include <arpa/inet.h>
#include <limits.h>
#include <sys/socket.h>

#include "cfg.h"
#include "log.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

#define CFG_FUZZ_VARS 64

/* The fake environment: the input's lines, first one of a name wins. */
struct cfg_fuzzenv {
	const char *name[CFG_FUZZ_VARS];
	const char *value[CFG_FUZZ_VARS];
	size_t n;
};

static void
cfg_check(bool ok, const char *what)
{
	if (ok)
		return;
	(void)fprintf(stderr, "fuzz_cfg: invariant failed: %s\n", what);
	abort();
}

static const char *
cfg_fuzz_get(const char *name, void *arg)
{
	const struct cfg_fuzzenv *fe = arg;

	for (size_t i = 0; i < fe->n; i++)
		if (strcmp(fe->name[i], name) == 0)
			return fe->value[i];
	return NULL;
}

/* Split buf (NUL-terminated, modified) into NAME=VALUE lines. */
static void
cfg_fuzz_split(char *buf, struct cfg_fuzzenv *fe)
{
	char *line = buf, *nl, *eq;

	fe->n = 0;
	while (line != NULL && fe->n < CFG_FUZZ_VARS) {
		nl = strchr(line, '\n');
		if (nl != NULL)
			*nl = '\0';
		eq = strchr(line, '=');
		if (eq != NULL) {
			*eq = '\0';
			fe->name[fe->n] = line;
			fe->value[fe->n] = eq + 1;
			fe->n++;
		}
		line = nl != NULL ? nl + 1 : NULL;
	}
}

static void
cfg_fuzz_int(const char *s)
{
	static const long long bounds[][2] = {
		{ LLONG_MIN, LLONG_MAX }, { 0, 65536 }, { -1, 1 }, { 1, 100 },
	};
	long long v;

	for (size_t i = 0; i < nitems(bounds); i++) {
		v = 0;
		if (cfg_parse_int(s, bounds[i][0], bounds[i][1], &v) != ERR_OK)
			continue;
		cfg_check(v >= bounds[i][0] && v <= bounds[i][1],
		    "cfg_parse_int out of bounds");
	}
}

/* A parsed CIDR is sane and survives a print-and-parse round trip. */
static void
cfg_fuzz_cidr(const char *s)
{
	struct cfg_cidr c, again;
	char text[INET6_ADDRSTRLEN + 8], addr[INET6_ADDRSTRLEN];

	if (cfg_parse_cidr(s, &c) != ERR_OK)
		return;
	cfg_check((c.family == AF_INET && c.prefix >= 0 && c.prefix <= 32) ||
	    (c.family == AF_INET6 && c.prefix >= 0 && c.prefix <= 128),
	    "cfg_parse_cidr family or prefix");
	cfg_check(inet_ntop(c.family, c.addr, addr, sizeof(addr)) != NULL,
	    "inet_ntop of a parsed CIDR");
	(void)snprintf(text, sizeof(text), "%s/%d", addr, c.prefix);
	cfg_check(cfg_parse_cidr(text, &again) == ERR_OK &&
	    memcmp(&c, &again, sizeof(c)) == 0, "CIDR round trip");
}

/* The promises of a loaded cfg (cfg.h and cfg_derive()). */
static void
cfg_fuzz_loaded(const struct cfg *cfg, const struct cfg_fuzzenv *fe)
{
	cfg_check(cfg->nimages >= 1 && cfg->nimages <= CFG_MAX_IMAGES,
	    "nimages");
	cfg_check(cfg->norigins <= CFG_MAX_ORIGINS, "norigins");
	cfg_check(cfg->nproxies <= CFG_MAX_PROXIES, "nproxies");
	for (size_t i = 0; i < cfg->nimages; i++)
		cfg_check(cfg_image_for(cfg, cfg->image[i].pair) ==
		    cfg->image[i].image, "cfg_image_for of a configured pair");
	for (size_t i = 0; i < cfg->norigins; i++)
		cfg_check(cfg_origin_allowed(cfg, cfg->origin[i]),
		    "configured origin refused");
	cfg_check(cfg_origin_allowed(cfg, NULL) == (cfg->norigins == 0),
	    "NULL origin");
	cfg_check(cfg->docker_socket[0] == '/', "docker socket not a path");
	cfg_check(cfg->state_file[0] != '\0', "empty state file");
	cfg_check(strlen(cfg->instance) >= 1 && strlen(cfg->instance) <= 32,
	    "instance length");
	cfg_check(cfg->idle_timeout <= cfg->max_lifetime, "idle > lifetime");
	cfg_check(!(cfg->production && cfg->development), "prod and dev");
	if (cfg->production)
		cfg_check(cfg->use_gvisor && cfg->api_key[0] != '\0' &&
		    cfg->norigins > 0 && !cfg->disable_rate_limit,
		    "production rules");
	cfg_check(cfg_pids_limit(cfg, false) == cfg->pids_limit &&
	    cfg_pids_limit(cfg, true) == cfg->pids_limit_gvisor,
	    "cfg_pids_limit");
	cfg_check(cfg->pids_limit >= 8 && cfg->pids_limit <= 65536 &&
	    cfg->memory_mb >= 16 && cfg->memory_mb <= 8192, "int bounds");
	for (size_t i = 0; i < fe->n; i++) {
		(void)cfg_image_for(cfg, fe->value[i]);
		(void)cfg_origin_allowed(cfg, fe->value[i]);
	}
}

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	struct cfg_fuzzenv fe;
	struct cfg cfg;
	char *raw, *lines, *errstr = NULL;

	raw = xmalloc(size + 1);
	memcpy(raw, data, size);
	raw[size] = '\0';
	cfg_fuzz_int(raw);
	cfg_fuzz_cidr(raw);

	lines = xstrdup(raw);
	cfg_fuzz_split(lines, &fe);
	for (size_t i = 0; i < fe.n; i++)
		cfg_fuzz_cidr(fe.value[i]);
	if (cfg_load(&cfg, cfg_fuzz_get, &fe, &errstr) == ERR_OK) {
		cfg_check(errstr == NULL, "errstr set on success");
		cfg_fuzz_loaded(&cfg, &fe);
		cfg_release(&cfg);
	} else {
		cfg_check(errstr != NULL, "no errstr on failure");
		free(errstr);
		/* Without errstr the message must be freed inside cfg.c. */
		cfg_check(cfg_load(&cfg, cfg_fuzz_get, &fe, NULL) != ERR_OK,
		    "second load differs");
	}
	free(lines);
	free(raw);
	return 0;
}
