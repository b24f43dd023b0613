// bench.js: the toolkata-sandbox benchmark harness.  Measures a running
// stack (any server that speaks this API) and, in the same run, the
// baselines it is compared with: raw Engine API calls, a direct attach
// on the Docker socket, a plain-string prompt.  Prints "name: value" lines (ratios as
// "<x>_ratio_vs_<baseline>: 1.04") and writes everything to --out as JSON.
//
//   node bench/bench.js --url http://127.0.0.1:8080 [--runc-url URL]
//        [--key K] [--state FILE] [--websocketd-pid P] [--api-pid P]
//        [--quick] [--out FILE]
//
// --state (the stack's SQLite file) lets it find relay pids; the pids let
// it read memory.  bench/run.sh starts private stacks and passes all of it.
'use strict';
const http = require('http');
const fs = require('fs');
const { execFileSync } = require('child_process');
const WebSocket = require('ws');

const args = {};
for (let i = 2; i < process.argv.length; i++) {
  const a = process.argv[i];
  if (!a.startsWith('--')) continue;
  const k = a.slice(2);
  const v = (i + 1 < process.argv.length && !process.argv[i + 1].startsWith('--')) ? process.argv[++i] : true;
  args[k] = v;
}
const base = args.url || 'http://127.0.0.1:8080';
const quick = !!args.quick;
const key = args.key || '';
const DOCKER = '/var/run/docker.sock';
const PROMPT = '$\x1b[0m ';
const results = { when: new Date().toISOString(), quick, url: base, scenarios: {} };
const out = (k, v) => { console.log(`${k}: ${v}`); };

// ---- helpers -------------------------------------------------------------

const now = () => Number(process.hrtime.bigint()) / 1e6;
const sleep = (ms) => new Promise((r) => setTimeout(r, ms));
function pct(a, p) {
  if (!a.length) return NaN;
  const s = [...a].sort((x, y) => x - y);
  return s[Math.min(s.length - 1, Math.ceil(p * s.length) - 1)];
}
const stats = (a) => ({ n: a.length, p50: pct(a, 0.5), p95: pct(a, 0.95), p99: pct(a, 0.99) });
const f2 = (x) => (Number.isFinite(x) ? x.toFixed(2) : 'NaN');

function request(method, url, body, opts = {}) {
  return new Promise((resolve, reject) => {
    const r = http.request(url, { method, agent: false, ...opts }, (res) => {
      let d = '';
      res.on('data', (c) => { d += c; });
      res.on('end', () => resolve({ status: res.statusCode, body: d }));
    });
    r.setTimeout(60000, () => r.destroy(new Error(`${method} ${url}: no answer in 60 s`)));
    r.on('error', reject);
    r.end(body || undefined);
  });
}
const engine = (method, path, body) => request(method, 'http://localhost/v1.41' + path, body,
  { socketPath: DOCKER, headers: body ? { 'Content-Type': 'application/json' } : {} });
const hdrs = () => (key ? { 'X-API-Key': key, 'Content-Type': 'application/json' } : { 'Content-Type': 'application/json' });

async function createSession(url) {
  const t0 = now();
  const r = await request('POST', url + '/api/v1/sessions', '{"toolPair":"jj-git"}', { headers: hdrs() });
  const ms = now() - t0;
  if (r.status !== 201) throw new Error(`create: ${r.status} ${r.body}`);
  return { id: JSON.parse(r.body).sessionId, ms };
}
async function deleteSession(url, id) {
  const t0 = now();
  const r = await request('DELETE', url + '/api/v1/sessions/' + id, null, { headers: hdrs() });
  if (r.status !== 200) throw new Error(`delete: ${r.status} ${r.body}`);
  return now() - t0;
}
// A session's container: the state file says which (a claimed pool
// container keeps its pool name); else by the cold path's name.
function containerOf(id, state) {
  const db = state || args.state;
  if (db && /^sess_[0-9a-f]{32}$/.test(id)) {
    try {
      const c = execFileSync('sqlite3', [db, `SELECT container_id FROM sessions WHERE id='${id}'`],
        { timeout: 10000 }).toString().trim();
      if (c) return c;
    } catch (e) { /* fall back to the name */ }
  }
  return `toolkata-${id}`;
}
const stateOf = (url) => (url === args['runc-url'] ? args['runc-state'] : args.state);
async function inspect(id, state) {
  const r = await engine('GET', `/containers/${containerOf(id, state)}/json`);
  return r.status === 200 ? JSON.parse(r.body) : null;
}

function memOf(pid) {
  try {
    const st = fs.readFileSync(`/proc/${pid}/status`, 'utf8');
    const rss = +/VmRSS:\s+(\d+)/.exec(st)[1];
    let pss = 0;
    try { pss = +/Pss:\s+(\d+)/.exec(fs.readFileSync(`/proc/${pid}/smaps_rollup`, 'utf8'))[1]; } catch (e) { /* none */ }
    return { rss, pss };
  } catch (e) { return { rss: NaN, pss: NaN }; }
}
const memAvailable = () => +/MemAvailable:\s+(\d+)/.exec(fs.readFileSync('/proc/meminfo', 'utf8'))[1];
function relayPids() {
  if (!args.state) return [];
  try {
    return execFileSync('sqlite3', [args.state, 'SELECT pid FROM websockets'], { timeout: 10000 })
      .toString().split('\n').filter(Boolean).map(Number);
  } catch (e) { return []; }
}

