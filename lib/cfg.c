/*
 * cfg.c: the configuration table and its loader.  The table is the single
 * source for --help-config, the README's configuration table and
 * validation; add a setting here and nowhere else.
 */
#include "compat.h"

#include <arpa/inet.h>
#include <ctype.h>
#include <errno.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include "cfg.h"
#include "log.h"

enum cfg_type { CFG_STRING, CFG_INT, CFG_BOOL };

struct cfg_entry {
	const char *name;
	const char *env;
	const char *alias; /* read when env is unset (original's name) */
	enum cfg_type type;
	const char *def;
	long long min, max;
	size_t off;
	const char *help;
};

#define S(n, e, a, d, h) { #n, e, a, CFG_STRING, d, 0, 0, offsetof(struct cfg, n), h }
#define I(n, e, d, lo, hi, h) { #n, e, NULL, CFG_INT, d, lo, hi, offsetof(struct cfg, n), h }
#define B(n, e, d, h) { #n, e, NULL, CFG_BOOL, d, 0, 1, offsetof(struct cfg, n), h }

static const struct cfg_entry cfg_table[] = {
	S(api_key, "SANDBOX_API_KEY", NULL, "",
	    "API key for X-API-Key / api_key; empty disables auth (not in production)"),
	S(allowed_origins, "SANDBOX_ALLOWED_ORIGINS", NULL, "",
	    "comma-separated Origin allowlist, exact match; empty allows any"),
	S(env, "SANDBOX_ENV", "NODE_ENV", "",
	    "\"production\" enforces gVisor, an API key and an Origin allowlist"),
	B(use_gvisor, "SANDBOX_USE_GVISOR", "true",
	    "run containers under the gVisor runtime"),
	S(gvisor_runtime, "SANDBOX_GVISOR_RUNTIME", NULL, "runsc",
	    "Docker runtime name of gVisor"),
	I(max_ws_message, "SANDBOX_MAX_WS_MESSAGE_SIZE", "1024", 1, 65536,
	    "largest WebSocket message (bytes) the relay accepts"),
	B(disable_rate_limit, "DISABLE_RATE_LIMIT", "false",
	    "turn every per-IP limit off (also NODE_ENV=development)"),
	I(sessions_per_hour, "MAX_SESSIONS_PER_HOUR", "50", 1, 1000000,
	    "new sessions per client IP in any 60-minute window"),
	I(concurrent_per_ip, "MAX_CONCURRENT_PER_IP", "2", 1, 1000000,
	    "live sessions per client IP"),
	I(websockets_per_ip, "MAX_WEBSOCKETS_PER_IP", "3", 1, 1000000,
	    "open terminal WebSockets per client IP"),
	I(circuit_max_containers, "CIRCUIT_MAX_CONTAINERS", "15", 1, 100000,
	    "live sessions at which new sessions get 503"),
	I(circuit_max_memory_percent, "CIRCUIT_MAX_MEMORY_PERCENT", "85", 1, 100,
	    "host memory use (%) at which new sessions get 503"),
	S(docker_socket, "SANDBOX_DOCKER_SOCKET", "DOCKER_HOST",
	    "/var/run/docker.sock",
	    "Docker Engine API unix socket (path or unix://path)"),
	S(state_file, "SANDBOX_STATE_FILE", NULL, "/var/lib/toolkata/state.db",
	    "SQLite state file shared by toolkata-api and every relay"),
	S(listen, "SANDBOX_LISTEN", NULL, "",
	    "FastCGI unix socket to create; empty: the socket inherited on fd 0"),
	I(workers, "SANDBOX_WORKERS", "4", 1, 64,
	    "FastCGI worker threads"),
	I(idle_timeout, "SANDBOX_IDLE_TIMEOUT", "300", 10, 86400,
	    "seconds without terminal input before a session ends"),
	I(max_lifetime, "SANDBOX_MAX_LIFETIME", "1800", 30, 86400,
	    "seconds after creation at which a session ends"),
	I(reap_interval, "SANDBOX_REAP_INTERVAL", "15", 1, 3600,
	    "seconds between reaper passes in the daemon"),
	S(images, "SANDBOX_IMAGES", NULL, "jj-git=toolkata-sandbox:latest",
	    "tool pair to image map: pair=image[,pair=image...]"),
	S(environments, "SANDBOX_ENVIRONMENTS", NULL,
	    "bash,node=toolkata-env-node:latest,"
	    "python=toolkata-env-python:latest",
	    "environments offered: name[=image][,...]; names from the built-in "
	    "registry (bash, node, python); bash must be listed and runs the "
	    "tool pair's image, the others need an image"),
	S(pool_environments, "SANDBOX_POOL_ENVIRONMENTS", NULL, "bash",
	    "environments whose containers the warm pool keeps ready "
	    "(SANDBOX_POOL_SIZE per tool pair each); empty: none"),
	S(trusted_proxies, "SANDBOX_TRUSTED_PROXIES", NULL, "127.0.0.1,::1",
	    "peers (IP or CIDR) whose Xclientip (set by Caddy) is believed"),
	I(memory_mb, "SANDBOX_MEMORY_MB", "128", 16, 8192,
	    "container memory limit (MiB); swap is not allowed"),
	I(cpu_percent, "SANDBOX_CPU_PERCENT", "50", 5, 800,
	    "container CPU quota, percent of one core"),
	I(pids_limit, "SANDBOX_PIDS_LIMIT", "50", 8, 65536,
	    "container PIDs limit under runc"),
	I(pids_limit_gvisor, "SANDBOX_PIDS_LIMIT_GVISOR", "2048", 128, 65536,
	    "container PIDs limit under runsc (counts gVisor's own threads)"),
	I(home_size_mb, "SANDBOX_HOME_SIZE_MB", "50", 1, 4096,
	    "size of the tmpfs home /home/toolkata (MiB)"),
	I(tmp_size_mb, "SANDBOX_TMP_SIZE_MB", "10", 1, 4096,
	    "size of the tmpfs /tmp (MiB)"),
	I(nofile, "SANDBOX_NOFILE", "64", 16, 65536,
	    "open files limit inside the container"),
	I(nproc, "SANDBOX_NPROC", "48", 8, 4096,
	    "processes the sandbox user may run at once (RLIMIT_NPROC)"),
	I(pool_size, "SANDBOX_POOL_SIZE", "2", 0, 64,
	    "containers per tool pair and pooled environment kept created and "
	    "started ahead of demand"),
	I(pool_max_age, "SANDBOX_POOL_MAX_AGE", "600", 5, 86400,
	    "seconds after which an unclaimed pool container is replaced"),
	I(evict_after, "SANDBOX_EVICT_AFTER", "30", 0, 86400,
	    "a create at the per-IP limit ends that IP's oldest session with "
	    "no terminal attached for this many seconds (0: never)"),
	I(init_timeout, "SANDBOX_INIT_TIMEOUT", "300", 1, 3600,
	    "longest time (s) a session's init commands (POST \"init\") may "
	    "take; each environment's defaultTimeout applies below it"),
	I(engine_timeout, "SANDBOX_ENGINE_TIMEOUT", "30", 1, 600,
	    "seconds allowed for one Docker Engine API call"),
	I(destroy_timeout, "SANDBOX_DESTROY_TIMEOUT", "10", 1, 120,
	    "seconds allowed for removing a container"),
	I(check_timeout_ms, "SANDBOX_CHECK_TIMEOUT_MS", "5000", 100, 600000,
	    "ms a step check may run when its request names no timeoutMs"),
	I(check_timeout_max_ms, "SANDBOX_CHECK_TIMEOUT_MAX_MS", "30000", 100,
	    600000, "largest timeoutMs a step check request may ask for"),
	I(check_output_max, "SANDBOX_CHECK_OUTPUT_MAX", "65536", 0, 262144,
	    "bytes of stdout and of stderr a step check answers with (the rest "
	    "is cut: truncated)"),
	I(checks_per_minute, "SANDBOX_CHECKS_PER_MINUTE", "30", 1, 100000,
	    "step checks one session may start in any 60 s (one at a time "
	    "always)"),
	S(audit_log, "SANDBOX_AUDIT_LOG", NULL, "-",
	    "audit log file (JSON lines); - for stderr"),
	S(instance, "SANDBOX_INSTANCE", NULL, "default",
	    "name of this stack; its containers carry toolkata.instance=NAME "
	    "and its reaper touches no other"),
	S(relay_log, "SANDBOX_RELAY_LOG", NULL, "",
	    "file toolkata-relay logs to; empty: stderr, which websocketd logs "
	    "with the URL (api_key included)"),
	S(ws_secret, "SANDBOX_WS_SECRET", NULL, "",
	    "secret Caddy sends the relay (Xwssecret): only with it is a client "
	    "IP believed; 16..256 of [A-Za-z0-9._~+/=-]; unset: every terminal "
	    "is refused; required in production"),
	B(verbose, "SANDBOX_VERBOSE", "false",
	    "log debug lines"),
};

