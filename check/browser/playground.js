#!/usr/bin/env node
/*
 * playground.js: the playground page in a real browser (Debian's chromium,
 * headless, driven by playwright-core).  Start, a prompt, typed input
 * (`git --version`), a bracketed paste, a paste over the 1 KiB frame
 * limit, Ctrl+J and JSON-looking input, a resize, the clocks, a
 * screenshot (playground.png), Reset to a new session, B1's message
 * handling on xterm.js (an early initComplete must not show), the lesson
 * page's inline terminal (init commands, initComplete, a step check, the
 * destroy beacon on leaving); then it deletes
 * what it created.
 *
 *   node check/browser/playground.js [BASE_URL]   (default http://localhost:8080/)
 *
 * Environment: CHROMIUM (default /usr/bin/chromium), TOOLKATA_API_KEY
 * (for a stack that needs one), BROWSER_TIMEOUT (seconds, default 60).
 * Last line: "browser: N passed, N failed".  Exit 0 only when all passed.
 */
'use strict';

const fs = require('fs');
const os = require('os');
const path = require('path');

const BASE = new URL(process.argv[2] || 'http://localhost:8080/');
const CHROMIUM = process.env.CHROMIUM || '/usr/bin/chromium';
const KEY = process.env.TOOLKATA_API_KEY || '';
const LIMIT_MS = (Number(process.env.BROWSER_TIMEOUT) || 60) * 1000;
const SHOT = path.join(__dirname, 'playground.png');
const ID_RE = /^sess_[0-9a-f]{32}$/;
const T0 = Date.now();

let passed = 0, failed = 0;
let browser = null, page = null, userDir = null;
const sessions = new Set();     /* every id we saw: deleted at the end */
const sent = [];                /* text frames the page sent */
const received = { text: 0, binary: 0, controlBinary: 0, controlText: 0 };
const pageErrors = [];

function secs(ms) { return (ms / 1000).toFixed(1) + 's'; }

function ok(name, t) {
	passed++;
	console.log(`ok   ${name} (${secs(Date.now() - t)})`);
}

async function api(method, p, body) {
	const headers = KEY ? { 'X-API-Key': KEY } : {};
	const res = await fetch(new URL(p, BASE), { method, headers, body,
	    signal: AbortSignal.timeout(10000) });
	return { status: res.status, body: await res.text() };
}

async function termText() {
	try {
		return await page.evaluate(() => window.toolkata ? window.toolkata.text() :
		    (document.querySelector('.xterm-rows') || {}).innerText || '');
	} catch (e) {
		return `(cannot read the terminal: ${e.message})`;
	}
}

async function pageState() {
	try {
		return await page.evaluate(() => ({
			status: document.getElementById('status-text').textContent,
			error: document.getElementById('error').hidden ? '' :
			    document.getElementById('error').textContent,
			session: window.toolkata ? window.toolkata.session() : null,
			timers: document.getElementById('timers').textContent.replace(/\s+/g, ' ').trim()
		}));
	} catch (e) {
		return { status: `(cannot read the page: ${e.message.split("\n")[0]})` };
	}
}

/* Wait until the terminal's text passes test(text). */
async function waitText(test, what, ms) {
	const end = Date.now() + ms;
	let text = '';
	while (Date.now() < end) {
		text = await termText();
		if (test(text))
			return text;
		await new Promise((r) => setTimeout(r, 100));
	}
	throw new Error(`timed out after ${secs(ms)} waiting for ${what}`);
}