// A terminal through the chain: resolves when the prompt is there.
function openTerminal(url, id) {
  return new Promise((resolve, reject) => {
    const q = key ? `?api_key=${encodeURIComponent(key)}` : '';
    const t0 = now();
    const ws = new WebSocket(url.replace(/^http/, 'ws') + `/api/v1/sessions/${id}/ws${q}`, { origin: url });
    const t = { ws, first: 0, text: '', bytes: 0, onData: null, closed: false };
    const timer = setTimeout(() => { if (!t.ready) { ws.terminate(); reject(new Error(`no prompt in 20 s (got ${JSON.stringify(t.text.slice(-80))})`)); } }, 20000);
    ws.on('message', (d) => {
      const s = d.toString();
      if (s.startsWith('{"type":"error"')) t.error = JSON.parse(s).message;
      if (s.startsWith('{"type"')) return;
      if (!t.first) t.first = now() - t0;
      t.bytes += d.length;
      if (t.onData) { t.onData(s, d.length); return; }
      t.text += s;
      if (t.text.includes(PROMPT) && !t.ready) { clearTimeout(timer); t.ready = true; t.text = ''; resolve(t); }
    });
    ws.on('unexpected-response', (q, res) => reject(new Error(`upgrade refused: ${res.statusCode}`)));
    ws.on('close', () => { t.closed = true; if (!t.ready) reject(new Error(`closed before prompt: ${t.error || 'no error frame'}`)); });
    ws.on('error', (e) => { if (!t.ready) reject(e); });
  });
}

// The same shell over a direct attach on the Engine socket: the baseline
// is the Engine alone, without Caddy, websocketd and the relay.
async function openDirect(id, state) {
  const c = await inspect(id, state);
  if (!c) throw new Error(`no container for ${id}`);
  const t0 = now();
  return new Promise((resolve, reject) => {
    const r = http.request({ socketPath: DOCKER, method: 'POST',
      path: `/v1.41/containers/${c.Id}/attach?stream=1&stdin=1&stdout=1&stderr=1&detachKeys=ctrl-%40,ctrl-%40`,
      headers: { Connection: 'Upgrade', Upgrade: 'tcp', 'Content-Length': 0 } });
    r.on('upgrade', (res, s) => {
      const t = { s, first: 0, text: '', bytes: 0, onData: null };
      t.send = (x) => s.write(x);
      t.close = () => { s.end(); };
      s.write('\x1b_tk;hello;24;80\x1b\\');
      s.on('data', (d) => {
        if (!t.first) t.first = now() - t0;
        t.bytes += d.length;
        if (t.onData) { t.onData(d.toString(), d.length); return; }
        t.text += d.toString();
        if (t.text.includes(PROMPT) && !t.ready) { t.ready = true; t.text = ''; resolve(t); }
      });
    });
    r.on('error', reject);
    r.end();
  });
}
function wsSend(t, x) { if (t.ws) t.ws.send(x); else t.send(x); }
function wsClose(t) { if (t.ws) t.ws.close(); else t.close(); }

// One keystroke, its echo: n round trips.
async function echoes(t, n) {
  const rtts = [];
  for (let i = 0; i < n && !t.closed; i++) {
    const r = await new Promise((resolve) => {
      const t0 = now();
      const timer = setTimeout(() => { t.onData = null; resolve(NaN); }, 5000);
      t.onData = (s) => { if (s.includes('x')) { clearTimeout(timer); t.onData = null; resolve(now() - t0); } };
      wsSend(t, 'x');
    });
    rtts.push(r);
    await sleep(2);
  }
  wsSend(t, '\x15');	// ^U: clear the line
  await sleep(30);
  return rtts;
}

// Run cmd and count output bytes until marker; optional slow reader.
function throughput(t, size, slow, sampler) {
  return new Promise((resolve) => {
    const marker = 'TPUT-END-' + Math.random().toString(36).slice(2, 8);
    let bytes = 0, tail = '';
    const t0 = now();
    let paused = false;
    const sock = t.ws ? t.ws._socket : t.s;
    const iv = slow ? setInterval(() => { paused = !paused; if (paused) sock.pause(); else sock.resume(); }, 500) : null;
    const sv = sampler ? setInterval(sampler, 100) : null;
    t.onData = (s, n) => {
      bytes += n; tail = (tail + s).slice(-64);
      if (tail.includes(marker + '\r\n') || tail.includes(marker + '\n')) {
        if (iv) { clearInterval(iv); sock.resume(); }
        if (sv) clearInterval(sv);
        t.onData = null;
        resolve({ bytes, ms: now() - t0 });
      }
    };
    wsSend(t, `head -c ${size} /dev/zero | base64 -w 0; echo; echo ${marker.slice(0, 9)}''${marker.slice(9)}\r`);
  });
}

// ---- scenarios -------------------------------------------------------------

