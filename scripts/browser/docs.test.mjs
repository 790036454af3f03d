// Real-browser test of listo (Debian's chromium driven by playwright-core), run by run.sh:
//   1. Swagger UI at /docs: "Try it out" + Execute with the prefilled examples, as a person would,
//      1-3 s between actions, with listo at its default 30 s session TTL (register 201, login 202,
//      verify 200 with the emailed code, Authorize, create_task 201; list_tasks, which comes after
//      the 30 s at that pace, 401 session_expired, then refresh with the refresh_token, Authorize
//      again, list_tasks 200 showing the task), after checking the order and texts a person meets first: the sign-in tag first,
//      register, login, verify, refresh; the description's outbox and TTL; the Authorize text.
//      Every status and body is read from what Swagger UI renders in the page
//      (.responses-wrapper .live-responses-table), never from a fetch of our own.
//   2. Swagger UI, the Account operations: after the same sign-in, list_sessions 200 (this browser's
//      one session), change_password 204 and request_password_reset 202 with their prefilled
//      bodies unchanged, confirm_password_reset 204 with the emailed code, then list_sessions 401
//      session_revoked (a reset ends every session), as Swagger UI renders them.
//   3. Swagger UI, the Lists operations: after the same sign-in, list_lists 200 (the default list,
//      "Tasks"), create_list 201 with its prefilled body ("Groceries"), create_list_task 201 into
//      that list (its id typed in the path, the prefilled body), list_list_tasks 200 showing the
//      task, update_task 200 with the body {"list_id": <the default list>} (the move), then
//      list_tasks 200 showing it in the default list and list_lists 200 with Groceries' task_count
//      0, as Swagger UI renders them.
//   In all three, /docs is served with a Content-Security-Policy (script hashes, frame-ancestors
//   'none') and X-Frame-Options: DENY: the first story checks the headers, all check that no CSP
//   violation was reported while the page loaded and worked (securitypolicyviolation events,
//   listened for from before the page's scripts run, and Chromium's console lines naming the
//   Content Security Policy; checked even when an earlier step failed), and the first then adds
//   an inline script to the page, which must be refused and seen both ways (so that "none
//   reported" cannot pass for want of a listener).
// Each story starts its own listo (fresh database and outbox in BROWSER_WORK) and stops it.
// Only loopback is ever contacted; chromium cannot resolve any other host name.
//
//   LISTO_BIN=target/release/listo BROWSER_WORK=$(mktemp -d) node --test --test-reporter=spec scripts/browser/docs.test.mjs
// (helpers in support.mjs; CORS is cors.test.mjs, the refresh and EventSource page live.test.mjs)
import { test } from 'node:test';
import assert from 'node:assert/strict';
import path from 'node:path';
import { codeFromOutbox, loopbackOnly, newPage, startListo, storySteps } from './support.mjs';

/** Console lines in which Chromium reports a Content-Security-Policy refusal. */
const cspConsoleLines = (consoleLines) => consoleLines.filter((l) => /Content[ -]Security[ -]Policy/i.test(l));

/** The directives of a Content-Security-Policy header: name -> list of sources. */
function cspDirectives(header) {
  const directives = new Map();
  for (const part of (header ?? '').split(';')) {
    const [name, ...sources] = part.trim().split(/\s+/);
    if (name) directives.set(name.toLowerCase(), sources);
  }
  return directives;
}

/**
 * The two CSP steps of a Swagger UI story, once the page has loaded and been used: no violation
 * was reported (events or console) and, with `canary`, that this would have been seen: an
 * inline script added to the page is refused, and both reports of it arrive.
 */
async function cspSteps(step, page, consoleLines, cspViolations, { canary = false } = {}) {
  await step('no Content-Security-Policy violation while the page loaded and worked', async () => {
    // A report is an event in the page: let any still on its way arrive.
    await page.evaluate(() => new Promise((resolve) => setTimeout(resolve, 250)));
    const lines = cspConsoleLines(consoleLines);
    console.log(`browser: CSP violations reported: ${cspViolations.length} events, ${lines.length} console lines`);
    assert.deepEqual(cspViolations, [], `securitypolicyviolation events:\n${JSON.stringify(cspViolations, null, 2)}`);
    assert.deepEqual(lines, [], 'console lines about the Content Security Policy');
  }, { gate: false, always: true }); // a policy that breaks the page shows here, named
  if (!canary) return;
  await step('the policy is enforced and its violations are seen: an added inline script is refused', async () => {
    const before = { events: cspViolations.length, lines: cspConsoleLines(consoleLines).length };
    const ran = await page.evaluate(async () => {
      const script = document.createElement('script');
      script.textContent = 'window.__listoCspCanary = true;';
      document.body.append(script);
      await new Promise((resolve) => setTimeout(resolve, 250));
      return window.__listoCspCanary === true;
    });
    assert.equal(ran, false, 'an inline script with no hash in the policy ran');
    const deadline = Date.now() + 5_000;
    while ((cspViolations.length === before.events || cspConsoleLines(consoleLines).length === before.lines) && Date.now() < deadline) {
      await new Promise((r) => setTimeout(r, 50));
    }
    const event = cspViolations[before.events];
    assert.ok(event, 'the refused script raised no securitypolicyviolation event: the listener sees nothing');
    assert.match(event.directive, /^script-src/, JSON.stringify(event));
    assert.ok(cspConsoleLines(consoleLines).length > before.lines, 'Chromium logged no Content Security Policy line');
    console.log(`browser: canary refused: ${JSON.stringify(event)}`);
  }, { gate: false });
}

