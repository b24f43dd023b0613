/*
 * terminal.js: the toolkata sandbox playground.  Creates a session over
 * REST, attaches xterm.js to its WebSocket (the front end's "B1"
 * protocol) and shows the session's two clocks.  Plain browser JS, no
 * build step; xterm.js and the fit addon come from vendor/ (vendor.sh).
 */
(function () {
	'use strict';

	var IDLE_SECONDS = 300;       /* the server's SANDBOX_IDLE_TIMEOUT default */
	var MAX_MESSAGE = 1000;       /* bytes per text frame; the relay takes 1024 */
	var PASTE_MARKERS = /\x1b\[20[01]~/g;

	var $ = function (id) { return document.getElementById(id); };
	var ui = {
		form: $('controls'), pair: $('tool-pair'), start: $('start'),
		reset: $('reset'), status: $('status'), statusText: $('status-text'),
		error: $('error'), idle: $('idle-left'), left: $('session-left'),
		id: $('session-id'), term: $('terminal')
	};

	var apiKey = new URLSearchParams(location.search).get('api_key') ||
	    (document.querySelector('meta[name="toolkata-api-key"]') || {}).content || '';
	var encoder = new TextEncoder();
	var decoder = new TextDecoder();

	/* The one session this page drives. */
	var session = null;   /* {id, deadline (ms, local clock)} */
	var ws = null;
	var lastInput = 0;
	var busy = false;
	var ticker = null;

	/* ---- terminal ------------------------------------------------------ */

	if (typeof Terminal !== 'function' || typeof FitAddon !== 'object') {
		showError('xterm.js is missing: run caddy/vendor.sh and reload.');
		ui.start.disabled = true;
		return;
	}
	var term = new Terminal({
		cursorBlink: true,
		fontFamily: '"DejaVu Sans Mono", "Cascadia Mono", Menlo, Consolas, monospace',
		fontSize: 14,
		scrollback: 2000,
		theme: { background: '#16181d', foreground: '#e6e6e6', cursor: '#f0c674' }
	});
	var fit = new FitAddon.FitAddon();
	term.loadAddon(fit);
	term.open(ui.term);
	refit();
	term.writeln('\x1b[2mPress Start for a shell.\x1b[0m');
	new ResizeObserver(function () { requestAnimationFrame(refit); }).observe(ui.term);

	term.onData(function (data) {
		if (!ws || ws.readyState !== WebSocket.OPEN)
			return;
		lastInput = Date.now();
		sendInput(data);
		tick();
	});
	term.onResize(sendSize);

	function refit() {
		try {
			fit.fit();
		} catch (e) { /* hidden or zero-sized: next resize fits */ }
	}

	function sendSize() {
		if (ws && ws.readyState === WebSocket.OPEN)
			ws.send(JSON.stringify({ type: 'resize', rows: term.rows, cols: term.cols }));
	}

	/*
	 * Input: one text frame per xterm chunk, raw.  Two kinds go as
	 * {"type":"input","data":...} instead: a chunk with a newline (the
	 * relay reads websocketd's stdin, which ends every text message with
	 * one, as lines, so a raw "\n" would be lost or doubled: Ctrl+J) and
	 * one that starts with "{" (it could read as a control message).
	 * A chunk over MAX_MESSAGE bytes (a long paste) loses its
	 * bracketed-paste markers, which must stay balanced within one frame,
	 * and goes in pieces cut between characters.
	 */
	function frameFor(s) {
		return s.indexOf('\n') === -1 && s.charAt(0) !== '{' ? s :
		    JSON.stringify({ type: 'input', data: s });
	}

	function sendPiece(s) {
		var f = frameFor(s);
		var chars = Array.from(s);
		if (encoder.encode(f).length <= MAX_MESSAGE || chars.length < 2) {
			ws.send(f);
			return;
		}
		var half = Math.floor(chars.length / 2);
		sendPiece(chars.slice(0, half).join(''));
		sendPiece(chars.slice(half).join(''));
	}

	function sendInput(data) {
		if (encoder.encode(data).length <= MAX_MESSAGE) {
			sendPiece(data);
			return;
		}
		var piece = '', bytes = 0;
		for (var ch of data.replace(PASTE_MARKERS, '')) {
			var n = encoder.encode(ch).length;
			if (bytes + n > MAX_MESSAGE) {
				sendPiece(piece);
				piece = '';
				bytes = 0;
			}
			piece += ch;
			bytes += n;
		}
		if (piece !== '')
			sendPiece(piece);
	}

	/* ---- REST ---------------------------------------------------------- */

	function api(method, path, body) {
		var headers = {};
		if (apiKey)
			headers['X-API-Key'] = apiKey;
		if (body !== undefined)
			headers['Content-Type'] = 'application/json';
		return fetch(path, {
			method: method, headers: headers, cache: 'no-store',
			body: body === undefined ? undefined : JSON.stringify(body)
		}).then(function (res) {
			return res.text().then(function (text) {
				var json = null;
				try { json = JSON.parse(text); } catch (e) { /* not JSON */ }
				return { ok: res.ok, status: res.status, json: json };
			});
		}, function () {
			throw new Error('The sandbox server does not answer. Is it running?');
		});
	}

	function restError(what, r) {
		var j = r.json || {};
		var msg = what + ': ' + (j.message || 'HTTP ' + r.status);
		if (j.error)
			msg += ' (' + j.error + ')';
		if (typeof j.retryAfter === 'number')
			msg += '. Try again in ' + fmt(j.retryAfter * 1000) + '.';
		return new Error(msg);
	}

	function createSession() {
		setStatus('busy', 'Creating a session…');
		return api('POST', '/api/v1/sessions', { toolPair: ui.pair.value })
		    .then(function (r) {
			if (r.status !== 201 || !r.json || typeof r.json.sessionId !== 'string')
				throw restError('Could not start a session', r);
			/* Count down on our clock: the server's may differ. */
			var life = Date.parse(r.json.expiresAt) - Date.parse(r.json.createdAt);
			session = {
				id: r.json.sessionId,
				deadline: Date.now() + (isFinite(life) ? life : 30 * 60000)
			};
			ui.id.textContent = session.id;
			remember();
		});
	}

	/*
	 * A reload keeps the session: its id waits in sessionStorage (this tab
	 * only), and the new page attaches to the same shell, whose screen the
	 * server replays.  A closed tab leaves the session unattached: the
	 * idle timeout ends it, and a new create from the same IP may evict
	 * it (SANDBOX_EVICT_AFTER), so nobody is locked out by it.
	 */
	var STORE_KEY = 'toolkata.session';

	function remember() {
		try {
			sessionStorage.setItem(STORE_KEY, JSON.stringify(session));
		} catch (e) { /* storage off: a reload starts anew */ }
	}

	function recall() {
		var s = null;
		try {
			s = JSON.parse(sessionStorage.getItem(STORE_KEY) || 'null');
		} catch (e) { /* unreadable: start anew */ }
		if (!s || typeof s.id !== 'string' || typeof s.deadline !== 'number' ||
		    s.deadline - Date.now() < 5000)
			return Promise.resolve(false);
		return api('GET', '/api/v1/sessions/' + encodeURIComponent(s.id))
		    .then(function (r) {
			if (r.status !== 200)
				return false;
			session = s;
			ui.id.textContent = s.id;
			return true;
		    }, function () { return false; });
	}

	function deleteSession(keepalive) {
		if (!session)
			return Promise.resolve();
		var id = session.id;
		forgetSession();
		var headers = apiKey ? { 'X-API-Key': apiKey } : {};
		return fetch('/api/v1/sessions/' + encodeURIComponent(id),
		    { method: 'DELETE', headers: headers, keepalive: !!keepalive })
		    .catch(function () { /* the reaper ends it anyway */ });
	}

	function forgetSession() {
		session = null;
		ui.id.textContent = 'none';
		try {
			sessionStorage.removeItem(STORE_KEY);
		} catch (e) { /* nothing stored */ }
	}

	/* ---- the WebSocket ------------------------------------------------- */

	function connect() {
		return new Promise(function (resolve, reject) {
			var q = new URLSearchParams({ cols: term.cols, rows: term.rows });
			if (apiKey)
				q.set('api_key', apiKey);
			var url = (location.protocol === 'https:' ? 'wss://' : 'ws://') +
			    location.host + '/api/v1/sessions/' + session.id + '/ws?' + q;
			var sock = new WebSocket(url);
			var opened = false, lastError = '';
			sock.binaryType = 'arraybuffer';
			ws = sock;
			setStatus('busy', 'Connecting…');

			sock.onopen = function () {
				opened = true;
				lastInput = Date.now();
				sendSize();
				setStatus('live', 'Connected.');
				term.focus();
				resolve();
			};
			sock.onmessage = function (ev) {
				var msg = control(ev.data);
				if (!msg) {
					term.write(typeof ev.data === 'string' ?
					    ev.data : new Uint8Array(ev.data));
				} else if (msg.type === 'output') {
					term.write(msg.data);
				} else if (msg.type === 'error') {
					lastError = msg.message;
					showError(msg.message);
				} else if (msg.type === 'connected') {
					setStatus('live', 'Connected.');
				}
			};
			sock.onclose = function (ev) {
				if (ws !== sock)
					return;   /* replaced on purpose (Reset) */
				ws = null;
				if (!opened) {
					refused(lastError, ev.code).then(reject, reject);
					return;
				}
				term.write('\r\n\x1b[2m[disconnected]\x1b[0m\r\n');
				afterClose(lastError);
			};
		});
	}

	/*
	 * A frame is control only when it is a JSON object of a known type with
	 * the right field; anything else is terminal output.
	 */
	function control(data) {
		var text;
		if (typeof data === 'string') {
			text = data;
		} else {
			var b = new Uint8Array(data);
			if (b.length === 0 || b[0] !== 0x7b)
				return null;
			text = decoder.decode(b);
		}
		if (text.charAt(0) !== '{')
			return null;
		var m;
		try { m = JSON.parse(text); } catch (e) { return null; }
		if (!m || typeof m !== 'object')
			return null;
		if ((m.type === 'connected' && typeof m.sessionId === 'string') ||
		    (m.type === 'output' && typeof m.data === 'string') ||
		    (m.type === 'error' && typeof m.message === 'string'))
			return m;
		return null;
	}

	/* The upgrade was refused (no reason reaches the page): why? */
	function refused(why, code) {
		if (why)
			return Promise.resolve(new Error(why));
		return api('GET', '/api/v1/sessions/' + session.id).then(function (r) {
			if (r.ok)
				return new Error('The server refused the terminal connection ' +
				    '(code ' + code + '): too many open terminals from this ' +
				    'address, or a missing API key.');
			forgetSession();
			return new Error('The session has ended. Press Start for a new one.');
		});
	}

	/* The socket went away: is the session still there to reconnect to? */
	function afterClose(why) {
		if (!session) {
			setStatus('idle', 'Session ended. Press Start for a new one.');
			return;
		}
		var id = session.id;
		api('GET', '/api/v1/sessions/' + id).then(function (r) {
			if (!session || session.id !== id || ws)
				return;
			if (r.ok) {
				setStatus('idle', 'Disconnected' + (why ? ' (' + why + ')' : '') +
				    '. Start reconnects to the same session.');
			} else {
				forgetSession();
				setStatus('idle', 'Session ended' + (why ? ' (' + why + ')' : '') +
				    '. Press Start for a new one.');
			}
			tick();
		}, function () {
			setStatus('error', 'Disconnected, and the server does not answer.');
		});
	}

	/* ---- buttons ------------------------------------------------------- */

	function start() {
		if (busy || (ws && ws.readyState <= WebSocket.OPEN))
			return Promise.resolve();
		busy = true;
		clearError();
		updateButtons();
		if (session && session.deadline - Date.now() < 5000)
			forgetSession();
		var fresh = !session;
		return (fresh ? createSession() : Promise.resolve())
		    .then(function () {
			if (fresh)
				term.reset();
			return connect();
		    })
		    .catch(function (e) {
			showError(e.message);
			setStatus('error', session ? 'Not connected. Start tries again.' :
			    'No session.');
		    })
		    .then(function () {
			busy = false;
			updateButtons();
			startTicker();
		    });
	}

	function reset() {
		if (busy)
			return;
		var old = ws;
		ws = null;
		if (old)
			old.close(1000, 'reset');
		busy = true;
		updateButtons();
		setStatus('busy', 'Ending the old session…');
		deleteSession().then(function () {
			busy = false;
			term.reset();
			return start();
		});
	}

	ui.form.addEventListener('submit', function (ev) {
		ev.preventDefault();
		start();
	});
	ui.reset.addEventListener('click', reset);
	/* Leaving the page only detaches: a reload finds the same shell. */
	window.addEventListener('pagehide', function () {
		if (ws)
			ws.close(1000, 'page closed');
	});
	recall().then(function (again) {
		if (again)
			start();
	});

	/* ---- status, errors, clocks ---------------------------------------- */

	function setStatus(state, text) {
		ui.status.dataset.state = state;
		ui.statusText.textContent = text;
		updateButtons();
	}

	function updateButtons() {
		var live = ws && ws.readyState <= WebSocket.OPEN;
		ui.start.disabled = busy || !!live;
		ui.start.textContent = session && !live ? 'Reconnect' : 'Start';
		ui.reset.disabled = busy || !session;
		ui.pair.disabled = busy || !!session;
	}

	function showError(text) {
		ui.error.textContent = text;
		ui.error.hidden = false;
	}

	function clearError() {
		ui.error.textContent = '';
		ui.error.hidden = true;
	}

	function fmt(ms) {
		var s = Math.max(0, Math.ceil(ms / 1000));
		return Math.floor(s / 60) + ':' + String(s % 60).padStart(2, '0');
	}

	function startTicker() {
		if (!ticker)
			ticker = setInterval(tick, 1000);
		tick();
	}

	function tick() {
		var now = Date.now();
		var live = ws && ws.readyState === WebSocket.OPEN;
		if (!session) {
			ui.idle.textContent = 'idle –:––';
			ui.left.textContent = 'session –:––';
			ui.idle.className = ui.left.className = '';
			return;
		}
		var idle = live ? lastInput + IDLE_SECONDS * 1000 - now : IDLE_SECONDS * 1000;
		var left = session.deadline - now;
		ui.idle.textContent = 'idle ' + (live ? fmt(idle) : '–:––');
		ui.left.textContent = 'session ' + fmt(left);
		ui.idle.className = live && idle <= 60000 ? 'warn' : '';
		ui.left.className = left <= 60000 ? 'warn' : '';
	}

	/* An open circuit breaker (isOpen) says so before anyone presses Start. */
	api('GET', '/api/v1/status').then(function (r) {
		if (r.ok && r.json && r.json.isOpen === true && !session)
			setStatus('error', 'The sandbox is busy: ' +
			    (r.json.reason || 'not taking new sessions') + '. Try again later.');
	}, function () { /* shown when Start fails */ });

	/* For the browser test and for poking around in the console. */
	window.toolkata = {
		term: term,
		session: function () { return session && session.id; },
		connected: function () { return !!(ws && ws.readyState === WebSocket.OPEN); },
		text: function () {
			var buf = term.buffer.active, out = [];
			for (var i = 0; i < buf.length; i++) {
				var line = buf.getLine(i);
				var s = line ? line.translateToString(false) : '';
				if (line && line.isWrapped && out.length > 0)
					out[out.length - 1] += s;
				else
					out.push(s);
			}
			return out.map(function (l) { return l.replace(/\s+$/, ''); })
			    .join('\n').replace(/\s+$/, '');
		}
	};
}());