function rawBody(runtime, pids) {
  return JSON.stringify({ Image: 'toolkata-sandbox:latest', Env: ['TOOL_PAIR=jj-git', 'TOOLKATA_LIFETIME=1800'],
    Labels: { 'toolkata.bench': 'raw' }, Tty: false, OpenStdin: false,
    HostConfig: { NetworkMode: 'none', ReadonlyRootfs: true,
      Tmpfs: { '/home/toolkata': 'rw,nosuid,nodev,size=50m,uid=1000,gid=1000,mode=0755', '/tmp': 'rw,nosuid,nodev,size=10m' },
      Memory: 134217728, MemorySwap: 134217728, CpuPeriod: 100000, CpuQuota: 50000, PidsLimit: pids,
      ShmSize: 10485760, CapDrop: ['ALL'], SecurityOpt: ['no-new-privileges'],
      Ulimits: [{ Name: 'nofile', Soft: 64, Hard: 64 }], AutoRemove: false, LogConfig: { Type: 'none' },
      ...(runtime === 'runsc' ? { Runtime: 'runsc' } : {}) } });
}

async function scenarioCreate(url, runtime, pids, n) {
  const api = [], raw = [], del = [], rawDel = [];
  for (let i = 0; i < n; i++) {
    const s = await createSession(url);
    api.push(s.ms);
    del.push(await deleteSession(url, s.id));
    if (await inspect(s.id)) throw new Error('container still there after DELETE');
    const t0 = now();
    const c = await engine('POST', '/containers/create', rawBody(runtime, pids));
    const id = JSON.parse(c.body).Id;
    await engine('POST', `/containers/${id}/start`);
    raw.push(now() - t0);
    const t1 = now();
    await engine('DELETE', `/containers/${id}?force=1&v=1`);
    rawDel.push(now() - t1);
  }
  const r = { api: stats(api), engine: stats(raw), delete: stats(del), engine_delete: stats(rawDel) };
  out(`create_${runtime}_p50_ms`, f2(r.api.p50));
  out(`create_${runtime}_p95_ms`, f2(r.api.p95));
  out(`create_${runtime}_engine_p50_ms`, f2(r.engine.p50));
  out(`create_${runtime}_p50_ratio_vs_engine`, f2(r.api.p50 / r.engine.p50));
  out(`create_${runtime}_p95_ratio_vs_engine`, f2(r.api.p95 / r.engine.p95));
  out(`delete_${runtime}_p50_ms`, f2(r.delete.p50));
  out(`delete_${runtime}_p50_ratio_vs_engine`, f2(r.delete.p50 / r.engine_delete.p50));
  return r;
}

async function scenarioTerminal(url, runtime, n, echoN) {
  const chainFirst = [], directFirst = [], chainEcho = [], directEcho = [];
  for (let i = 0; i < n; i++) {
    const s = await createSession(url);
    await sleep(200);
    const t = await openTerminal(url, s.id);
    chainFirst.push(t.first);
    if (echoN) chainEcho.push(...await echoes(t, echoN));
    wsClose(t);
    const d = await openDirect(s.id, stateOf(url));
    directFirst.push(d.first);
    if (echoN) directEcho.push(...await echoes(d, echoN));
    wsClose(d);
    await deleteSession(url, s.id);
  }
  const r = { first: stats(chainFirst), first_direct: stats(directFirst) };
  out(`first_byte_${runtime}_p50_ms`, f2(r.first.p50));
  out(`first_byte_${runtime}_p95_ms`, f2(r.first.p95));
  out(`first_byte_${runtime}_direct_p50_ms`, f2(r.first_direct.p50));
  out(`first_byte_${runtime}_p50_ratio_vs_direct`, f2(r.first.p50 / r.first_direct.p50));
  if (echoN) {
    r.echo = stats(chainEcho); r.echo_direct = stats(directEcho);
    out(`echo_${runtime}_p50_ms`, f2(r.echo.p50));
    out(`echo_${runtime}_p99_ms`, f2(r.echo.p99));
    out(`echo_${runtime}_direct_p50_ms`, f2(r.echo_direct.p50));
    out(`echo_${runtime}_p50_ratio_vs_direct`, f2(r.echo.p50 / r.echo_direct.p50));
    out(`echo_${runtime}_p99_ratio_vs_direct`, f2(r.echo.p99 / r.echo_direct.p99));
  }
  return r;
}

async function scenarioThroughput(url, size) {
  const s = await createSession(url);
  const t = await openTerminal(url, s.id);
  const pids = relayPids();
  let maxRss = 0;
  const sample = () => { for (const p of pids) maxRss = Math.max(maxRss, memOf(p).rss || 0); };
  sample();
  const rss0 = maxRss;
  const fast = await throughput(t, size, false, sample);
  const slow = await throughput(t, size, true, sample);
  wsClose(t);
  const d = await openDirect(s.id, stateOf(url));
  const direct = await throughput(d, size, false, null);
  wsClose(d);
  await deleteSession(url, s.id);
  const mbs = (x) => x.bytes / 1e6 / (x.ms / 1000);
  const r = { bytes: fast.bytes, fast_mbs: mbs(fast), slow_mbs: mbs(slow), direct_mbs: mbs(direct),
    relay_rss_start_kib: rss0, relay_rss_max_kib: maxRss };
  out('throughput_mb_s', f2(r.fast_mbs));
  out('throughput_slow_reader_mb_s', f2(r.slow_mbs));
  out('throughput_direct_mb_s', f2(r.direct_mbs));
  out('throughput_ratio_vs_direct', f2(r.fast_mbs / r.direct_mbs));
  out('throughput_relay_rss_growth_kib', r.relay_rss_max_kib - r.relay_rss_start_kib);
  return r;
}

