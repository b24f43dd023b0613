/*
 * check_abuse.c: the abuse suite on the real stack (Caddy, toolkata-api,
 * websocketd, toolkata-relay, runsc containers; nothing mocked).  Spoofed
 * client addresses in every spelling, from an untrusted and a trusted
 * peer, through Caddy and straight to websocketd, never change the address
 * the quotas count; N parallel creates against a limit of k give exactly k;
 * hundreds of slow-body and slow-header clients leave /health, a create
 * and a terminal working for everyone else; chunked and oversized bodies
 * get a real answer.  Assertions are on outcomes, never on timings.
 */
#include "compat.h"

#include <poll.h>
#include <pthread.h>

#include <sqlite3.h>

#include "clock.h"
#include "log.h"
#include "stack.h"
#include "util.h"
#include "ws.h"

#define KEY "test-key-123"
#define ORIGIN "http://allowed.test"
#define HOURLY 3
#define CONCURRENT 2

static struct stack st;
static const char *const key_hdrs[] = { "X-API-Key: " KEY, NULL };
static const char create_body[] = "{\"toolPair\":\"jj-git\"}";

/* Every way a client might try to name its own address (issue 8). */
#define SPOOF_HEADERS                                                        \
	"X-Forwarded-For: 203.0.113.11", "X-Real-IP: 203.0.113.12",           \
	"Forwarded: for=203.0.113.13", "X_Forwarded_For: 203.0.113.14",       \
	"X_Real_IP: 203.0.113.15", "Xclientip: 203.0.113.16",                 \
	"XCLIENTIP: 203.0.113.17", "X_Client_IP: 203.0.113.18",               \
	"X-Client-IP: 203.0.113.19", "Xclient_ip: 203.0.113.20",              \
	"Xwssecret: guessed-secret-000000", "Xws_secret: guessed-000000000"

static const char *const spoof_hdrs[] = { "X-API-Key: " KEY,
	SPOOF_HEADERS, NULL };
static const char *const spoof_ws_hdrs[] = { SPOOF_HEADERS, NULL };

static void
abuse_setup(void)
{
	char n[16];

	stack_init(&st, "abuse");
	stack_setenv(&st, "SANDBOX_API_KEY", KEY);
	stack_setenv(&st, "SANDBOX_ALLOWED_ORIGINS", ORIGIN);
	(void)snprintf(n, sizeof(n), "%d", HOURLY);
	stack_setenv(&st, "MAX_SESSIONS_PER_HOUR", n);
	(void)snprintf(n, sizeof(n), "%d", CONCURRENT);
	stack_setenv(&st, "MAX_CONCURRENT_PER_IP", n);
	stack_setenv(&st, "MAX_WEBSOCKETS_PER_IP", "3");
	stack_setenv(&st, "CIRCUIT_MAX_CONTAINERS", "50");
	stack_setenv(&st, "CIRCUIT_MAX_MEMORY_PERCENT", "100");
	stack_up(&st);
}

static void
teardown(void)
{
	stack_down(&st);
}

/* ---- helpers ------------------------------------------------------------ */

/* POST a session from src with hdrs; the status, the id into id. */
static long
create(const char *src, const char *const *hdrs, char *id)
{
	struct http_resp r;
	long status;
	json_t *j;

	stack_http(&st, "POST", "/api/v1/sessions", src, hdrs, create_body, &r);
	status = r.status;
	if (id != NULL)
		id[0] = '\0';
	if (status == 201 && id != NULL) {
		j = resp_json(&r);
		(void)snprintf(id, ID_SIZE, "%s", jstr(j, "sessionId"));
		json_decref(j);
	}
	http_resp_free(&r);
	return status;
}

static void
delete(const char *id)
{
	struct http_resp r;
	char path[128];

	(void)snprintf(path, sizeof(path), "/api/v1/sessions/%s", id);
	stack_http(&st, "DELETE", path, NULL, key_hdrs, NULL, &r);
	ck_assert_int_eq(r.status, 200);
	http_resp_free(&r);
}

