/*
 * check_store.c: the SQLite state file (lib/store.c) in a temporary dir:
 * schema and WAL, quota reservation (sliding hour, concurrent count), the
 * creating -> running -> ended life of a row, purge, two connections on
 * one file, and WebSocket slots including those of dead relays.
 */
#include "compat.h"

#include <dirent.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

#include <sqlite3.h>

#include "clock.h"
#include "log.h"
#include "store.h"
#include "util.h"

#define T0 1700000000000LL
#define IDLE_MS (300LL * 1000)
#define LIFE_MS (1800LL * 1000)
#define IP "203.0.113.5"
#define IP2 "198.51.100.7"
#define NOID "sess_00000000000000000000000000000000"
#define CID "0123456789abcdef0123456789abcdef0123456789abcdef0123456789abcdef"

static char dir[64];
static char path[128];
static struct store *st;

/* Once per test case, in the runner: the directory, and its removal even
 * after failed tests (whose checked teardown does not run). */
static void
dir_setup(void)
{
	util_tmpdir(dir, sizeof(dir));
}

static void
dir_teardown(void)
{
	util_rmdir(dir);
}

static void
unlink_db(void)
{
	util_unlink_db(path);
}

/* Per test: a fresh state file of its own. */
static void
setup(void)
{
	char *errstr = NULL;

	(void)snprintf(path, sizeof(path), "%s/state.%ld.db", dir,
	    (long)getpid());
	unlink_db();
	st = store_open(path, &errstr);
	ck_assert_msg(st != NULL, "store_open: %s", errstr ? errstr : "?");
	ck_assert_ptr_null(errstr);
}

static void
teardown(void)
{
	store_close(st);
	st = NULL;
	unlink_db();
}

/* A session row for ip created at t, with a fresh id. */
static void
mk(struct store_session *s, const char *ip, int64_t t)
{
	memset(s, 0, sizeof(*s));
	ck_assert_int_eq(id_new(s->id), ERR_OK);
	(void)strlcpy_ok(s->tool_pair, "jj-git", sizeof(s->tool_pair));
	(void)strlcpy_ok(s->client_ip, ip, sizeof(s->client_ip));
	s->state = STORE_CREATING;
	s->created_at = s->last_active = t;
	s->expires_at = t + LIFE_MS;
	s->owner_pid = (long)getpid();
}

/* Reserve a new session; returns the verdict's error. */
static enum err
reserve(struct store *h, const struct ratelimit *rl, const char *ip,
    int64_t t, struct store_session *out, enum ratelimit_verdict *v,
    long long *retry)
{
	mk(out, ip, t);
	return store_reserve(h, rl, out, IDLE_MS, v, retry);
}

/* Reserve and expect success. */
static void
reserve_ok(const struct ratelimit *rl, const char *ip, int64_t t,
    struct store_session *out)
{
	enum ratelimit_verdict v = RATELIMIT_HOURLY;
	long long retry = -1;

	ck_assert_int_eq(reserve(st, rl, ip, t, out, &v, &retry), ERR_OK);
	ck_assert_int_eq(v, RATELIMIT_OK);
	ck_assert_int_eq(retry, 0);
}

/* One integer from SQL on a separate connection. */
static long long
sql_int(const char *sql)
{
	sqlite3 *db = NULL;
	sqlite3_stmt *q = NULL;
	long long v;

	ck_assert_int_eq(sqlite3_open_v2(path, &db, SQLITE_OPEN_READONLY,
	    NULL), SQLITE_OK);
	ck_assert_int_eq(sqlite3_prepare_v2(db, sql, -1, &q, NULL), SQLITE_OK);
	ck_assert_int_eq(sqlite3_step(q), SQLITE_ROW);
	v = sqlite3_column_int64(q, 0);
	sqlite3_finalize(q);
	sqlite3_close(db);
	return v;
}

static long long
live_count(void)
{
	long long n = -1;

	ck_assert_int_eq(store_count_live(st, &n), ERR_OK);
	return n;
}

/* ---- open ---------------------------------------------------------- */

START_TEST(test_open_wal_schema)
{
	sqlite3 *db = NULL;
	sqlite3_stmt *q = NULL;
	struct store_session s;
	struct ratelimit rl = { 10, 10, 10 };
	char wal[160];
	struct stat sb;

	ck_assert_int_eq(sqlite3_open_v2(path, &db, SQLITE_OPEN_READWRITE,
	    NULL), SQLITE_OK);
	ck_assert_int_eq(sqlite3_prepare_v2(db, "PRAGMA journal_mode", -1, &q,
	    NULL), SQLITE_OK);
	ck_assert_int_eq(sqlite3_step(q), SQLITE_ROW);
	ck_assert_str_eq((const char *)sqlite3_column_text(q, 0), "wal");
	sqlite3_finalize(q);
	sqlite3_close(db);
	ck_assert_int_eq(sql_int("SELECT count(*) FROM sqlite_master WHERE "
	    "type='table' AND name IN ('sessions','history','websockets')"), 3);

	reserve_ok(&rl, IP, T0, &s);
	(void)snprintf(wal, sizeof(wal), "%s-wal", path);
	ck_assert_int_eq(stat(wal, &sb), 0);
}
END_TEST

START_TEST(test_open_twice_same_schema)
{
	struct store *st2;
	char *errstr = NULL;

	/* Opening an existing file again is fine (CREATE IF NOT EXISTS). */
	st2 = store_open(path, &errstr);
	ck_assert_ptr_nonnull(st2);
	store_close(st2);
	store_close(NULL);
}
END_TEST

START_TEST(test_open_fails)
{
	struct store *bad;
	char *errstr = NULL;
	char p[160];
	FILE *fp;

	bad = store_open("/nonexistent-toolkata-dir/sub/state.db", &errstr);
	ck_assert_ptr_null(bad);
	ck_assert_ptr_nonnull(errstr);
	ck_assert_ptr_nonnull(strstr(errstr, "/nonexistent-toolkata-dir/sub/"
	    "state.db"));
	free(errstr);

	/* A directory is not a state file. */
	errstr = NULL;
	bad = store_open(dir, &errstr);
	ck_assert_ptr_null(bad);
	ck_assert_ptr_nonnull(errstr);
	free(errstr);

	/* Nor is a file that is not an SQLite database. */
	(void)snprintf(p, sizeof(p), "%s/not-a-db.%ld", dir, (long)getpid());
	fp = fopen(p, "w");
	ck_assert_ptr_nonnull(fp);
	for (int i = 0; i < 64; i++)
		(void)fputs("this is not an sqlite database, honestly. ", fp);
	ck_assert_int_eq(fclose(fp), 0);
	errstr = NULL;
	bad = store_open(p, &errstr);
	ck_assert_ptr_null(bad);
	ck_assert_ptr_nonnull(errstr);
	ck_assert_ptr_nonnull(strstr(errstr, "not-a-db"));
	free(errstr);
	(void)unlink(p);
}
END_TEST