async function containerMem(ids) {
  const use = [];
  for (const id of ids.slice(0, 5)) {
    const c = await inspect(id);
    if (!c) continue;
    const st = await engine('GET', `/containers/${c.Id}/stats?stream=false`);
    try { use.push(JSON.parse(st.body).memory_stats.usage / 1024); } catch (e) { /* none */ }
  }
  return use.length ? use.reduce((a, b) => a + b, 0) / use.length : NaN;
}

// Memory and capacity: grow to each level of connected terminals.
async function scenarioLevels(url, levels, maxLevel) {
  const sessions = [], terms = [];
  const wsd = +args['websocketd-pid'] || 0, apiPid = +args['api-pid'] || 0;
  const mem0 = memAvailable(), wsd0 = wsd ? memOf(wsd).rss : NaN;
  const rows = [];
  let capacity = 0;
  try {
    for (const level of levels) {
      if (level > maxLevel) break;
      let openErrors = 0, failure = null;
      while (terms.length < level && !failure) {
        try {
          const s = await createSession(url);
          sessions.push(s.id);
          terms.push(await openTerminal(url, s.id));
        } catch (e) {
          console.error(`bench: level ${level}: terminal ${terms.length + 1}: ${e.message}`);
          if (++openErrors > 3) failure = e.message;
        }
      }
      if (failure) {
        // The machine is full: record where and why, and stop growing.
        rows.push({ level, reached: terms.filter((t) => !t.closed).length, errors: openErrors,
          failure, echo: stats([]), create_p50_ms: NaN, relay_rss_kib: NaN, relay_pss_kib: NaN,
          websocketd_growth_kib_per_conn: NaN, api_rss_kib: NaN, host_kib_per_session: NaN,
          container_kib: NaN });
        out(`level_${level}_failed_after`, terms.length);
        out(`level_${level}_failure`, JSON.stringify(failure));
        break;
      }
      await sleep(1000);
      const live = terms.filter((t) => !t.closed);
      const sample = live.slice(0, Math.min(10, live.length));
      const rtts = [];
      for (const t of sample) rtts.push(...await echoes(t, quick ? 5 : 20));
      const errs = rtts.filter((x) => !Number.isFinite(x)).length + terms.filter((t) => t.closed).length +
        openErrors;
      const creates = [];
      for (let i = 0; i < (quick ? 1 : 3); i++) {
        const s = await createSession(url);
        creates.push(s.ms);
        await deleteSession(url, s.id);
      }
      const pids = relayPids();
      const relays = pids.map(memOf).filter((m) => Number.isFinite(m.rss));
      const avg = (k) => (relays.length ? relays.reduce((a, m) => a + m[k], 0) / relays.length : NaN);
      const row = { level, echo: stats(rtts.filter(Number.isFinite)), errors: errs,
        create_p50_ms: pct(creates, 0.5), relay_rss_kib: avg('rss'), relay_pss_kib: avg('pss'),
        websocketd_growth_kib_per_conn: wsd ? (memOf(wsd).rss - wsd0) / level : NaN,
        api_rss_kib: apiPid ? memOf(apiPid).rss : NaN,
        host_kib_per_session: (mem0 - memAvailable()) / level,
        container_kib: await containerMem(sessions) };
      rows.push(row);
      console.error(`bench: level ${level} done`);
      out(`level_${level}_echo_p99_ms`, f2(row.echo.p99));
      out(`level_${level}_create_p50_ms`, f2(row.create_p50_ms));
      out(`level_${level}_relay_pss_kib`, row.relay_pss_kib.toFixed(0));
      out(`level_${level}_websocketd_kib_per_conn`, row.websocketd_growth_kib_per_conn.toFixed(0));
      out(`level_${level}_host_kib_per_session`, row.host_kib_per_session.toFixed(0));
      out(`level_${level}_container_kib`, row.container_kib.toFixed(0));
      out(`level_${level}_errors`, errs);
      if (row.echo.p99 < 50 && errs === 0) capacity = level;
      else break;
      if (memAvailable() < 3 * 1024 * 1024) break;
    }
  } finally {
    for (const t of terms) wsClose(t);
    await sleep(1500);
    for (const id of sessions) await deleteSession(url, id).catch(() => {});
  }
  out('capacity_sessions_echo_p99_under_50ms', capacity);
  return { rows, capacity };
}

