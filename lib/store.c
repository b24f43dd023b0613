/*
 * store.c: the SQLite state file.  Every statement is prepared from a
 * constant string and bound with st_prepare()'s tiny format ('s' text,
 * 'i' int64), so no client string is ever spliced into SQL.  Prepared
 * statements are kept per connection, keyed by their SQL text's address,
 * and reset after use: compiling SQL was a third of toolkata-api's
 * instructions on GET /api/v1/sessions/<id> (bench/REPORT.md).
 */
#include "compat.h"

#include <errno.h>
#include <fcntl.h>
#include <unistd.h>
#include <signal.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include <sqlite3.h>

#include "log.h"
#include "store.h"

#define STORE_BUSY_MS 5000
#define STORE_KEEP_ENDED_MS (24LL * 3600 * 1000)

#define STORE_STMT_CACHE 32

struct store {
	sqlite3 *db;
	int busy_ms;	/* this connection's busy timeout */
	struct {
		const char *sql;	/* a string constant: compared by address */
		sqlite3_stmt *stmt;
	} cache[STORE_STMT_CACHE];
	size_t ncache;
};

static const char store_schema[] =
    "CREATE TABLE IF NOT EXISTS sessions("
    " id TEXT PRIMARY KEY,"
    " container_id TEXT NOT NULL DEFAULT '',"
    " tool_pair TEXT NOT NULL,"
    " client_ip TEXT NOT NULL,"
    " state INTEGER NOT NULL,"
    " created_at INTEGER NOT NULL,"
    " last_active INTEGER NOT NULL,"
    " expires_at INTEGER NOT NULL,"
    " ended_at INTEGER NOT NULL DEFAULT 0,"
    " end_reason TEXT NOT NULL DEFAULT '',"
    " owner_pid INTEGER NOT NULL DEFAULT 0);"
    "CREATE INDEX IF NOT EXISTS sessions_ip ON sessions(client_ip, state);"
    "CREATE TABLE IF NOT EXISTS history("
    " session_id TEXT PRIMARY KEY,"
    " client_ip TEXT NOT NULL,"
    " created_at INTEGER NOT NULL);"
    "CREATE INDEX IF NOT EXISTS history_ip ON history(client_ip, created_at);"
    "CREATE TABLE IF NOT EXISTS websockets("
    " id INTEGER PRIMARY KEY AUTOINCREMENT,"
    " session_id TEXT NOT NULL,"
    " client_ip TEXT NOT NULL,"
    " pid INTEGER NOT NULL,"
    " started_at INTEGER NOT NULL);"
    "CREATE INDEX IF NOT EXISTS websockets_ip ON websockets(client_ip);"
    "CREATE INDEX IF NOT EXISTS websockets_session ON websockets(session_id);"
    "CREATE TABLE IF NOT EXISTS pool("
    " id TEXT PRIMARY KEY,"
    " image TEXT NOT NULL,"
    " container_id TEXT NOT NULL DEFAULT '',"
    " state INTEGER NOT NULL,"
    " owner_pid INTEGER NOT NULL,"
    " created_at INTEGER NOT NULL);"
    /* Step checks, for their per-session limits (store_check_begin). */
    "CREATE TABLE IF NOT EXISTS checks("
    " id INTEGER PRIMARY KEY AUTOINCREMENT,"
    " session_id TEXT NOT NULL,"
    " started_at INTEGER NOT NULL,"
    " busy_until INTEGER NOT NULL,"
    " ended_at INTEGER NOT NULL DEFAULT 0);"
    "CREATE INDEX IF NOT EXISTS checks_session ON checks(session_id, "
    "started_at);";

/* Columns added after the first release: added to an older state file. */
static const char *const store_columns_added[][2] = {
	{ "last_detach", "ALTER TABLE sessions ADD COLUMN last_detach "
	    "INTEGER NOT NULL DEFAULT 0" },
	{ "init", "ALTER TABLE sessions ADD COLUMN init TEXT" },
	{ "init_result", "ALTER TABLE sessions ADD COLUMN init_result TEXT" },
	{ "environment", "ALTER TABLE sessions ADD COLUMN environment "
	    "TEXT NOT NULL DEFAULT 'bash'" },
	{ "environment", "ALTER TABLE pool ADD COLUMN environment "
	    "TEXT NOT NULL DEFAULT 'bash'" },
	{ "tool_pair", "ALTER TABLE pool ADD COLUMN tool_pair "
	    "TEXT NOT NULL DEFAULT ''" },
};

static enum err
st_fail(struct store *st, const char *what)
{
	log_warnx("store: %s: %s", what, sqlite3_errmsg(st->db));
	return ERR_IO;
}

