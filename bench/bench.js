// bench.js: the toolkata-sandbox benchmark harness.  Measures a running
// stack (any server that speaks this API) and, in the same run, the
// baselines it is compared with: raw Engine API calls and a direct exec
// attach on the Docker socket.  Prints "name: value" lines (ratios as
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
async function inspect(id) {
  const r = await engine('GET', `/containers/toolkata-${id}/json`);
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

// A shell over a direct exec attach on the Engine socket.
async function openDirect(id) {
  const c = await inspect(id);
  const t0 = now();
  const ex = await engine('POST', `/containers/${c.Id}/exec`, JSON.stringify({
    AttachStdin: true, AttachStdout: true, AttachStderr: true, Tty: true, User: 'sandbox',
    WorkingDir: '/home/toolkata', Env: ['TERM=xterm-256color', 'HOME=/home/toolkata',
      'LANG=en_US.UTF-8', 'LC_ALL=en_US.UTF-8'], Cmd: ['/bin/bash', '-l'] }));
  const execId = JSON.parse(ex.body).Id;
  return new Promise((resolve, reject) => {
    const body = '{"Detach":false,"Tty":true}';
    const r = http.request({ socketPath: DOCKER, path: `/v1.41/exec/${execId}/start`, method: 'POST',
      headers: { 'Content-Type': 'application/json', Connection: 'Upgrade', Upgrade: 'tcp', 'Content-Length': body.length } });
    r.on('upgrade', (res, s) => {
      engine('POST', `/exec/${execId}/resize?h=24&w=80`);
      const t = { s, first: 0, text: '', bytes: 0, onData: null };
      t.send = (x) => s.write(x);
      t.close = () => { s.write('\x03\x04exit\r'); s.end(); };
      s.on('data', (d) => {
        if (!t.first) t.first = now() - t0;
        t.bytes += d.length;
        if (t.onData) { t.onData(d.toString(), d.length); return; }
        t.text += d.toString();
        if (t.text.includes(PROMPT) && !t.ready) { t.ready = true; t.text = ''; resolve(t); }
      });
    });
    r.on('error', reject);
    r.end(body);
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
    const d = await openDirect(s.id);
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
  const d = await openDirect(s.id);
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

// --only a,b: run just those scenarios (create, terminal, throughput,
// levels, runc_memory, rest); the default is all of them.
const only = args.only ? String(args.only).split(',') : null;
const want = (name) => !only || only.includes(name);

(async () => {
  const S = results.scenarios;
  const n = quick ? 2 : 20;
  const runc = args['runc-url'];
  if (want('create')) {
    S.create_runsc = await scenarioCreate(base, 'runsc', 256, n);
    if (runc) S.create_runc = await scenarioCreate(runc, 'runc', 50, n);
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
  if (args.out) fs.writeFileSync(args.out, JSON.stringify(results, null, 1));
  out('bench', 'done');
})().catch((e) => { console.error('bench: ' + (e.stack || e)); process.exit(1); });
