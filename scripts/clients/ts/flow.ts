// The whole listo story through openapi-fetch, typed by openapi-typescript from `listo openapi`.
// `tsc` (strict) checks this file against the generated types before it runs, so every value read
// below has the type the spec gives it; the checks here make sure the values are the right ones.
//
// Run by scripts/clients/run.sh with:
//   LISTO_URL     base URL of a running listo (http://127.0.0.1:PORT)
//   LISTO_OUTBOX  the folder listo writes .eml files to (no LISTO_SMTP_URL)
//   FLOW_EMAIL    an address no other flow uses (rate limits are per email)
import { readdirSync, readFileSync, statSync, existsSync } from "node:fs";
import { join } from "node:path";
import createClient from "openapi-fetch";
import type { components, paths } from "./generated/listo.js";

type Schemas = components["schemas"];
type Task = Schemas["Task"];
type TaskPage = Schemas["TaskPage"];
type Problem = Schemas["Problem"];
type Status = Schemas["Status"];

const PASSWORD = "correct horse battery";
const REQUEST_TIMEOUT_MS = 10_000;

class FlowError extends Error {}

function env(name: string): string {
  const value = process.env[name];
  if (!value) throw new FlowError(`environment: ${name} is not set`);
  return value;
}

function check(step: string, condition: boolean, message: string): asserts condition {
  if (!condition) throw new FlowError(`${step}: ${message}`);
}

function ok(step: string): void {
  console.log(`ts flow: ok   ${step}`);
}

// What openapi-fetch answers: data typed by the 2xx response, error by the others.
type Answer<D, E> = { data?: D; error?: E; response: Response };

function describe(answer: Answer<unknown, unknown>): string {
  const body = answer.data ?? answer.error;
  return `status ${answer.response.status}; body ${JSON.stringify(body)?.slice(0, 500)}`;
}

/** The call answered `status` with a body; returns it with the type the spec declares. */
async function expectData<D, E>(step: string, call: Promise<Answer<D, E>>, status: number): Promise<D> {
  const answer = await call;
  check(step, answer.response.status === status, `wanted ${status}, got ${describe(answer)}`);
  check(step, answer.data !== undefined, `no body: ${describe(answer)}`);
  const type = answer.response.headers.get("content-type") ?? "";
  check(step, type.startsWith("application/json"), `content-type ${type}`);
  return answer.data;
}

/** The call answered `status` with no body. */
async function expectEmpty<D, E>(step: string, call: Promise<Answer<D, E>>, status: number): Promise<void> {
  const answer = await call;
  check(step, answer.response.status === status, `wanted ${status}, got ${describe(answer)}`);
  check(step, answer.data === undefined && answer.error === undefined, `wanted no body: ${describe(answer)}`);
}

/** The call failed with `status` and a Problem body whose `code` is `code`. */
async function expectProblem<D>(
  step: string,
  call: Promise<Answer<D, Problem>>,
  status: number,
  code: string,
): Promise<{ problem: Problem; response: Response }> {
  const answer = await call;
  check(step, answer.response.status === status, `wanted ${status}, got ${describe(answer)}`);
  const problem = answer.error;
  check(step, problem !== undefined, `no problem body: ${describe(answer)}`);
  const type = answer.response.headers.get("content-type") ?? "";
  check(step, type.startsWith("application/problem+json"), `content-type ${type}`);
  // The body really has the generated Problem's shape, not just its static type.
  check(step, typeof problem.type === "string" && problem.type === "about:blank", `type ${problem.type}`);
  check(step, typeof problem.title === "string" && problem.title.length > 0, `title ${problem.title}`);
  check(step, typeof problem.detail === "string" && problem.detail.length > 0, `detail ${problem.detail}`);
  check(step, problem.status === status, `problem.status ${problem.status}, wanted ${status}`);
  check(step, problem.code === code, `code ${problem.code}, wanted ${code}`);
  return { problem, response: answer.response };
}