/* Read messages until a text frame containing needle; false on close. */
static bool
ws_wait_text(struct ws *w, const char *needle, int ms)
{
	double end = clock_mono() + ms / 1000.0;

	while (!w->closed && clock_mono() < end) {
		char *m = NULL;
		size_t n = 0;
		enum ws_type t = ws_recv(w, 200, &m, &n);
		bool hit = (t == WS_TEXT || t == WS_BINARY) && m != NULL &&
		    memmem(m, n, needle, strlen(needle)) != NULL;

		free(m);
		if (hit)
			return true;
	}
	return false;
}

/* A terminal on session id at port (Caddy's or websocketd's). */
static int
ws_at(struct ws *w, int port, const char *id, const char *src,
    const char *const *hdrs)
{
	char path[160];

	(void)snprintf(path, sizeof(path), "/api/v1/sessions/%s/ws?api_key="
	    KEY, id);
	ck_assert_msg(ws_open(w, port, path, src, ORIGIN, hdrs),
	    "cannot reach port %d", port);
	return w->status;
}

/* ---- spoofed addresses ---------------------------------------------------- */

/* Fill src's concurrent quota, then spoof: every spoofed create must be
 * refused as src's (429), and every row must carry src. */
static void
spoof_rest_from(const char *src)
{
	char ids[CONCURRENT][ID_SIZE];

	for (int i = 0; i < CONCURRENT; i++)
		ck_assert_int_eq(create(src, key_hdrs, ids[i]), 201);
	/* X_Forwarded_For wins about half the time where it is read at all
	 * (websocketd and Caddy's FastCGI env iterate a Go map): 20 tries. */
	for (int i = 0; i < 20; i++)
		ck_assert_msg(create(src, spoof_hdrs, NULL) == 429,
		    "a spoofed create from %s was not counted as %s", src, src);
	ck_assert_int_eq(stack_db_int(&st, "SELECT count(*) FROM sessions WHERE "
	    "client_ip LIKE '203.0.113.%'", NULL), 0);
	ck_assert_int_eq(stack_db_int(&st, "SELECT count(*) FROM sessions WHERE "
	    "client_ip=?1", src), CONCURRENT);
	for (int i = 0; i < CONCURRENT; i++)
		delete(ids[i]);
}

START_TEST(test_spoofed_rest_untrusted_peer)
{
	spoof_rest_from("127.0.0.21");
}
END_TEST

/* 127.0.0.1 is a trusted proxy by default: its headers are still not. */
START_TEST(test_spoofed_rest_trusted_peer)
{
	spoof_rest_from("127.0.0.1");
}
END_TEST

/* Through Caddy with every spoofed header: the relay registers the
 * terminal under the real address, each time. */
START_TEST(test_spoofed_ws_through_caddy)
{
	const char *src = "127.0.0.22";
	char id[ID_SIZE];
	struct ws w;

	ck_assert_int_eq(create(src, key_hdrs, id), 201);
	for (int i = 0; i < 6; i++) {
		ck_assert_int_eq(ws_at(&w, st.port, id, src, spoof_ws_hdrs), 101);
		ck_assert_msg(ws_wait_text(&w, "\"connected\"", 15000),
		    "terminal %d through Caddy not connected", i);
		ck_assert_int_eq(stack_db_int(&st, "SELECT count(*) FROM websockets WHERE "
		    "client_ip<>?1", src), 0);
		ck_assert_int_eq(stack_db_int(&st, "SELECT count(*) FROM websockets WHERE "
		    "client_ip=?1", src), 1);
		ws_close(&w);
		for (int k = 0; k < 50 && stack_db_int(&st, "SELECT count(*) FROM "
		    "websockets", NULL) > 0; k++)
			(void)usleep(100000);
	}
	delete(id);
}
END_TEST

/* Straight to websocketd on loopback, skipping Caddy: without Caddy's
 * secret, whatever the headers say, the relay refuses before it
 * registers anything (issue 8: 5 terminals against a limit of 3). */