// ---------------------------------------------------------------------------------------------
// Swagger UI (selectors of Swagger UI 5's DOM)

const opBlock = (page, tag, operationId) => page.locator(`#operations-${tag}-${operationId}`);

// A person's pace: pages in `pacedPages` wait 1-3 s before each click or paste, as someone
// reading the page would (the Swagger story at the default 30 s TTL; issue 23 measured 33.8 s
// from verify to the list call at 3 s per action before refresh tokens).
const PACES_MS = [1500, 2500, 1000, 3000, 2000];
const pacedPages = new WeakSet();
let paces = 0;
async function think(locatorOrPage) {
  const page = typeof locatorOrPage.page === 'function' ? locatorOrPage.page() : locatorOrPage;
  if (pacedPages.has(page)) await page.waitForTimeout(PACES_MS[paces++ % PACES_MS.length]);
}

async function tryItOut(block) {
  await block.scrollIntoViewIfNeeded();
  if (!(await block.evaluate((el) => el.classList.contains('is-open')))) {
    await think(block);
    await block.locator('.opblock-summary-control').click();
  }
  await think(block);
  await block.locator('.try-out__btn').click();
  await block.locator('.execute-wrapper button.execute').waitFor();
}

async function prefilledBody(block) {
  const text = await block.locator('textarea.body-param__text').inputValue();
  let json;
  try {
    json = JSON.parse(text);
  } catch {
    assert.fail(`the prefilled body is not JSON:\n${text}`);
  }
  return { text, json };
}

/** Presses Execute and reads the live response Swagger UI renders: status, body text, JSON, headers. */
async function execute(block) {
  await think(block);
  await block.locator('.execute-wrapper button.execute').click();
  const row = block.locator('.responses-wrapper .live-responses-table tbody tr.response').first();
  await row.waitFor();
  const statusText = (await row.locator('.response-col_status').textContent()).trim();
  const bodyEl = row.locator('.response-col_description .highlight-code pre');
  const body = (await bodyEl.count()) ? (await bodyEl.first().textContent()).trim() : '';
  let json = null;
  try {
    json = JSON.parse(body);
  } catch {}
  const headerLines = await row.locator('.headerline').allTextContents();
  const requestUrl = (await block.locator('.request-url pre').textContent().catch(() => ''))?.trim();
  const description = (await row.locator('.response-col_description').textContent()).trim();
  const match = statusText.match(/^(\d{3})/);
  return {
    status: match ? Number(match[1]) : NaN,
    statusText,
    body,
    json,
    headers: headerLines.map((h) => h.trim()),
    requestUrl,
    describe: () => `Swagger UI shows ${statusText} for ${requestUrl}:\n${body || description}`,
  };
}

/**
 * Signs in as a person would in Swagger UI, as steps of the story: register and login with their
 * prefilled bodies, verify with the emailed code, then Authorize with the token. Leaves
 * state.email, state.challengeId and state.token.
 */