static const char *
cfg_getenv(const char *name, void *arg ATTR_UNUSED)
{
	return getenv(name);
}

ATTR_PRINTF(2, 3) static enum err
cfg_fail(char **errstr, const char *fmt, ...)
{
	va_list ap;
	char *s = NULL;

	va_start(ap, fmt);
	if (vasprintf(&s, fmt, ap) < 0)
		s = NULL;
	va_end(ap);
	if (errstr != NULL)
		*errstr = s;
	else
		free(s);
	return ERR_INVAL;
}

enum err
cfg_parse_int(const char *s, long long min, long long max, long long *out)
{
	char *end = NULL;
	long long v;

	if (s == NULL || *s == '\0' || isspace((unsigned char)*s))
		return ERR_INVAL;
	errno = 0;
	v = strtoll(s, &end, 10);
	if (errno != 0 || end == s || *end != '\0' || v < min || v > max)
		return ERR_INVAL;
	*out = v;
	return ERR_OK;
}

static enum err
cfg_parse_bool(const char *s, bool *out)
{
	static const char *const yes[] = { "true", "1", "yes", "on" };
	static const char *const no[] = { "false", "0", "no", "off" };

	for (size_t i = 0; i < nitems(yes); i++) {
		if (strcasecmp(s, yes[i]) == 0) {
			*out = true;
			return ERR_OK;
		}
		if (strcasecmp(s, no[i]) == 0) {
			*out = false;
			return ERR_OK;
		}
	}
	return ERR_INVAL;
}