/* Give a statement back: reset it if it is cached, else finalize it. */
static void
st_done(struct store *st, sqlite3_stmt *stmt)
{
	for (size_t i = 0; i < st->ncache; i++)
		if (st->cache[i].stmt == stmt) {
			(void)sqlite3_reset(stmt);
			(void)sqlite3_clear_bindings(stmt);
			return;
		}
	sqlite3_finalize(stmt);
}

/* Prepare sql and bind arguments by fmt: 's' = const char *, 'i' = int64. */
static sqlite3_stmt *
st_prepare(struct store *st, const char *sql, const char *fmt, ...)
{
	sqlite3_stmt *stmt = NULL;
	va_list ap;
	int rc = SQLITE_OK;
	size_t i;

	for (i = 0; i < st->ncache; i++)
		if (st->cache[i].sql == sql) {
			stmt = st->cache[i].stmt;
			break;
		}
	if (stmt == NULL) {
		if (sqlite3_prepare_v3(st->db, sql, -1, SQLITE_PREPARE_PERSISTENT,
			&stmt, NULL) != SQLITE_OK) {
			(void)st_fail(st, "prepare");
			return NULL;
		}
		if (st->ncache < STORE_STMT_CACHE) {
			st->cache[st->ncache].sql = sql;
			st->cache[st->ncache++].stmt = stmt;
		}
	}
	va_start(ap, fmt);
	for (int k = 0; fmt[k] != '\0' && rc == SQLITE_OK; k++) {
		if (fmt[k] == 's')
			rc = sqlite3_bind_text(stmt, k + 1,
			    va_arg(ap, const char *), -1, SQLITE_TRANSIENT);
		else
			rc = sqlite3_bind_int64(stmt, k + 1,
			    va_arg(ap, int64_t));
	}
	va_end(ap);
	if (rc != SQLITE_OK) {
		(void)st_fail(st, "bind");
		st_done(st, stmt);
		return NULL;
	}
	return stmt;
}

/* Step a statement that returns no rows; finalizes it. */
static enum err
st_run(struct store *st, sqlite3_stmt *stmt)
{
	int rc;

	if (stmt == NULL)
		return ERR_IO;
	rc = sqlite3_step(stmt);
	st_done(st, stmt);
	if (rc != SQLITE_DONE)
		return st_fail(st, "step");
	return ERR_OK;
}

/* Step a statement that returns one integer; finalizes it. */
static enum err
st_int(struct store *st, sqlite3_stmt *stmt, long long *out)
{
	int rc;

	if (stmt == NULL)
		return ERR_IO;
	rc = sqlite3_step(stmt);
	if (rc == SQLITE_ROW)
		*out = sqlite3_column_int64(stmt, 0);
	st_done(st, stmt);
	if (rc != SQLITE_ROW)
		return st_fail(st, "step");
	return ERR_OK;
}

static enum err
st_exec(struct store *st, const char *sql)
{
	if (sqlite3_exec(st->db, sql, NULL, NULL, NULL) != SQLITE_OK)
		return st_fail(st, sql);
	return ERR_OK;
}

/* Add the columns an older state file lacks (the table is the one the
 * ALTER TABLE statement names). */
static enum err
st_migrate(struct store *st)
{
	for (size_t i = 0; i < nitems(store_columns_added); i++) {
		char probe[96], table[32];
		sqlite3_stmt *q = NULL;

		if (sscanf(store_columns_added[i][1], "ALTER TABLE %31s", table)
		    != 1)
			return ERR_INVAL;
		(void)snprintf(probe, sizeof(probe), "SELECT %s FROM %s LIMIT 0",
		    store_columns_added[i][0], table);
		if (sqlite3_prepare_v2(st->db, probe, -1, &q, NULL) ==
		    SQLITE_OK) {
			sqlite3_finalize(q);
			continue;
		}
		if (sqlite3_exec(st->db, store_columns_added[i][1], NULL, NULL,
			NULL) != SQLITE_OK &&
		    strstr(sqlite3_errmsg(st->db), "duplicate") == NULL)
			return st_fail(st, "migrate");
	}
	return ERR_OK;
}