/* A line of its own: command output, not the echo of the command. */
const hasLine = (want) => (text) => text.split('\n').some((l) => l.trim() === want);
/* The last line is a shell prompt waiting for input. */
const atPrompt = (text) => /[$#>] ?$/.test(text.split('\n').pop());

async function waitSession(other, ms) {
	const end = Date.now() + ms;
	while (Date.now() < end) {
		const id = await page.evaluate(() => window.toolkata.session());
		if (id && id !== other)
			return id;
		await new Promise((r) => setTimeout(r, 100));
	}
	throw new Error('no session id appeared');
}

async function typeLine(line) {
	await page.click('#terminal');
	await page.keyboard.type(line, { delay: 5 });
	await page.keyboard.press('Enter');
}

/* Ctrl+V as the browser delivers it: a paste event on xterm's textarea. */
async function paste(text) {
	await page.click('#terminal');
	await page.evaluate((t) => {
		const dt = new DataTransfer();
		dt.setData('text/plain', t);
		const ta = document.querySelector('.xterm-helper-textarea');
		ta.dispatchEvent(new ClipboardEvent('paste', { clipboardData: dt,
		    bubbles: true, cancelable: true }));
	}, text);
}

async function step(name, fn) {
	const t = Date.now();
	await fn();
	ok(name, t);
}

async function run() {
	if (!fs.existsSync(CHROMIUM))
		throw new Error(`${CHROMIUM} is missing: run check/browser/setup.sh`);
	let pw;
	try {
		pw = require('playwright-core');
	} catch (e) {
		throw new Error('playwright-core is missing: run check/browser/setup.sh');
	}
	userDir = fs.mkdtempSync(path.join(os.tmpdir(), 'toolkata-chromium-'));
	/* launchPersistentContext passes --user-data-dir=userDir itself. */
	browser = await pw.chromium.launchPersistentContext(userDir, {
		executablePath: CHROMIUM,
		headless: true,
		args: ['--headless', '--no-sandbox', '--disable-gpu', '--disable-quic',
		    '--no-first-run', '--disable-background-networking',
		    '--disable-component-update', '--disable-sync'],
		viewport: { width: 1100, height: 720 },
		timeout: 20000
	});
	page = browser.pages()[0] || await browser.newPage();
	page.setDefaultTimeout(15000);
	page.on('pageerror', (e) => pageErrors.push(e.message));
	page.on('console', (m) => {
		if (m.type() === 'error')
			pageErrors.push(`${m.text()} [${m.location().url || '?'}]`);
	});
	page.on('websocket', (ws) => {
		ws.on('framesent', (f) => sent.push(typeof f.payload === 'string' ?
		    f.payload : f.payload.toString('utf8')));
		ws.on('framereceived', (f) => {
			const bin = typeof f.payload !== 'string';
			const s = bin ? f.payload.toString('utf8') : f.payload;
			const ctl = /^\{"type":"(connected|output|error)"/.test(s);
			received[bin ? 'binary' : 'text']++;
			if (ctl)
				received[bin ? 'controlBinary' : 'controlText']++;
		});
	});

	await step('page loads with xterm and the controls', async () => {
		const u = new URL(BASE);
		if (KEY)
			u.searchParams.set('api_key', KEY);
		await page.goto(u.href, { waitUntil: 'load' });
		await page.waitForSelector('.xterm-helper-textarea', { state: 'attached' });
		await page.waitForSelector('#start:not([disabled])');
		const opts = await page.$$eval('#tool-pair option', (o) => o.map((x) => x.value));
		if (!opts.includes('jj-git'))
			throw new Error(`tool pairs offered: ${opts.join(', ')}`);
	});

	let first;
	await step('Start gives a session and a shell prompt', async () => {
		await page.click('#start');
		first = await waitSession(null, 20000);
		sessions.add(first);
		if (!ID_RE.test(first))
			throw new Error(`session id ${first}`);
		await page.waitForFunction(() => window.toolkata.connected(), null,
		    { timeout: 20000 });
		await waitText((t) => t.includes('Welcome to the jj/git sandbox!') &&
		    atPrompt(t), 'the banner and a prompt', 20000);
	});

	await step('typed `git --version` runs', async () => {
		await typeLine('git --version');
		await waitText((t) => /^git version 2\./m.test(t) && atPrompt(t),
		    '"git version 2." and the next prompt', 10000);
	});

	await step('a bracketed paste runs', async () => {
		const before = sent.length;
		await paste('echo pasted-ok');
		await page.keyboard.press('Enter');
		await waitText((t) => hasLine('pasted-ok')(t) && atPrompt(t),
		    'a line "pasted-ok" and the next prompt', 10000);
		const frame = sent.slice(before).find((s) => s.includes('echo pasted-ok'));
		if (!frame || !frame.startsWith('\x1b[200~') || !frame.endsWith('\x1b[201~'))
			throw new Error(`the paste went as ${JSON.stringify(frame)}, ` +
			    'not wrapped in bracketed-paste markers');
	});

	await step('screenshot saved', async () => {
		await page.waitForTimeout(200);   /* the cursor and the clocks settle */
		await page.screenshot({ path: SHOT });
	});

	await step('a 2.4 KiB paste goes in frames under 1 KiB and runs', async () => {
		const before = sent.length;
		/* The comment makes it long; the output proves it all arrived. */
		const filler = 'é'.repeat(400) + 'x'.repeat(1600);
		await paste(`echo long-$((40+2))-ok # ${filler}`);
		await page.keyboard.press('Enter');
		await waitText((t) => hasLine('long-42-ok')(t) && atPrompt(t),
		    'a line "long-42-ok" and the next prompt', 15000);
		const frames = sent.slice(before).filter((s) => !s.startsWith('{"type":"resize"'));
		const big = frames.filter((s) => Buffer.byteLength(s) > 1024);
		if (frames.length < 3 || big.length > 0)
			throw new Error(`sent ${frames.length} frames, ${big.length} over 1024 bytes`);
		if (frames.join('').includes('\x1b[20'))
			throw new Error('a split paste kept its bracketed-paste markers');
	});

	await step('Ctrl+J and input that looks like JSON reach the shell as typed', async () => {
		/* Ctrl+J is "\n": one newline, not two (one prompt after it). */
		await typeLine('clear');
		await waitText((t) => t.split('\n').length === 1 && atPrompt(t),
		    'a cleared screen', 10000);
		await page.keyboard.type('echo cj-$((2+3))', { delay: 5 });
		await page.keyboard.press('Control+J');
		await waitText((t) => hasLine('cj-5')(t) && atPrompt(t), 'a line "cj-5"', 10000);
		await page.waitForTimeout(500);   /* a second prompt would come now */
		const after = (await termText()).split('\n');
		const tail = after.slice(after.findIndex((l) => l.trim() === 'cj-5') + 1);
		if (tail.length !== 1 || !atPrompt(tail[0]))
			throw new Error(`after Ctrl+J: ${JSON.stringify(tail)} (want one prompt)`);
		/* A chunk that starts with "{" is text, not a resize. */
		const json = '{"type":"resize","rows":5,"cols":20}';
		await page.keyboard.type("echo '", { delay: 5 });
		await page.keyboard.insertText(json);
		await page.keyboard.type("'; stty size", { delay: 5 });
		await page.keyboard.press('Enter');
		const size = await page.evaluate(() => [window.toolkata.term.rows, window.toolkata.term.cols]);
		await waitText((t) => hasLine(json)(t) && hasLine(`${size[0]} ${size[1]}`)(t),
		    `the JSON echoed and stty size "${size[0]} ${size[1]}"`, 10000);
	});

	await step('a resize reaches the shell', async () => {
		const before = sent.length;
		await page.setViewportSize({ width: 900, height: 600 });
		const end = Date.now() + 5000;
		let msg = null;
		while (!msg && Date.now() < end) {
			msg = sent.slice(before).map((s) => { try { return JSON.parse(s); } catch (e) { return null; } })
			    .filter((m) => m && m.type === 'resize').pop();
			if (!msg)
				await new Promise((r) => setTimeout(r, 100));
		}
		if (!msg)
			throw new Error('no resize message after the window shrank');
		const size = await page.evaluate(() => [window.toolkata.term.rows, window.toolkata.term.cols]);
		if (msg.rows !== size[0] || msg.cols !== size[1])
			throw new Error(`sent ${msg.rows}x${msg.cols}, xterm is ${size[0]}x${size[1]}`);
		await typeLine('stty size');
		await waitText((t) => hasLine(`${size[0]} ${size[1]}`)(t) && atPrompt(t),
		    `stty size "${size[0]} ${size[1]}"`, 10000);
		await page.setViewportSize({ width: 1100, height: 720 });
	});

	await step('a reload finds the same shell with its screen', async () => {
		await typeLine('cd /tmp; export RELOADED=seven; echo mark-$((6*7))');
		await waitText((t) => hasLine('mark-42')(t) && atPrompt(t),
		    'a line "mark-42"', 10000);
		await page.reload({ waitUntil: 'load' });
		await page.waitForFunction(() => window.toolkata &&
		    window.toolkata.connected(), null, { timeout: 20000 });
		const again = await page.evaluate(() => window.toolkata.session());
		if (again !== first)
			throw new Error(`after the reload the session is ${again}, not ${first}`);
		/* The screen comes back (replayed), then the same shell answers. */
		await waitText((t) => hasLine('mark-42')(t) && atPrompt(t),
		    'the replayed screen with "mark-42"', 10000);
		await typeLine('echo "$RELOADED:$PWD"');
		await waitText((t) => hasLine('seven:/tmp')(t) && atPrompt(t),
		    'a line "seven:/tmp" from the same shell', 10000);
	});

	await step('the clocks count down (idle and session)', async () => {
		const t = await page.textContent('#timers');
		const m = /idle (\d+):(\d\d)\s*·\s*session (\d+):(\d\d)/.exec(t.replace(/\s+/g, ' '));
		if (!m)
			throw new Error(`timers read "${t.trim()}"`);
		const idle = m[1] * 60 + Number(m[2]), left = m[3] * 60 + Number(m[4]);
		if (idle < 240 || idle > 300 || left < 1500 || left > 1800)
			throw new Error(`timers read "${t.trim()}"`);
	});

	await step('Reset ends the session and starts a new one', async () => {
		await page.click('#reset');
		const second = await waitSession(first, 20000);
		sessions.add(second);
		if (!ID_RE.test(second))
			throw new Error(`new session id ${second}`);
		await page.waitForFunction(() => window.toolkata.connected(), null,
		    { timeout: 20000 });
		await waitText(atPrompt, 'a prompt in the new session', 20000);
		const old = await api('GET', `/api/v1/sessions/${first}`);
		if (old.status !== 404)
			throw new Error(`the old session answers ${old.status} ${old.body}`);
		const text = await termText();
		if (text.includes('pasted-ok'))
			throw new Error('the terminal was not cleared');
	});

	await step('a B1 client does not show an early initComplete', async () => {
		const r = await api('POST', '/api/v1/sessions', '{"toolPair":"jj-git"}');
		const id = JSON.parse(r.body).sessionId;
		if (r.status !== 201 || !ID_RE.test(id))
			throw new Error(`create: ${r.status} ${r.body}`);
		sessions.add(id);
		/* B1's onmessage (contract.md 9.2) on a real xterm.js: a Blob
		 * becomes text; connected/error are dropped, output written,
		 * anything else is written as it is. */
		await page.evaluate(({ id, key }) => {
			const div = document.createElement('div');
			div.style.height = '220px';
			document.body.appendChild(div);
			const t = new Terminal({ rows: 10, cols: 80, scrollback: 500 });
			t.open(div);
			window.b1 = { term: t, frames: [] };
			const u = new URL(`api/v1/sessions/${id}/ws`, location.href);
			u.protocol = u.protocol === 'https:' ? 'wss:' : 'ws:';
			if (key)
				u.searchParams.set('api_key', key);
			const ws = new WebSocket(u.href);
			let chain = Promise.resolve();
			ws.onmessage = (ev) => {
				chain = chain.then(async () => {
					const text = typeof ev.data === 'string' ? ev.data : await ev.data.text();
					window.b1.frames.push(text.slice(0, 60));
					if (text.startsWith('{')) {
						try {
							const m = JSON.parse(text);
							if ((m.type === 'connected' && typeof m.sessionId === 'string') ||
							    (m.type === 'error' && typeof m.message === 'string'))
								return;
							if (m.type === 'output' && typeof m.data === 'string') {
								t.write(m.data);
								return;
							}
						} catch (e) { /* raw output */ }
					}
					t.write(text);
				});
			};
			window.b1.ws = ws;
		}, { id, key: KEY });
		const b1Text = () => page.evaluate(() => {
			const b = window.b1.term.buffer.active, out = [];
			for (let i = 0; i < b.length; i++)
				out.push(b.getLine(i).translateToString(true));
			return out.join('\n');
		});
		const end = Date.now() + 20000;
		let text = '';
		while (Date.now() < end && !/\$ ?$/m.test(text)) {
			await new Promise((res) => setTimeout(res, 100));
			text = await b1Text();
		}
		const frames = await page.evaluate(() => window.b1.frames);
		if (!frames.some((f) => f.startsWith('{"type":"initComplete"')))
			throw new Error(`no initComplete frame: ${JSON.stringify(frames.slice(0, 4))}`);
		if (!/\$ ?$/m.test(text))
			throw new Error(`no prompt in the B1 terminal: ${JSON.stringify(text.slice(-200))}`);
		if (text.includes('initComplete') || text.includes('"type"'))
			throw new Error(`the B1 terminal shows a frame: ${JSON.stringify(text)}`);
		await page.evaluate(() => window.b1.ws.close());
		/* Its slot goes back: the lesson step below needs one. */
		const d = await api('DELETE', `/api/v1/sessions/${id}`);
		if (d.status !== 200)
			throw new Error(`DELETE: ${d.status} ${d.body}`);
	});

	await step('a lesson step waits for initComplete, then shows its terminal', async () => {
		const u = new URL('lesson.html', BASE);
		if (KEY)
			u.searchParams.set('api_key', KEY);
		await page.goto(u.href, { waitUntil: 'load' });
		await page.click('#try');
		await page.waitForFunction(() => window.toolkataLesson.initComplete !== null ||
		    !document.getElementById('error').hidden, null, { timeout: 30000 });
		if (!(await page.isHidden('#error')))
			throw new Error(`the page shows: ${await page.textContent('#error')}`);
		const st = await page.evaluate(() => window.toolkataLesson);
		sessions.add(st.session);
		if (!st.initComplete.success)
			throw new Error(`initComplete: ${JSON.stringify(st.initComplete)}`);
		if (await page.isHidden('#terminal'))
			throw new Error('the terminal is still hidden');
		/* The init ran (a repository with an untracked README), and the
		 * first command, typed after initComplete, sees it. */
		const lessonText = () => page.evaluate(() =>
		    document.querySelector('#terminal .xterm-rows').innerText);
		const end = Date.now() + 15000;
		let text = '';
		while (Date.now() < end && !/\?\? README/.test(text)) {
			await new Promise((res) => setTimeout(res, 100));
			text = await lessonText();
		}
		if (!/\?\? README/.test(text))
			throw new Error(`no "?? README": ${JSON.stringify(text.slice(-300))}`);
		if (/git init -q/.test(text))
			throw new Error('the silent init commands are on the screen');
	});

	await step('"Check my work" sees the commit made in the terminal', async () => {
		await page.click('#check');
		await page.waitForFunction(() => window.toolkataLesson.check !== null,
		    null, { timeout: 15000 });
		let c = await page.evaluate(() => window.toolkataLesson.check);
		if (c.exitCode === 0)
			throw new Error(`the check passed before the commit: ${JSON.stringify(c)}`);
		await page.click('#terminal');
		await page.keyboard.type("git add README && git commit -qm 'Add readme'", { delay: 2 });
		await page.keyboard.press('Enter');
		const end = Date.now() + 15000;
		do {
			await new Promise((res) => setTimeout(res, 300));
			await page.evaluate(() => { window.toolkataLesson.check = null; });
			await page.click('#check');
			await page.waitForFunction(() => window.toolkataLesson.check !== null,
			    null, { timeout: 15000 });
			c = await page.evaluate(() => window.toolkataLesson.check);
		} while (c.exitCode !== 0 && Date.now() < end);
		if (c.exitCode !== 0)
			throw new Error(`the check after the commit: ${JSON.stringify(c)}`);
	});

	await step('leaving the page destroys the session (beacon, key in the body)', async () => {
		const id = await page.evaluate(() => window.toolkataLesson.session);
		await page.goto(new URL('/', BASE).href, { waitUntil: 'load' });
		const end = Date.now() + 10000;
		let g;
		do {
			await new Promise((res) => setTimeout(res, 200));
			g = await api('GET', `/api/v1/sessions/${id}`);
		} while (g.status !== 404 && Date.now() < end);
		if (g.status !== 404)
			throw new Error(`after leaving, the session answers ${g.status} ${g.body}`);
	});

	await step('no page errors, control frames understood', async () => {
		if (pageErrors.length > 0)
			throw new Error(pageErrors.join(' | '));
		if (received.controlBinary + received.controlText < 2)
			throw new Error(`saw ${JSON.stringify(received)}`);
		const state = await pageState();
		if (state.error)
			throw new Error(`the page shows an error: ${state.error}`);
	});
}

async function cleanup() {
	const t = Date.now();
	let bad = [];
	try {
		if (page)
			await page.evaluate(() => window.toolkata && window.toolkata.session())
			    .then((id) => { if (id) sessions.add(id); }, () => {});
	} catch (e) { /* page gone */ }
	for (const id of sessions) {
		try {
			const r = await api('DELETE', `/api/v1/sessions/${id}`);
			const g = await api('GET', `/api/v1/sessions/${id}`);
			if (r.status !== 200 || g.status !== 404)
				bad.push(`${id}: DELETE ${r.status}, then GET ${g.status}`);
		} catch (e) {
			bad.push(`${id}: ${e.message}`);
		}
	}
	if (browser)
		await browser.close().catch(() => {});
	if (userDir)
		fs.rmSync(userDir, { recursive: true, force: true });
	if (sessions.size > 0) {
		if (bad.length === 0) {
			ok(`cleanup: deleted ${sessions.size} session(s)`, t);
		} else {
			failed++;
			console.log(`FAIL cleanup: ${bad.join('; ')}`);
		}
	}
}

/* What the page and the terminal showed, for a failure. */
async function report() {
	if (!page)
		return;
	const st = await pageState();
	console.log(`  page status: ${st.status}`);
	if (st.error)
		console.log(`  page error:  ${st.error}`);
	if (st.timers)
		console.log(`  clocks:      ${st.timers}`);
	console.log('  terminal showed:');
	for (const l of (await termText()).split('\n').slice(-30))
		console.log(`  | ${l}`);
	if (pageErrors.length)
		console.log(`  page errors: ${pageErrors.join(' | ')}`);
}

async function finish() {
	await cleanup();
	console.log(`browser: total ${secs(Date.now() - T0)}`);
	console.log(`browser: ${passed} passed, ${failed} failed`);
	process.exit(failed === 0 ? 0 : 1);
}

async function main() {
	let over = false;
	setTimeout(async () => {
		over = true;
		failed++;
		console.log(`FAIL time limit of ${secs(LIMIT_MS)} reached`);
		/* Report and delete the sessions, but in 10 s at most. */
		setTimeout(() => {
			console.log(`browser: ${passed} passed, ${failed} failed`);
			process.exit(1);
		}, 10000).unref();
		await report().catch(() => {});
		await finish();
	}, LIMIT_MS);
	try {
		await run();
	} catch (e) {
		if (over)
			return;   /* the time limit's handler reports and exits */
		failed++;
		console.log(`FAIL ${e.message.split('\n')[0]}`);
		await report();
	}
	if (!over)
		await finish();
}

main();