static bool
cfg_is_mapped(const unsigned char a[16])
{
	static const unsigned char mapped[12] = { 0, 0, 0, 0, 0, 0, 0, 0, 0,
		0, 0xff, 0xff };

	return memcmp(a, mapped, sizeof(mapped)) == 0;
}

enum err
cfg_parse_cidr(const char *s, struct cfg_cidr *out)
{
	char buf[INET6_ADDRSTRLEN + 5];
	char *slash;
	long long prefix = -1;
	int maxp;

	if (!strlcpy_ok(buf, s, sizeof(buf)))
		return ERR_INVAL;
	slash = strchr(buf, '/');
	if (slash != NULL)
		*slash++ = '\0';
	memset(out, 0, sizeof(*out));
	if (inet_pton(AF_INET, buf, out->addr) == 1) {
		out->family = AF_INET;
		maxp = 32;
	} else if (inet_pton(AF_INET6, buf, out->addr) == 1) {
		out->family = AF_INET6;
		maxp = 128;
	} else
		return ERR_INVAL;
	if (slash != NULL && cfg_parse_int(slash, 0, maxp, &prefix) != ERR_OK)
		return ERR_INVAL;
	out->prefix = slash != NULL ? (int)prefix : maxp;
	/* Peers are compared as IPv4 when IPv4-mapped (access.c), so a mapped
	 * network ::ffff:a.b.c.d/n is the IPv4 network a.b.c.d/(n-96). */
	if (out->family == AF_INET6 && cfg_is_mapped(out->addr)) {
		if (out->prefix < 96)
			return ERR_INVAL;
		memmove(out->addr, out->addr + 12, 4);
		memset(out->addr + 4, 0, 12);
		out->family = AF_INET;
		out->prefix -= 96;
	}
	return ERR_OK;
}