async function runcMemory(url, n) {
  const ids = [];
  const mem0 = memAvailable();
  try {
    for (let i = 0; i < n; i++) ids.push((await createSession(url)).id);
    await sleep(1000);
    const r = { sessions: n, host_kib_per_session: (mem0 - memAvailable()) / n, container_kib: await containerMem(ids) };
    out('runc_host_kib_per_session', r.host_kib_per_session.toFixed(0));
    out('runc_container_kib', r.container_kib.toFixed(0));
    return r;
  } finally {
    for (const id of ids) await deleteSession(url, id).catch(() => {});
  }
}

function wrk(url, conns, secs, header) {
  const a = ['-t', String(Math.min(2, conns)), '-c', String(conns), '-d', `${secs}s`, '--latency'];
  if (header) a.push('-H', header);
  a.push(url);
  const o = execFileSync('wrk', a, { timeout: (secs + 30) * 1000 }).toString();
  const num = (re) => { const m = re.exec(o); return m ? m[1] : null; };
  const ms = (s) => (s == null ? NaN : s.endsWith('us') ? parseFloat(s) / 1000 : s.endsWith('ms') ? parseFloat(s) : parseFloat(s) * 1000);
  const non2xx = +(num(/Non-2xx or 3xx responses: (\d+)/) || 0);
  return { rps: parseFloat(num(/Requests\/sec:\s+([\d.]+)/)), p50: ms(num(/\s50%\s+([\d.]+\w+)/)),
    p99: ms(num(/\s99%\s+([\d.]+\w+)/)), non2xx };
}

async function scenarioRest(url, secs) {
  const s = await createSession(url);
  const rows = [];
  try {
    for (const c of [1, 16, 64]) {
      const base404 = wrk(url + '/bench-caddy-only', c, secs);
      const health = wrk(url + '/health', c, secs);
      const get = wrk(url + '/api/v1/sessions/' + s.id, c, secs, key ? `X-API-Key: ${key}` : null);
      rows.push({ conns: c, caddy_only: base404, health, get_session: get });
      out(`rest_health_c${c}_rps`, health.rps.toFixed(0));
      out(`rest_health_c${c}_p99_ms`, f2(health.p99));
      out(`rest_get_session_c${c}_rps`, get.rps.toFixed(0));
      out(`rest_get_session_c${c}_p99_ms`, f2(get.p99));
      out(`rest_caddy_only_c${c}_rps`, base404.rps.toFixed(0));
      out(`rest_health_c${c}_rps_ratio_vs_caddy_only`, f2(health.rps / base404.rps));
      out(`rest_get_session_c${c}_non2xx`, get.non2xx);
    }
  } finally {
    await deleteSession(url, s.id);
  }
  return rows;
}


// ---- terminal v2: time to interactive, prompt, reconnect, soak -------------

async function poolReady(url) {
  try {
    const r = await request('GET', url + '/health');
    return JSON.parse(r.body).pool.ready;
  } catch (e) { return 0; }
}
async function waitPool(url, n, ms) {
  const end = now() + ms;
  while (now() < end) { if (await poolReady(url) >= n) return true; await sleep(100); }
  return false;
}

// Wait for needle in what the terminal prints next.
function waitFor(t, needle, ms) {
  return new Promise((resolve, reject) => {
    let acc = '';
    const timer = setTimeout(() => { t.onData = null; reject(new Error(`no ${JSON.stringify(needle)} in ${ms} ms`)); }, ms);
    t.onData = (x) => { acc += x; if (acc.includes(needle)) { clearTimeout(timer); t.onData = null; resolve(); } };
  });
}

// Exactly as the front end: POST, WebSocket open, prompt, `echo ready`,
// see "ready".  Returns the total and its parts.
async function tti(url) {
  const t0 = now();
  const s = await createSession(url);
  const t = await openTerminal(url, s.id);
  const tPrompt = now();
  const seen = waitFor(t, 'ready\r\n', 20000);
  wsSend(t, 'echo ready\r');
  await seen;
  const total = now() - t0;
  wsClose(t);
  return { id: s.id, total, post: s.ms, prompt: tPrompt - t0 - s.ms };
}

async function scenarioTti(url, label, warm, n) {
  const tot = [], post = [], prompt = [], ids = [];
  try {
    for (let i = 0; i < n; i++) {
      if (warm && !(await waitPool(url, 1, 30000))) throw new Error('the pool did not refill in 30 s');
      const r = await tti(url);
      ids.push(r.id);
      tot.push(r.total); post.push(r.post); prompt.push(r.prompt);
      await deleteSession(url, r.id);
      ids.pop();
    }
  } finally {
    for (const id of ids) await deleteSession(url, id).catch(() => {});
  }
  const r = { total: stats(tot), post: stats(post), ws_to_prompt: stats(prompt) };
  out(`tti_${label}_p50_ms`, f2(r.total.p50));
  out(`tti_${label}_p95_ms`, f2(r.total.p95));
  out(`tti_${label}_p99_ms`, f2(r.total.p99));
  out(`tti_${label}_post_p50_ms`, f2(r.post.p50));
  out(`tti_${label}_ws_to_prompt_p50_ms`, f2(r.ws_to_prompt.p50));
  return r;
}