struct store *
store_open(const char *path, char **errstr)
{
	struct store *st = xcalloc(1, sizeof(*st));
	int rc;

	*errstr = NULL;
	rc = sqlite3_open_v2(path, &st->db,
	    SQLITE_OPEN_READWRITE | SQLITE_OPEN_CREATE | SQLITE_OPEN_NOMUTEX,
	    NULL);
	if (rc != SQLITE_OK)
		goto fail;
	st->busy_ms = STORE_BUSY_MS;
	sqlite3_busy_timeout(st->db, STORE_BUSY_MS);
	if (sqlite3_exec(st->db, "PRAGMA journal_mode=WAL;"
		"PRAGMA synchronous=NORMAL;PRAGMA foreign_keys=ON;",
		NULL, NULL, NULL) != SQLITE_OK ||
	    sqlite3_exec(st->db, store_schema, NULL, NULL, NULL) != SQLITE_OK ||
	    st_migrate(st) != ERR_OK)
		goto fail;
	return st;
fail:
	if (asprintf(errstr, "cannot open state file '%s': %s", path,
		st->db != NULL ? sqlite3_errmsg(st->db) : "out of memory") < 0)
		*errstr = NULL;
	store_close(st);
	return NULL;
}

void
store_close(struct store *st)
{
	if (st == NULL)
		return;
	for (size_t i = 0; i < st->ncache; i++)
		sqlite3_finalize(st->cache[i].stmt);
	sqlite3_close(st->db);
	free(st);
}

static enum err
st_usage(struct store *st, const char *ip, int64_t now_ms, int64_t idle_ms,
    struct ratelimit_usage *u)
{
	sqlite3_stmt *q;
	long long v = 0;
	enum err r;

	q = st_prepare(st, "SELECT count(*) FROM history WHERE client_ip=?1 "
	    "AND created_at>?2", "si", ip, now_ms - RATELIMIT_WINDOW_MS);
	if ((r = st_int(st, q, &u->in_window)) != ERR_OK)
		return r;
	q = st_prepare(st, "SELECT coalesce(min(created_at),0) FROM history "
	    "WHERE client_ip=?1 AND created_at>?2", "si", ip,
	    now_ms - RATELIMIT_WINDOW_MS);
	if ((r = st_int(st, q, &v)) != ERR_OK)
		return r;
	u->oldest_ms = v;
	q = st_prepare(st, "SELECT count(*) FROM sessions WHERE client_ip=?1 "
	    "AND state<>?2", "si", ip, (int64_t)STORE_ENDED);
	if ((r = st_int(st, q, &u->live)) != ERR_OK)
		return r;
	q = st_prepare(st, "SELECT coalesce(min(min(last_active+?3, "
	    "expires_at)),0) FROM sessions WHERE client_ip=?1 AND state<>?2",
	    "sii", ip, (int64_t)STORE_ENDED, idle_ms);
	if ((r = st_int(st, q, &v)) != ERR_OK)
		return r;
	u->next_end_ms = v;
	return ERR_OK;
}

enum err
store_reserve(struct store *st, const struct ratelimit *rl,
    const struct store_session *s, int64_t idle_ms,
    enum ratelimit_verdict *verdict, long long *retry_after_s)
{
	struct ratelimit_usage u;
	enum err r;

	*verdict = RATELIMIT_OK;
	*retry_after_s = 0;
	if ((r = st_exec(st, "BEGIN IMMEDIATE")) != ERR_OK)
		return r;
	if ((r = st_usage(st, s->client_ip, s->created_at, idle_ms, &u)) !=
	    ERR_OK)
		goto out;
	*verdict = ratelimit_session(rl, &u, s->created_at, retry_after_s);
	if (*verdict != RATELIMIT_OK) {
		r = ERR_LIMIT;
		goto out;
	}
	r = st_run(st, st_prepare(st, "INSERT INTO sessions(id, tool_pair, "
	    "client_ip, state, created_at, last_active, expires_at, "
	    "owner_pid, environment) VALUES(?1, ?2, ?3, ?4, ?5, ?5, ?6, ?7, ?8)",
	    "sssiiiis", s->id, s->tool_pair, s->client_ip,
	    (int64_t)STORE_CREATING, s->created_at, s->expires_at,
	    (int64_t)s->owner_pid, s->environment[0] != '\0' ? s->environment :
	    "bash"));
	if (r != ERR_OK)
		goto out;
	r = st_run(st, st_prepare(st, "INSERT INTO history VALUES(?1, ?2, ?3)",
	    "ssi", s->id, s->client_ip, s->created_at));
out:
	if (r == ERR_OK)
		return st_exec(st, "COMMIT");
	(void)st_exec(st, "ROLLBACK");
	return r;
}

enum err
store_attach(struct store *st, const char *id, const char *container_id)
{
	enum err r;

	r = st_run(st, st_prepare(st, "UPDATE sessions SET state=?3, "
	    "container_id=?2 WHERE id=?1 AND state=?4", "ssii", id,
	    container_id, (int64_t)STORE_RUNNING, (int64_t)STORE_CREATING));
	if (r != ERR_OK)
		return r;
	return sqlite3_changes(st->db) == 1 ? ERR_OK : ERR_NOTFOUND;
}