/* Characters allowed in a tool pair name and in an image reference. */
static bool
cfg_valid_chars(const char *s, size_t max, const char *extra)
{
	size_t n = strlen(s);

	if (n == 0 || n > max)
		return false;
	for (size_t i = 0; i < n; i++) {
		unsigned char c = (unsigned char)s[i];

		if (!isalnum(c) && strchr(extra, c) == NULL)
			return false;
	}
	return true;
}

/* The built-in environment registry: what GET /api/v1/environments says. */
static const struct cfg_env_known {
	const char *name;
	const char *description;
	const char *category;
	long long default_timeout_ms;
	long long proc_memory_mb;
} cfg_env_known[] = {
	{ "bash", "Bash shell with git and jj (Jujutsu VCS)", "shell", 60000,
	    0 },
	/* V8 reserves address space it never touches: node does not start
	 * under 512 MiB of RLIMIT_AS (measured under runsc), so its cap is
	 * 1 GiB and its heap is capped instead (docker/Dockerfile). */
	{ "node", "Node.js (Debian's nodejs 18) with git", "runtime", 120000,
	    1024 },
	{ "python", "Python 3 (Debian's python3.11) with git", "runtime",
	    120000, 0 },
};

static bool
cfg_valid_image(const char *ref)
{
	return cfg_valid_chars(ref, CFG_IMAGE_MAX - 1, "-_./:@") &&
	    isalnum((unsigned char)ref[0]) && strstr(ref, "..") == NULL &&
	    strstr(ref, "/.") == NULL;
}

/* The configured environment called name, missing or not. */
static struct cfg_env *
cfg_env_find(struct cfg *cfg, const char *name)
{
	for (size_t i = 0; i < cfg->nenvs; i++)
		if (strcmp(cfg->envs[i].name, name) == 0)
			return &cfg->envs[i];
	return NULL;
}

/* One SANDBOX_ENVIRONMENTS item: name or name=image. */
static enum err
cfg_add_env(struct cfg *cfg, const char *item, char **errstr)
{
	const char *eq = strchr(item, '=');
	size_t nlen = eq != NULL ? (size_t)(eq - item) : strlen(item);
	const struct cfg_env_known *k = NULL;
	struct cfg_env *env;

	for (size_t i = 0; i < nitems(cfg_env_known); i++)
		if (strlen(cfg_env_known[i].name) == nlen &&
		    strncmp(cfg_env_known[i].name, item, nlen) == 0)
			k = &cfg_env_known[i];
	if (k == NULL)
		return cfg_fail(errstr, "SANDBOX_ENVIRONMENTS: '%.40s' is not a "
		    "known environment (bash, node, python)", item);
	if (cfg_env_find(cfg, k->name) != NULL)
		return cfg_fail(errstr, "SANDBOX_ENVIRONMENTS: '%s' given twice",
		    k->name);
	if (strcmp(k->name, "bash") == 0 ? eq != NULL : eq == NULL)
		return cfg_fail(errstr, "SANDBOX_ENVIRONMENTS: '%.40s': bash "
		    "runs the tool pair's image (SANDBOX_IMAGES), every other "
		    "environment needs name=image", item);
	if (eq != NULL && !cfg_valid_image(eq + 1))
		return cfg_fail(errstr, "SANDBOX_ENVIRONMENTS: bad image in "
		    "'%.60s'", item);
	env = &cfg->envs[cfg->nenvs++];	/* fits: one per known name */
	(void)strlcpy_ok(env->name, k->name, sizeof(env->name));
	if (eq != NULL)
		(void)strlcpy_ok(env->image, eq + 1, sizeof(env->image));
	env->description = k->description;
	env->category = k->category;
	env->default_timeout_ms = k->default_timeout_ms;
	env->proc_memory_mb = k->proc_memory_mb;
	return ERR_OK;
}