START_TEST(test_direct_websocketd_refused)
{
	static const char *const forged[][3] = {
		{ NULL },
		{ "X-Forwarded-For: 203.0.113.30", NULL },
		{ "Xclientip: 203.0.113.31", "Xwssecret: wrong-secret-000000",
		    NULL },
		{ "Xclientip: 203.0.113.32", "Xwssecret: ", NULL },
	};
	const char *src = "127.0.0.23";
	char id[ID_SIZE], secret_hdr[96];
	const char *good[] = { "Xclientip: 203.0.113.33", secret_hdr, NULL };
	struct ws w;

	ck_assert_int_eq(create(src, key_hdrs, id), 201);
	for (size_t i = 0; i < nitems(forged); i++)
		for (int round = 0; round < 2; round++) {
			ck_assert_int_eq(ws_at(&w, st.ws_port, id, src,
			    forged[i][0] != NULL ? forged[i] : NULL), 101);
			ck_assert_msg(ws_wait_text(&w, "Forbidden", 10000),
			    "direct connect %zu was not refused", i);
			ws_close(&w);
			ck_assert_int_eq(stack_db_int(&st, "SELECT count(*) FROM "
			    "websockets", NULL), 0);
		}
	ck_assert(file_contains(st.audit, "\"reason\":\"NotFromProxy\""));
	/* With the secret (only Caddy has it) the relay takes Xclientip. */
	(void)snprintf(secret_hdr, sizeof(secret_hdr), "Xwssecret: %s",
	    st.ws_secret);
	ck_assert_int_eq(ws_at(&w, st.ws_port, id, src, good), 101);
	ck_assert(ws_wait_text(&w, "\"connected\"", 15000));
	ck_assert_int_eq(stack_db_int(&st, "SELECT count(*) FROM websockets WHERE "
	    "client_ip='203.0.113.33'", NULL), 1);
	ws_close(&w);
	delete(id);
}
END_TEST

/* ---- parallel creates ------------------------------------------------------ */

#define NPAR 6

struct par {
	const char *src;
	long status;
	char id[ID_SIZE];
};

static void *
par_create(void *arg)
{
	struct par *p = arg;
	struct http_resp r;
	char url[128];
	json_t *j;

	(void)snprintf(url, sizeof(url), "%s/api/v1/sessions", st.base);
	p->status = -1;
	p->id[0] = '\0';
	if (http_do("POST", url, NULL, p->src, key_hdrs, create_body, &r) ==
	    CURLE_OK) {
		p->status = r.status;
		j = r.status == 201 ? json_loadb(r.body, r.len, 0, NULL) : NULL;
		if (json_is_string(json_object_get(j, "sessionId")))
			(void)snprintf(p->id, sizeof(p->id), "%s",
			    json_string_value(json_object_get(j, "sessionId")));
		json_decref(j);
	}
	http_resp_free(&r);
	return NULL;
}

/* NPAR creates at once from src; returns how many got 201 (ids kept). */
static int
par_round(const char *src, struct par p[NPAR])
{
	pthread_t t[NPAR];
	int ok = 0;

	for (int i = 0; i < NPAR; i++) {
		p[i].src = src;
		ck_assert_int_eq(pthread_create(&t[i], NULL, par_create, &p[i]),
		    0);
	}
	for (int i = 0; i < NPAR; i++)
		ck_assert_int_eq(pthread_join(t[i], NULL), 0);
	for (int i = 0; i < NPAR; i++) {
		ck_assert_msg(p[i].status == 201 || p[i].status == 429,
		    "parallel create got %ld", p[i].status);
		ok += p[i].status == 201;
	}
	return ok;
}

START_TEST(test_parallel_creates_exact)
{
	const char *src = "127.0.0.24";
	struct par p[NPAR];
	int ok, total;

	/* Concurrent limit 2: exactly 2 of 6. */
	ok = par_round(src, p);
	ck_assert_int_eq(ok, CONCURRENT);
	for (int i = 0; i < NPAR; i++)
		if (p[i].status == 201)
			delete(p[i].id);
	total = ok;
	/* Hourly limit 3, 2 used: exactly 1 more, however many ask. */
	ok = par_round(src, p);
	ck_assert_int_eq(ok, HOURLY - total);
	for (int i = 0; i < NPAR; i++)
		if (p[i].status == 201)
			delete(p[i].id);
	ok = par_round(src, p);
	ck_assert_int_eq(ok, 0);
	ck_assert_int_eq(stack_db_int(&st, "SELECT count(*) FROM history WHERE "
	    "client_ip=?1", src), HOURLY);
}
END_TEST

/* ---- slow clients ---------------------------------------------------------- */

#define NSLOW_BODY 200
#define NSLOW_HEAD 300
#define NSLOW (NSLOW_BODY + NSLOW_HEAD)
#define SLOW_SECONDS 60