enum err
store_abandon(struct store *st, const char *id)
{
	enum err r;

	if ((r = st_exec(st, "BEGIN IMMEDIATE")) != ERR_OK)
		return r;
	r = st_run(st, st_prepare(st, "DELETE FROM sessions WHERE id=?1", "s",
	    id));
	if (r == ERR_OK)
		r = st_run(st, st_prepare(st, "DELETE FROM history WHERE "
		    "session_id=?1", "s", id));
	if (r == ERR_OK)
		return st_exec(st, "COMMIT");
	(void)st_exec(st, "ROLLBACK");
	return r;
}

#define ST_COLUMNS                                                           \
	"id, container_id, tool_pair, client_ip, state, created_at, "        \
	"last_active, expires_at, ended_at, end_reason, owner_pid, "        \
	"last_detach, environment"

static void
st_copy(char *dst, size_t dstsz, sqlite3_stmt *q, int col)
{
	const unsigned char *t = sqlite3_column_text(q, col);

	(void)strlcpy_ok(dst, t != NULL ? (const char *)t : "", dstsz);
}

static void
st_row(sqlite3_stmt *q, struct store_session *s)
{
	memset(s, 0, sizeof(*s));
	st_copy(s->id, sizeof(s->id), q, 0);
	st_copy(s->container_id, sizeof(s->container_id), q, 1);
	st_copy(s->tool_pair, sizeof(s->tool_pair), q, 2);
	st_copy(s->client_ip, sizeof(s->client_ip), q, 3);
	s->state = (enum store_state)sqlite3_column_int(q, 4);
	s->created_at = sqlite3_column_int64(q, 5);
	s->last_active = sqlite3_column_int64(q, 6);
	s->expires_at = sqlite3_column_int64(q, 7);
	s->ended_at = sqlite3_column_int64(q, 8);
	st_copy(s->end_reason, sizeof(s->end_reason), q, 9);
	s->owner_pid = (long)sqlite3_column_int64(q, 10);
	s->last_detach = sqlite3_column_int64(q, 11);
	st_copy(s->environment, sizeof(s->environment), q, 12);
}

enum err
store_get(struct store *st, const char *id, struct store_session *out)
{
	sqlite3_stmt *q;
	int rc;

	q = st_prepare(st, "SELECT " ST_COLUMNS " FROM sessions WHERE id=?1",
	    "s", id);
	if (q == NULL)
		return ERR_IO;
	rc = sqlite3_step(q);
	if (rc == SQLITE_ROW)
		st_row(q, out);
	st_done(st, q);
	if (rc == SQLITE_ROW)
		return ERR_OK;
	if (rc == SQLITE_DONE)
		return ERR_NOTFOUND;
	return st_fail(st, "get");
}

enum err
store_end(struct store *st, const char *id, const char *reason,
    int64_t now_ms)
{
	enum err r;

	r = st_run(st, st_prepare(st, "UPDATE sessions SET state=?2, "
	    "ended_at=?3, end_reason=?4 WHERE id=?1 AND state<>?2", "siis",
	    id, (int64_t)STORE_ENDED, now_ms, reason));
	if (r != ERR_OK)
		return r;
	/* A session's WebSockets end with it. */
	if (sqlite3_changes(st->db) != 1)
		return ERR_NOTFOUND;
	return st_run(st, st_prepare(st, "DELETE FROM websockets WHERE "
	    "session_id=?1", "s", id));
}

enum err
store_touch(struct store *st, const char *id, int64_t now_ms)
{
	return st_run(st, st_prepare(st, "UPDATE sessions SET last_active=?2 "
	    "WHERE id=?1 AND state=?3 AND last_active<?2", "sii", id, now_ms,
	    (int64_t)STORE_RUNNING));
}

enum err
store_init_set(struct store *st, const char *id, const char *init)
{
	if (init == NULL)
		return ERR_OK;
	return st_run(st, st_prepare(st, "UPDATE sessions SET init=?2, "
	    "init_result=NULL WHERE id=?1", "ss", id, init));
}

