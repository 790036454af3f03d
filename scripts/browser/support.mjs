// Support for the real-browser tests of listo (scripts/browser/*.test.mjs, run by run.sh): the
// listo processes each story starts (fresh database and outbox under BROWSER_WORK), the codes in
// the outbox, the browser (Debian's chromium driven by playwright-core, loopback only), the steps
// of a story with a screenshot after each, and pages served from another loopback origin.
import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { spawn } from 'node:child_process';
import fs from 'node:fs';
import http from 'node:http';
import net from 'node:net';
import os from 'node:os';
import path from 'node:path';
import { chromium } from 'playwright-core';

const LISTO_BIN = path.resolve(process.env.LISTO_BIN ?? 'target/release/listo');
export const WORK = process.env.BROWSER_WORK ?? fs.mkdtempSync(path.join(os.tmpdir(), 'listo-browser-'));
export const SHOTS = path.join(WORK, 'screenshots');
const ACTION_TIMEOUT_MS = 15_000; // any one click / wait in the page
const STEP_TIMEOUT_MS = 60_000; // any one test step
const LOOPBACK = new Set(['127.0.0.1', 'localhost', '[::1]']);

// ---------------------------------------------------------------------------------------------
// listo processes

const children = new Set();
function killChildren() {
  for (const child of children) {
    try {
      child.kill('SIGKILL');
    } catch {}
  }
}
process.on('exit', killChildren);
for (const signal of ['SIGINT', 'SIGTERM']) {
  process.once(signal, () => {
    console.error(`browser: ${signal}: stopping listo and exiting`);
    killChildren();
    process.exit(1);
  });
}

async function freePort() {
  const server = net.createServer();
  await new Promise((resolve, reject) => server.once('error', reject).listen(0, '127.0.0.1', resolve));
  const { port } = server.address();
  await new Promise((resolve) => server.close(resolve));
  return port;
}

export function tail(file, lines = 25) {
  try {
    return fs.readFileSync(file, 'utf8').trimEnd().split('\n').slice(-lines).join('\n');
  } catch {
    return '(no log)';
  }
}

/** Starts listo with a fresh database and outbox under WORK/<name>; resolves once /readyz is 200. */
export async function startListo(name, extraEnv = {}) {
  const dir = path.join(WORK, name);
  fs.mkdirSync(dir, { recursive: true });
  const port = await freePort();
  const logPath = path.join(dir, 'listo.log');
  const outbox = path.join(dir, 'outbox');
  // A clean environment: no LISTO_* from the caller leaks into what is under test.
  const env = {
    PATH: process.env.PATH ?? '/usr/bin:/bin',
    HOME: process.env.HOME ?? '/root',
    RUST_LOG: 'info',
    LISTO_ADDR: `127.0.0.1:${port}`,
    LISTO_DATABASE: path.join(dir, 'listo.db'),
    LISTO_OUTBOX: outbox,
    // No LISTO_SESSION_TTL unless a story asks: the Swagger story runs at the default 30 s.
    ...extraEnv,
  };
  const log = fs.openSync(logPath, 'a');
  const child = spawn(LISTO_BIN, [], { env, stdio: ['ignore', log, log] });
  fs.closeSync(log);
  children.add(child);
  let exited = null;
  child.once('exit', (code, signal) => {
    exited = { code, signal };
    children.delete(child);
  });
  await new Promise((resolve, reject) => {
    child.once('spawn', resolve);
    child.once('error', reject);
  });
  fs.appendFileSync(path.join(WORK, 'listo.pids'), `${child.pid}\n`);
  const base = `http://127.0.0.1:${port}`;
  const deadline = Date.now() + 10_000;
  for (;;) {
    if (exited) {
      throw new Error(`listo (${name}) exited during start-up (${JSON.stringify(exited)}):\n${tail(logPath)}`);
    }
    try {
      const res = await fetch(`${base}/readyz`, { signal: AbortSignal.timeout(1000) });
      if (res.status === 200) break;
    } catch {}
    if (Date.now() > deadline) {
      child.kill('SIGKILL');
      throw new Error(`listo (${name}) not ready within 10 s:\n${tail(logPath)}`);
    }
    await new Promise((r) => setTimeout(r, 50));
  }
  const shown = Object.entries(extraEnv).map(([k, v]) => `${k}=${v}`).join(' ');
  console.log(`browser: listo (${name}) ready at ${base}${shown ? ` with ${shown}` : ' (default settings)'}`);
  return {
    name,
    base,
    outbox,
    logPath,
    async stop() {
      if (exited) return exited;
      const done = new Promise((resolve) => child.once('exit', (code, signal) => resolve({ code, signal })));
      child.kill('SIGTERM');
      const timer = setTimeout(() => child.kill('SIGKILL'), 12_000);
      const result = await done;
      clearTimeout(timer);
      return result;
    },
  };
}