function checkTask(step: string, task: Task, want: { date: string; task: string; status: Status }): void {
  check(step, Number.isInteger(task.id) && task.id > 0, `id ${task.id}`);
  check(step, /^\d{4}-\d{2}-\d{2}$/.test(task.date), `date ${task.date} is not YYYY-MM-DD`);
  check(step, task.date === want.date, `date ${task.date}, wanted ${want.date}`);
  check(step, task.task === want.task, `task ${JSON.stringify(task.task)}, wanted ${JSON.stringify(want.task)}`);
  check(step, task.status === want.status, `status ${task.status}, wanted ${want.status}`);
  const created = Date.parse(task.created_at);
  const updated = Date.parse(task.updated_at);
  check(step, !Number.isNaN(created) && !Number.isNaN(updated), `timestamps ${task.created_at} ${task.updated_at}`);
  check(step, updated >= created, `updated_at ${task.updated_at} before created_at ${task.created_at}`);
}

const ids = (page: TaskPage): number[] => page.items.map((t) => t.id);
const same = (a: number[], b: number[]): boolean => JSON.stringify(a) === JSON.stringify(b);

function outboxMails(outbox: string): { path: string; mtime: bigint }[] {
  if (!existsSync(outbox)) return [];
  return readdirSync(outbox)
    .filter((name) => name.endsWith(".eml"))
    .map((name) => {
      const path = join(outbox, name);
      return { path, mtime: statSync(path, { bigint: true }).mtimeNs };
    })
    .sort((a, b) => (a.mtime < b.mtime ? -1 : a.mtime > b.mtime ? 1 : 0));
}

function decodeBody(headers: Map<string, string>, body: string): string {
  const encoding = (headers.get("content-transfer-encoding") ?? "7bit").toLowerCase();
  if (encoding === "base64") return Buffer.from(body.replace(/\s+/g, ""), "base64").toString("utf8");
  if (encoding === "quoted-printable") {
    const bytes = body
      .replace(/=\r?\n/g, "")
      .replace(/=([0-9A-Fa-f]{2})/g, (_, hex: string) => String.fromCharCode(parseInt(hex, 16)));
    return Buffer.from(bytes, "latin1").toString("utf8");
  }
  return body;
}

/** The 6-digit code in the newest .eml in the outbox, which must be new and addressed to `to`. */
async function readCode(step: string, outbox: string, to: string, seen: Set<string>): Promise<string> {
  const deadline = Date.now() + 5_000;
  let newest = outboxMails(outbox).at(-1);
  while (newest === undefined || seen.has(newest.path)) {
    check(step, Date.now() < deadline, `no new .eml in ${outbox} within 5 s`);
    await new Promise((resolve) => setTimeout(resolve, 50));
    newest = outboxMails(outbox).at(-1);
  }
  const raw = readFileSync(newest.path, "utf8");
  const split = raw.search(/\r?\n\r?\n/);
  check(step, split > 0, `${newest.path} has no header/body split`);
  const headers = new Map<string, string>();
  for (const line of raw.slice(0, split).replace(/\r?\n[ \t]+/g, " ").split(/\r?\n/)) {
    const colon = line.indexOf(":");
    if (colon > 0) headers.set(line.slice(0, colon).trim().toLowerCase(), line.slice(colon + 1).trim());
  }
  check(step, (headers.get("to") ?? "").includes(to), `${newest.path} is to ${headers.get("to")}, not ${to}`);
  const body = decodeBody(headers, raw.slice(split).trimStart());
  const found = /code is (\d{6})\b/.exec(body);
  check(step, found !== null && found[1] !== undefined, `no "code is NNNNNN" in ${newest.path}`);
  return found[1];
}