/* ---- reserve ------------------------------------------------------- */

START_TEST(test_reserve_roundtrip)
{
	struct ratelimit rl = { 10, 10, 10 };
	struct store_session s, g;

	reserve_ok(&rl, IP, T0, &s);
	ck_assert_int_eq(store_get(st, s.id, &g), ERR_OK);
	ck_assert_str_eq(g.id, s.id);
	ck_assert_str_eq(g.container_id, "");
	ck_assert_str_eq(g.tool_pair, "jj-git");
	ck_assert_str_eq(g.client_ip, IP);
	ck_assert_int_eq(g.state, STORE_CREATING);
	ck_assert(g.created_at == T0);
	ck_assert(g.last_active == T0);
	ck_assert(g.expires_at == T0 + LIFE_MS);
	ck_assert(g.ended_at == 0);
	ck_assert_str_eq(g.end_reason, "");
	ck_assert_int_eq(g.owner_pid, (long)getpid());
	ck_assert_int_eq(store_get(st, NOID, &g), ERR_NOTFOUND);
	ck_assert_int_eq(sql_int("SELECT count(*) FROM history"), 1);
}
END_TEST

START_TEST(test_reserve_concurrent)
{
	struct ratelimit rl = { 10, 2, 10 };
	struct store_session a, b, c;
	enum ratelimit_verdict v;
	long long retry;

	reserve_ok(&rl, IP, T0, &a);
	reserve_ok(&rl, IP, T0 + 10000, &b);
	ck_assert_int_eq(reserve(st, &rl, IP, T0 + 20000, &c, &v, &retry),
	    ERR_LIMIT);
	ck_assert_int_eq(v, RATELIMIT_CONCURRENT);
	/* The earliest live session ends when a's idle timer runs out. */
	ck_assert_int_eq(retry, (IDLE_MS - 20000) / 1000);
	ck_assert_int_eq(store_get(st, c.id, &c), ERR_NOTFOUND);
	ck_assert_int_eq(live_count(), 2);
	/* Another IP is not affected. */
	reserve_ok(&rl, IP2, T0 + 20000, &c);
	/* A running row counts; an ended one does not. */
	ck_assert_int_eq(store_attach(st, a.id, CID), ERR_OK);
	ck_assert_int_eq(reserve(st, &rl, IP, T0 + 30000, &c, &v, &retry),
	    ERR_LIMIT);
	ck_assert_int_eq(store_end(st, a.id, "user_request", T0 + 40000),
	    ERR_OK);
	reserve_ok(&rl, IP, T0 + 50000, &c);
}
END_TEST

START_TEST(test_reserve_next_end_lifetime)
{
	struct ratelimit rl = { 10, 1, 10 };
	struct store_session a, b;
	enum ratelimit_verdict v;
	long long retry;

	reserve_ok(&rl, IP, T0, &a);
	ck_assert_int_eq(store_attach(st, a.id, CID), ERR_OK);
	/* Active until 1790 s in: lifetime (1800 s) ends it before idle. */
	ck_assert_int_eq(store_touch(st, a.id, T0 + 1790 * 1000), ERR_OK);
	ck_assert_int_eq(reserve(st, &rl, IP, T0 + 1795 * 1000, &b, &v,
	    &retry), ERR_LIMIT);
	ck_assert_int_eq(v, RATELIMIT_CONCURRENT);
	ck_assert_int_eq(retry, 5);
}
END_TEST

START_TEST(test_reserve_hourly_window)
{
	struct ratelimit rl = { 2, 10, 10 };
	struct store_session a, b, c;
	enum ratelimit_verdict v;
	long long retry;

	reserve_ok(&rl, IP, T0, &a);
	reserve_ok(&rl, IP, T0 + 600 * 1000, &b);
	ck_assert_int_eq(store_end(st, a.id, "idle", T0 + 1000), ERR_OK);
	ck_assert_int_eq(store_end(st, b.id, "idle", T0 + 601000), ERR_OK);
	/* Ended sessions still count against the hour. */
	ck_assert_int_eq(reserve(st, &rl, IP, T0 + 1000 * 1000, &c, &v,
	    &retry), ERR_LIMIT);
	ck_assert_int_eq(v, RATELIMIT_HOURLY);
	ck_assert_int_eq(retry, 2600);
	/* One second before a leaves the window: still refused, 1 s. */
	ck_assert_int_eq(reserve(st, &rl, IP, T0 + 3599 * 1000, &c, &v,
	    &retry), ERR_LIMIT);
	ck_assert_int_eq(v, RATELIMIT_HOURLY);
	ck_assert_int_eq(retry, 1);
	/* Exactly when Retry-After said: allowed. */
	reserve_ok(&rl, IP, T0 + 3600 * 1000, &c);
}
END_TEST

START_TEST(test_reserve_old_entry_ignored)
{
	struct ratelimit rl = { 1, 10, 10 };
	struct store_session a, b;
	enum ratelimit_verdict v;
	long long retry;

	reserve_ok(&rl, IP, T0 - 3601 * 1000, &a);
	ck_assert_int_eq(store_end(st, a.id, "idle", T0 - 3000 * 1000),
	    ERR_OK);
	reserve_ok(&rl, IP, T0, &b);
	/* But the new one does count. */
	ck_assert_int_eq(reserve(st, &rl, IP, T0 + 1, &a, &v, &retry),
	    ERR_LIMIT);
	ck_assert_int_eq(v, RATELIMIT_HOURLY);
	ck_assert_int_eq(retry, 3600);
}
END_TEST

START_TEST(test_refusal_costs_nothing)
{
	struct ratelimit rl = { 2, 1, 10 };
	struct store_session a, b, c;
	enum ratelimit_verdict v;
	long long retry;

	reserve_ok(&rl, IP, T0, &a);
	ck_assert_int_eq(reserve(st, &rl, IP, T0 + 1000, &b, &v, &retry),
	    ERR_LIMIT);
	ck_assert_int_eq(reserve(st, &rl, IP, T0 + 2000, &b, &v, &retry),
	    ERR_LIMIT);
	ck_assert_int_eq(sql_int("SELECT count(*) FROM history"), 1);
	ck_assert_int_eq(store_end(st, a.id, "user_request", T0 + 3000),
	    ERR_OK);
	/* Had the refusals been recorded, the hourly limit would refuse. */
	reserve_ok(&rl, IP, T0 + 4000, &c);
}
END_TEST

/* ---- attach, abandon, end ------------------------------------------ */