enum err
store_init_get(struct store *st, const char *id, char **init, bool *done,
    char *why, size_t whysz)
{
	sqlite3_stmt *q = st_prepare(st, "SELECT init, init_result FROM "
	    "sessions WHERE id=?1", "s", id);
	const unsigned char *t;
	int rc;

	*init = NULL;
	*done = true;
	why[0] = '\0';
	if (q == NULL)
		return ERR_IO;
	rc = sqlite3_step(q);
	if (rc == SQLITE_ROW && (t = sqlite3_column_text(q, 0)) != NULL) {
		*init = xstrdup((const char *)t);
		*done = sqlite3_column_type(q, 1) != SQLITE_NULL;
		st_copy(why, whysz, q, 1);
	}
	st_done(st, q);
	if (rc != SQLITE_ROW && rc != SQLITE_DONE)
		return st_fail(st, "step");
	return rc == SQLITE_ROW ? ERR_OK : ERR_NOTFOUND;
}

enum err
store_init_done(struct store *st, const char *id, const char *why)
{
	return st_run(st, st_prepare(st, "UPDATE sessions SET init_result=?2 "
	    "WHERE id=?1 AND init IS NOT NULL AND init_result IS NULL", "ss",
	    id, why != NULL ? why : ""));
}

enum err
store_count_live(struct store *st, long long *n)
{
	return st_int(st, st_prepare(st, "SELECT (SELECT count(*) FROM "
	    "sessions WHERE state<>?1) + (SELECT count(*) FROM pool)", "i",
	    (int64_t)STORE_ENDED), n);
}

enum err
store_is_live(struct store *st, const char *id, bool *live)
{
	long long n = 0;
	enum err r;

	r = st_int(st, st_prepare(st, "SELECT count(*) FROM sessions WHERE "
	    "id=?1 AND state<>?2", "si", id, (int64_t)STORE_ENDED), &n);
	*live = n > 0;
	return r;
}

enum err
store_each_live(struct store *st, size_t max, store_each_fn fn, void *arg)
{
	struct store_session s;
	sqlite3_stmt *q;
	int rc;

	q = st_prepare(st, "SELECT " ST_COLUMNS " FROM sessions WHERE "
	    "state<>?1 ORDER BY created_at LIMIT ?2", "ii",
	    (int64_t)STORE_ENDED, (int64_t)max);
	if (q == NULL)
		return ERR_IO;
	while ((rc = sqlite3_step(q)) == SQLITE_ROW) {
		st_row(q, &s);
		fn(&s, arg);
	}
	st_done(st, q);
	return rc == SQLITE_DONE ? ERR_OK : st_fail(st, "each");
}

enum err
store_purge(struct store *st, int64_t before_ms, int64_t now_ms)
{
	enum err r;

	r = st_run(st, st_prepare(st, "DELETE FROM sessions WHERE state=?1 "
	    "AND ended_at<?2", "ii", (int64_t)STORE_ENDED, before_ms));
	if (r != ERR_OK)
		return r;
	return st_run(st, st_prepare(st, "DELETE FROM history WHERE "
	    "created_at<=?1", "i", now_ms - RATELIMIT_WINDOW_MS));
}

bool
store_pid_alive(long pid)
{
	char path[64], buf[512], *rp;
	ssize_t n;
	int fd;

	if (pid <= 0)
		return false;
	if (kill((pid_t)pid, 0) == -1 && errno == ESRCH)
		return false;
	/* A zombie has exited; its parent just has not reaped it yet. */
	(void)snprintf(path, sizeof(path), "/proc/%ld/stat", pid);
	if ((fd = open(path, O_RDONLY | O_CLOEXEC)) == -1)
		return errno != ENOENT;
	n = read(fd, buf, sizeof(buf) - 1);
	(void)close(fd);
	if (n <= 0)
		return true;
	buf[n] = '\0';
	rp = strrchr(buf, ')');
	return rp == NULL || rp[1] == '\0' || rp[2] != 'Z';
}

/* Drop registrations whose relay process no longer exists.
 * XXX: pid reuse could keep a dead slot alive until the new owner exits;
 * pair the pid with its start time if that ever matters. */
static enum err
st_ws_sweep(struct store *st, int64_t now_ms)
{
	sqlite3_stmt *q;
	long long dead[64];
	size_t ndead = 0;
	enum err r = ERR_OK;

	q = st_prepare(st, "SELECT id, pid FROM websockets", "");
	if (q == NULL)
		return ERR_IO;
	while (ndead < nitems(dead) && sqlite3_step(q) == SQLITE_ROW) {
		long pid = (long)sqlite3_column_int64(q, 1);

		if (!store_pid_alive(pid))
			dead[ndead++] = sqlite3_column_int64(q, 0);
	}
	st_done(st, q);
	for (size_t i = 0; i < ndead && r == ERR_OK; i++)
		r = store_ws_unregister(st, dead[i], now_ms);
	return r;
}