/* One SANDBOX_POOL_ENVIRONMENTS item: a configured environment. */
static enum err
cfg_add_pool_env(struct cfg *cfg, const char *item, char **errstr)
{
	struct cfg_env *env = cfg_env_find(cfg, item);

	if (env == NULL)
		return cfg_fail(errstr, "SANDBOX_POOL_ENVIRONMENTS: '%.40s' is "
		    "not in SANDBOX_ENVIRONMENTS", item);
	env->pooled = true;
	return ERR_OK;
}

/*
 * Split a comma list in place-free fashion: calls fn for every trimmed,
 * non-empty item.  Stops at the first error.
 */
typedef enum err (*cfg_item_fn)(struct cfg *, const char *, char **);

static enum err
cfg_split(struct cfg *cfg, const char *var, const char *list, cfg_item_fn fn,
    char **errstr)
{
	char item[512];
	const char *p = list;

	while (*p != '\0') {
		const char *comma = strchr(p, ',');
		size_t len = comma != NULL ? (size_t)(comma - p) : strlen(p);
		size_t b = 0, e = len;
		enum err r;

		while (b < e && isspace((unsigned char)p[b]))
			b++;
		while (e > b && isspace((unsigned char)p[e - 1]))
			e--;
		if (e - b >= sizeof(item))
			return cfg_fail(errstr, "%s: list item too long: "
			    "'%.40s...'", var, p + b);
		if (e > b) {
			memcpy(item, p + b, e - b);
			item[e - b] = '\0';
			r = fn(cfg, item, errstr);
			if (r != ERR_OK)
				return r;
		}
		if (comma == NULL)
			break;
		p = comma + 1;
	}
	return ERR_OK;
}

static enum err
cfg_add_origin(struct cfg *cfg, const char *item, char **errstr)
{
	if (cfg->norigins == CFG_MAX_ORIGINS)
		return cfg_fail(errstr, "SANDBOX_ALLOWED_ORIGINS: more than %d "
		    "origins", CFG_MAX_ORIGINS);
	if (!strlcpy_ok(cfg->origin[cfg->norigins], item, CFG_ORIGIN_MAX))
		return cfg_fail(errstr, "SANDBOX_ALLOWED_ORIGINS: origin too "
		    "long: '%.40s...'", item);
	cfg->norigins++;
	return ERR_OK;
}

static enum err
cfg_add_image(struct cfg *cfg, const char *item, char **errstr)
{
	const char *eq = strchr(item, '=');
	struct cfg_image *im;
	size_t plen;

	if (cfg->nimages == CFG_MAX_IMAGES)
		return cfg_fail(errstr, "SANDBOX_IMAGES: more than %d entries",
		    CFG_MAX_IMAGES);
	if (eq == NULL)
		return cfg_fail(errstr, "SANDBOX_IMAGES: '%s' is not pair=image",
		    item);
	im = &cfg->image[cfg->nimages];
	plen = (size_t)(eq - item);
	if (plen == 0 || plen >= CFG_PAIR_MAX)
		return cfg_fail(errstr, "SANDBOX_IMAGES: bad tool pair in '%s'",
		    item);
	memcpy(im->pair, item, plen);
	im->pair[plen] = '\0';
	if (!cfg_valid_chars(im->pair, CFG_PAIR_MAX - 1, "-_.") ||
	    !cfg_valid_image(eq + 1))
		return cfg_fail(errstr, "SANDBOX_IMAGES: bad characters in '%s'",
		    item);
	if (cfg_image_for(cfg, im->pair) != NULL)
		return cfg_fail(errstr, "SANDBOX_IMAGES: tool pair '%s' given "
		    "twice", im->pair);
	(void)strlcpy_ok(im->image, eq + 1, CFG_IMAGE_MAX);
	cfg->nimages++;
	return ERR_OK;
}