struct slow {
	int fd[NSLOW];
	size_t sent[NSLOW];
	int open;		/* sockets Caddy has not closed or answered */
	volatile int stop;
};

static const char slow_body_head[] = "POST /api/v1/sessions HTTP/1.1\r\n"
    "Host: 127.0.0.1\r\nContent-Type: application/json\r\n"
    "Content-Length: 40\r\n\r\n";
static const char slow_body_drip[] = "{\"toolPair\":\"not-a-pair-xxxxxxxxxxxxxx\"}";
static const char slow_head_head[] = "GET /health HTTP/1.1\r\n"
    "Host: 127.0.0.1\r\n";
static const char slow_head_drip[] = "X-Drip-0123456789abcdef: 0123456789"
    "abcdef0123456789abcdef0123456789abcdef\r\n\r\n";

static int
slow_connect(const char *src, const char *head)
{
	struct sockaddr_in sa;
	int fd = socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);

	ck_assert_int_ge(fd, 0);
	memset(&sa, 0, sizeof(sa));
	sa.sin_family = AF_INET;
	(void)inet_pton(AF_INET, src, &sa.sin_addr);
	ck_assert_int_eq(bind(fd, (struct sockaddr *)&sa, sizeof(sa)), 0);
	sa.sin_port = htons((uint16_t)st.port);
	(void)inet_pton(AF_INET, "127.0.0.1", &sa.sin_addr);
	ck_assert_int_eq(connect(fd, (struct sockaddr *)&sa, sizeof(sa)), 0);
	ck_assert(ws_write_all(fd, head, strlen(head)));
	return fd;
}

/* Every second one more byte on every socket Caddy still holds open; a
 * socket is done when Caddy answers or closes it. */
static void *
slow_drip(void *arg)
{
	struct slow *sl = arg;
	double end = clock_mono() + SLOW_SECONDS;
	char buf[512];

	while (!sl->stop && sl->open > 0 && clock_mono() < end) {
		for (int i = 0; i < NSLOW; i++) {
			const char *drip = i < NSLOW_BODY ? slow_body_drip :
			    slow_head_drip;
			struct pollfd pfd = { sl->fd[i], POLLIN, 0 };

			if (sl->fd[i] < 0)
				continue;
			if (poll(&pfd, 1, 0) > 0 &&
			    read(sl->fd[i], buf, sizeof(buf)) >= 0) {
				(void)close(sl->fd[i]);
				sl->fd[i] = -1;
				sl->open--;
				continue;
			}
			if (sl->sent[i] < strlen(drip) &&
			    send(sl->fd[i], drip + sl->sent[i], 1,
				MSG_DONTWAIT | MSG_NOSIGNAL) == 1)
				sl->sent[i]++;
		}
		(void)usleep(1000000);
	}
	return NULL;
}

/* 200 clients dripping a body and 300 dripping headers, a byte a second:
 * /health, a create and a terminal from another client still work, and
 * Caddy ends every slow client itself (issue 8: four drippers froze every
 * worker for as long as they dripped). */