enum err
store_ws_count(struct store *st, const char *ip, const char *except,
    int64_t now_ms, long long *n)
{
	enum err r;

	*n = 0;
	if ((r = st_ws_sweep(st, now_ms)) != ERR_OK)
		return r;
	return st_int(st, st_prepare(st, "SELECT count(*) FROM websockets "
	    "WHERE client_ip=?1 AND session_id<>?2", "ss", ip, except), n);
}

enum err
store_ws_register(struct store *st, const struct ratelimit *rl,
    const char *id, const char *ip, long pid, int64_t now_ms,
    long long *wsid)
{
	long long open_ws = 0;
	enum err r;

	if ((r = st_exec(st, "BEGIN IMMEDIATE")) != ERR_OK)
		return r;
	/* Connections to this session are about to be taken over by this
	 * one: they do not count against it. */
	if ((r = store_ws_count(st, ip, id, now_ms, &open_ws)) != ERR_OK)
		goto out;
	if (!ratelimit_websocket(rl, open_ws)) {
		r = ERR_LIMIT;
		goto out;
	}
	r = st_run(st, st_prepare(st, "INSERT INTO websockets(session_id, "
	    "client_ip, pid, started_at) VALUES(?1, ?2, ?3, ?4)", "ssii", id,
	    ip, (int64_t)pid, now_ms));
	if (r == ERR_OK)
		*wsid = sqlite3_last_insert_rowid(st->db);
out:
	if (r == ERR_OK)
		return st_exec(st, "COMMIT");
	(void)st_exec(st, "ROLLBACK");
	return r;
}

enum err
store_ws_unregister(struct store *st, long long wsid, int64_t now_ms)
{
	enum err r;

	r = st_run(st, st_prepare(st, "UPDATE sessions SET last_detach=?2 "
	    "WHERE id=(SELECT session_id FROM websockets WHERE id=?1)", "ii",
	    (int64_t)wsid, now_ms));
	if (r != ERR_OK)
		return r;
	return st_run(st, st_prepare(st, "DELETE FROM websockets WHERE id=?1",
	    "i", (int64_t)wsid));
}

enum err
store_ws_others(struct store *st, const char *id, long long wsid,
    long *pids, size_t max, size_t *n)
{
	sqlite3_stmt *q;
	int rc = SQLITE_DONE;

	*n = 0;
	q = st_prepare(st, "SELECT pid FROM websockets WHERE session_id=?1 "
	    "AND id<>?2 ORDER BY id", "si", id, (int64_t)wsid);
	if (q == NULL)
		return ERR_IO;
	while (*n < max && (rc = sqlite3_step(q)) == SQLITE_ROW)
		pids[(*n)++] = (long)sqlite3_column_int64(q, 0);
	st_done(st, q);
	return rc == SQLITE_ROW || rc == SQLITE_DONE ? ERR_OK :
	    st_fail(st, "ws others");
}

/* ---- eviction --------------------------------------------------------- */

enum err
store_evictable(struct store *st, const char *ip, int64_t idle_since_ms,
    int64_t now_ms, char id[ID_SIZE])
{
	sqlite3_stmt *q;
	enum err r = ERR_NOTFOUND;

	id[0] = '\0';
	if (st_ws_sweep(st, now_ms) != ERR_OK)
		return ERR_IO;
	q = st_prepare(st, "SELECT id FROM sessions s WHERE client_ip=?1 AND "
	    "state=?2 AND max(created_at, last_detach)<=?3 AND NOT EXISTS "
	    "(SELECT 1 FROM websockets w WHERE w.session_id=s.id) "
	    "ORDER BY created_at LIMIT 1", "sii", ip, (int64_t)STORE_RUNNING,
	    idle_since_ms);
	if (q == NULL)
		return ERR_IO;
	if (sqlite3_step(q) == SQLITE_ROW) {
		st_copy(id, ID_SIZE, q, 0);
		r = ERR_OK;
	}
	st_done(st, q);
	return r;
}

/* ---- the warm pool ------------------------------------------------------ */

enum err
store_pool_add(struct store *st, const char *id,
    const struct store_pool_key *key, long pid, int64_t now_ms)
{
	return st_run(st, st_prepare(st, "INSERT INTO pool(id, image, state, "
	    "owner_pid, created_at, environment, tool_pair) VALUES(?1, ?2, ?3, "
	    "?4, ?5, ?6, ?7)", "ssiiiss", id, key->image,
	    (int64_t)STORE_POOL_STARTING, (int64_t)pid, now_ms,
	    key->environment, key->tool_pair));
}

enum err
store_pool_set(struct store *st, const char *id, const char *container_id,
    enum store_pool_state state)
{
	enum err r;