static enum err
cfg_add_proxy(struct cfg *cfg, const char *item, char **errstr)
{
	if (cfg->nproxies == CFG_MAX_PROXIES)
		return cfg_fail(errstr, "SANDBOX_TRUSTED_PROXIES: more than %d "
		    "entries", CFG_MAX_PROXIES);
	if (cfg_parse_cidr(item, &cfg->proxy[cfg->nproxies]) != ERR_OK)
		return cfg_fail(errstr, "SANDBOX_TRUSTED_PROXIES: '%s' is not an "
		    "IP address or CIDR", item);
	cfg->nproxies++;
	return ERR_OK;
}

static enum err
cfg_set(struct cfg *cfg, const struct cfg_entry *e, const char *var,
    const char *v, char **errstr)
{
	char *base = (char *)cfg;
	long long n;
	bool b;

	switch (e->type) {
	case CFG_STRING:
		if (strlen(v) > 4096)
			return cfg_fail(errstr, "%s: value too long", var);
		*(char **)(void *)(base + e->off) = xstrdup(v);
		return ERR_OK;
	case CFG_INT:
		if (cfg_parse_int(v, e->min, e->max, &n) != ERR_OK)
			return cfg_fail(errstr, "%s: '%.40s' is not an integer in "
			    "%lld..%lld", var, v, e->min, e->max);
		*(long long *)(void *)(base + e->off) = n;
		return ERR_OK;
	case CFG_BOOL:
		if (cfg_parse_bool(v, &b) != ERR_OK)
			return cfg_fail(errstr, "%s: '%.40s' is not true or false",
			    var, v);
		*(bool *)(void *)(base + e->off) = b;
		return ERR_OK;
	}
	return ERR_INVAL;
}