START_TEST(test_slow_clients_do_not_starve)
{
	static struct slow sl;
	const char *src = "127.0.0.40";
	char id[ID_SIZE], bsrc[32];
	struct http_resp r;
	double t0, t1, t2;
	pthread_t t;
	struct ws w;

	memset(&sl, 0, sizeof(sl));
	for (int i = 0; i < NSLOW; i++) {
		(void)snprintf(bsrc, sizeof(bsrc), "127.0.1.%d", 1 + i % 200);
		sl.fd[i] = slow_connect(bsrc, i < NSLOW_BODY ? slow_body_head :
		    slow_head_head);
	}
	sl.open = NSLOW;
	ck_assert_int_eq(pthread_create(&t, NULL, slow_drip, &sl), 0);
	(void)usleep(2000000);	/* every dripper is in flight */

	t0 = clock_mono();
	stack_http(&st, "GET", "/health", src, NULL, NULL, &r);
	ck_assert_int_eq(r.status, 200);
	http_resp_free(&r);
	t1 = clock_mono();
	ck_assert_int_eq(create(src, key_hdrs, id), 201);
	t2 = clock_mono();
	ck_assert_int_eq(ws_at(&w, st.port, id, src, NULL), 101);
	ck_assert(ws_wait_text(&w, "\"connected\"", 15000));
	ws_close(&w);
	/* Figures for RELIABILITY.md; nothing is asserted on them. */
	(void)fprintf(stderr, "abuse: under %d slow clients: /health %.3f s, "
	    "create %.3f s, terminal connected %.3f s\n", NSLOW, t1 - t0,
	    t2 - t1, clock_mono() - t2);
	stack_http(&st, "GET", "/health", src, NULL, NULL, &r);
	ck_assert_int_eq(r.status, 200);
	http_resp_free(&r);
	ck_assert_msg(sl.open > 0, "the drippers were gone before the probes");

	ck_assert_int_eq(pthread_join(t, NULL), 0);
	ck_assert_msg(sl.open == 0, "%d slow clients still open after %d s",
	    sl.open, SLOW_SECONDS);
	(void)fprintf(stderr, "abuse: Caddy ended all %d slow clients %.1f s "
	    "after they started\n", NSLOW, clock_mono() - t0 + 2.0);
	delete(id);
}
END_TEST

/* Caddy 2.6.2 passes a buffered chunked body as CONTENT_LENGTH=-1 (H1);
 * toolkata-api reads it to its end.  And oversized bodies are refused
 * whole, never truncated into something that parses. */
START_TEST(test_chunked_and_oversized_bodies)
{
	static const char *const chunked[] = { "X-API-Key: " KEY,
		"Transfer-Encoding: chunked", "Content-Type: application/json",
		NULL };
	const char *src = "127.0.0.41";
	struct http_resp r;
	char id[ID_SIZE], *big;
	json_t *j;

	stack_http(&st, "POST", "/api/v1/sessions", src, chunked,
	    "{\"toolPair\":\"nope\"}", &r);
	ck_assert_msg(r.status == 400, "%ld %s", r.status, r.body);
	j = resp_json(&r);
	ck_assert_str_eq(jstr(j, "message"), "Unsupported toolPair");
	json_decref(j);
	http_resp_free(&r);
	ck_assert_int_eq(create(src, chunked, id), 201);
	delete(id);

	big = malloc(100001);
	ck_assert_ptr_nonnull(big);
	/* Valid JSON up to any truncation point a buggy buffer might cut. */
	memset(big, ' ', 100000);
	memcpy(big, create_body, sizeof(create_body) - 1);
	big[100000] = '\0';
	big[20000] = '\0';	/* over toolkata-api's 16 KiB, under Caddy's */
	stack_http(&st, "POST", "/api/v1/sessions", src, key_hdrs, big, &r);
	ck_assert_int_eq(r.status, 413);
	http_resp_free(&r);
	big[20000] = ' ';	/* over Caddy's max_size */
	stack_http(&st, "POST", "/api/v1/sessions", src, key_hdrs, big, &r);
	ck_assert_int_eq(r.status, 413);
	http_resp_free(&r);
	stack_http(&st, "POST", "/api/v1/sessions", src, chunked, big, &r);
	ck_assert_int_eq(r.status, 413);
	http_resp_free(&r);
	free(big);
	ck_assert_int_eq(stack_db_int(&st, "SELECT count(*) FROM sessions WHERE "
	    "client_ip=?1", src), 1);
}
END_TEST

static Suite *
abuse_suite(void)
{
	Suite *s = suite_create("abuse");
	TCase *tc = tcase_create("abuse");

	tcase_add_unchecked_fixture(tc, abuse_setup, teardown);
	tcase_set_timeout(tc, 180);
	tcase_add_test(tc, test_spoofed_rest_untrusted_peer);
	tcase_add_test(tc, test_spoofed_rest_trusted_peer);
	tcase_add_test(tc, test_spoofed_ws_through_caddy);
	tcase_add_test(tc, test_direct_websocketd_refused);
	tcase_add_test(tc, test_parallel_creates_exact);
	tcase_add_test(tc, test_chunked_and_oversized_bodies);
	tcase_add_test(tc, test_slow_clients_do_not_starve);
	suite_add_tcase(s, tc);
	return s;
}

int
main(void)
{
	stack_global_init();
	return util_run(abuse_suite());
}