	r = st_run(st, st_prepare(st, "UPDATE pool SET container_id=?2, "
	    "state=?3 WHERE id=?1", "ssi", id, container_id, (int64_t)state));
	if (r != ERR_OK)
		return r;
	return sqlite3_changes(st->db) == 1 ? ERR_OK : ERR_NOTFOUND;
}

enum err
store_pool_drop(struct store *st, const char *id)
{
	enum err r;

	r = st_run(st, st_prepare(st, "DELETE FROM pool WHERE id=?1", "s", id));
	if (r != ERR_OK)
		return r;
	return sqlite3_changes(st->db) == 1 ? ERR_OK : ERR_NOTFOUND;
}

enum err
store_pool_claim(struct store *st, const char *session_id,
    const struct store_pool_key *key, int64_t born_after_ms,
    char container_id[65])
{
	sqlite3_stmt *q;
	char pid[ID_SIZE];
	enum err r = ERR_NOTFOUND;

	container_id[0] = '\0';
	if ((r = st_exec(st, "BEGIN IMMEDIATE")) != ERR_OK)
		return r;
	q = st_prepare(st, "SELECT id, container_id FROM pool WHERE image=?1 "
	    "AND state=?2 AND created_at>?3 AND environment=?4 AND "
	    "tool_pair=?5 ORDER BY created_at LIMIT 1", "siiss", key->image,
	    (int64_t)STORE_POOL_READY, born_after_ms, key->environment,
	    key->tool_pair);
	if (q == NULL) {
		r = ERR_IO;
		goto out;
	}
	r = ERR_NOTFOUND;
	if (sqlite3_step(q) == SQLITE_ROW) {
		st_copy(pid, sizeof(pid), q, 0);
		st_copy(container_id, 65, q, 1);
		r = ERR_OK;
	}
	st_done(st, q);
	if (r != ERR_OK)
		goto out;
	if ((r = st_run(st, st_prepare(st, "DELETE FROM pool WHERE id=?1", "s",
	    pid))) != ERR_OK)
		goto out;
	r = st_run(st, st_prepare(st, "UPDATE sessions SET state=?3, "
	    "container_id=?2 WHERE id=?1 AND state=?4", "ssii", session_id,
	    container_id, (int64_t)STORE_RUNNING, (int64_t)STORE_CREATING));
	if (r == ERR_OK && sqlite3_changes(st->db) != 1)
		r = ERR_CONFLICT;	/* the reaper gave up on the row */
out:
	if (r == ERR_OK)
		return st_exec(st, "COMMIT");
	(void)st_exec(st, "ROLLBACK");
	if (r != ERR_NOTFOUND)
		container_id[0] = '\0';
	return r;
}

enum err
store_pool_each(struct store *st, store_pool_fn fn, void *arg)
{
	struct store_pool p;
	sqlite3_stmt *q;
	int rc;

	q = st_prepare(st, "SELECT id, image, container_id, state, owner_pid, "
	    "created_at, environment, tool_pair FROM pool ORDER BY created_at",
	    "");
	if (q == NULL)
		return ERR_IO;
	while ((rc = sqlite3_step(q)) == SQLITE_ROW) {
		memset(&p, 0, sizeof(p));
		st_copy(p.id, sizeof(p.id), q, 0);
		st_copy(p.image, sizeof(p.image), q, 1);
		st_copy(p.container_id, sizeof(p.container_id), q, 2);
		p.state = sqlite3_column_int(q, 3) == STORE_POOL_READY ?
		    STORE_POOL_READY : STORE_POOL_STARTING;
		p.owner_pid = (long)sqlite3_column_int64(q, 4);
		p.created_at = sqlite3_column_int64(q, 5);
		st_copy(p.environment, sizeof(p.environment), q, 6);
		st_copy(p.tool_pair, sizeof(p.tool_pair), q, 7);
		fn(&p, arg);
	}
	st_done(st, q);
	return rc == SQLITE_DONE ? ERR_OK : st_fail(st, "pool each");
}

enum err
store_owns(struct store *st, const char *container_id, const char *session,
    const char *pool, bool *owned)
{
	long long n = 0;
	enum err r;

	*owned = false;
	r = st_int(st, st_prepare(st, "SELECT (SELECT count(*) FROM sessions "
	    "WHERE state<>?4 AND (container_id=?1 OR (id=?2 AND state=?5))) + "
	    "(SELECT count(*) FROM pool WHERE id=?3)", "sssii", container_id,
	    session, pool, (int64_t)STORE_ENDED, (int64_t)STORE_CREATING), &n);
	*owned = n > 0;
	return r;
}

void
store_set_busy(struct store *st, int ms)
{
	st->busy_ms = ms;
	sqlite3_busy_timeout(st->db, ms);
}

