// Real-browser test of listo (run by run.sh): an app page on another loopback origin, listed in
// LISTO_CORS_ORIGINS, with listo's access tokens lasting 3 s (LISTO_SESSION_TTL=3):
//   - signs in (register, login, the code from the outbox, verify) and keeps the sign-in alive
//     with POST /v1/auth/refresh alone: its calls keep succeeding past several access-token
//     lifetimes;
//   - follows changes with the browser's own EventSource: it mints a ticket (POST
//     /v1/tasks/events/ticket) and opens /v1/tasks/events?ticket=… with no Authorization header;
//     a task the page creates arrives as an `upsert`, and one created after the access token that
//     minted the ticket expired still arrives on the same connection;
//   - a used ticket answers 401, and EventSource stops (CLOSED) instead of reconnecting: the
//     requests for it are counted.
// Everything the page does is its own fetch / EventSource; the test reads what the page saw.
//
//   LISTO_BIN=target/debug/listo BROWSER_WORK=$(mktemp -d) node --test --test-reporter=spec scripts/browser/live.test.mjs
import { test } from 'node:test';
import assert from 'node:assert/strict';
import fs from 'node:fs';
import { codeFromOutbox, loopbackOnly, newPage, servePages, startListo, storySteps } from './support.mjs';

const TTL_S = 3; // LISTO_SESSION_TTL for this story: a lifetime passes between two steps
const EMAIL = 'live@example.com';
const PASSWORD = 'correct horse battery';