static enum err
cfg_derive(struct cfg *cfg, cfg_getenv_fn get, void *arg, char **errstr)
{
	const char *node_env = get("NODE_ENV", arg);
	enum err r;

	cfg->production = strcmp(cfg->env, "production") == 0 ||
	    (node_env != NULL && strcmp(node_env, "production") == 0);
	cfg->development = !cfg->production &&
	    (strcmp(cfg->env, "development") == 0 ||
		(node_env != NULL && strcmp(node_env, "development") == 0));
	if ((r = cfg_split(cfg, "SANDBOX_ALLOWED_ORIGINS",
		 cfg->allowed_origins, cfg_add_origin, errstr)) != ERR_OK ||
	    (r = cfg_split(cfg, "SANDBOX_IMAGES", cfg->images, cfg_add_image,
		 errstr)) != ERR_OK ||
	    (r = cfg_split(cfg, "SANDBOX_ENVIRONMENTS", cfg->environments,
		 cfg_add_env, errstr)) != ERR_OK ||
	    (r = cfg_split(cfg, "SANDBOX_POOL_ENVIRONMENTS",
		 cfg->pool_environments, cfg_add_pool_env, errstr)) != ERR_OK ||
	    (r = cfg_split(cfg, "SANDBOX_TRUSTED_PROXIES",
		 cfg->trusted_proxies, cfg_add_proxy, errstr)) != ERR_OK)
		return r;
	if (cfg->nimages == 0)
		return cfg_fail(errstr, "SANDBOX_IMAGES: no tool pair configured");
	if (cfg_env_find(cfg, "bash") == NULL)
		return cfg_fail(errstr, "SANDBOX_ENVIRONMENTS: bash (the default "
		    "environment) must be listed");
	if (strncmp(cfg->docker_socket, "unix://", 7) == 0)
		memmove(cfg->docker_socket, cfg->docker_socket + 7,
		    strlen(cfg->docker_socket + 7) + 1);
	if (cfg->docker_socket[0] != '/')
		return cfg_fail(errstr, "SANDBOX_DOCKER_SOCKET (or DOCKER_HOST): "
		    "'%s' is not a unix socket path", cfg->docker_socket);
	if (cfg->use_gvisor &&
	    !cfg_valid_chars(cfg->gvisor_runtime, 63, "-_."))
		return cfg_fail(errstr, "SANDBOX_GVISOR_RUNTIME: must be 1..63 "
		    "characters of [A-Za-z0-9._-]");
	if (!cfg_valid_chars(cfg->instance, 32, "-"))
		return cfg_fail(errstr, "SANDBOX_INSTANCE: must be 1..32 "
		    "characters of [A-Za-z0-9-]");
	if (cfg->state_file[0] == '\0')
		return cfg_fail(errstr, "SANDBOX_STATE_FILE: must not be empty");
	if (cfg->ws_secret[0] != '\0' &&
	    (strlen(cfg->ws_secret) < 16 ||
		!cfg_valid_chars(cfg->ws_secret, 256, "._~+/=-")))
		return cfg_fail(errstr, "SANDBOX_WS_SECRET: must be 16..256 "
		    "characters of [A-Za-z0-9._~+/=-]");
	if (cfg->idle_timeout > cfg->max_lifetime)
		return cfg_fail(errstr, "SANDBOX_IDLE_TIMEOUT: longer than "
		    "SANDBOX_MAX_LIFETIME");
	if (cfg->development || cfg->disable_rate_limit) {
		cfg->sessions_per_hour = 999999;
		cfg->concurrent_per_ip = 999999;
		cfg->websockets_per_ip = 999999;
	}
	return ERR_OK;
}

static enum err
cfg_check_production(const struct cfg *cfg, char **errstr)
{
	if (!cfg->production)
		return ERR_OK;
	if (!cfg->use_gvisor)
		return cfg_fail(errstr, "SANDBOX_USE_GVISOR: gVisor is required "
		    "in production; set SANDBOX_USE_GVISOR=true");
	if (cfg->api_key[0] == '\0')
		return cfg_fail(errstr, "SANDBOX_API_KEY: required in "
		    "production; set a strong API key");
	if (cfg->norigins == 0)
		return cfg_fail(errstr, "SANDBOX_ALLOWED_ORIGINS: required in "
		    "production; set a comma-separated allowlist");
	if (cfg->ws_secret[0] == '\0')
		return cfg_fail(errstr, "SANDBOX_WS_SECRET: required in "
		    "production; set the same random secret for Caddy and "
		    "toolkata-relay");
	if (cfg->disable_rate_limit)
		return cfg_fail(errstr, "DISABLE_RATE_LIMIT: not allowed in "
		    "production");
	return ERR_OK;
}

enum err
cfg_load(struct cfg *cfg, cfg_getenv_fn get, void *arg, char **errstr)
{
	enum err r = ERR_OK;

	if (errstr != NULL)
		*errstr = NULL;
	if (get == NULL)
		get = cfg_getenv;
	memset(cfg, 0, sizeof(*cfg));
	for (size_t i = 0; i < nitems(cfg_table); i++) {
		const struct cfg_entry *e = &cfg_table[i];
		const char *var = e->env;
		const char *v = get(e->env, arg);

		if (v == NULL && e->alias != NULL) {
			var = e->alias;
			v = get(e->alias, arg);
		}
		if (v == NULL) {
			var = e->env;
			v = e->def;
		}
		if ((r = cfg_set(cfg, e, var, v, errstr)) != ERR_OK)
			goto out;
	}
	if ((r = cfg_derive(cfg, get, arg, errstr)) != ERR_OK)
		goto out;
	r = cfg_check_production(cfg, errstr);
out:
	if (r != ERR_OK)
		cfg_release(cfg);
	return r;
}

