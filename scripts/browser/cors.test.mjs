// Real-browser test of listo (run by run.sh): CORS. A page served from another loopback origin
// calls listo with fetch. With the page's origin in LISTO_CORS_ORIGINS the page reads every status
// (and the exposed headers); with LISTO_CORS_ORIGINS unset, or naming another origin, the browser
// refuses (TypeError). Each case starts its own listo.
//
//   LISTO_BIN=target/debug/listo BROWSER_WORK=$(mktemp -d) node --test --test-reporter=spec scripts/browser/cors.test.mjs
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { codeFromOutbox, loopbackOnly, newPage, servePages, startListo, storySteps } from './support.mjs';

// On load the page registers (a JSON POST: preflighted) and reads the session with an
// Authorization header (preflighted), then shows what its script could read. window.call is the
// same fetch wrapper, for the test's further calls from that origin.
const CORS_PAGE = `<!doctype html>
<meta charset="utf-8">
<title>listo CORS probe</title>
<h1>listo CORS probe</h1>
<pre id="out">running…</pre>
<script>
const api = new URLSearchParams(location.search).get('api');
window.call = async (method, path, { headers = {}, body } = {}) => {
  try {
    const res = await fetch(api + path, {
      method,
      headers,
      body: body === undefined ? undefined : JSON.stringify(body),
    });
    const text = await res.text();
    let json = null;
    try { json = JSON.parse(text); } catch {}
    const seen = {};
    for (const name of ['content-type', 'location', 'etag', 'retry-after', 'www-authenticate', 'x-request-id']) {
      seen[name] = res.headers.get(name);
    }
    return { ok: true, status: res.status, json, headers: seen };
  } catch (err) {
    return { ok: false, error: err.name + ': ' + err.message };
  }
};
(async () => {
  const results = {};
  results.register = await call('POST', '/v1/auth/register', {
    headers: { 'Content-Type': 'application/json' },
    body: { email: 'cors@example.com', password: 'correct horse battery' },
  });
  results.session = await call('GET', '/v1/auth/session', {
    headers: { Authorization: 'Bearer not-a-live-session-token' },
  });
  window.results = results;
  document.getElementById('out').textContent = JSON.stringify(results, null, 2);
})();
</script>
`;