// The app page. window.* are the actions the test asks of it; window.live is what it saw. Tokens
// and tickets stay out of the page's text (its screenshots are kept).
const LIVE_PAGE = `<!doctype html>
<meta charset="utf-8">
<title>listo live page</title>
<h1>listo: signed in with refresh, following changes with EventSource</h1>
<pre id="out">loading…</pre>
<script>
const api = new URLSearchParams(location.search).get('api');
const live = (window.live = { refreshes: [], calls: [], events: [], opens: 0, errors: 0, streams: 0 });
let tokens = null; // { access, refresh }
let refreshing = null;
let timer = null;

// What the page saw, one line each (for its screenshots).
function show() {
  const t0 = live.verifiedAt ?? Date.now();
  const secs = (at) => ((at - t0) / 1000).toFixed(1).padStart(5) + ' s';
  const states = ['CONNECTING', 'OPEN', 'CLOSED'];
  const lines = [
    'signed in: ' + (live.verifiedAt ? 'yes (access tokens last ' + live.expiresIn + ' s)' : 'not yet'),
    'refreshes: ' + live.refreshes.length + (live.refreshes.length ? ' (last ' + live.refreshes.at(-1).status + ')' : ''),
    ...live.refreshes.slice(-4).map((r) => '  ' + secs(r.at) + '  refresh (' + r.why + ') -> ' + r.status + (r.code ? ' ' + r.code : '')),
    'calls: ' + live.calls.length + ', not 2xx: ' + live.calls.filter((c) => c.status < 200 || c.status > 299).length,
    ...live.calls.slice(-4).map((c) => '  ' + secs(c.at) + '  ' + c.method + ' ' + c.path + ' -> ' + c.status + (c.retried ? ' (after a refresh)' : '')),
    'EventSource with a ticket: ' + (window.stream ? states[window.stream.readyState] + ' ' + JSON.stringify(live.stream) : 'not opened'),
    ...live.events.map((e) => '  ' + secs(e.at) + '  event ' + e.kind + ' id ' + e.id + (e.data?.task ? ': task ' + e.data.task.id + ' "' + e.data.task.task + '"' : '')),
    'EventSource with the used ticket: ' + (window.refusedStream ? states[window.refusedStream.readyState] + ' ' + JSON.stringify(live.refused) : 'not opened'),
  ];
  document.getElementById('out').textContent = lines.join('\\n');
}

async function call(method, path, { body, token } = {}) {
  const headers = {};
  if (body !== undefined) headers['Content-Type'] = 'application/json';
  if (token) headers.Authorization = 'Bearer ' + token;
  try {
    const res = await fetch(api + path, { method, headers, body: body === undefined ? undefined : JSON.stringify(body) });
    const text = await res.text();
    let json = null;
    try { json = JSON.parse(text); } catch {}
    return { status: res.status, json };
  } catch (err) {
    return { status: 0, error: err.name + ': ' + err.message };
  }
}

// Keeps a verify or refresh answer and refreshes at two thirds of the access token's life: before
// it expires, with room for a slow answer.
function keep(answer) {
  tokens = { access: answer.access_token, refresh: answer.refresh_token };
  live.expiresIn = answer.expires_in;
  clearTimeout(timer);
  timer = setTimeout(() => refresh('timer'), (answer.expires_in * 1000 * 2) / 3);
}

// One refresh at a time: the timer and a call that met session_expired share it.
function refresh(why) {
  refreshing ??= (async () => {
    const r = await call('POST', '/v1/auth/refresh', { body: { refresh_token: tokens.refresh } });
    live.refreshes.push({ why, status: r.status, code: r.json?.code, at: Date.now() });
    if (r.status === 200) keep(r.json);
    show();
    return r.status;
  })().finally(() => (refreshing = null));
  return refreshing;
}

window.register = () => call('POST', '/v1/auth/register', { body: { email: ${JSON.stringify(EMAIL)}, password: ${JSON.stringify(PASSWORD)} } });
window.login = () => call('POST', '/v1/auth/login', { body: { email: ${JSON.stringify(EMAIL)}, password: ${JSON.stringify(PASSWORD)} } });
window.verify = async (challenge_id, code) => {
  const r = await call('POST', '/v1/auth/verify', { body: { challenge_id, code } });
  if (r.status === 200) {
    keep(r.json);
    live.verifiedAt = Date.now();
    live.firstAccess = r.json.access_token;
    live.firstRefresh = r.json.refresh_token;
    live.refreshTokenGiven = typeof r.json.refresh_token === 'string';
  }
  show();
  return { status: r.status, code: r.json?.code, expires_in: r.json?.expires_in, refresh: live.refreshTokenGiven };
};

// A signed-in call, as an app makes it: wait for a refresh under way; on session_expired
// refresh once and retry; on session_invalid, retry once if a refresh replaced the token sent
// meanwhile (a replaced access token is unknown to listo from then on).
window.authed = async (method, path, body) => {
  if (refreshing) await refreshing;
  const sent = tokens.access;
  let r = await call(method, path, { body, token: sent });
  let retried = false;
  if (r.status === 401 && r.json?.code === 'session_expired') {
    retried = true;
    await refresh('session_expired');
    r = await call(method, path, { body, token: tokens.access });
  } else if (r.status === 401 && r.json?.code === 'session_invalid' && (refreshing || tokens.access !== sent)) {
    retried = true;
    if (refreshing) await refreshing;
    r = await call(method, path, { body, token: tokens.access });
  }
  live.calls.push({ method, path, status: r.status, code: r.json?.code, retried, at: Date.now() });
  show();
  return r;
};

function listen(es, seen) {
  es.onopen = () => { seen.opens++; show(); };
  es.onerror = () => { seen.errors++; seen.states.push(es.readyState); show(); };
  for (const kind of ['upsert', 'delete', 'session_expired', 'session_revoked', 'stream_replaced']) {
    es.addEventListener(kind, (e) => {
      let data = null;
      try { data = JSON.parse(e.data); } catch {}
      live.events.push({ kind, id: e.lastEventId, data, at: Date.now() });
      show();
    });
  }
}

// Mint a ticket and follow changes with it: the browser's own EventSource, no Authorization.
window.follow = async () => {
  const t = await window.authed('POST', '/v1/tasks/events/ticket');
  if (t.status !== 201) return { status: t.status, json: t.json };
  live.ticket = t.json.ticket;
  live.mintedWith = tokens.access;
  live.stream = { opens: 0, errors: 0, states: [] };
  window.stream = new EventSource(api + '/v1/tasks/events?ticket=' + encodeURIComponent(t.json.ticket));
  listen(window.stream, live.stream);
  show();
  return { status: 201, expires_in: t.json.expires_in, ticketLength: t.json.ticket.length };
};

// Open EventSource with a ticket already used: it must stop, not loop.
window.followWith = (ticket) => {
  live.refused = { opens: 0, errors: 0, states: [] };
  window.refusedStream = new EventSource(api + '/v1/tasks/events?ticket=' + encodeURIComponent(ticket));
  listen(window.refusedStream, live.refused);
  show();
};
show();
</script>
`;

const sleep = (ms) => new Promise((r) => setTimeout(r, ms));