async function swaggerSignIn(step, page, listo, state) {
  await step('register: Execute the prefilled body unchanged -> 201', async () => {
    const block = step.focus(opBlock(page, 'Auth', 'register'));
    await tryItOut(block);
    const { text, json } = await prefilledBody(block);
    console.log(`browser: register example: ${JSON.stringify(json)}`);
    const res = await execute(block);
    assert.equal(res.status, 201, `prefilled register body ${text}\n${res.describe()}`);
    assert.equal(res.json?.email, json.email, res.describe());
  });

  await step('login: Execute the prefilled body unchanged -> 202', async () => {
    const block = step.focus(opBlock(page, 'Auth', 'login'));
    await tryItOut(block);
    const { text, json } = await prefilledBody(block);
    console.log(`browser: login example: ${JSON.stringify(json)}`);
    const res = await execute(block);
    assert.equal(res.status, 202, `prefilled login body ${text}\n${res.describe()}`);
    assert.match(res.json?.challenge_id ?? '', /\S/, res.describe());
    state.email = json.email;
    state.challengeId = res.json.challenge_id;
  });

  await step('verify: prefilled body with the emailed code -> 200', async () => {
    const { code, file } = await codeFromOutbox(listo.outbox, state.email, 'sign-in');
    console.log(`browser: code ${code.replace(/\d/g, '#')} read from ${path.basename(file)}`);
    const block = step.focus(opBlock(page, 'Auth', 'verify'));
    await tryItOut(block);
    const { text, json } = await prefilledBody(block);
    console.log(`browser: verify example: ${JSON.stringify(json)}`);
    assert.deepEqual(Object.keys(json).sort(), ['challenge_id', 'code'], `verify example ${text}`);
    assert.match(String(json.code), /^\d{6}$/, `the verify example's code is not 6 digits: ${text}`);
    const body = { ...json, code };
    if (json.challenge_id !== state.challengeId) {
      // The example cannot know the challenge login just issued: that one field is replaced too.
      console.log(`browser: verify: example challenge_id ${JSON.stringify(json.challenge_id)} replaced by the one login returned`);
      body.challenge_id = state.challengeId;
    }
    await think(block);
    await block.locator('textarea.body-param__text').fill(JSON.stringify(body, null, 2));
    const res = await execute(block);
    state.verifiedAt = Date.now();
    assert.equal(res.status, 200, res.describe());
    assert.match(res.json?.access_token ?? '', /\S{16,}/, res.describe());
    assert.equal(res.json?.token_type, 'Bearer', res.describe());
    state.token = res.json.access_token;
    state.refreshToken = res.json.refresh_token;
    state.expiresIn = res.json.expires_in;
    console.log(`browser: verify: expires_in ${res.json.expires_in} s, refresh_token ${res.json.refresh_token ? 'present' : 'absent'}`);
  });

  await step('Authorize: the dialog says to paste the access_token from verify; paste it', async () => {
    await think(page);
    await page.locator('.auth-wrapper button.authorize').click();
    const modal = step.focus(page.locator('.dialog-ux .modal-ux'));
    await modal.waitFor();
    // The bearer scheme's description (src/api/document.rs) says what to paste.
    const text = await modal.textContent();
    console.log(`browser: the Authorize dialog says: ${text.replace(/\s+/g, ' ').trim()}`);
    assert.match(text, /Paste the access_token from POST \/v1\/auth\/verify/);
    await pasteToken(page, modal, state.token);
  });
}

/** In the open Authorize dialog: paste `token`, Authorize, Close; the locks show locked. */
async function pasteToken(page, modal, token) {
  await think(page);
  await modal.locator('input#auth-bearer-value').fill(token);
  await think(page);
  await modal.locator('button[aria-label="Apply credentials"]').click();
  await modal.locator('button[aria-label="Remove authorization"]').waitFor(); // the "Logout" button: authorized
  await think(page);
  await modal.locator('button.btn-done').click();
  await modal.waitFor({ state: 'detached' });
  const lock = opBlock(page, 'Tasks', 'create_task').locator('.authorization__btn');
  assert.equal(await lock.getAttribute('aria-label'), 'authorization button locked');
}

/**
 * What a person does when the 30 s are over: refresh (POST /v1/auth/refresh) with the
 * refresh_token verify answered, then Authorize again (Logout, paste the new access_token).
 */
async function swaggerRefresh(step, page, state) {
  const block = step.focus(opBlock(page, 'Auth', 'refresh'));
  await tryItOut(block);
  const { text, json } = await prefilledBody(block);
  console.log(`browser: refresh example: ${JSON.stringify(json)}`);
  assert.deepEqual(Object.keys(json), ['refresh_token'], `refresh example ${text}`);
  await think(block);
  await block.locator('textarea.body-param__text').fill(JSON.stringify({ refresh_token: state.refreshToken }, null, 2));
  const res = await execute(block);
  assert.equal(res.status, 200, res.describe());
  assert.match(res.json?.access_token ?? '', /\S{16,}/, res.describe());
  assert.notEqual(res.json.access_token, state.token, 'refresh answered the same access token');
  assert.notEqual(res.json.refresh_token, state.refreshToken, 'refresh answered the same refresh token');
  state.token = res.json.access_token;
  state.refreshToken = res.json.refresh_token;
  state.verifiedAt = Date.now();
  await think(page);
  await page.locator('.auth-wrapper button.authorize').click();
  const modal = step.focus(page.locator('.dialog-ux .modal-ux'));
  await modal.waitFor();
  await think(page);
  await modal.locator('button[aria-label="Remove authorization"]').click();
  await pasteToken(page, modal, state.token);
}

/**
 * Executes an operation again: Clear drops the response shown (so that the one read is new, and
 * Execute is back where execute() looks for it), then as execute().
 */