test('CORS: a page on another origin calls the API', { timeout: 240_000 }, async (t) => {
  const served = await servePages({ '/': CORS_PAGE });
  const { origin } = served;
  console.log(`browser: CORS page served at ${origin}`);
  try {
    /** Loads the page against `listo`, waits for its on-load calls, returns their results. */
    const loadPage = async (page, listo) => {
      await page.goto(`${origin}/?api=${encodeURIComponent(listo.base)}`);
      await page.waitForFunction(() => window.results !== undefined);
      return page.evaluate(() => window.results);
    };
    const call = (page, method, p, opts) => page.evaluate(([m, p2, o]) => window.call(m, p2, o), [method, p, opts]);

    await t.test('origin listed in LISTO_CORS_ORIGINS: the page reads every answer', { timeout: 120_000 }, async (t2) => {
      // A low per-email limit so that a 429 (and its Retry-After) is two requests away.
      const listo = await startListo('cors-listed', { LISTO_CORS_ORIGINS: origin, LISTO_LOGIN_LIMIT_PER_EMAIL: '3', LISTO_SESSION_TTL: '600' });
      const { context, page, consoleLines } = await newPage();
      const step = storySteps(t2, page, listo);
      const s = {};
      const show = (r) => `${JSON.stringify(r)}\nconsole:\n  ${consoleLines.join('\n  ')}`;
      try {
        await step('POST /v1/auth/register with JSON (preflighted) -> 201 readable', async () => {
          s.results = await loadPage(page, listo);
          assert.equal(s.results.register.ok, true, show(s.results.register));
          assert.equal(s.results.register.status, 201, show(s.results.register));
          assert.equal(s.results.register.json?.email, 'cors@example.com');
        });
        await step('GET /v1/auth/session with Authorization (preflighted) -> 401 problem readable', async () => {
          const r = s.results.session;
          assert.equal(r.ok, true, show(r));
          assert.equal(r.status, 401, show(r));
          assert.match(r.json?.code ?? '', /^session_/, show(r));
        }, { gate: false });
        await step('login 202, verify 200 from the page', async () => {
          const login = await call(page, 'POST', '/v1/auth/login', {
            headers: { 'Content-Type': 'application/json' },
            body: { email: 'cors@example.com', password: 'correct horse battery' },
          });
          assert.equal(login.status, 202, show(login));
          const { code } = await codeFromOutbox(listo.outbox, 'cors@example.com');
          const verify = await call(page, 'POST', '/v1/auth/verify', {
            headers: { 'Content-Type': 'application/json' },
            body: { challenge_id: login.json.challenge_id, code },
          });
          assert.equal(verify.status, 200, show(verify));
          s.token = verify.json.access_token;
        });
        await step('POST /v1/tasks with Idempotency-Key -> 201, Location exposed', async () => {
          const r = await call(page, 'POST', '/v1/tasks', {
            headers: {
              Authorization: `Bearer ${s.token}`,
              'Content-Type': 'application/json',
              'Idempotency-Key': `browser-${Date.now()}`,
            },
            body: { date: '2026-11-24', task: 'Swimming for one hour', status: 'Incomplete' },
          });
          assert.equal(r.ok, true, `Idempotency-Key not allowed by the preflight? ${show(r)}`);
          assert.equal(r.status, 201, show(r));
          assert.match(r.headers.location ?? '', new RegExp(`/v1/tasks/${r.json.id}$`), `Location not exposed: ${show(r)}`);
          s.task = r.json;
        });
        await step('GET /v1/tasks/{id} -> 200, ETag exposed when listo sends one', async () => {
          const r = await call(page, 'GET', `/v1/tasks/${s.task.id}`, { headers: { Authorization: `Bearer ${s.token}` } });
          assert.equal(r.status, 200, show(r));
          // What the server sends, seen without a browser: the page must see the same ETag.
          const direct = await fetch(`${listo.base}/v1/tasks/${s.task.id}`, {
            headers: { Authorization: `Bearer ${s.token}` },
            signal: AbortSignal.timeout(5000),
          });
          s.etag = direct.headers.get('etag');
          console.log(`browser: listo sends ETag ${JSON.stringify(s.etag)}; the page reads ${JSON.stringify(r.headers.etag)}`);
          assert.equal(r.headers.etag, s.etag, `ETag not exposed: ${show(r)}`);
        }, { gate: false });
        await step('the response names ETag, Location, Retry-After in Access-Control-Expose-Headers', async () => {
          // listo sends no ETag today, so the page cannot show that one is exposed: read the
          // header list itself (outside the browser) on the same request the page made.
          const direct = await fetch(`${listo.base}/v1/tasks/${s.task.id}`, {
            headers: { Authorization: `Bearer ${s.token}`, Origin: origin },
            signal: AbortSignal.timeout(5000),
          });
          const exposed = (direct.headers.get('access-control-expose-headers') ?? '').toLowerCase().split(/\s*,\s*/);
          for (const name of ['etag', 'location', 'retry-after']) {
            assert.ok(exposed.includes(name), `${name} not in Access-Control-Expose-Headers: ${JSON.stringify(exposed)}`);
          }
        }, { gate: false });
        await step('PATCH /v1/tasks/{id} with If-Match -> allowed by the preflight', async () => {
          const r = await call(page, 'PATCH', `/v1/tasks/${s.task.id}`, {
            headers: { Authorization: `Bearer ${s.token}`, 'Content-Type': 'application/json', 'If-Match': s.etag ?? '*' },
            body: { status: 'Completed' },
          });
          assert.equal(r.ok, true, `If-Match not allowed by the preflight? ${show(r)}`);
          if (s.etag) assert.equal(r.status, 200, show(r));
          else assert.ok(r.status >= 200 && r.status < 500, show(r));
        }, { gate: false });
        await step('429 from the page: status and Retry-After readable', async () => {
          let r;
          for (let i = 0; i < 6; i++) {
            r = await call(page, 'POST', '/v1/auth/login', {
              headers: { 'Content-Type': 'application/json' },
              body: { email: 'limit@example.com', password: 'not the password' },
            });
            if (!r.ok || r.status === 429) break;
          }
          assert.equal(r.ok, true, show(r));
          assert.equal(r.status, 429, show(r));
          assert.match(r.headers['retry-after'] ?? '', /^\d+$/, `Retry-After not exposed: ${show(r)}`);
        }, { gate: false });
      } finally {
        await context.close();
        await listo.stop();
      }
    });

    for (const [label, name, env] of [
      ['LISTO_CORS_ORIGINS unset', 'cors-unset', {}],
      // Same host and port by another name: another origin, which must not pass.
      ['LISTO_CORS_ORIGINS naming another origin', 'cors-other', { LISTO_CORS_ORIGINS: origin.replace('127.0.0.1', 'localhost') }],
    ]) {
      await t.test(`${label}: the browser refuses (TypeError)`, { timeout: 60_000 }, async (t2) => {
        const listo = await startListo(name, env);
        const { context, page, consoleLines } = await newPage();
        const step = storySteps(t2, page, listo);
        try {
          await step('register and the Authorization GET both throw TypeError in the page', async () => {
            const results = await loadPage(page, listo);
            const show = `${JSON.stringify(results)}\nconsole:\n  ${consoleLines.join('\n  ')}`;
            for (const which of ['register', 'session']) {
              assert.equal(results[which].ok, false, `${which} was readable from ${origin}: ${show}`);
              assert.match(results[which].error, /^TypeError/, show);
            }
            const blocked = consoleLines.filter((l) => /CORS policy/.test(l));
            console.log(`browser: chromium: ${blocked[0] ?? '(no CORS console message)'}`);
            // listo itself is up: the refusal is the browser's.
            const ready = await fetch(`${listo.base}/readyz`, { signal: AbortSignal.timeout(5000) });
            assert.equal(ready.status, 200);
          });
        } finally {
          await context.close();
          await listo.stop();
        }
      });
    }
  } finally {
    await served.close();
  }
});

loopbackOnly();
