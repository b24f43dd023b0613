// terminal.js: terminal latency and memory through the whole chain
// (Caddy -> forward_auth -> websocketd -> toolkata-relay -> exec), against
// a direct exec create+start+attach on the Engine API socket measured in
// the same run.  Usage: node bench/terminal.js BASE_URL [runs] [conns]
// (BASE_URL like http://127.0.0.1:8080; needs `npm install ws` in bench/).
// Prints "name: value" lines.
'use strict';
const http = require('http');
const fs = require('fs');
const { execFileSync } = require('child_process');
const WebSocket = require('ws');

const base = process.argv[2] || 'http://127.0.0.1:8080';
const runs = +(process.argv[3] || 10);
const conns = +(process.argv[4] || 10);
const stateFile = process.env.SANDBOX_STATE_FILE || '';
const sock = '/var/run/docker.sock';
const PROMPT = '$\x1b[0m ';

function req(method, url, body, opts = {}) {
  return new Promise((resolve, reject) => {
    const r = http.request(url, { method, ...opts }, (res) => {
      let d = '';
      res.on('data', (c) => { d += c; });
      res.on('end', () => resolve({ status: res.statusCode, body: d }));
    });
    r.on('error', reject);
    if (body) r.end(body); else r.end();
  });
}
const engine = (method, path, body) => req(method, 'http://localhost/v1.41' + path, body,
  { socketPath: sock, headers: body ? { 'Content-Type': 'application/json' } : {} });

async function session() {
  const r = await req('POST', base + '/api/v1/sessions', '{"toolPair":"jj-git"}',
    { headers: { 'Content-Type': 'application/json' } });
  if (r.status !== 201) throw new Error('create: ' + r.status + ' ' + r.body);
  return JSON.parse(r.body).sessionId;
}
const del = (id) => req('DELETE', base + '/api/v1/sessions/' + id);

const pct = (a, p) => { const s = [...a].sort((x, y) => x - y); return s[Math.min(s.length - 1, Math.floor(p * s.length))]; };
const now = () => Number(process.hrtime.bigint()) / 1e6;

// One terminal over the chain: time to first terminal byte, then echo RTTs.
function chainRun(id, echoes) {
  return new Promise((resolve, reject) => {
    const url = base.replace(/^http/, 'ws') + `/api/v1/sessions/${id}/ws?cols=80&rows=24`;
    const t0 = now();
    const ws = new WebSocket(url, { origin: base });
    let first = 0, text = '', rtts = [], pending = 0, sent = 0;
    const next = () => { if (sent >= echoes) { ws.close(); return; } pending = now(); sent++; ws.send('x'); };
    ws.on('message', (d) => {
      const s = d.toString();
      if (s.startsWith('{"type"')) return;
      if (!first) first = now() - t0;
      text += s;
      if (pending === 0 && text.includes(PROMPT)) { text = ''; setTimeout(next, 50); pending = -1; return; }
      if (pending > 0 && s.includes('x')) { rtts.push(now() - pending); pending = -1; setTimeout(next, 5); }
    });
    ws.on('close', () => resolve({ first, rtts }));
    ws.on('error', reject);
  });
}

// The same over a direct exec attach on the Engine socket.
async function directRun(id, echoes) {
  const insp = JSON.parse((await engine('GET', `/containers/toolkata-${id}/json`)).body);
  const t0 = now();
  const ex = await engine('POST', `/containers/${insp.Id}/exec`, JSON.stringify({
    AttachStdin: true, AttachStdout: true, AttachStderr: true, Tty: true, User: 'sandbox',
    WorkingDir: '/home/toolkata', Env: ['TERM=xterm-256color', 'HOME=/home/toolkata'],
    Cmd: ['/bin/bash', '-l'] }));
  const execId = JSON.parse(ex.body).Id;
  return new Promise((resolve, reject) => {
    const body = '{"Detach":false,"Tty":true}';
    const r = http.request({ socketPath: sock, path: `/v1.41/exec/${execId}/start`, method: 'POST',
      headers: { 'Content-Type': 'application/json', Connection: 'Upgrade', Upgrade: 'tcp',
        'Content-Length': body.length } });
    r.on('upgrade', (res, s) => {
      engine('POST', `/exec/${execId}/resize?h=24&w=80`);
      let first = 0, text = '', rtts = [], pending = 0, sent = 0;
      const next = () => { if (sent >= echoes) { s.write('\x03\x04exit\r'); s.end(); return; } pending = now(); sent++; s.write('x'); };
      s.on('data', (d) => {
        const t = d.toString();
        if (!first) first = now() - t0;
        text += t;
        if (pending === 0 && text.includes(PROMPT)) { setTimeout(next, 50); pending = -1; return; }
        if (pending > 0 && t.includes('x')) { rtts.push(now() - pending); pending = -1; setTimeout(next, 5); }
      });
      s.on('close', () => resolve({ first, rtts }));
    });
    r.on('error', reject);
    r.end(body);
  });
}