async function executeAgain(block) {
  const clear = block.locator('button.btn-clear');
  if (await clear.isVisible()) {
    await clear.click();
    await block.locator('.responses-wrapper .live-responses-table').waitFor({ state: 'detached' });
  }
  if (!(await block.locator('.execute-wrapper button.execute').isVisible())) await tryItOut(block);
  return execute(block);
}

test('Swagger UI: try it out with the prefilled examples, at a person\'s pace and the default 30 s TTL', { timeout: 240_000 }, async (t) => {
  const listo = await startListo('swagger'); // no LISTO_SESSION_TTL: the default 30 s
  const { context, page, consoleLines, cspViolations } = await newPage();
  pacedPages.add(page);
  const step = storySteps(t, page, listo);
  const state = {};
  const sinceVerify = () => `${((Date.now() - state.verifiedAt) / 1000).toFixed(1)} s after the access token was issued`;
  try {
    await step('GET /docs renders every operation', async () => {
      const res = await page.goto(`${listo.base}/docs`);
      assert.equal(res.status(), 200);
      state.docsHeaders = await res.allHeaders();
      for (const [tag, id] of [
        ['Auth', 'register'],
        ['Auth', 'login'],
        ['Auth', 'verify'],
        ['Tasks', 'create_task'],
        ['Tasks', 'list_tasks'],
      ]) {
        await opBlock(page, tag, id).waitFor();
      }
    });

    await step('the page reads in the order a person works: the sign-in tag first, register login verify refresh', async () => {
      const tags = await page.locator('h3.opblock-tag').evaluateAll((els) => els.map((el) => el.dataset.tag));
      console.log(`browser: tags in order: ${tags.join(', ')}`);
      assert.equal(tags[0], 'Auth', `tags in order: ${tags.join(', ')}`);
      const ops = await page.locator('#operations-tag-Auth').locator('xpath=..').locator('.opblock').evaluateAll((els) => els.map((el) => el.id));
      console.log(`browser: the first operations on the page: ${ops.slice(0, 5).join(', ')}`);
      assert.deepEqual(
        ops.slice(0, 4),
        ['operations-Auth-register', 'operations-Auth-login', 'operations-Auth-verify', 'operations-Auth-refresh'],
        ops.join(', '),
      );
      // The same order in the document itself (what generators and other viewers read).
      const doc = await (await fetch(`${listo.base}/openapi.json`, { signal: AbortSignal.timeout(5000) })).json();
      assert.deepEqual(Object.keys(doc.paths).slice(0, 4), ['/v1/auth/register', '/v1/auth/login', '/v1/auth/verify', '/v1/auth/refresh']);
    }, { gate: false });

    await step('the description says where codes go without SMTP (the outbox) and how long a session lasts', async () => {
      const about = step.focus(page.locator('.information-container .info'));
      const text = (await about.textContent()).replace(/\s+/g, ' ');
      console.log(`browser: the description says: ${text}`);
      assert.match(text, /LISTO_SMTP_URL/, 'the description does not name the SMTP setting');
      assert.match(text, /outbox/i, 'the description does not say codes go to the outbox');
      assert.match(text, /LISTO_OUTBOX/, 'the description does not name LISTO_OUTBOX');
      assert.match(text, /LISTO_SESSION_TTL/, 'the description does not name LISTO_SESSION_TTL');
      assert.match(text, /\b30\b[^.]*default|default[^.]*\b30\b/, 'the description does not say a session lasts 30 s by default');
    }, { gate: false });

    await step('GET /docs sends a Content-Security-Policy and X-Frame-Options: DENY', async () => {
      const header = state.docsHeaders['content-security-policy'];
      assert.ok(header, `no Content-Security-Policy on /docs: ${JSON.stringify(state.docsHeaders)}`);
      console.log(`browser: /docs Content-Security-Policy: ${header}`);
      const csp = cspDirectives(header);
      assert.deepEqual(csp.get('frame-ancestors'), ["'none'"], header);
      const scripts = csp.get('script-src') ?? [];
      assert.ok(scripts.length > 0, `no script-src: ${header}`);
      for (const source of scripts) assert.match(source, /^'sha256-[A-Za-z0-9+/]+={0,2}'$/, `script-src allows more than hashes: ${header}`);
      // As many hashes as the page has inline scripts: each of them runs by its own hash.
      const inline = await page.evaluate(() => [...document.scripts].filter((el) => !el.src).length);
      assert.equal(scripts.length, inline, `${inline} inline scripts, ${scripts.length} hashes: ${header}`);
      assert.deepEqual(csp.get('connect-src'), ["'self'"], header);
      assert.equal(state.docsHeaders['x-frame-options'], 'DENY');
    }, { gate: false });

    await step('public operations show no lock, signed-in ones do', async () => {
      for (const id of ['register', 'login', 'verify']) {
        assert.equal(await opBlock(page, 'Auth', id).locator('.authorization__btn').count(), 0, `${id} shows a lock`);
      }
      for (const id of ['create_task', 'list_tasks']) {
        assert.equal(await opBlock(page, 'Tasks', id).locator('.authorization__btn').count(), 1, `${id} shows no lock`);
      }
    }, { gate: false });

    await swaggerSignIn(step, page, listo, state);

    await step('create_task: Execute the prefilled body unchanged -> 201', async () => {
      const block = step.focus(opBlock(page, 'Tasks', 'create_task'));
      await tryItOut(block);
      const { text, json } = await prefilledBody(block);
      console.log(`browser: create_task example: ${JSON.stringify(json)}`);
      const res = await execute(block);
      console.log(`browser: create_task answered ${res.status}, ${sinceVerify()}`);
      assert.equal(res.status, 201, `prefilled create_task body ${text}\n${res.describe()}`);
      for (const field of ['date', 'task', 'status']) {
        assert.equal(res.json?.[field], json[field], `${field}: ${res.describe()}`);
      }
      assert.ok(Number.isInteger(res.json?.id), res.describe());
      state.task = res.json;
    });

    await step('list_tasks: parameters prefilled page=1, per_page=20', async () => {
      const block = step.focus(opBlock(page, 'Tasks', 'list_tasks'));
      await tryItOut(block);
      const value = (name) => block.locator(`tr[data-param-name="${name}"][data-param-in="query"] input`).inputValue();
      state.listParams = { page: await value('page'), per_page: await value('per_page') };
      console.log(`browser: list_tasks prefilled parameters: ${JSON.stringify(state.listParams)}`);
      assert.deepEqual(state.listParams, { page: '1', per_page: '20' });
    }, { gate: false });

    await step('list_tasks: Execute at a person\'s pace -> 200, or 401 session_expired once the 30 s are over', async () => {
      const block = step.focus(opBlock(page, 'Tasks', 'list_tasks'));
      if (!(await block.locator('.execute-wrapper button.execute').isVisible())) await tryItOut(block);
      const res = await execute(block);
      console.log(`browser: list_tasks answered ${res.status}${res.json?.code ? ` ${res.json.code}` : ''}, ${sinceVerify()}`);
      state.listed = res;
      if (res.status === 401) {
        assert.equal(res.json?.code, 'session_expired', res.describe());
        assert.ok(Date.now() - state.verifiedAt >= 29_000, `401 before the 30 s were over (${sinceVerify()}): ${res.describe()}`);
      } else {
        assert.equal(res.status, 200, res.describe());
      }
    });

    await step('refresh: when the 30 s ran out, paste the refresh_token from verify -> 200, Authorize with the new access_token', async () => {
      if (state.listed?.status !== 401) {
        console.log('browser: refresh not needed: list_tasks answered within the 30 s');
        return;
      }
      await swaggerRefresh(step, page, state);
    });

    await step('list_tasks: the task created is on the page Swagger UI shows (200)', async () => {
      const block = step.focus(opBlock(page, 'Tasks', 'list_tasks'));
      const res = state.listed?.status === 200 ? state.listed : await executeAgain(block);
      if (res !== state.listed) console.log(`browser: list_tasks after the refresh answered ${res.status}, ${sinceVerify()}`);
      assert.equal(res.status, 200, res.describe());
      const shown = res.json?.items?.find((item) => item.id === state.task.id);
      assert.ok(shown, `task ${state.task.id} is not on the page Swagger UI shows:\n${res.describe()}`);
      assert.equal(shown.task, state.task.task);
      if (state.listParams?.page) assert.match(res.requestUrl, new RegExp(`[?&]page=${state.listParams.page}(&|$)`));
      if (state.listParams?.per_page) assert.match(res.requestUrl, new RegExp(`[?&]per_page=${state.listParams.per_page}(&|$)`));
    });

    await cspSteps(step, page, consoleLines, cspViolations, { canary: true });
  } finally {
    if (consoleLines.some((l) => l.startsWith('error') || l.startsWith('pageerror'))) {
      console.log(`browser: /docs console:\n  ${consoleLines.join('\n  ')}`);
    }
    if (cspViolations.length) {
      console.log(`browser: /docs CSP violations (a canary's included):\n  ${cspViolations.map((v) => JSON.stringify(v)).join('\n  ')}`);
    }
    await context.close();
    const exit = await listo.stop();
    console.log(`browser: listo (swagger) stopped: ${JSON.stringify(exit)}`);
  }
});