// The newer front end's wait: POST (with init commands or none), the
// WebSocket, until {"type":"initComplete"}.  Baseline in the same run:
// the same without commands (initComplete right after "connected").
function toInitComplete(url, body) {
  return new Promise((resolve, reject) => {
    const t0 = now();
    request('POST', url + '/api/v1/sessions', body, { headers: hdrs() }).then((r) => {
      if (r.status !== 201) { reject(new Error(`create: ${r.status} ${r.body}`)); return; }
      const id = JSON.parse(r.body).sessionId;
      const q = key ? `?api_key=${encodeURIComponent(key)}` : '';
      const ws = new WebSocket(url.replace(/^http/, 'ws') + `/api/v1/sessions/${id}/ws${q}`, { origin: url });
      const timer = setTimeout(() => { ws.terminate(); reject(new Error('no initComplete in 30 s')); }, 30000);
      ws.on('message', (d) => {
        const m = d.toString();
        if (!m.startsWith('{"type":"initComplete"')) return;
        clearTimeout(timer);
        const ok = JSON.parse(m).success;
        ws.close();
        resolve({ id, ms: now() - t0, ok });
      });
      ws.on('error', (e) => { clearTimeout(timer); reject(e); });
    }, reject);
  });
}

async function scenarioInit(url, n) {
  const cmds = ['git init -q ~/demo', 'cd ~/demo', 'printf "# demo\\n" > README'];
  // Three builtins: the mechanism's own cost, without gVisor's fork.
  const builtins = ['cd ~', 'true', 'printf x > ~/f'];
  const runs = { none: [], three: [], builtins: [] };
  for (let i = 0; i < n; i++) {
    for (const [k, body] of [['none', '{"toolPair":"jj-git"}'],
      ['three', JSON.stringify({ toolPair: 'jj-git', init: cmds })],
      ['builtins', JSON.stringify({ toolPair: 'jj-git', init: builtins })]]) {
      await waitPool(url, 1, 30000);
      const r = await toInitComplete(url, body);
      await deleteSession(url, r.id);
      if (!r.ok) throw new Error('initComplete success:false');
      runs[k].push(r.ms);
    }
  }
  const r = { none: stats(runs.none), three: stats(runs.three), builtins: stats(runs.builtins) };
  out('init_none_p50_ms', f2(r.none.p50));
  out('init_builtins_p50_ms', f2(r.builtins.p50));
  out('init_builtin_each_p50_ms', f2((r.builtins.p50 - r.none.p50) / builtins.length));
  out('init_three_p50_ms', f2(r.three.p50));
  out('init_three_p95_ms', f2(r.three.p95));
  out('init_three_vs_none_p50', f2(r.three.p50 / r.none.p50));
  out('init_per_command_p50_ms', f2((r.three.p50 - r.none.p50) / cmds.length));
  return r;
}

// n learners at once, from a warm pool as it stands.
async function scenarioBurst(url, label, n) {
  await waitPool(url, 1, 30000);
  const ready = await poolReady(url);
  const rs = await Promise.all(Array.from({ length: n }, () => tti(url).catch((e) => ({ error: e.message }))));
  const ok = rs.filter((r) => !r.error);
  for (const r of ok) await deleteSession(url, r.id).catch(() => {});
  const r = { n, pool_ready_before: ready, errors: rs.length - ok.length, total: stats(ok.map((x) => x.total)),
    post: stats(ok.map((x) => x.post)) };
  out(`burst${n}_${label}_p50_ms`, f2(r.total.p50));
  out(`burst${n}_${label}_p99_ms`, f2(r.total.p99));
  out(`burst${n}_${label}_post_p99_ms`, f2(r.post.p99));
  out(`burst${n}_${label}_errors`, r.errors);
  return r;
}

// Enter -> next prompt for `true`: the image's prompt (git branch read by
// bash itself) against a plain-string prompt in the same shell.
async function enterToPrompt(t, n) {
  const a = [];
  for (let i = 0; i < n; i++) {
    const t0 = now();
    const p = waitFor(t, PROMPT, 10000);
    wsSend(t, 'true\r');
    await p;
    a.push(now() - t0);
    await sleep(20);
  }
  return a;
}

async function scenarioPrompt(url, n) {
  const s = await createSession(url);
  const t = await openTerminal(url, s.id);
  try {
    // In a git repository, so that the branch is looked up and shown.
    let p = waitFor(t, PROMPT, 10000);
    wsSend(t, 'git init -q -b lesson r && cd r\r');
    await p;
    await sleep(300);
    const image = await enterToPrompt(t, n);
    p = waitFor(t, 'plain> ', 10000);
    wsSend(t, "PROMPT_COMMAND=; PS1='plain> '\r");
    await p;
    const savedPrompt = PROMPT;
    const plain = [];
    for (let i = 0; i < n; i++) {
      const t0 = now();
      const q = waitFor(t, 'plain> ', 10000);
      wsSend(t, 'true\r');
      await q;
      plain.push(now() - t0);
      await sleep(20);
    }
    void savedPrompt;
    const r = { image: stats(image), plain: stats(plain) };
    out('enter_to_prompt_p50_ms', f2(r.image.p50));
    out('enter_to_prompt_p99_ms', f2(r.image.p99));
    out('enter_to_prompt_plain_p50_ms', f2(r.plain.p50));
    out('enter_to_prompt_p50_ratio_vs_plain', f2(r.image.p50 / r.plain.p50));
    return r;
  } finally {
    wsClose(t);
    await deleteSession(url, s.id);
  }
}