void
cfg_release(struct cfg *cfg)
{
	char *base = (char *)cfg;

	for (size_t i = 0; i < nitems(cfg_table); i++) {
		char **sp;

		if (cfg_table[i].type != CFG_STRING)
			continue;
		sp = (char **)(void *)(base + cfg_table[i].off);
		free(*sp);
		*sp = NULL;
	}
}

void
cfg_env_names(char *buf, size_t bufsz)
{
	size_t len = 0;

	buf[0] = '\0';
	for (size_t i = 0; i < nitems(cfg_table) + 1; i++) {
		const char *a = i < nitems(cfg_table) ? cfg_table[i].env :
		    "NODE_ENV";
		const char *b = i < nitems(cfg_table) ? cfg_table[i].alias :
		    NULL;
		int n;

		if (strncmp(a, "HTTP_", 5) == 0)
			continue;
		if (b != NULL && strncmp(b, "HTTP_", 5) == 0)
			b = NULL;
		n = snprintf(buf + len, bufsz - len, "%s%s%s%s",
		    len > 0 ? "," : "", a, b != NULL ? "," : "",
		    b != NULL ? b : "");

		if (n < 0 || (size_t)n >= bufsz - len)
			return;
		len += (size_t)n;
	}
}

void
cfg_print_table(FILE *fp)
{
	static const char *const types[] = { "string", "int", "bool" };

	(void)fprintf(fp, "%-30s %-7s %-32s %-14s %s\n", "VARIABLE", "TYPE",
	    "DEFAULT", "BOUNDS", "MEANING");
	for (size_t i = 0; i < nitems(cfg_table); i++) {
		const struct cfg_entry *e = &cfg_table[i];
		char bounds[48] = "-";

		if (e->type == CFG_INT)
			(void)snprintf(bounds, sizeof(bounds), "%lld..%lld",
			    e->min, e->max);
		(void)fprintf(fp, "%-30s %-7s %-32s %-14s %s%s%s\n", e->env,
		    types[e->type], e->def[0] != '\0' ? e->def : "\"\"",
		    bounds, e->help, e->alias != NULL ? "; also read from " : "",
		    e->alias != NULL ? e->alias : "");
	}
}

const char *
cfg_image_for(const struct cfg *cfg, const char *pair)
{
	for (size_t i = 0; i < cfg->nimages; i++)
		if (strcmp(cfg->image[i].pair, pair) == 0)
			return cfg->image[i].image;
	return NULL;
}

bool
cfg_origin_allowed(const struct cfg *cfg, const char *origin)
{
	if (cfg->norigins == 0)
		return true;
	if (origin == NULL)
		return false;
	for (size_t i = 0; i < cfg->norigins; i++)
		if (strcmp(cfg->origin[i], origin) == 0)
			return true;
	return false;
}

long long
cfg_pids_limit(const struct cfg *cfg, bool gvisor)
{
	return gvisor ? cfg->pids_limit_gvisor : cfg->pids_limit;
}

const struct cfg_env *
cfg_env_for(const struct cfg *cfg, const char *name)
{
	if (name == NULL || *name == '\0')
		name = "bash";
	for (size_t i = 0; i < cfg->nenvs; i++)
		if (strcmp(cfg->envs[i].name, name) == 0)
			return cfg->envs[i].missing ? NULL : &cfg->envs[i];
	return NULL;
}

const char *
cfg_env_image(const struct cfg *cfg, const struct cfg_env *env,
    const char *pair)
{
	const char *pi = cfg_image_for(cfg, pair);

	if (pi == NULL || env == NULL)
		return NULL;
	return env->image[0] != '\0' ? env->image : pi;
}
