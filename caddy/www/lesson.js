/*
 * lesson.js: one lesson step with an inline "Try it" terminal, the way the
 * newer toolkata front end drives the sandbox (contract.md 9.3): POST
 * {toolPair, init, timeout}; open the WebSocket; drop everything until
 * {"type":"initComplete"}; then show xterm and type the step's first
 * command; "Check my work" asks POST /sessions/<id>/check; on pagehide
 * the session is destroyed with navigator.sendBeacon (no headers, so the
 * key goes in the body).  Plain browser JS, no build step.
 */
(function () {
	'use strict';

	var INIT = ['git init -q ~/demo', 'cd ~/demo',
	    'printf "# demo\\n" > README'];
	var FIRST = 'git status --short';
	var CHECK = "test \"$(git -C ~/demo log -1 --format=%s 2>/dev/null)\" = 'Add readme'";

	var $ = function (id) { return document.getElementById(id); };
	var apiKey = new URLSearchParams(location.search).get('api_key') ||
	    (document.querySelector('meta[name="toolkata-api-key"]') || {}).content || '';
	var decoder = new TextDecoder();
	var session = null, ws = null, term = null, fit = null, ready = false;
	var state = { initComplete: null, dropped: 0, check: null };
	window.toolkataLesson = state;

	function status(text) { $('lesson-status').textContent = text; }

	function showError(msg) {
		$('error').textContent = msg;
		$('error').hidden = !msg;
	}

	function headers() {
		var h = { 'Content-Type': 'application/json' };
		if (apiKey)
			h['X-API-Key'] = apiKey;
		return h;
	}

	function wsUrl(id) {
		var u = new URL('api/v1/sessions/' + id + '/ws', location.href);
		u.protocol = u.protocol === 'https:' ? 'wss:' : 'ws:';
		if (apiKey)
			u.searchParams.set('api_key', apiKey);
		return u.href;
	}

	function control(text) {
		if (text.charAt(0) !== '{')
			return null;
		try {
			var m = JSON.parse(text);
			return m && typeof m.type === 'string' ? m : null;
		} catch (e) {
			return null;
		}
	}

	function showTerminal() {
		$('terminal').hidden = false;
		term = new Terminal({ fontSize: 14, rows: 12, scrollback: 500,
		    theme: { background: '#16181d', foreground: '#e6e6e6' } });
		fit = new FitAddon.FitAddon();
		term.loadAddon(fit);
		term.open($('terminal'));
		try { fit.fit(); } catch (e) { /* zero-sized */ }
		term.onData(function (d) {
			/* A chunk with a newline or a leading "{" goes as
			 * {"type":"input"} (see terminal.js); the rest raw. */
			if (ws && ws.readyState === WebSocket.OPEN)
				ws.send(d.indexOf('\n') >= 0 || d.charAt(0) === '{' ?
				    JSON.stringify({ type: 'input', data: d }) : d);
		});
		ws.send(JSON.stringify({ type: 'resize', rows: term.rows, cols: term.cols }));
	}

	function onMessage(ev) {
		var text = typeof ev.data === 'string' ? ev.data :
		    decoder.decode(ev.data, { stream: true });
		var m = control(text);

		if (m && m.type === 'initComplete') {
			state.initComplete = m;
			if (!m.success) {
				showError('The step could not be prepared: ' + (m.error || '?'));
				return;
			}
			if (!ready) {
				ready = true;
				showTerminal();
				status('Ready.');
				$('check').disabled = false;
				ws.send(FIRST + '\n');
			}
			return;
		}
		if (m && m.type === 'error') {
			showError(m.message || 'error');
			return;
		}
		if (m && m.type === 'connected')
			return;
		if (!ready) {
			state.dropped += text.length;   /* output before initComplete */
			return;
		}
		term.write(text);
	}

	function destroy() {
		if (!session)
			return;
		var url = new URL('api/v1/sessions/' + session + '/destroy', location.href).href;
		var body = JSON.stringify({ apiKey: apiKey });
		if (!navigator.sendBeacon || !navigator.sendBeacon(url, body))
			fetch(url, { method: 'POST', body: body, keepalive: true }).catch(function () {});
		session = null;
	}

	async function tryIt() {
		$('try').disabled = true;
		showError('');
		status('Preparing…');
		var res = await fetch('api/v1/sessions', { method: 'POST', headers: headers(),
		    body: JSON.stringify({ toolPair: 'jj-git', init: INIT, timeout: 600000 }) });
		var j = await res.json().catch(function () { return {}; });
		if (res.status !== 201) {
			showError(j.message || ('HTTP ' + res.status));
			$('try').disabled = false;
			status('Not started.');
			return;
		}
		session = j.sessionId;
		state.session = session;
		ws = new WebSocket(wsUrl(session));
		ws.binaryType = 'arraybuffer';
		ws.onmessage = onMessage;
		ws.onclose = function () { status('Session ended.'); };
	}

	async function check() {
		status('Checking…');
		var res = await fetch('api/v1/sessions/' + session + '/check', { method: 'POST',
		    headers: headers(), body: JSON.stringify({ command: CHECK }) });
		var j = await res.json().catch(function () { return {}; });
		state.check = j;
		if (res.status !== 200)
			status('Could not check: ' + (j.message || res.status));
		else
			status(j.exitCode === 0 ? 'Well done: the commit is there.' :
			    'Not yet: no commit "Add readme" in ~/demo.');
	}

	$('try').addEventListener('click', function () { tryIt().catch(function (e) {
		showError(String(e));
	}); });
	$('check').addEventListener('click', function () { check().catch(function (e) {
		status(String(e));
	}); });
	window.addEventListener('pagehide', destroy);
}());