START_TEST(test_attach)
{
	struct ratelimit rl = { 10, 10, 10 };
	struct store_session s, g;

	reserve_ok(&rl, IP, T0, &s);
	ck_assert_int_eq(store_attach(st, s.id, CID), ERR_OK);
	ck_assert_int_eq(store_get(st, s.id, &g), ERR_OK);
	ck_assert_int_eq(g.state, STORE_RUNNING);
	ck_assert_str_eq(g.container_id, CID);
	/* Only a creating row can be attached. */
	ck_assert_int_eq(store_attach(st, s.id, CID), ERR_NOTFOUND);
	ck_assert_int_eq(store_attach(st, NOID, CID), ERR_NOTFOUND);
	ck_assert_int_eq(store_end(st, s.id, "idle", T0 + 1), ERR_OK);
	ck_assert_int_eq(store_attach(st, s.id, CID), ERR_NOTFOUND);
	ck_assert_int_eq(store_get(st, s.id, &g), ERR_OK);
	ck_assert_int_eq(g.state, STORE_ENDED);
	/* Reaper gave up on a reservation: the late attach is refused. */
	reserve_ok(&rl, IP, T0 + 2, &s);
	ck_assert_int_eq(store_end(st, s.id, "abandoned", T0 + 3), ERR_OK);
	ck_assert_int_eq(store_attach(st, s.id, CID), ERR_NOTFOUND);
}
END_TEST

START_TEST(test_abandon)
{
	struct ratelimit rl = { 1, 1, 10 };
	struct store_session a, b, g;

	reserve_ok(&rl, IP, T0, &a);
	ck_assert_int_eq(store_abandon(st, a.id), ERR_OK);
	ck_assert_int_eq(store_get(st, a.id, &g), ERR_NOTFOUND);
	ck_assert_int_eq(live_count(), 0);
	ck_assert_int_eq(sql_int("SELECT count(*) FROM history"), 0);
	/* Both the hourly and the concurrent slot are free again. */
	reserve_ok(&rl, IP, T0 + 1000, &b);
	/* Abandoning an unknown id is harmless. */
	ck_assert_int_eq(store_abandon(st, a.id), ERR_OK);
	ck_assert_int_eq(live_count(), 1);
}
END_TEST

START_TEST(test_end_once)
{
	struct ratelimit rl = { 10, 1, 10 };
	struct store_session s, g, t;

	reserve_ok(&rl, IP, T0, &s);
	ck_assert_int_eq(store_attach(st, s.id, CID), ERR_OK);
	ck_assert_int_eq(store_end(st, s.id, "user_request", T0 + 5000),
	    ERR_OK);
	ck_assert_int_eq(store_end(st, s.id, "idle", T0 + 6000), ERR_NOTFOUND);
	ck_assert_int_eq(store_get(st, s.id, &g), ERR_OK);
	ck_assert_int_eq(g.state, STORE_ENDED);
	ck_assert(g.ended_at == T0 + 5000);
	ck_assert_str_eq(g.end_reason, "user_request");
	ck_assert_int_eq(store_end(st, NOID, "idle", T0), ERR_NOTFOUND);
	/* The concurrent slot is released. */
	reserve_ok(&rl, IP, T0 + 7000, &t);
	/* A creating row can be ended too. */
	ck_assert_int_eq(store_end(st, t.id, "abandoned", T0 + 8000), ERR_OK);
	ck_assert_int_eq(live_count(), 0);
}
END_TEST

START_TEST(test_touch)
{
	struct ratelimit rl = { 10, 10, 10 };
	struct store_session s, c, g;

	reserve_ok(&rl, IP, T0, &s);
	reserve_ok(&rl, IP, T0, &c);
	ck_assert_int_eq(store_attach(st, s.id, CID), ERR_OK);
	ck_assert_int_eq(store_touch(st, s.id, T0 + 60000), ERR_OK);
	ck_assert_int_eq(store_get(st, s.id, &g), ERR_OK);
	ck_assert(g.last_active == T0 + 60000);
	/* Never moves backwards. */
	ck_assert_int_eq(store_touch(st, s.id, T0 + 30000), ERR_OK);
	ck_assert_int_eq(store_get(st, s.id, &g), ERR_OK);
	ck_assert(g.last_active == T0 + 60000);
	/* A creating row is not touched. */
	ck_assert_int_eq(store_touch(st, c.id, T0 + 60000), ERR_OK);
	ck_assert_int_eq(store_get(st, c.id, &g), ERR_OK);
	ck_assert(g.last_active == T0);
	/* Nor an ended one. */
	ck_assert_int_eq(store_end(st, s.id, "idle", T0 + 70000), ERR_OK);
	ck_assert_int_eq(store_touch(st, s.id, T0 + 90000), ERR_OK);
	ck_assert_int_eq(store_get(st, s.id, &g), ERR_OK);
	ck_assert(g.last_active == T0 + 60000);
	/* Unknown ids are a no-op. */
	ck_assert_int_eq(store_touch(st, NOID, T0), ERR_OK);
}
END_TEST

/* ---- listing ------------------------------------------------------- */

struct seen {
	char id[8][ID_SIZE];
	size_t n;
};

static void
collect(const struct store_session *s, void *arg)
{
	struct seen *sn = arg;

	ck_assert_uint_lt(sn->n, 8);
	(void)strlcpy_ok(sn->id[sn->n++], s->id, ID_SIZE);
	ck_assert_int_ne(s->state, STORE_ENDED);
}

START_TEST(test_count_each_live)
{
	struct ratelimit rl = { 10, 10, 10 };
	struct store_session a, b, c, d;
	struct seen sn;
	bool live = false;

	ck_assert_int_eq(live_count(), 0);
	/* Inserted out of order: each_live goes by creation time. */
	reserve_ok(&rl, IP, T0 + 3000, &c);
	reserve_ok(&rl, IP, T0 + 1000, &a);
	reserve_ok(&rl, IP2, T0 + 2000, &b);
	reserve_ok(&rl, IP2, T0 + 4000, &d);
	ck_assert_int_eq(store_attach(st, b.id, CID), ERR_OK);
	ck_assert_int_eq(store_end(st, d.id, "idle", T0 + 5000), ERR_OK);
	ck_assert_int_eq(live_count(), 3);

	memset(&sn, 0, sizeof(sn));
	ck_assert_int_eq(store_each_live(st, 100, collect, &sn), ERR_OK);
	ck_assert_uint_eq(sn.n, 3);
	ck_assert_str_eq(sn.id[0], a.id);
	ck_assert_str_eq(sn.id[1], b.id);
	ck_assert_str_eq(sn.id[2], c.id);

	memset(&sn, 0, sizeof(sn));
	ck_assert_int_eq(store_each_live(st, 2, collect, &sn), ERR_OK);
	ck_assert_uint_eq(sn.n, 2);
	ck_assert_str_eq(sn.id[1], b.id);

	ck_assert_int_eq(store_is_live(st, a.id, &live), ERR_OK);
	ck_assert(live);
	ck_assert_int_eq(store_is_live(st, b.id, &live), ERR_OK);
	ck_assert(live);
	ck_assert_int_eq(store_is_live(st, d.id, &live), ERR_OK);
	ck_assert(!live);
	ck_assert_int_eq(store_is_live(st, NOID, &live), ERR_OK);
	ck_assert(!live);
}
END_TEST