/**
 * The 6-digit code in the newest .eml in the outbox addressed to `email` (waits up to 5 s); with
 * `purpose` ('sign-in', 'password reset'), the newest one that says it is that kind of code.
 */
export async function codeFromOutbox(outbox, email, purpose = '') {
  const deadline = Date.now() + 5_000;
  for (;;) {
    const mails = fs.existsSync(outbox)
      ? fs
          .readdirSync(outbox)
          .filter((f) => f.endsWith('.eml'))
          .map((f) => path.join(outbox, f))
          .map((f) => ({ f, mtime: fs.statSync(f).mtimeMs, text: fs.readFileSync(f, 'utf8') }))
          .filter((m) => new RegExp(`^To:.*${email.replace(/[.*+?^${}()|[\]\\]/g, '\\$&')}`, 'mi').test(m.text))
          .filter((m) => m.text.replace(/=\r?\n/g, '').includes(`${purpose} code is `))
          .sort((a, b) => b.mtime - a.mtime)
      : [];
    if (mails.length) {
      // Undo quoted-printable soft line breaks before looking for the code.
      const text = mails[0].text.replace(/=\r?\n/g, '');
      const match = text.match(new RegExp(`${purpose} code is\\s+(\\d{6})\\b`));
      assert.ok(match, `no 6-digit code in ${mails[0].f}:\n${text}`);
      return { code: match[1], file: mails[0].f };
    }
    if (Date.now() > deadline) assert.fail(`no .eml for ${email} in ${outbox}`);
    await new Promise((r) => setTimeout(r, 100));
  }
}

// ---------------------------------------------------------------------------------------------
// the browser

let browser;
const offLoopback = [];

before(async () => {
  fs.mkdirSync(SHOTS, { recursive: true });
  assert.ok(fs.existsSync(LISTO_BIN), `no listo binary at ${LISTO_BIN}`);
  browser = await chromium.launch({
    executablePath: '/usr/bin/chromium',
    headless: true,
    timeout: 30_000,
    args: [
      '--headless',
      '--no-sandbox',
      '--disable-gpu',
      '--disable-quic',
      '--no-first-run',
      '--disable-background-networking',
      '--disable-component-update',
      '--disable-sync',
      // Belt and braces for "loopback only": no name or address but loopback resolves.
      '--host-resolver-rules=MAP * ~NOTFOUND, EXCLUDE localhost, EXCLUDE 127.0.0.1',
    ],
  });
  console.log(`browser: chromium ${browser.version()} (playwright-core); work folder ${WORK}`);
});

after(async () => {
  await browser?.close();
  // Should anything still hold the event loop open, do not wait for run.sh's timeout.
  setTimeout(() => {
    console.error('browser: FAIL: handles still open 5 s after the last test (a process or server left running)');
    process.exit(process.exitCode || 1);
  }, 5_000).unref();
});

/**
 * A new browser context and page. `consoleLines` collects the page's console and uncaught
 * errors; `cspViolations` every Content-Security-Policy violation any document of the page
 * reports (its `securitypolicyviolation` events, listened for before the page's own scripts run).
 */
export async function newPage() {
  const context = await browser.newContext({ viewport: { width: 1280, height: 1000 } });
  context.setDefaultTimeout(ACTION_TIMEOUT_MS);
  context.setDefaultNavigationTimeout(ACTION_TIMEOUT_MS);
  context.on('request', (req) => {
    const url = new URL(req.url());
    if (/^https?:$|^wss?:$/.test(url.protocol) && !LOOPBACK.has(url.hostname)) offLoopback.push(req.url());
  });
  const cspViolations = [];
  // Bindings and init scripts come in through the DevTools protocol: the page's policy does not
  // apply to them.
  await context.exposeBinding('__listoCspViolation', ({ frame }, v) => cspViolations.push({ ...v, url: frame.url() }));
  await context.addInitScript(() => {
    document.addEventListener(
      'securitypolicyviolation',
      (e) => {
        window.__listoCspViolation({
          directive: e.effectiveDirective || e.violatedDirective,
          blocked: e.blockedURI,
          sample: e.sample,
          source: e.sourceFile ? `${e.sourceFile}:${e.lineNumber}:${e.columnNumber}` : '',
          disposition: e.disposition,
        });
      },
      true,
    );
  });
  const page = await context.newPage();
  const consoleLines = [];
  page.on('console', (msg) => consoleLines.push(`${msg.type()}: ${msg.text()}`));
  page.on('pageerror', (err) => consoleLines.push(`pageerror: ${err.message}`));
  return { context, page, consoleLines, cspViolations };
}