const ACCOUNT_PUBLIC = ['request_password_reset', 'confirm_password_reset'];
const ACCOUNT_SIGNED_IN = ['change_password', 'list_sessions', 'end_session', 'delete_account'];

test('Swagger UI: the Account operations with the prefilled examples', { timeout: 240_000 }, async (t) => {
  const listo = await startListo('swagger-account', { LISTO_SESSION_TTL: '600' });
  const { context, page, consoleLines, cspViolations } = await newPage();
  const step = storySteps(t, page, listo);
  const state = {};
  // The session list Swagger UI shows now: asserts 200 and returns the items.
  const listSessions = async () => {
    const res = await executeAgain(step.focus(opBlock(page, 'Account', 'list_sessions')));
    assert.equal(res.status, 200, res.describe());
    assert.ok(Array.isArray(res.json?.items), res.describe());
    return { res, items: res.json.items };
  };
  try {
    await step('GET /docs renders every Account operation', async () => {
      const res = await page.goto(`${listo.base}/docs`);
      assert.equal(res.status(), 200);
      for (const id of [...ACCOUNT_PUBLIC, ...ACCOUNT_SIGNED_IN]) {
        await opBlock(page, 'Account', id).waitFor();
      }
    });

    await step('the reset operations show no lock, the others do', async () => {
      const locks = (id) => opBlock(page, 'Account', id).locator('.authorization__btn').count();
      for (const id of ACCOUNT_PUBLIC) assert.equal(await locks(id), 0, `${id} shows a lock`);
      for (const id of ACCOUNT_SIGNED_IN) assert.equal(await locks(id), 1, `${id} shows no lock`);
    }, { gate: false });

    await swaggerSignIn(step, page, listo, state);

    await step('list_sessions: Execute -> 200 with this browser\'s one session, current', async () => {
      const { res, items } = await listSessions();
      assert.equal(items.length, 1, res.describe());
      const [mine] = items;
      assert.equal(mine.current, true, res.describe());
      assert.match(mine.id, /^[A-Za-z0-9_-]{1,64}$/, res.describe());
      assert.ok(!state.token.includes(mine.id), 'the session id is part of the token');
      assert.match(mine.user_agent ?? '', /Chrome/, `the session's user_agent is not the browser's: ${res.describe()}`);
      assert.equal(mine.address, '127.0.0.1', res.describe());
      // A session listed is a sign-in: it lasts as long as its refresh token (LISTO_REFRESH_TTL,
      // 14 days by default), not the 600 s of one access token.
      assert.ok(mine.expires_in > 600 && mine.expires_in <= 1_209_600, res.describe());
      assert.ok(Date.parse(mine.last_used_at) > 0, res.describe());
      state.sessionId = mine.id;
    });

    await step('change_password: Execute the prefilled body unchanged -> 204, this session lives on', async () => {
      const block = step.focus(opBlock(page, 'Account', 'change_password'));
      await tryItOut(block);
      const { text, json } = await prefilledBody(block);
      console.log(`browser: change_password example: ${JSON.stringify(json)}`);
      const res = await execute(block);
      assert.equal(res.status, 204, `prefilled change_password body ${text}\n${res.describe()}`);
      state.password = json.new_password;
      const after = await listSessions();
      assert.deepEqual(after.items.map((s) => [s.id, s.current]), [[state.sessionId, true]], after.res.describe());
    });

    await step('request_password_reset: Execute the prefilled body unchanged -> 202', async () => {
      const block = step.focus(opBlock(page, 'Account', 'request_password_reset'));
      await tryItOut(block);
      const { text, json } = await prefilledBody(block);
      console.log(`browser: request_password_reset example: ${JSON.stringify(json)}`);
      assert.equal(json.email, state.email, `the reset example is not the account the register example made: ${text}`);
      const res = await execute(block);
      assert.equal(res.status, 202, `prefilled request_password_reset body ${text}\n${res.describe()}`);
      assert.match(res.json?.challenge_id ?? '', /\S/, res.describe());
      assert.ok(Date.parse(res.json?.expires_at) > Date.now(), res.describe());
      state.resetChallengeId = res.json.challenge_id;
    });

    await step('confirm_password_reset: prefilled body with the emailed code -> 204', async () => {
      const { code, file } = await codeFromOutbox(listo.outbox, state.email, 'password reset');
      console.log(`browser: reset code ${code.replace(/\d/g, '#')} read from ${path.basename(file)}`);
      const block = step.focus(opBlock(page, 'Account', 'confirm_password_reset'));
      await tryItOut(block);
      const { text, json } = await prefilledBody(block);
      console.log(`browser: confirm_password_reset example: ${JSON.stringify(json)}`);
      assert.deepEqual(Object.keys(json).sort(), ['challenge_id', 'code', 'new_password'], `confirm example ${text}`);
      // As for verify, the code and the challenge are the two fields no example can know.
      const body = { ...json, code, challenge_id: state.resetChallengeId };
      await block.locator('textarea.body-param__text').fill(JSON.stringify(body, null, 2));
      const res = await execute(block);
      assert.equal(res.status, 204, res.describe());
    });

    await step('list_sessions: Execute again -> 401 session_revoked (a reset ends every session)', async () => {
      const res = await executeAgain(step.focus(opBlock(page, 'Account', 'list_sessions')));
      assert.equal(res.status, 401, res.describe());
      assert.equal(res.json?.code, 'session_revoked', res.describe());
    });

    await cspSteps(step, page, consoleLines, cspViolations);
  } finally {
    if (consoleLines.some((l) => l.startsWith('error') || l.startsWith('pageerror'))) {
      console.log(`browser: /docs console:\n  ${consoleLines.join('\n  ')}`);
    }
    if (cspViolations.length) {
      console.log(`browser: /docs CSP violations (a canary's included):\n  ${cspViolations.map((v) => JSON.stringify(v)).join('\n  ')}`);
    }
    await context.close();
    const exit = await listo.stop();
    console.log(`browser: listo (swagger-account) stopped: ${JSON.stringify(exit)}`);
  }
});