async function main(): Promise<void> {
  const baseUrl = env("LISTO_URL");
  const outbox = env("LISTO_OUTBOX");
  const email = env("FLOW_EMAIL");
  const fetchWithTimeout = (request: Request) => fetch(request, { signal: AbortSignal.timeout(REQUEST_TIMEOUT_MS) });
  const api = createClient<paths>({ baseUrl, fetch: fetchWithTimeout });

  let step = "healthz + readyz";
  const health = await expectData(step, api.GET("/healthz"), 200);
  check(step, health.status === "ok", `healthz status ${health.status}`);
  const ready = await expectData(step, api.GET("/readyz"), 200);
  check(step, ready.status === "ok", `readyz status ${ready.status}`);
  ok(step);

  step = "register";
  const account = await expectData(step, api.POST("/v1/auth/register", { body: { email, password: PASSWORD } }), 201);
  check(step, account.email === email, `email ${account.email}`);
  check(step, Number.isInteger(account.id) && account.id > 0, `id ${account.id}`);
  check(step, !Number.isNaN(Date.parse(account.created_at)), `created_at ${account.created_at}`);
  ok(step);

  step = "register again (taken)";
  await expectProblem(step, api.POST("/v1/auth/register", { body: { email, password: PASSWORD } }), 409, "email_taken");
  ok(step);

  step = "login";
  const seen = new Set(outboxMails(outbox).map((m) => m.path));
  const challenge = await expectData(step, api.POST("/v1/auth/login", { body: { email, password: PASSWORD } }), 202);
  check(step, challenge.challenge_id.length > 0, "empty challenge_id");
  check(step, Date.parse(challenge.expires_at) > Date.now(), `expires_at ${challenge.expires_at} is past`);
  ok(step);

  step = "read the code from the outbox";
  const code = await readCode(step, outbox, email, seen);
  ok(step);

  step = "verify";
  const token = await expectData(
    step,
    api.POST("/v1/auth/verify", { body: { challenge_id: challenge.challenge_id, code } }),
    200,
  );
  check(step, token.token_type === "Bearer", `token_type ${token.token_type}`);
  check(step, token.expires_in > 0 && token.expires_in <= 600, `expires_in ${token.expires_in}`);
  check(step, token.access_token.length >= 16, "short access_token");
  check(step, Date.parse(token.expires_at) > Date.now(), `expires_at ${token.expires_at} is past`);
  ok(step);

  const authed = createClient<paths>({
    baseUrl,
    fetch: fetchWithTimeout,
    headers: { Authorization: `Bearer ${token.access_token}` },
  });

  step = "get_session";
  const session = await expectData(step, authed.GET("/v1/auth/session"), 200);
  check(step, session.user.email === email, `user.email ${session.user.email}`);
  check(step, session.user.id === account.id, `user.id ${session.user.id}, wanted ${account.id}`);
  check(step, session.expires_in > 0 && session.expires_in <= 600, `expires_in ${session.expires_in}`);
  check(step, Date.parse(session.issued_at) < Date.parse(session.expires_at), "issued_at not before expires_at");
  ok(step);

  step = "create 3 tasks";
  const wanted: { date: string; task: string; status: Status }[] = [
    { date: "2026-11-24", task: "Swimming for one hour", status: "Incomplete" },
    { date: "2026-11-25", task: "Buy bread", status: "Incomplete" },
    { date: "2026-11-26", task: "Call Ada", status: "Completed" },
  ];
  const created: Task[] = [];
  for (const want of wanted) {
    const answer = await authed.POST("/v1/tasks", { body: want });
    const task = await expectData(step, Promise.resolve(answer), 201);
    checkTask(step, task, want);
    const location = answer.response.headers.get("location") ?? "";
    check(step, location.endsWith(`/v1/tasks/${task.id}`), `Location ${location} for task ${task.id}`);
    created.push(task);
  }
  const [a, b, c] = created.map((t) => t.id);
  check(step, a !== undefined && b !== undefined && c !== undefined, "three ids");
  check(step, new Set([a, b, c]).size === 3, `ids not distinct: ${a}, ${b}, ${c}`);
  ok(step);

  const listPage1 = () => authed.GET("/v1/tasks", { params: { query: { page: 1, per_page: 20 } } });

  step = "list";
  const page = await expectData(step, listPage1(), 200);
  check(step, same(ids(page), [a, b, c]), `order ${ids(page)}, wanted ${[a, b, c]}`);
  check(step, page.page === 1 && page.per_page === 20, `page ${page.page} per_page ${page.per_page}`);
  check(step, page.total_items === 3 && page.total_pages === 1, `totals ${page.total_items}/${page.total_pages}`);
  check(step, page.next_cursor === undefined, `next_cursor ${page.next_cursor} on the only page`);
  page.items.forEach((item, i) => checkTask(step, item, wanted[i]!));
  ok(step);

  step = "patch one";
  const patched = await expectData(
    step,
    authed.PATCH("/v1/tasks/{id}", {
      params: { path: { id: b } },
      body: { status: "Completed", date: "2026-11-27" },
    }),
    200,
  );
  check(step, patched.id === b, `id ${patched.id}`);
  // date and status changed; the task text was left out, so it keeps its value
  checkTask(step, patched, { date: "2026-11-27", task: "Buy bread", status: "Completed" });
  ok(step);

  step = "sort page 1";
  const shown = ids(await expectData(step, listPage1(), 200));
  const newOrder = [...shown].reverse();
  check(step, same(newOrder, [c, b, a]), `page 1 shows ${shown}`);
  const sorted = await expectData(
    step,
    authed.POST("/v1/tasks/sort", { params: { query: { page: 1, per_page: 20 } }, body: { task_ids: newOrder } }),
    200,
  );
  check(step, same(ids(sorted), newOrder), `sort answered ${ids(sorted)}, wanted ${newOrder}`);
  const afterSort = await expectData(step, listPage1(), 200);
  check(step, same(ids(afterSort), newOrder), `GET after sort shows ${ids(afterSort)}, wanted ${newOrder}`);
  ok(step);

  step = "move one to the start";
  const moved = await expectData(
    step,
    authed.POST("/v1/tasks/{id}/move", { params: { path: { id: a } }, body: { to: "start" } }),
    200,
  );
  check(step, moved.id === a, `moved ${moved.id}, wanted ${a}`);
  const afterMove = await expectData(step, listPage1(), 200);
  check(step, same(ids(afterMove), [a, c, b]), `order ${ids(afterMove)}, wanted ${[a, c, b]}`);
  ok(step);

  step = "get one";
  const got = await expectData(step, authed.GET("/v1/tasks/{id}", { params: { path: { id: b } } }), 200);
  check(step, got.id === b, `id ${got.id}`);
  checkTask(step, got, { date: "2026-11-27", task: "Buy bread", status: "Completed" });
  ok(step);

  step = "delete one";
  await expectEmpty(step, authed.DELETE("/v1/tasks/{id}", { params: { path: { id: c } } }), 204);
  await expectProblem(step, authed.GET("/v1/tasks/{id}", { params: { path: { id: c } } }), 404, "task_not_found");
  const remaining = await expectData(step, listPage1(), 200);
  check(step, same(ids(remaining), [a, b]), `order ${ids(remaining)}, wanted ${[a, b]}`);
  check(step, remaining.total_items === 2, `total_items ${remaining.total_items}`);
  ok(step);

  step = "logout";
  await expectEmpty(step, authed.POST("/v1/auth/logout"), 204);
  ok(step);

  step = "old token after logout";
  const { problem, response } = await expectProblem(step, authed.GET("/v1/auth/session"), 401, "session_revoked");
  const challengeHeader = response.headers.get("www-authenticate") ?? "";
  check(step, challengeHeader.startsWith("Bearer"), `WWW-Authenticate ${challengeHeader}`);
  ok(`${step} (401 Problem code=${problem.code})`);

  console.log("ts flow: PASS");
}

main().catch((error: unknown) => {
  const message = error instanceof FlowError ? error.message : error instanceof Error ? error.stack : String(error);
  console.error(`ts flow: FAIL at ${message}`);
  process.exit(1);
});