START_TEST(test_purge)
{
	struct ratelimit rl = { 10, 10, 10 };
	struct store_session old, recent, running, g;
	int64_t now = T0 + 2 * 24 * 3600 * 1000LL;

	reserve_ok(&rl, IP, T0, &old);
	reserve_ok(&rl, IP, T0 + 1000, &recent);
	reserve_ok(&rl, IP, T0 + 2000, &running);
	ck_assert_int_eq(store_attach(st, running.id, CID), ERR_OK);
	ck_assert_int_eq(store_end(st, old.id, "idle", T0 + 10000), ERR_OK);
	ck_assert_int_eq(store_end(st, recent.id, "idle", now - 1000), ERR_OK);
	reserve_ok(&rl, IP, now - 10000, &g);	/* history in the hour */
	ck_assert_int_eq(sql_int("SELECT count(*) FROM history"), 4);

	ck_assert_int_eq(store_purge(st, now - 24 * 3600 * 1000LL, now),
	    ERR_OK);
	ck_assert_int_eq(store_get(st, old.id, &g), ERR_NOTFOUND);
	ck_assert_int_eq(store_get(st, recent.id, &g), ERR_OK);
	ck_assert_int_eq(g.state, STORE_ENDED);
	/* A live row is never purged, however old. */
	ck_assert_int_eq(store_get(st, running.id, &g), ERR_OK);
	ck_assert_int_eq(g.state, STORE_RUNNING);
	ck_assert_int_eq(sql_int("SELECT count(*) FROM history"), 1);
}
END_TEST

/* ---- two connections ----------------------------------------------- */

START_TEST(test_two_handles)
{
	struct ratelimit rl = { 10, 2, 10 };
	struct store_session a, b, c, g;
	enum ratelimit_verdict v;
	long long retry, n = 0;
	struct store *st2;
	char *errstr = NULL;

	st2 = store_open(path, &errstr);
	ck_assert_ptr_nonnull(st2);
	reserve_ok(&rl, IP, T0, &a);
	ck_assert_int_eq(store_get(st2, a.id, &g), ERR_OK);
	ck_assert_int_eq(g.state, STORE_CREATING);
	ck_assert_int_eq(store_attach(st2, a.id, CID), ERR_OK);
	ck_assert_int_eq(store_get(st, a.id, &g), ERR_OK);
	ck_assert_int_eq(g.state, STORE_RUNNING);
	/* The quota is shared. */
	ck_assert_int_eq(reserve(st2, &rl, IP, T0 + 1, &b, &v, &retry), ERR_OK);
	ck_assert_int_eq(reserve(st, &rl, IP, T0 + 2, &c, &v, &retry),
	    ERR_LIMIT);
	ck_assert_int_eq(v, RATELIMIT_CONCURRENT);
	ck_assert_int_eq(store_end(st, b.id, "user_request", T0 + 3), ERR_OK);
	ck_assert_int_eq(store_end(st2, b.id, "user_request", T0 + 4),
	    ERR_NOTFOUND);
	ck_assert_int_eq(store_count_live(st2, &n), ERR_OK);
	ck_assert_int_eq(n, 1);
	store_close(st2);
}
END_TEST

/* ---- WebSockets ---------------------------------------------------- */

/* The pid of a process that has exited and been reaped. */
static long
dead_pid(void)
{
	pid_t pid = fork();
	int status;

	ck_assert_int_ge(pid, 0);
	if (pid == 0)
		_exit(0);
	ck_assert_int_eq(waitpid(pid, &status, 0), pid);
	return (long)pid;
}

/* The pid of a child that has exited but is not reaped yet (a zombie). */
static long
zombie_pid(void)
{
	pid_t pid = fork();
	siginfo_t si;

	ck_assert_int_ge(pid, 0);
	if (pid == 0)
		_exit(0);
	memset(&si, 0, sizeof(si));
	ck_assert_int_eq(waitid(P_PID, (id_t)pid, &si, WEXITED | WNOWAIT), 0);
	return (long)pid;
}

static void
reap(long pid)
{
	int status;

	ck_assert_int_eq(waitpid((pid_t)pid, &status, 0), (pid_t)pid);
}

START_TEST(test_pid_alive)
{
	long dead = dead_pid(), zombie = zombie_pid();

	ck_assert(store_pid_alive((long)getpid()));
	ck_assert(store_pid_alive((long)getppid()));
	ck_assert(!store_pid_alive(dead));
	ck_assert(!store_pid_alive(zombie));
	ck_assert(!store_pid_alive(0));
	ck_assert(!store_pid_alive(-1));
	reap(zombie);
	ck_assert(!store_pid_alive(zombie));
}
END_TEST

static long long
ws_count(const char *ip)
{
	long long n = -1;

	ck_assert_int_eq(store_ws_count(st, ip, "", T0, &n), ERR_OK);
	return n;
}

/* A fresh session id (registrations need no session row). */
static const char *
fresh_id(char buf[ID_SIZE])
{
	ck_assert_int_eq(id_new(buf), ERR_OK);
	return buf;
}

START_TEST(test_ws_limit)
{
	struct ratelimit rl = { 10, 10, 2 };
	long long w1 = -1, w2 = -1, w3 = -1;
	long me = (long)getpid();
	char a[ID_SIZE], b[ID_SIZE], c[ID_SIZE];

	fresh_id(a);
	fresh_id(b);
	fresh_id(c);
	ck_assert_int_eq(store_ws_register(st, &rl, a, IP, me, T0, &w1),
	    ERR_OK);
	ck_assert_int_eq(store_ws_register(st, &rl, b, IP, me, T0, &w2),
	    ERR_OK);
	ck_assert(w1 != w2);
	ck_assert_int_eq(store_ws_register(st, &rl, c, IP, me, T0, &w3),
	    ERR_LIMIT);
	ck_assert_int_eq(ws_count(IP), 2);
	ck_assert_int_eq(ws_count(IP2), 0);
	/* Another IP has its own slots. */
	ck_assert_int_eq(store_ws_register(st, &rl, c, IP2, me, T0, &w3),
	    ERR_OK);
	ck_assert_int_eq(store_ws_unregister(st, w1, T0), ERR_OK);
	ck_assert_int_eq(ws_count(IP), 1);
	ck_assert_int_eq(store_ws_register(st, &rl, c, IP, me, T0, &w1),
	    ERR_OK);
	ck_assert_int_eq(ws_count(IP), 2);
	/* Unregistering twice or an unknown id is harmless. */
	ck_assert_int_eq(store_ws_unregister(st, w3, T0), ERR_OK);
	ck_assert_int_eq(store_ws_unregister(st, w3, T0), ERR_OK);
	ck_assert_int_eq(ws_count(IP2), 0);
}
END_TEST