let screenshots = 0;
// Each test file runs in its own process (node --test): its name keeps their screenshots apart.
const FILE_TAG = path.basename(process.argv[1] ?? 'browser').replace(/\.test\.mjs$|\.mjs$/, '');
/**
 * A screenshot of `focus` (the operation a step was working on) or else of the viewport, kept in
 * SHOTS (run.sh keeps that folder, on success too: the CI artifacts).
 */
export async function screenshot(page, name, focus, { failed = false } = {}) {
  const slug = name.replace(/[^a-z0-9]+/gi, '-').replace(/^-|-$/g, '').slice(0, 120);
  const file = path.join(SHOTS, `${FILE_TAG}-${String(++screenshots).padStart(3, '0')}-${slug}${failed ? '-FAILED' : ''}.png`);
  try {
    if (page.isClosed()) return;
    // Swagger UI's operation blocks run to thousands of pixels of documented answers: keep the
    // part from the operation's top to the answer it shows.
    const clip = focus && (await focus.count()) ? await focus.first().evaluate(shownPart).catch(() => null) : null;
    if (clip) await page.screenshot({ path: file, fullPage: true, clip, timeout: 10_000 });
    else if (focus && (await focus.count())) await focus.first().screenshot({ path: file, timeout: 10_000 });
    else await page.screenshot({ path: file, timeout: 10_000 });
    if (failed) console.error(`browser: screenshot of the failure: ${file}`);
  } catch (err) {
    console.error(`browser: could not take a screenshot: ${err.message}`);
  }
}

/** In the page: an element's box in page coordinates, down to its live answer if it shows one. */
function shownPart(el) {
  const top = el.getBoundingClientRect();
  const answer = el.querySelector('.live-responses-table');
  const bottom = answer ? answer.getBoundingClientRect().bottom : top.bottom;
  const height = Math.min(bottom - top.top, 4000);
  if (top.width <= 0 || height <= 0) return null;
  return { x: top.left + window.scrollX, y: top.top + window.scrollY, width: top.width, height };
}

/**
 * Runs the steps of one story in order as subtests: every step ends with a screenshot (of what
 * `focus(locator)` last named, else the viewport), and the steps after a failed gating step are
 * skipped (the story fails either way), except those marked `always`.
 */
export function storySteps(t, page, listo) {
  let broken = null;
  let focused = null;
  // Screenshots are named after the story's listo (short) and the step.
  const label = listo?.name ?? t.name;
  const step = async (name, fn, { gate = true, always = false } = {}) => {
    focused = null;
    await t.test(name, { skip: broken && !always ? `"${broken}" failed` : false, timeout: STEP_TIMEOUT_MS }, async () => {
      try {
        await fn();
      } catch (err) {
        if (gate) broken = name;
        await screenshot(page, `${label}-${name}`, focused, { failed: true });
        if (listo) console.error(`browser: last lines of ${listo.logPath}:\n${tail(listo.logPath, 15)}`);
        throw err;
      }
      await screenshot(page, `${label}-${name}`, focused);
    });
  };
  step.focus = (locator) => {
    focused = locator;
    return locator;
  };
  return step;
}

/** Serves `pages` (path -> HTML) from another loopback origin than listo's. */
export async function servePages(pages) {
  const server = http.createServer((req, res) => {
    const html = req.method === 'GET' ? pages[new URL(req.url, 'http://x').pathname] : undefined;
    if (html !== undefined) {
      res.writeHead(200, { 'content-type': 'text/html; charset=utf-8', 'cache-control': 'no-store' });
      res.end(html);
    } else {
      res.writeHead(404).end();
    }
  });
  await new Promise((resolve, reject) => server.once('error', reject).listen(0, '127.0.0.1', resolve));
  return {
    server,
    origin: `http://127.0.0.1:${server.address().port}`,
    async close() {
      server.closeAllConnections?.();
      await new Promise((resolve) => server.close(resolve));
    },
  };
}

/** The last test of a file: no page of it contacted anything but loopback. */
export function loopbackOnly() {
  test('the browser never left loopback', () => {
    assert.deepEqual(offLoopback, [], 'requests to hosts other than loopback');
  });
}