test('a page on a listed origin: refresh keeps it signed in, EventSource follows with a ticket', { timeout: 240_000 }, async (t) => {
  const served = await servePages({ '/': LIVE_PAGE });
  const { origin } = served;
  const listo = await startListo('live', { LISTO_CORS_ORIGINS: origin, LISTO_SESSION_TTL: String(TTL_S) });
  const { context, page, consoleLines } = await newPage();
  const step = storySteps(t, page, listo);
  // Every request the browser makes for the event stream, with its headers (EventSource's
  // reconnections would show here).
  const eventRequests = [];
  context.on('request', (req) => {
    if (new URL(req.url()).pathname === '/v1/tasks/events') eventRequests.push({ url: req.url(), headers: req.headers(), at: Date.now() });
  });
  const live = () => page.evaluate(() => window.live);
  const show = async () => `page saw: ${JSON.stringify(await live(), (k, v) => (['firstAccess', 'firstRefresh', 'mintedWith', 'ticket'].includes(k) ? '…' : v))}\nconsole:\n  ${consoleLines.join('\n  ')}`;
  const s = {};
  try {
    await step('register 201, login 202, verify 200 from the page (code from the outbox), a refresh token given', async () => {
      await page.goto(`${origin}/?api=${encodeURIComponent(listo.base)}`);
      assert.equal(await page.evaluate(() => typeof window.register), 'function', `the page's script did not run:\n${consoleLines.join('\n')}`);
      const register = await page.evaluate(() => window.register());
      assert.equal(register.status, 201, JSON.stringify(register));
      const login = await page.evaluate(() => window.login());
      assert.equal(login.status, 202, JSON.stringify(login));
      const { code } = await codeFromOutbox(listo.outbox, EMAIL, 'sign-in');
      const verify = await page.evaluate(([c, k]) => window.verify(c, k), [login.json.challenge_id, code]);
      assert.equal(verify.status, 200, JSON.stringify(verify));
      assert.equal(verify.expires_in, TTL_S, `listo runs with LISTO_SESSION_TTL=${TTL_S}: ${JSON.stringify(verify)}`);
      assert.equal(verify.refresh, true, `verify gave no refresh_token: ${JSON.stringify(verify)}`);
    });

    await step(`the page's calls keep succeeding past 3 access-token lifetimes (${TTL_S} s each), through refresh alone`, async () => {
      const until = Date.now() + (3 * TTL_S + 2) * 1000;
      while (Date.now() < until) {
        const r = await page.evaluate(() => window.authed('GET', '/v1/auth/session'));
        assert.equal(r.status, 200, `GET /v1/auth/session from the page: ${JSON.stringify(r)}\n${await show()}`);
        await sleep(700);
      }
      const seen = await live();
      const lived = (Date.now() - seen.verifiedAt) / 1000;
      const retried = seen.calls.filter((c) => c.retried).length;
      console.log(
        `browser: ${seen.calls.length} calls over ${lived.toFixed(1)} s after verify, all 200; ${seen.refreshes.length} refreshes ` +
          `(${seen.refreshes.map((r) => `${r.why} ${r.status}`).join(', ')}); ${retried} calls retried (session_expired, or a token a refresh replaced in flight)`,
      );
      assert.ok(lived >= 3 * TTL_S, `only ${lived} s`);
      assert.ok(seen.refreshes.length >= 3, `${seen.refreshes.length} refreshes: ${await show()}`);
      assert.deepEqual(seen.refreshes.map((r) => r.status).filter((x) => x !== 200), [], await show());
      // The TTL is real: the access token verify gave is refused by now.
      const first = await fetch(`${listo.base}/v1/auth/session`, {
        headers: { Authorization: `Bearer ${seen.firstAccess}` },
        signal: AbortSignal.timeout(5000),
      });
      const body = await first.json().catch(() => null);
      console.log(`browser: the access token verify gave now answers ${first.status} ${body?.code}`);
      assert.equal(first.status, 401);
    });

    await step('mint a ticket (201) and open the browser\'s EventSource with it: no Authorization header', async () => {
      const minted = await page.evaluate(() => window.follow());
      assert.equal(minted.status, 201, `POST /v1/tasks/events/ticket from the page: ${JSON.stringify(minted)}`);
      assert.ok(minted.expires_in > 0 && minted.expires_in <= 60, JSON.stringify(minted));
      await page.waitForFunction(() => window.stream?.readyState === EventSource.OPEN, null, { timeout: 10_000 });
      assert.equal(eventRequests.length, 1, JSON.stringify(eventRequests.map((r) => r.url.replace(/ticket=[^&]*/, 'ticket=…'))));
      const [req] = eventRequests;
      assert.match(req.url, /[?&]ticket=[^&]+/);
      assert.equal(req.headers.authorization, undefined, 'EventSource sent an Authorization header');
      s.ticket = (await live()).ticket;
    });

    await step('a task created from the page arrives in the page as an upsert event', async () => {
      const sent = Date.now();
      const created = await page.evaluate(() => window.authed('POST', '/v1/tasks', { date: '2026-12-03', task: 'Swim before the stream', status: 'Incomplete' }));
      assert.equal(created.status, 201, JSON.stringify(created));
      s.first = created.json;
      const id = s.first.id;
      await page.waitForFunction((i) => window.live.events.some((e) => e.kind === 'upsert' && e.data?.task?.id === i), id, { timeout: 10_000 });
      const event = (await live()).events.find((e) => e.data?.task?.id === id);
      console.log(`browser: event ${event.kind} id ${event.id} for task ${id} arrived in the page ${event.at - sent} ms after the create was sent`);
      assert.equal(event.data.task.task, 'Swim before the stream');
      assert.equal(String(event.data.seq), event.id, JSON.stringify(event));
    });

    await step('the stream outlives the access token: a change made after it expired arrives on the same connection', async () => {
      const seen = await live();
      // Past the lifetime of the access token that minted the ticket (refreshes go on meanwhile).
      await sleep((TTL_S + 1.5) * 1000);
      const minted = await fetch(`${listo.base}/v1/auth/session`, {
        headers: { Authorization: `Bearer ${seen.mintedWith}` },
        signal: AbortSignal.timeout(5000),
      });
      assert.equal(minted.status, 401, 'the access token that minted the ticket is still accepted: wait longer');
      const created = await page.evaluate(() => window.authed('POST', '/v1/tasks', { date: '2026-12-03', task: 'Swim after the token', status: 'Incomplete' }));
      assert.equal(created.status, 201, JSON.stringify(created));
      const id = created.json.id;
      await page.waitForFunction((i) => window.live.events.some((e) => e.kind === 'upsert' && e.data?.task?.id === i), id, { timeout: 10_000 });
      const now = await live();
      console.log(`browser: stream open ${((Date.now() - eventRequests[0].at) / 1000).toFixed(1)} s, ${now.events.length} events, ${now.refreshes.length} refreshes so far`);
      assert.deepEqual(now.stream, { opens: 1, errors: 0, states: [] }, `the stream dropped or reconnected: ${await show()}`);
      assert.equal(eventRequests.length, 1, 'EventSource made another request');
      assert.equal(await page.evaluate(() => window.stream.readyState), 1);
    });

    await step('a used ticket: 401 session_invalid, EventSource stops (CLOSED) and does not reconnect', async () => {
      // What the browser is answered, seen from outside it (with the page's Origin).
      const direct = await fetch(`${listo.base}/v1/tasks/events?ticket=${encodeURIComponent(s.ticket)}`, {
        headers: { Origin: origin },
        signal: AbortSignal.timeout(5000),
      });
      const problem = await direct.json().catch(() => null);
      assert.equal(direct.status, 401, JSON.stringify(problem));
      assert.equal(problem?.code, 'session_invalid', JSON.stringify(problem));
      // Without this header the refusal would be a network error to EventSource, which retries.
      assert.equal(direct.headers.get('access-control-allow-origin'), origin, 'the 401 carries no Access-Control-Allow-Origin');
      const before = eventRequests.length;
      await page.evaluate((ticket) => window.followWith(ticket), s.ticket);
      await page.waitForFunction(() => window.refusedStream?.readyState === EventSource.CLOSED, null, { timeout: 10_000 });
      // EventSource's retry delay is about 3 s: a loop would show within 6.
      await sleep(6_000);
      const seen = await live();
      const requests = eventRequests.length - before;
      console.log(`browser: used ticket: ${requests} request(s) in 6 s, EventSource ${JSON.stringify(seen.refused)}`);
      assert.equal(requests, 1, `EventSource asked ${requests} times`);
      assert.deepEqual(seen.refused, { opens: 0, errors: 1, states: [2] }, await show());
      assert.equal(await page.evaluate(() => window.refusedStream.readyState), 2);
      // The first stream is untouched.
      assert.equal(await page.evaluate(() => window.stream.readyState), 1);
    });

    await step('no token, refresh token or ticket in listo\'s log', async () => {
      const seen = await live();
      const log = fs.readFileSync(listo.logPath, 'utf8');
      for (const [what, secret] of [
        ['ticket', s.ticket],
        ['first access token', seen.firstAccess],
        ['first refresh token', seen.firstRefresh],
        ['access token', seen.mintedWith],
      ]) {
        assert.ok(secret && secret.length >= 16, `no ${what} to look for`);
        assert.ok(!log.includes(secret), `the ${what} is in ${listo.logPath}`);
      }
    }, { gate: false });
  } finally {
    await page.evaluate(() => (window.stream?.close(), window.refusedStream?.close())).catch(() => {});
    await context.close();
    await listo.stop();
    await served.close();
  }
});

loopbackOnly();