/* A new connection to a session takes over the old ones: they do not
 * count against it, and store_ws_others() names them. */
START_TEST(test_ws_takeover)
{
	struct ratelimit rl = { 10, 10, 2 };
	struct store_session s;
	long long w[4];
	long pids[8], me = (long)getpid();
	size_t n = 0;
	char other[ID_SIZE];

	reserve_ok(&rl, IP, T0, &s);
	ck_assert_int_eq(store_ws_register(st, &rl, fresh_id(other), IP, me, T0,
	    &w[0]), ERR_OK);
	for (int i = 1; i < 4; i++)
		ck_assert_int_eq(store_ws_register(st, &rl, s.id, IP, me, T0,
		    &w[i]), ERR_OK);
	ck_assert_int_eq(store_ws_others(st, s.id, w[3], pids, nitems(pids),
	    &n), ERR_OK);
	ck_assert_uint_eq(n, 2);
	ck_assert_int_eq(pids[0], me);
	/* Another session of the IP is still refused at the limit. */
	ck_assert_int_eq(store_ws_register(st, &rl, fresh_id(other), IP, me,
	    T0, &w[0]), ERR_LIMIT);
	/* The last detach is remembered for eviction. */
	ck_assert_int_eq(store_attach(st, s.id, CID), ERR_OK);
	ck_assert_int_eq(store_ws_unregister(st, w[3], T0 + 77), ERR_OK);
	ck_assert_int_eq(sql_int("SELECT last_detach FROM sessions WHERE "
	    "client_ip='" IP "'"), T0 + 77);
}
END_TEST

START_TEST(test_ws_dead_pid)
{
	struct ratelimit rl = { 10, 10, 2 };
	long long w = -1;
	long me = (long)getpid(), dead = dead_pid();
	char id[ID_SIZE];

	ck_assert_int_eq(store_ws_register(st, &rl, fresh_id(id), IP, me, T0,
	    &w), ERR_OK);
	ck_assert_int_eq(store_ws_register(st, &rl, fresh_id(id), IP, dead, T0,
	    &w), ERR_OK);
	ck_assert_int_eq(sql_int("SELECT count(*) FROM websockets"), 2);
	/* The dead relay's slot comes back on the next register... */
	ck_assert_int_eq(store_ws_register(st, &rl, fresh_id(id), IP, me, T0,
	    &w), ERR_OK);
	ck_assert_int_eq(ws_count(IP), 2);
	ck_assert_int_eq(store_ws_register(st, &rl, fresh_id(id), IP, me, T0,
	    &w), ERR_LIMIT);
	/* ...and on the next count. */
	ck_assert_int_eq(store_ws_register(st, &rl, fresh_id(id), IP2, dead,
	    T0, &w), ERR_OK);
	ck_assert_int_eq(sql_int("SELECT count(*) FROM websockets WHERE "
	    "client_ip='" IP2 "'"), 1);
	ck_assert_int_eq(ws_count(IP2), 0);
	ck_assert_int_eq(sql_int("SELECT count(*) FROM websockets WHERE "
	    "client_ip='" IP2 "'"), 0);
	/* A pid of 0 or less is never alive. */
	ck_assert_int_eq(store_ws_register(st, &rl, fresh_id(id), IP2, 0, T0,
	    &w), ERR_OK);
	ck_assert_int_eq(ws_count(IP2), 0);
}
END_TEST

START_TEST(test_ws_zombie_pid)
{
	struct ratelimit rl = { 10, 10, 1 };
	struct store_session s;
	long long w = -1;
	long zombie = zombie_pid();

	reserve_ok(&rl, IP, T0, &s);
	ck_assert_int_eq(store_ws_register(st, &rl, s.id, IP, zombie, T0, &w),
	    ERR_OK);
	ck_assert_int_eq(store_ws_register(st, &rl, "sess_other", IP,
	    (long)getpid(), T0, &w), ERR_OK);
	ck_assert_int_eq(ws_count(IP), 1);
	reap(zombie);
}
END_TEST

/* Init commands: kept with the row, run once, the first result stays. */
START_TEST(test_init_once)
{
	struct ratelimit rl = { 10, 10, 3 };
	struct store_session a, b;
	char why[STORE_INIT_WHY], *init = NULL;
	bool done = false;

	reserve_ok(&rl, IP, T0, &a);
	reserve_ok(&rl, IP, T0, &b);
	ck_assert_int_eq(store_init_set(st, a.id, "[\"ls\",\"pwd\"]"), ERR_OK);
	ck_assert_int_eq(store_init_set(st, b.id, NULL), ERR_OK);
	ck_assert_int_eq(store_init_get(st, a.id, &init, &done, why,
	    sizeof(why)), ERR_OK);
	ck_assert_str_eq(init, "[\"ls\",\"pwd\"]");
	ck_assert(!done);
	free(init);
	/* No commands: nothing to run, done. */
	ck_assert_int_eq(store_init_get(st, b.id, &init, &done, why,
	    sizeof(why)), ERR_OK);
	ck_assert_ptr_null(init);
	ck_assert(done);
	ck_assert_int_eq(store_init_done(st, a.id, "init command 2 of 2 "
	    "exited with status 1"), ERR_OK);
	ck_assert_int_eq(store_init_done(st, a.id, NULL), ERR_OK);
	ck_assert_int_eq(store_init_get(st, a.id, &init, &done, why,
	    sizeof(why)), ERR_OK);
	ck_assert(done);
	ck_assert_str_eq(why, "init command 2 of 2 exited with status 1");
	free(init);
	ck_assert_int_eq(store_init_get(st, "sess_00000000000000000000000000"
	    "000000", &init, &done, why, sizeof(why)), ERR_NOTFOUND);
	ck_assert_ptr_null(init);
}
END_TEST

START_TEST(test_init_success_kept)
{
	struct ratelimit rl = { 10, 10, 3 };
	struct store_session a;
	char why[STORE_INIT_WHY], *init = NULL;
	bool done = false;

	reserve_ok(&rl, IP, T0, &a);
	ck_assert_int_eq(store_init_set(st, a.id, "[\"true\"]"), ERR_OK);
	ck_assert_int_eq(store_init_done(st, a.id, NULL), ERR_OK);
	ck_assert_int_eq(store_init_done(st, a.id, "late failure"), ERR_OK);
	ck_assert_int_eq(store_init_get(st, a.id, &init, &done, why,
	    sizeof(why)), ERR_OK);
	ck_assert(done);
	ck_assert_str_eq(why, "");
	free(init);
}
END_TEST