function memOf(pid) {
  const st = fs.readFileSync(`/proc/${pid}/status`, 'utf8');
  const rss = +/VmRSS:\s+(\d+)/.exec(st)[1];
  let pss = 0;
  try { pss = +/Pss:\s+(\d+)/.exec(fs.readFileSync(`/proc/${pid}/smaps_rollup`, 'utf8'))[1]; } catch (e) { /* none */ }
  return { rss, pss };
}

async function memory(wsdPid) {
  const ids = [];
  for (let i = 0; i < Math.min(conns, 10); i++) ids.push(await session());
  const before = memOf(wsdPid).rss;
  const socks = [];
  for (let i = 0; i < conns; i++) {
    const id = ids[i % ids.length];
    await new Promise((resolve) => {
      const ws = new WebSocket(base.replace(/^http/, 'ws') + `/api/v1/sessions/${id}/ws`, { origin: base });
      ws.on('message', (d) => { if (d.toString().includes(PROMPT)) resolve(); });
      ws.on('error', resolve);
      socks.push(ws);
    });
  }
  const after = memOf(wsdPid).rss;
  const pids = stateFile ? execFileSync('sqlite3', [stateFile, 'SELECT pid FROM websockets'])
    .toString().trim().split('\n').filter(Boolean) : [];
  const m = pids.map(memOf);
  for (const ws of socks) ws.close();
  await new Promise((r) => setTimeout(r, 1500));
  for (const id of ids) await del(id);
  return { before, after, relays: m };
}

(async () => {
  for (const [name, fn] of [['chain', chainRun], ['direct', directRun]]) {
    const firsts = [], rtts = [];
    for (let i = 0; i < runs; i++) {
      const id = await session();
      await new Promise((r) => setTimeout(r, 300));
      const r = await fn(id, 20);
      firsts.push(r.first); rtts.push(...r.rtts);
      await del(id);
    }
    console.log(`${name}_first_byte_p50_ms: ${pct(firsts, 0.5).toFixed(1)}`);
    console.log(`${name}_first_byte_p95_ms: ${pct(firsts, 0.95).toFixed(1)}`);
    console.log(`${name}_echo_p50_ms: ${pct(rtts, 0.5).toFixed(2)}`);
    console.log(`${name}_echo_p99_ms: ${pct(rtts, 0.99).toFixed(2)}`);
    global[name] = { f: pct(firsts, 0.5), e: pct(rtts, 0.5) };
  }
  console.log(`first_byte_p50_ratio_vs_direct: ${(global.chain.f / global.direct.f).toFixed(2)}`);
  console.log(`echo_p50_ratio_vs_direct: ${(global.chain.e / global.direct.e).toFixed(2)}`);
  const wsd = process.env.WEBSOCKETD_PID;
  if (wsd) {
    const m = await memory(+wsd);
    console.log(`websocketd_growth_per_conn_kib: ${((m.after - m.before) / conns).toFixed(0)}`);
    if (m.relays.length) {
      const avg = (k) => (m.relays.reduce((a, x) => a + x[k], 0) / m.relays.length).toFixed(0);
      console.log(`relay_rss_kib: ${avg('rss')}`);
      console.log(`relay_pss_kib: ${avg('pss')}`);
    }
  }
})().catch((e) => { console.error(e); process.exit(1); });