const LISTS_OPERATIONS = [
  'list_lists',
  'create_list',
  'get_list',
  'rename_list',
  'delete_list',
  'create_list_task',
  'list_list_tasks',
  'sort_list_tasks',
  'list_feed',
  'follow_feed',
];

/**
 * Sets a parameter's field in an operation in "Try it out": returns the value Swagger UI
 * prefilled (the example), after typing `value` in its place when it differs.
 */
async function setParam(block, name, where, value) {
  const input = block.locator(`tr[data-param-name="${name}"][data-param-in="${where}"] input`);
  const prefilled = await input.inputValue();
  if (prefilled !== String(value)) {
    await think(block);
    await input.fill(String(value));
  }
  return prefilled;
}

test('Swagger UI: a list made, a task added to it and moved to the default list', { timeout: 240_000 }, async (t) => {
  const listo = await startListo('swagger-lists', { LISTO_SESSION_TTL: '600' });
  const { context, page, consoleLines, cspViolations } = await newPage();
  const step = storySteps(t, page, listo);
  const state = {};
  // The lists Swagger UI shows now (list_lists): asserts 200 and returns the items.
  const listLists = async () => {
    const res = await executeAgain(step.focus(opBlock(page, 'Lists', 'list_lists')));
    assert.equal(res.status, 200, res.describe());
    assert.ok(Array.isArray(res.json?.items), res.describe());
    return { res, items: res.json.items };
  };
  try {
    await step('GET /docs renders every Lists operation, each with a lock', async () => {
      const res = await page.goto(`${listo.base}/docs`);
      assert.equal(res.status(), 200);
      for (const id of LISTS_OPERATIONS) {
        const block = opBlock(page, 'Lists', id);
        await block.waitFor();
        assert.equal(await block.locator('.authorization__btn').count(), 1, `${id} shows no lock`);
      }
    });

    await swaggerSignIn(step, page, listo, state);

    await step('list_lists: Execute -> 200 with one list, the default "Tasks"', async () => {
      const { res, items } = await listLists();
      assert.equal(items.length, 1, res.describe());
      const [home] = items;
      assert.equal(home.name, 'Tasks', res.describe());
      assert.equal(home.default, true, res.describe());
      assert.equal(home.task_count, 0, res.describe());
      assert.equal(home.owner?.email, state.email, res.describe());
      state.home = home;
    });

    await step('create_list: Execute the prefilled body unchanged -> 201, the list "Groceries"', async () => {
      const block = step.focus(opBlock(page, 'Lists', 'create_list'));
      await tryItOut(block);
      // Nothing prefilled: Swagger UI sends an optional parameter's example as if typed, and one
      // fixed key in every keyed write made the second write a 422 idempotency_key_reused.
      const key = await block.locator('tr[data-param-name="Idempotency-Key"][data-param-in="header"] input').inputValue();
      assert.equal(key, '', `Idempotency-Key prefilled with ${JSON.stringify(key)}`);
      const { text, json } = await prefilledBody(block);
      console.log(`browser: create_list example: ${JSON.stringify(json)}`);
      assert.deepEqual(json, { name: 'Groceries' }, `create_list example ${text}`);
      const res = await execute(block);
      assert.equal(res.status, 201, `prefilled create_list body ${text}\n${res.describe()}`);
      assert.equal(res.json?.name, 'Groceries', res.describe());
      assert.equal(res.json?.default, false, res.describe());
      assert.equal(res.json?.task_count, 0, res.describe());
      assert.ok(Number.isInteger(res.json?.id) && res.json.id !== state.home.id, res.describe());
      assert.ok(res.headers.some((h) => /^location: .*\/v1\/lists\/\d+$/i.test(h)), `no Location shown: ${res.headers.join(' | ')}`);
      state.list = res.json;
    });

    await step('create_list_task: the new list\'s id, no Idempotency-Key, the prefilled body -> 201 in that list', async () => {
      const block = step.focus(opBlock(page, 'Lists', 'create_list_task'));
      await tryItOut(block);
      const example = await setParam(block, 'id', 'path', state.list.id);
      // The example id cannot know the list just made: a person types the id create_list showed.
      console.log(`browser: create_list_task: id example ${example}, list ${state.list.id}`);
      const key = await block.locator('tr[data-param-name="Idempotency-Key"][data-param-in="header"] input').inputValue();
      assert.equal(key, '', `Idempotency-Key prefilled with ${JSON.stringify(key)}`);
      const { text, json } = await prefilledBody(block);
      console.log(`browser: create_list_task example: ${JSON.stringify(json)}`);
      const res = await execute(block);
      assert.equal(res.status, 201, `prefilled create_list_task body ${text}\n${res.describe()}`);
      assert.ok(!res.headers.some((h) => /^idempotent-replayed:/i.test(h)), res.describe());
      assert.match(res.requestUrl, new RegExp(`/v1/lists/${state.list.id}/tasks$`), res.describe());
      for (const field of ['date', 'task', 'status']) {
        assert.equal(res.json?.[field], json[field], `${field}: ${res.describe()}`);
      }
      assert.equal(res.json?.list_id, state.list.id, res.describe());
      state.task = res.json;
    });

    await step('list_list_tasks: the list shows the task (200)', async () => {
      const block = step.focus(opBlock(page, 'Lists', 'list_list_tasks'));
      await tryItOut(block);
      await setParam(block, 'id', 'path', state.list.id);
      const res = await execute(block);
      assert.equal(res.status, 200, res.describe());
      assert.deepEqual(res.json?.items?.map((item) => item.id), [state.task.id], res.describe());
      assert.equal(res.json.items[0].list_id, state.list.id, res.describe());
    });

    await step('update_task: the task\'s id, body {"list_id": <the default list>} -> 200, the task is in the default list', async () => {
      const block = step.focus(opBlock(page, 'Tasks', 'update_task'));
      await tryItOut(block);
      const example = await setParam(block, 'id', 'path', state.task.id);
      console.log(`browser: update_task: id example ${example}, task ${state.task.id}`);
      // Nothing prefilled (a prefilled If-Match would be sent, 412 on anything edited since);
      // the person gives the task's ETag, which create_list_task showed.
      const etag = `"${state.task.version}"`;
      const ifMatch = await setParam(block, 'If-Match', 'header', etag);
      assert.equal(ifMatch, '', `If-Match prefilled with ${ifMatch}`);
      const { json } = await prefilledBody(block);
      console.log(`browser: update_task example: ${JSON.stringify(json)}; the person sends {"list_id": ${state.home.id}} instead`);
      await think(block);
      await block.locator('textarea.body-param__text').fill(JSON.stringify({ list_id: state.home.id }, null, 2));
      const res = await execute(block);
      assert.equal(res.status, 200, res.describe());
      assert.equal(res.json?.id, state.task.id, res.describe());
      assert.equal(res.json?.list_id, state.home.id, res.describe());
      assert.equal(res.json?.task, state.task.task, res.describe());
      assert.ok(res.json.version > state.task.version, res.describe());
    });

    await step('list_tasks: the default list shows the task moved (200)', async () => {
      const block = step.focus(opBlock(page, 'Tasks', 'list_tasks'));
      await tryItOut(block);
      const res = await execute(block);
      assert.equal(res.status, 200, res.describe());
      const shown = res.json?.items?.find((item) => item.id === state.task.id);
      assert.ok(shown, `task ${state.task.id} is not in the default list Swagger UI shows:\n${res.describe()}`);
      assert.equal(shown.list_id, state.home.id, res.describe());
    });

    await step('list_lists: Execute again -> Groceries holds no task now, the default list one', async () => {
      const { res, items } = await listLists();
      assert.deepEqual(items.map((l) => [l.id, l.name, l.task_count]), [
        [state.home.id, 'Tasks', 1],
        [state.list.id, 'Groceries', 0],
      ], res.describe());
    });

    await cspSteps(step, page, consoleLines, cspViolations);
  } finally {
    if (consoleLines.some((l) => l.startsWith('error') || l.startsWith('pageerror'))) {
      console.log(`browser: /docs console:\n  ${consoleLines.join('\n  ')}`);
    }
    if (cspViolations.length) {
      console.log(`browser: /docs CSP violations:\n  ${cspViolations.map((v) => JSON.stringify(v)).join('\n  ')}`);
    }
    await context.close();
    const exit = await listo.stop();
    console.log(`browser: listo (swagger-lists) stopped: ${JSON.stringify(exit)}`);
  }
});

loopbackOnly();