START_TEST(test_ws_end_session)
{
	struct ratelimit rl = { 10, 10, 3 };
	struct store_session a, b;
	long long w = -1;
	long me = (long)getpid();

	reserve_ok(&rl, IP, T0, &a);
	reserve_ok(&rl, IP, T0, &b);
	ck_assert_int_eq(store_ws_register(st, &rl, a.id, IP, me, T0, &w),
	    ERR_OK);
	ck_assert_int_eq(store_ws_register(st, &rl, a.id, IP, me, T0, &w),
	    ERR_OK);
	ck_assert_int_eq(store_ws_register(st, &rl, b.id, IP, me, T0, &w),
	    ERR_OK);
	ck_assert_int_eq(ws_count(IP), 3);
	ck_assert_int_eq(store_end(st, a.id, "user_request", T0 + 1), ERR_OK);
	ck_assert_int_eq(ws_count(IP), 1);
	/* A second (losing) end does not touch anything. */
	ck_assert_int_eq(store_end(st, a.id, "idle", T0 + 2), ERR_NOTFOUND);
	ck_assert_int_eq(ws_count(IP), 1);
}
END_TEST


/* ---- warm pool and eviction -------------------------------------------- */

#define IMG "toolkata-sandbox:latest"
#define CID2 "fedcba9876543210fedcba9876543210fedcba9876543210fedcba9876543210"

static const struct store_pool_key KEY = { IMG, "bash", "jj-git" };

START_TEST(test_pool_claim)
{
	struct ratelimit rl = { 10, 10, 3 };
	struct store_session s, g, s2;
	char p1[ID_SIZE], p2[ID_SIZE], cid[65];
	long me = (long)getpid();

	ck_assert_int_eq(store_pool_add(st, fresh_id(p1), &KEY, me, T0), ERR_OK);
	ck_assert_int_eq(store_pool_add(st, fresh_id(p2), &KEY, me, T0 + 5),
	    ERR_OK);
	reserve_ok(&rl, IP, T0 + 10, &s);
	/* Nothing ready yet: the cold path. */
	ck_assert_int_eq(store_pool_claim(st, s.id, &KEY, 0, cid),
	    ERR_NOTFOUND);
	ck_assert_int_eq(store_pool_set(st, p1, CID, STORE_POOL_READY), ERR_OK);
	ck_assert_int_eq(store_pool_set(st, p2, CID2, STORE_POOL_READY),
	    ERR_OK);
	/* Too old for the caller: not handed out. */
	ck_assert_int_eq(store_pool_claim(st, s.id, &KEY, T0 + 5, cid),
	    ERR_NOTFOUND);
	/* Another image, environment or tool pair has none. */
	ck_assert_int_eq(store_pool_claim(st, s.id, &(struct store_pool_key){
	    "other:1", "bash", "jj-git" }, 0, cid), ERR_NOTFOUND);
	ck_assert_int_eq(store_pool_claim(st, s.id, &(struct store_pool_key){
	    IMG, "node", "jj-git" }, 0, cid), ERR_NOTFOUND);
	ck_assert_int_eq(store_pool_claim(st, s.id, &(struct store_pool_key){
	    IMG, "bash", "hg-git" }, 0, cid), ERR_NOTFOUND);
	/* The oldest ready one, once; the session runs with it. */
	ck_assert_int_eq(store_pool_claim(st, s.id, &KEY, 0, cid), ERR_OK);
	ck_assert_str_eq(cid, CID);
	ck_assert_int_eq(store_get(st, s.id, &g), ERR_OK);
	ck_assert_int_eq(g.state, STORE_RUNNING);
	ck_assert_str_eq(g.container_id, CID);
	ck_assert_int_eq(sql_int("SELECT count(*) FROM pool"), 1);
	/* A session that is no longer creating claims nothing. */
	ck_assert_int_eq(store_pool_claim(st, s.id, &KEY, 0, cid),
	    ERR_CONFLICT);
	ck_assert_int_eq(sql_int("SELECT count(*) FROM pool"), 1);
	reserve_ok(&rl, IP, T0 + 11, &s2);
	ck_assert_int_eq(store_pool_claim(st, s2.id, &KEY, 0, cid), ERR_OK);
	ck_assert_str_eq(cid, CID2);
	ck_assert_int_eq(sql_int("SELECT count(*) FROM pool"), 0);
	ck_assert_int_eq(store_pool_drop(st, p1), ERR_NOTFOUND);
}
END_TEST

/* The session row keeps its environment; a row made without one is bash. */
START_TEST(test_environment_column)
{
	struct ratelimit rl = { 10, 10, 3 };
	struct store_session s, g;
	enum ratelimit_verdict v;
	long long retry;
	struct store_pool_key nk = { "toolkata-env-node:latest", "node",
		"jj-git" };
	char p1[ID_SIZE];

	reserve_ok(&rl, IP, T0, &s);
	ck_assert_int_eq(store_get(st, s.id, &g), ERR_OK);
	ck_assert_str_eq(g.environment, "bash");
	mk(&s, IP, T0 + 1);
	(void)strlcpy_ok(s.environment, "node", sizeof(s.environment));
	ck_assert_int_eq(store_reserve(st, &rl, &s, IDLE_MS, &v, &retry),
	    ERR_OK);
	ck_assert_int_eq(store_get(st, s.id, &g), ERR_OK);
	ck_assert_str_eq(g.environment, "node");
	/* Pool rows keep their whole key. */
	ck_assert_int_eq(store_pool_add(st, fresh_id(p1), &nk, 1, T0), ERR_OK);
	ck_assert_int_eq(sql_int("SELECT count(*) FROM pool WHERE "
	    "environment='node' AND tool_pair='jj-git' AND "
	    "image='toolkata-env-node:latest'"), 1);
}
END_TEST

/* A state file from before environments gets the columns; its rows are
 * bash, its pool rows have no tool pair (never claimed, they age out). */