// Close, open again, screen restored (the replay shows a marker printed
// before the close, then a prompt).
async function scenarioReconnect(url, n) {
  const s = await createSession(url);
  let t = await openTerminal(url, s.id);
  const ms = [], gapMs = [];
  try {
    const p = waitFor(t, 'mark-42', 10000);
    wsSend(t, 'echo mark-$((6*7))\r');
    await p;
    for (let i = 0; i < n; i++) {
      wsClose(t);
      const gap = i % 2 ? 300 : 0;
      if (gap) await sleep(gap);
      const t0 = now();
      t = await openTerminal(url, s.id);
      ms.push(now() - t0);
      gapMs.push(gap);
    }
  } finally {
    wsClose(t);
    await deleteSession(url, s.id);
  }
  const r = { restored: stats(ms), immediate: stats(ms.filter((_, i) => !gapMs[i])),
    after_300ms: stats(ms.filter((_, i) => gapMs[i])) };
  out('reconnect_screen_p50_ms', f2(r.restored.p50));
  out('reconnect_screen_p99_ms', f2(r.restored.p99));
  out('reconnect_after_300ms_p50_ms', f2(r.after_300ms.p50));
  return r;
}

// Host tasks of a container (pids cgroup: gVisor's threads under runsc).
function tasksOf(cid) {
  for (const p of [`/sys/fs/cgroup/pids/docker/${cid}/pids.current`,
    `/sys/fs/cgroup/system.slice/docker-${cid}.scope/pids.current`, `/sys/fs/cgroup/docker/${cid}/pids.current`]) {
    try { return +fs.readFileSync(p, 'utf8').trim(); } catch (e) { /* next */ }
  }
  return NaN;
}

// 24 terminals typing a command every second, with reconnects spread
// over them; sessions lost (goal 0), threads and memory before/after.
async function scenarioSoak(url, terms, secs, reconnects) {
  const sess = [], open = [];
  const wsd = +args['websocketd-pid'] || 0;
  for (let i = 0; i < terms; i++) {
    const s = await createSession(url);
    sess.push(s.id);
    open.push(await openTerminal(url, s.id));
  }
  const cids = await Promise.all(sess.map(async (id) => (await inspect(id) || {}).Id));
  const tasks0 = cids.map(tasksOf);
  const wsd0 = wsd ? memOf(wsd).rss : NaN;
  const relay0 = relayPids().map(memOf).reduce((a, m) => a + (m.rss || 0), 0);
  let cmds = 0, lost = 0, recon = 0, fails = 0;
  const end = now() + secs * 1000;
  const every = Math.max(1, Math.floor((secs * terms) / Math.max(1, reconnects)));
  let tick = 0;
  while (now() < end) {
    for (let i = 0; i < terms; i++) {
      tick++;
      if (open[i].closed) { lost++; open[i] = await openTerminal(url, sess[i]).catch(() => open[i]); continue; }
      if (recon < reconnects && tick % every === 0) {
        wsClose(open[i]);
        try { open[i] = await openTerminal(url, sess[i]); recon++; } catch (e) { fails++; }
        continue;
      }
      wsSend(open[i], 'echo soak-$((1+1))\r');
      cmds++;
    }
    await sleep(1000);
  }
  await sleep(1000);
  const alive = [];
  for (const id of sess) alive.push((await request('GET', `${url}/api/v1/sessions/${id}`, null, { headers: hdrs() })).status === 200);
  const tasks1 = cids.map(tasksOf);
  const relay1 = relayPids().map(memOf).reduce((a, m) => a + (m.rss || 0), 0);
  const wsd1 = wsd ? memOf(wsd).rss : NaN;
  for (const t of open) wsClose(t);
  for (const id of sess) await deleteSession(url, id).catch(() => {});
  const sum = (a) => a.reduce((x, y) => x + (Number.isFinite(y) ? y : 0), 0);
  const r = { terms, secs, commands: cmds, reconnects: recon, reconnect_failures: fails,
    sessions_lost: alive.filter((x) => !x).length, closed_seen: lost,
    sandbox_tasks_before: sum(tasks0), sandbox_tasks_after: sum(tasks1),
    relays_rss_kib_before: relay0, relays_rss_kib_after: relay1,
    websocketd_rss_kib_before: wsd0, websocketd_rss_kib_after: wsd1 };
  for (const k of Object.keys(r)) out(`soak_${k}`, r[k]);
  return r;
}