enum err
store_probe(struct store *st, int busy_ms, char *why, size_t whysz)
{
	enum err r;

	why[0] = '\0';
	sqlite3_busy_timeout(st->db, busy_ms);
	r = st_exec(st, "BEGIN IMMEDIATE");
	if (r == ERR_OK)
		r = st_exec(st, "CREATE TABLE IF NOT EXISTS probe("
		    "k INTEGER PRIMARY KEY, at INTEGER NOT NULL)");
	if (r == ERR_OK)
		r = st_run(st, st_prepare(st, "INSERT OR REPLACE INTO probe "
		    "VALUES(1, ?1)", "i", (int64_t)time(NULL)));
	if (r == ERR_OK)
		r = st_exec(st, "COMMIT");
	if (r != ERR_OK) {
		(void)snprintf(why, whysz, "%s", sqlite3_errmsg(st->db));
		if (!sqlite3_get_autocommit(st->db))
			(void)sqlite3_exec(st->db, "ROLLBACK", NULL, NULL, NULL);
	}
	sqlite3_busy_timeout(st->db, st->busy_ms);
	return r;
}

enum err
store_forget_history(struct store *st, const char *id)
{
	return st_run(st, st_prepare(st, "DELETE FROM history WHERE "
	    "session_id=?1", "s", id));
}

/* ---- step checks --------------------------------------------------- */

static long long
st_seconds_until(int64_t when_ms, int64_t now_ms)
{
	long long s = (long long)((when_ms - now_ms + 999) / 1000);

	return s < 1 ? 1 : s;
}

/* Inside begin's transaction: ERR_LIMIT when a rule refuses. */
static enum err
st_check_rules(struct store *st, const char *sid, long long per_minute,
    int64_t now_ms, long long *retry, bool *running)
{
	long long n = 0, until = 0, oldest = 0;
	enum err r;

	r = st_int(st, st_prepare(st, "SELECT coalesce(max(busy_until), 0) "
	    "FROM checks WHERE session_id=?1 AND ended_at=0 AND "
	    "busy_until>?2", "si", sid, now_ms), &until);
	if (r != ERR_OK)
		return r;
	if (until > 0) {
		*running = true;
		*retry = st_seconds_until(until, now_ms);
		return ERR_LIMIT;
	}
	if (per_minute <= 0)
		return ERR_OK;
	r = st_int(st, st_prepare(st, "SELECT count(*) FROM checks WHERE "
	    "session_id=?1 AND started_at>?2", "si", sid, now_ms - 60000), &n);
	if (r != ERR_OK || n < per_minute)
		return r;
	r = st_int(st, st_prepare(st, "SELECT started_at FROM checks WHERE "
	    "session_id=?1 AND started_at>?2 ORDER BY started_at DESC "
	    "LIMIT 1 OFFSET ?3", "sii", sid, now_ms - 60000,
	    (int64_t)(per_minute - 1)), &oldest);
	if (r != ERR_OK)
		return r;
	*retry = st_seconds_until(oldest + 60000, now_ms);
	return ERR_LIMIT;
}

enum err
store_check_begin(struct store *st, const char *session_id,
    long long per_minute, int64_t now_ms, int64_t busy_until_ms,
    long long *check_id, long long *retry_after_s, bool *running)
{
	enum err r;

	*check_id = 0;
	*retry_after_s = 0;
	*running = false;
	if ((r = st_exec(st, "BEGIN IMMEDIATE")) != ERR_OK)
		return r;
	r = st_run(st, st_prepare(st, "DELETE FROM checks WHERE started_at<?1 "
	    "AND (ended_at<>0 OR busy_until<?2)", "ii", now_ms - 60000,
	    now_ms));
	if (r == ERR_OK)
		r = st_check_rules(st, session_id, per_minute, now_ms,
		    retry_after_s, running);
	if (r == ERR_OK)
		r = st_run(st, st_prepare(st, "INSERT INTO checks(session_id, "
		    "started_at, busy_until) VALUES(?1, ?2, ?3)", "sii",
		    session_id, now_ms, busy_until_ms));
	if (r == ERR_OK) {
		*check_id = sqlite3_last_insert_rowid(st->db);
		return st_exec(st, "COMMIT");
	}
	(void)st_exec(st, "ROLLBACK");
	return r;
}

enum err
store_check_end(struct store *st, long long check_id, int64_t now_ms)
{
	return st_run(st, st_prepare(st, "UPDATE checks SET ended_at=?2 WHERE "
	    "id=?1", "ii", (int64_t)check_id, now_ms));
}