START_TEST(test_environment_migration)
{
	struct store_session g;
	sqlite3 *db = NULL;
	char *errstr = NULL;
	char id[ID_SIZE], sql[256];

	store_close(st);
	unlink_db();
	ck_assert_int_eq(id_new(id), ERR_OK);
	ck_assert_int_eq(sqlite3_open(path, &db), SQLITE_OK);
	ck_assert_int_eq(sqlite3_exec(db, "CREATE TABLE sessions(id TEXT "
	    "PRIMARY KEY, container_id TEXT NOT NULL DEFAULT '', tool_pair "
	    "TEXT NOT NULL, client_ip TEXT NOT NULL, state INTEGER NOT NULL, "
	    "created_at INTEGER NOT NULL, last_active INTEGER NOT NULL, "
	    "expires_at INTEGER NOT NULL, ended_at INTEGER NOT NULL DEFAULT 0,"
	    " end_reason TEXT NOT NULL DEFAULT '', owner_pid INTEGER NOT NULL "
	    "DEFAULT 0); CREATE TABLE pool(id TEXT PRIMARY KEY, image TEXT NOT"
	    " NULL, container_id TEXT NOT NULL DEFAULT '', state INTEGER NOT "
	    "NULL, owner_pid INTEGER NOT NULL, created_at INTEGER NOT NULL);",
	    NULL, NULL, NULL), SQLITE_OK);
	(void)snprintf(sql, sizeof(sql), "INSERT INTO sessions(id, tool_pair, "
	    "client_ip, state, created_at, last_active, expires_at) "
	    "VALUES('%s', 'jj-git', '1.2.3.4', 1, 1, 1, 9)", id);
	ck_assert_int_eq(sqlite3_exec(db, sql, NULL, NULL, NULL), SQLITE_OK);
	sqlite3_close(db);
	st = store_open(path, &errstr);
	ck_assert_msg(st != NULL, "store_open: %s", errstr ? errstr : "?");
	ck_assert_int_eq(store_get(st, id, &g), ERR_OK);
	ck_assert_str_eq(g.environment, "bash");
	ck_assert_int_eq(sql_int("SELECT count(*) FROM pool WHERE "
	    "environment='bash' AND tool_pair=''"), 0);
}
END_TEST

START_TEST(test_pool_owns)
{
	struct ratelimit rl = { 10, 10, 3 };
	struct store_session s;
	char p1[ID_SIZE];
	bool owned = true;
	long long n = 0;

	ck_assert_int_eq(store_pool_add(st, fresh_id(p1), &KEY, 1, T0), ERR_OK);
	ck_assert_int_eq(store_owns(st, CID, "", p1, &owned), ERR_OK);
	ck_assert(owned);
	ck_assert_int_eq(store_owns(st, CID, "", "sess_gone", &owned), ERR_OK);
	ck_assert(!owned);
	/* Pool containers count as live containers (circuit breaker). */
	ck_assert_int_eq(store_count_live(st, &n), ERR_OK);
	ck_assert_int_eq(n, 1);
	reserve_ok(&rl, IP, T0, &s);
	ck_assert_int_eq(store_owns(st, CID2, s.id, "", &owned), ERR_OK);
	ck_assert(owned);	/* creating, by label */
	ck_assert_int_eq(store_attach(st, s.id, CID2), ERR_OK);
	ck_assert_int_eq(store_owns(st, CID2, "", "", &owned), ERR_OK);
	ck_assert(owned);	/* running, by container id */
	ck_assert_int_eq(store_end(st, s.id, "user_request", T0), ERR_OK);
	ck_assert_int_eq(store_owns(st, CID2, s.id, "", &owned), ERR_OK);
	ck_assert(!owned);
}
END_TEST

START_TEST(test_evictable)
{
	struct ratelimit rl = { 10, 10, 3 };
	struct store_session a, b;
	char id[ID_SIZE];
	long long w = -1;

	reserve_ok(&rl, IP, T0, &a);
	reserve_ok(&rl, IP, T0 + 1000, &b);
	/* Creating sessions are never evicted. */
	ck_assert_int_eq(store_evictable(st, IP, T0 + 5000, T0, id),
	    ERR_NOTFOUND);
	ck_assert_int_eq(store_attach(st, a.id, CID), ERR_OK);
	ck_assert_int_eq(store_attach(st, b.id, CID2), ERR_OK);
	/* Neither unattached long enough. */
	ck_assert_int_eq(store_evictable(st, IP, T0 - 1, T0, id),
	    ERR_NOTFOUND);
	ck_assert_int_eq(store_evictable(st, IP, T0 + 5000, T0, id), ERR_OK);
	ck_assert_str_eq(id, a.id);
	/* An attached terminal protects it; its detach restarts the clock. */
	ck_assert_int_eq(store_ws_register(st, &rl, a.id, IP, (long)getpid(),
	    T0, &w), ERR_OK);
	ck_assert_int_eq(store_evictable(st, IP, T0 + 5000, T0, id), ERR_OK);
	ck_assert_str_eq(id, b.id);
	ck_assert_int_eq(store_ws_unregister(st, w, T0 + 9000), ERR_OK);
	ck_assert_int_eq(store_evictable(st, IP, T0 + 5000, T0, id), ERR_OK);
	ck_assert_str_eq(id, b.id);
	ck_assert_int_eq(store_evictable(st, IP2, T0 + 9999, T0, id),
	    ERR_NOTFOUND);
}
END_TEST

/* /health's write probe: fine, then locked by another connection (an
 * answer within the probe's own short busy timeout), then fine again. */
START_TEST(test_probe)
{
	char why[128];
	sqlite3 *db = NULL;
	double t0;

	ck_assert_int_eq(store_probe(st, 200, why, sizeof(why)), ERR_OK);
	ck_assert_str_eq(why, "");
	ck_assert_int_eq(sqlite3_open(path, &db), SQLITE_OK);
	ck_assert_int_eq(sqlite3_exec(db, "BEGIN EXCLUSIVE", NULL, NULL, NULL),
	    SQLITE_OK);
	t0 = clock_mono();
	ck_assert_int_eq(store_probe(st, 200, why, sizeof(why)), ERR_IO);
	ck_assert_msg(clock_mono() - t0 < 3.0, "the probe waited the full "
	    "busy timeout");
	ck_assert_ptr_nonnull(strstr(why, "locked"));
	(void)sqlite3_exec(db, "ROLLBACK", NULL, NULL, NULL);
	sqlite3_close(db);
	ck_assert_int_eq(store_probe(st, 200, why, sizeof(why)), ERR_OK);
}
END_TEST

/* A reservation's history entry can be dropped on its own. */
START_TEST(test_forget_history)
{
	struct ratelimit rl = { 1, 5, 5 };
	enum ratelimit_verdict v;
	long long retry;
	struct store_session s;

	memset(&s, 0, sizeof(s));
	(void)snprintf(s.id, sizeof(s.id), "sess_%032d", 7);
	(void)snprintf(s.tool_pair, sizeof(s.tool_pair), "jj-git");
	(void)snprintf(s.client_ip, sizeof(s.client_ip), "192.0.2.7");
	s.created_at = s.last_active = 1700000000000LL;
	s.expires_at = s.created_at + 60000;
	ck_assert_int_eq(store_reserve(st, &rl, &s, 60000, &v, &retry), ERR_OK);
	ck_assert_int_eq(store_end(st, s.id, "abandoned", s.created_at + 1),
	    ERR_OK);
	ck_assert_int_eq(store_forget_history(st, s.id), ERR_OK);
	/* Hourly limit 1: free again. */
	s.id[ID_LEN - 1] = '8';
	ck_assert_int_eq(store_reserve(st, &rl, &s, 60000, &v, &retry), ERR_OK);
}
END_TEST