// Server-side memory at n live terminals: toolkata-api + websocketd +
// relays, PSS (shared pages split among the processes that map them).
async function scenarioServerMemory(url, levels) {
  const wsd = +args['websocketd-pid'] || 0, apiPid = +args['api-pid'] || 0;
  const sess = [], open = [], rows = [];
  try {
    for (const level of levels) {
      while (open.length < level) {
        const s = await createSession(url);
        sess.push(s.id);
        open.push(await openTerminal(url, s.id));
      }
      await sleep(1500);
      const relays = relayPids().map(memOf);
      const relayPss = relays.reduce((a, m) => a + (m.pss || 0), 0);
      const row = { terminals: level, relays: relays.length, relay_pss_kib: relayPss,
        websocketd_pss_kib: wsd ? memOf(wsd).pss : NaN, api_pss_kib: apiPid ? memOf(apiPid).pss : NaN };
      row.server_pss_kib = row.relay_pss_kib + row.websocketd_pss_kib + row.api_pss_kib;
      rows.push(row);
      out(`server_pss_${level}_terminals_mib`, f2(row.server_pss_kib / 1024));
      out(`server_pss_${level}_relay_each_kib`, (relayPss / Math.max(1, relays.length)).toFixed(0));
      out(`server_pss_${level}_websocketd_mib`, f2(row.websocketd_pss_kib / 1024));
    }
  } finally {
    for (const t of open) wsClose(t);
    await sleep(1000);
    for (const id of sess) await deleteSession(url, id).catch(() => {});
  }
  return rows;
}

// Host memory of one pooled (ready, unclaimed) container.
async function scenarioPoolMemory(url) {
  await waitPool(url, 1, 30000);
  const ids = execFileSync('docker', ['ps', '-q', '--no-trunc', '--filter', 'label=toolkata.pool'])
    .toString().split('\n').filter(Boolean).slice(0, 3);
  const use = [];
  for (const id of ids) {
    const st = await engine('GET', `/containers/${id}/stats?stream=false`);
    try { use.push(JSON.parse(st.body).memory_stats.usage / 1024); } catch (e) { /* none */ }
  }
  const r = { containers: use.length, kib: use.length ? use.reduce((a, b) => a + b, 0) / use.length : NaN };
  out('pool_container_kib', r.kib.toFixed(0));
  return r;
}

// --only a,b: run just those scenarios (create, terminal, throughput,
// levels, runc_memory, rest); the default is all of them.
const only = args.only ? String(args.only).split(',') : null;
const want = (name) => !only || only.includes(name);

(async () => {
  const S = results.scenarios;
  const n = quick ? 2 : 20;
  const runc = args['runc-url'];
  if (want('create')) {
    // The cold path (no pool) against raw create+start: what a create
    // costs when the pool is empty.
    S.create_runsc = await scenarioCreate(args['cold-url'] || base, 'runsc', 2048, n);
    if (runc) S.create_runc = await scenarioCreate(args['runc-cold-url'] || runc, 'runc', 50, n);
  }
  if (want('terminal')) {
    S.terminal_runsc = await scenarioTerminal(base, 'runsc', quick ? 2 : 15, quick ? 5 : 30);
    if (runc) S.terminal_runc = await scenarioTerminal(runc, 'runc', quick ? 1 : 10, 0);
  }
  if (want('throughput')) S.throughput = await scenarioThroughput(base, quick ? 1000000 : 24000000);
  if (want('levels')) {
    // Up to 400 or until echo p99 passes 50 ms, an error, or host
    // memory runs low (scenarioLevels stops at the first of those).
    S.levels = await scenarioLevels(base, quick ? [1, 3] :
      [1, 10, 25, 50, 75, 100, 150, 200, 300, 400], quick ? 3 : 400);
  }
  if (runc && want('runc_memory')) S.runc_memory = await runcMemory(runc, quick ? 2 : 10);
  if (want('rest')) S.rest = await scenarioRest(base, quick ? 1 : 5);
  const cold = args['cold-url'], runcCold = args['runc-cold-url'];
  if (want('tti')) {
    const k = quick ? 2 : 30;
    S.tti_runsc_warm = await scenarioTti(base, 'runsc_warm', true, k);
    if (cold) S.tti_runsc_cold = await scenarioTti(cold, 'runsc_cold', false, quick ? 1 : 15);
    if (runc) S.tti_runc_warm = await scenarioTti(runc, 'runc_warm', true, k);
    if (runcCold) S.tti_runc_cold = await scenarioTti(runcCold, 'runc_cold', false, quick ? 1 : 15);
  }
  if (want('burst')) {
    S.burst_runsc = await scenarioBurst(base, 'runsc', quick ? 3 : 20);
    if (runc) S.burst_runc = await scenarioBurst(runc, 'runc', quick ? 3 : 20);
  }
  if (want('prompt')) S.prompt = await scenarioPrompt(base, quick ? 3 : 30);
  if (want('init')) S.init = await scenarioInit(base, quick ? 2 : 20);
  if (want('reconnect')) S.reconnect = await scenarioReconnect(base, quick ? 4 : 30);
  if (want('pool_memory')) S.pool_memory = await scenarioPoolMemory(base);
  if (want('server_memory')) S.server_memory = await scenarioServerMemory(base, quick ? [1, 2] : [1, 10, 20, 100]);
  if (want('soak')) S.soak = await scenarioSoak(base, quick ? 3 : 24, quick ? 8 : 180, quick ? 3 : 50);
  if (args.out) fs.writeFileSync(args.out, JSON.stringify(results, null, 1));
  out('bench', 'done');
})().catch((e) => { console.error('bench: ' + (e.stack || e)); process.exit(1); });