/* ---- step checks ------------------------------------------------------ */

#define CSID "sess_0123456789abcdef0123456789abcdef"

START_TEST(test_check_one_at_a_time)
{
	long long id1 = 0, id2 = 0, retry = 0;
	bool running = false;

	ck_assert_int_eq(store_check_begin(st, CSID, 10, 1000000, 1005000,
	    &id1, &retry, &running), ERR_OK);
	ck_assert_int_gt(id1, 0);
	/* While it runs: refused, retry when its slot would lapse. */
	ck_assert_int_eq(store_check_begin(st, CSID, 10, 1001000, 1006000,
	    &id2, &retry, &running), ERR_LIMIT);
	ck_assert(running);
	ck_assert_int_eq(retry, 4);
	/* Another session is not affected. */
	ck_assert_int_eq(store_check_begin(st, "sess_ffffffffffffffffffffffff"
	    "ffffffff", 10, 1001000, 1006000, &id2, &retry, &running), ERR_OK);
	ck_assert_int_eq(store_check_end(st, id1, 1002000), ERR_OK);
	ck_assert_int_eq(store_check_begin(st, CSID, 10, 1002000, 1007000,
	    &id2, &retry, &running), ERR_OK);
	ck_assert_int_eq(store_check_end(st, id2, 1003000), ERR_OK);
}
END_TEST

START_TEST(test_check_dead_worker_slot_lapses)
{
	long long id = 0, retry = 0;
	bool running = false;

	ck_assert_int_eq(store_check_begin(st, CSID, 10, 1000000, 1005000,
	    &id, &retry, &running), ERR_OK);
	/* Never ended (its worker died): free once busy_until has passed. */
	ck_assert_int_eq(store_check_begin(st, CSID, 10, 1005001, 1010000,
	    &id, &retry, &running), ERR_OK);
}
END_TEST

START_TEST(test_check_per_minute_window)
{
	long long id = 0, retry = 0;
	bool running = false;
	int64_t t = 5000000;

	for (int i = 0; i < 3; i++) {
		ck_assert_int_eq(store_check_begin(st, CSID, 3, t + i * 10000,
		    t + i * 10000 + 100, &id, &retry, &running), ERR_OK);
		ck_assert_int_eq(store_check_end(st, id, t + i * 10000 + 50),
		    ERR_OK);
	}
	ck_assert_int_eq(store_check_begin(st, CSID, 3, t + 30000, t + 30100,
	    &id, &retry, &running), ERR_LIMIT);
	ck_assert(!running);
	/* The oldest of the last three leaves the window at t + 60 s. */
	ck_assert_int_eq(retry, 30);
	ck_assert_int_eq(store_check_begin(st, CSID, 3, t + 60001, t + 60100,
	    &id, &retry, &running), ERR_OK);
	/* 0: no per-minute limit, one at a time still. */
	ck_assert_int_eq(store_check_end(st, id, t + 60050), ERR_OK);
	for (int i = 0; i < 20; i++) {
		ck_assert_int_eq(store_check_begin(st, CSID, 0, t + 61000 + i,
		    t + 61000 + i + 1, &id, &retry, &running), ERR_OK);
		ck_assert_int_eq(store_check_end(st, id, t + 61000 + i), ERR_OK);
	}
}
END_TEST

static Suite *
store_suite(void)
{
	Suite *s = suite_create("store");
	TCase *tc;

	tc = tcase_create("open");
	tcase_add_unchecked_fixture(tc, dir_setup, dir_teardown);
	tcase_add_checked_fixture(tc, setup, teardown);
	tcase_add_test(tc, test_open_wal_schema);
	tcase_add_test(tc, test_open_twice_same_schema);
	tcase_add_test(tc, test_open_fails);
	suite_add_tcase(s, tc);

	tc = tcase_create("quota");
	tcase_add_unchecked_fixture(tc, dir_setup, dir_teardown);
	tcase_add_checked_fixture(tc, setup, teardown);
	tcase_add_test(tc, test_reserve_roundtrip);
	tcase_add_test(tc, test_reserve_concurrent);
	tcase_add_test(tc, test_reserve_next_end_lifetime);
	tcase_add_test(tc, test_reserve_hourly_window);
	tcase_add_test(tc, test_reserve_old_entry_ignored);
	tcase_add_test(tc, test_refusal_costs_nothing);
	suite_add_tcase(s, tc);

	tc = tcase_create("life");
	tcase_add_test(tc, test_probe);
	tcase_add_test(tc, test_forget_history);
	tcase_add_unchecked_fixture(tc, dir_setup, dir_teardown);
	tcase_add_checked_fixture(tc, setup, teardown);
	tcase_add_test(tc, test_attach);
	tcase_add_test(tc, test_abandon);
	tcase_add_test(tc, test_end_once);
	tcase_add_test(tc, test_touch);
	tcase_add_test(tc, test_count_each_live);
	tcase_add_test(tc, test_purge);
	tcase_add_test(tc, test_two_handles);
	suite_add_tcase(s, tc);

	tc = tcase_create("checks");
	tcase_add_unchecked_fixture(tc, dir_setup, dir_teardown);
	tcase_add_checked_fixture(tc, setup, teardown);
	tcase_add_test(tc, test_check_one_at_a_time);
	tcase_add_test(tc, test_check_dead_worker_slot_lapses);
	tcase_add_test(tc, test_check_per_minute_window);
	suite_add_tcase(s, tc);

	tc = tcase_create("websockets");
	tcase_add_unchecked_fixture(tc, dir_setup, dir_teardown);
	tcase_add_checked_fixture(tc, setup, teardown);
	tcase_add_test(tc, test_ws_limit);
	tcase_add_test(tc, test_ws_takeover);
	tcase_add_test(tc, test_pool_claim);
	tcase_add_test(tc, test_pool_owns);
	tcase_add_test(tc, test_environment_column);
	tcase_add_test(tc, test_environment_migration);
	tcase_add_test(tc, test_evictable);
	tcase_add_test(tc, test_ws_dead_pid);
	tcase_add_test(tc, test_pid_alive);
	tcase_add_test(tc, test_ws_zombie_pid);
	tcase_add_test(tc, test_ws_end_session);
	tcase_add_test(tc, test_init_once);
	tcase_add_test(tc, test_init_success_kept);
	suite_add_tcase(s, tc);
	return s;
}

int
main(void)
{
	return util_run(store_suite());
}
