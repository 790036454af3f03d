// The whole listo story through openapi-fetch, typed by openapi-typescript from `listo openapi`:
// register … logout, with lists on the way (the default list, a list made, tasks added to it, one
// moved to the default list, a rename with If-Match, the feed of every list, the list deleted),
// then the account's life: sessions listed and ended by id, logout scope=others, a password
// change, a reset by emailed code, and the account deleted. Then, on a listo with short-lived
// access tokens, one sign-in kept alive by refresh alone (refreshingFetch) and a 304 read as
// "unchanged".
// `tsc` (strict) checks this file against the generated types before it runs, so every value read
// below has the type the spec gives it; the checks here make sure the values are the right ones.
//
// Run by scripts/clients/run.sh with:
//   LISTO_URL     base URL of a running listo (http://127.0.0.1:PORT)
//   LISTO_OUTBOX  the folder listo writes .eml files to (no LISTO_SMTP_URL)
//   FLOW_EMAIL    an address no other flow uses (rate limits are per email)
//   LISTO_SHORT_URL, LISTO_SHORT_OUTBOX, LISTO_SHORT_TTL
//                 a second listo whose access tokens live LISTO_SHORT_TTL s (the keep-alive story)
import { readdirSync, readFileSync, statSync, existsSync } from "node:fs";
import { join } from "node:path";
import createClient, { type Client } from "openapi-fetch";
import type { components, paths } from "./generated/listo.js";

type Schemas = components["schemas"];
type Task = Schemas["Task"];
type TaskPage = Schemas["TaskPage"];
type Problem = Schemas["Problem"];
type Status = Schemas["Status"];
type Session = Schemas["Session"];
type AccessToken = Schemas["AccessToken"];
type Account = Schemas["Account"];
type List = Schemas["List"];
type Api = Client<paths>;

const PASSWORD = "correct horse battery";
const CHANGED_PASSWORD = "correct horse battery staple"; // set with change_password
const RESET_PASSWORD = "a new horse for a new battery"; // set with the emailed reset code
const REQUEST_TIMEOUT_MS = 10_000;
const REFRESH_TTL = 1_209_600; // listo's default LISTO_REFRESH_TTL
const LIFETIMES = 3; // access-token lifetimes a sign-in must outlive through refresh alone
const timedFetch = (request: Request) => fetch(request, { signal: AbortSignal.timeout(REQUEST_TIMEOUT_MS) });

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

/**
 * The 6-digit code in the newest .eml in the outbox, which must be new, addressed to `to`, and say
 * what it is for ("Your listo sign-in code is …" / "… password reset code is …").
 */
async function readCode(
  step: string,
  outbox: string,
  to: string,
  seen: Set<string>,
  purpose: "sign-in" | "password reset" = "sign-in",
): Promise<string> {
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
  const found = new RegExp(`${purpose} code is (\\d{6})\\b`).exec(body);
  check(step, found !== null && found[1] !== undefined, `no "${purpose} code is NNNNNN" in ${newest.path}`);
  return found[1];
}

/** login → the code from the outbox → verify: a new session. */
async function signIn(step: string, api: Api, outbox: string, email: string, password: string): Promise<AccessToken> {
  const seen = new Set(outboxMails(outbox).map((m) => m.path));
  const challenge = await expectData(step, api.POST("/v1/auth/login", { body: { email, password } }), 202);
  const code = await readCode(step, outbox, email, seen);
  const token = await expectData(
    step,
    api.POST("/v1/auth/verify", { body: { challenge_id: challenge.challenge_id, code } }),
    200,
  );
  check(step, token.token_type === "Bearer" && token.access_token.length >= 16, `token_type ${token.token_type}`);
  return token;
}

/** A dead token's answer: 401 session_revoked with a Bearer challenge. */
async function expectRevoked<D>(step: string, call: Promise<Answer<D, Problem>>): Promise<void> {
  const { response } = await expectProblem(step, call, 401, "session_revoked");
  const challengeHeader = response.headers.get("www-authenticate") ?? "";
  check(step, challengeHeader.startsWith("Bearer"), `WWW-Authenticate ${challengeHeader}`);
}

/** One item of GET /v1/auth/sessions, opened by this client (node's fetch) from loopback. */
function checkSession(step: string, session: Session, token: AccessToken, current: boolean): void {
  check(step, /^[A-Za-z0-9_-]{1,64}$/.test(session.id), `id ${session.id}`);
  check(step, !token.access_token.includes(session.id), "the session id is part of the token");
  check(step, session.current === current, `current ${session.current}, wanted ${current}`);
  const issued = Date.parse(session.issued_at);
  const expires = Date.parse(session.expires_at);
  check(step, !Number.isNaN(issued) && issued < expires, `issued ${session.issued_at}, expires ${session.expires_at}`);
  check(step, expires > Date.now(), `expires_at ${session.expires_at} is past`);
  // A listed session is a sign-in: it lasts as long as its refresh token (14 days by default).
  check(step, session.expires_in > 600 && session.expires_in <= REFRESH_TTL, `expires_in ${session.expires_in}`);
  const agent = session.user_agent;
  check(step, typeof agent === "string" && agent.length > 0, `user_agent ${agent}`);
  check(step, session.address === "127.0.0.1", `address ${session.address}`);
}

const sessionIds = (items: Session[]): string => JSON.stringify(items.map((s) => [s.id, s.current]));

/** A sign-in kept alive by `refreshingFetch`: its latest token pair, and how often it was refreshed. */
type SignIn = { token: AccessToken; refreshes: number };

/**
 * A fetch for openapi-fetch that keeps a sign-in alive: when the access token has expired (401
 * `session_expired`), trade the refresh token for a new pair and send the request again.
 */
function refreshingFetch(api: Api, signIn: SignIn): (request: Request) => Promise<Response> {
  const send = (request: Request) => {
    request.headers.set("Authorization", `Bearer ${signIn.token.access_token}`);
    return timedFetch(request);
  };
  return async (request) => {
    const retry = request.clone();
    const response = await send(request);
    if (response.status !== 401 || ((await response.clone().json()) as Problem).code !== "session_expired") {
      return response;
    }
    const body = { refresh_token: signIn.token.refresh_token ?? "" };
    // A 401 refresh_invalid / refresh_reused here means: log in again.
    signIn.token = await expectData("refresh", api.POST("/v1/auth/refresh", { body }), 200);
    signIn.refreshes += 1;
    return send(retry);
  };
}

/**
 * One sign-in on a listo whose access tokens live `ttl` s, kept alive past LIFETIMES of them by
 * refresh alone (no second login code is mailed); a 304 on an unchanged task is a success.
 */
async function keepAliveStory(baseUrl: string, outbox: string, email: string, ttl: number): Promise<void> {
  const api = createClient<paths>({ baseUrl, fetch: timedFetch });
  let step = "keep-alive: sign in once";
  await expectData(step, api.POST("/v1/auth/register", { body: { email, password: PASSWORD } }), 201);
  const session: SignIn = { token: await signIn(step, api, outbox, email, PASSWORD), refreshes: 0 };
  const { refresh_token, expires_in } = session.token;
  check(step, refresh_token !== undefined && expires_in <= ttl, `refresh_token? expires_in ${expires_in}`);
  const authed = createClient<paths>({ baseUrl, fetch: refreshingFetch(api, session) });
  const want = { date: "2026-12-02", task: "Stay signed in", status: "Incomplete" } as const;
  const task = await expectData(step, authed.POST("/v1/tasks", { body: want }), 201);
  ok(step);

  step = `keep-alive: past ${LIFETIMES} access-token lifetimes of ${ttl} s through refresh alone`;
  const mails = outboxMails(outbox).length;
  const started = Date.now();
  while (session.refreshes < LIFETIMES) {
    check(step, Date.now() - started < 3 * LIFETIMES * ttl * 1000, `only ${session.refreshes} refreshes`);
    const page = await expectData(step, authed.GET("/v1/tasks"), 200);
    check(step, same(ids(page), [task.id]), `tasks ${ids(page)}`);
    await new Promise((resolve) => setTimeout(resolve, ttl * 500));
  }
  check(step, outboxMails(outbox).length === mails, "a login code was mailed: it signed in again");
  ok(`${step} (${session.refreshes} refreshes in ${((Date.now() - started) / 1000).toFixed(1)} s)`);

  step = "keep-alive: 304 is a success";
  const path = { id: task.id };
  const fresh = await authed.GET("/v1/tasks/{id}", { params: { path } });
  const etag = fresh.response.headers.get("etag") ?? "";
  check(step, fresh.data !== undefined && etag !== "", `status ${fresh.response.status}, ETag ${etag}`);
  checkTask(step, fresh.data, want);
  const again = await authed.GET("/v1/tasks/{id}", { params: { path, header: { "If-None-Match": etag } } });
  // openapi-fetch sets `error` for every non-2xx answer: a 304 is read by its status, before `error`.
  const current = again.response.status === 304 ? fresh.data : again.data;
  check(step, current === fresh.data, `status ${again.response.status}; error ${JSON.stringify(again.error)}`);
  ok(`${step} (If-None-Match: ${etag} -> 304, the copy held is current)`);

  step = "keep-alive: logout ends the sign-in, refresh token too";
  await expectEmpty(step, authed.POST("/v1/auth/logout"), 204);
  await expectRevoked(step, authed.GET("/v1/auth/session"));
  const spent = { refresh_token: session.token.refresh_token ?? "" };
  await expectProblem(step, api.POST("/v1/auth/refresh", { body: spent }), 401, "refresh_invalid");
  ok(`${step} (401 session_revoked, then refresh: 401 refresh_invalid)`);
}

/**
 * Lists through the generated types: the default list, a list made ("Groceries"), two tasks added
 * to it and listed, one moved to the default list with PATCH list_id, a rename with If-Match (a
 * stale one: 412), the feed of every list (/v1/changes), the list deleted (then its 404
 * not_found Problem). Returns the id of the task moved to the default list.
 */
async function listsStory(authed: Api, account: Account, defaultTasks: number[]): Promise<number> {
  let step = "lists: one default list, Tasks";
  const shown = (await expectData(step, authed.GET("/v1/lists"), 200)).items;
  check(step, shown.length === 1, `${shown.length} lists, wanted 1: ${JSON.stringify(shown)}`);
  const home: List = shown[0]!;
  check(step, home.name === "Tasks" && home.default === true, JSON.stringify(home));
  check(step, home.role === "owner", `role ${home.role}`);
  const owner = home.owner;
  check(step, owner.id === account.id && owner.email === account.email, `owner ${JSON.stringify(owner)}`);
  check(step, home.task_count === defaultTasks.length, `task_count ${home.task_count}, wanted ${defaultTasks.length}`);
  check(step, Date.parse(home.updated_at) >= Date.parse(home.created_at), `${home.created_at} ${home.updated_at}`);
  ok(`${step} (id ${home.id}, ${home.task_count} tasks)`);

  step = "lists: create Groceries";
  const made = await authed.POST("/v1/lists", { body: { name: "Groceries" } });
  const groceries = await expectData(step, Promise.resolve(made), 201);
  check(step, groceries.name === "Groceries" && groceries.default === false, JSON.stringify(groceries));
  check(step, groceries.id !== home.id && groceries.task_count === 0, JSON.stringify(groceries));
  const madeTag = made.response.headers.get("etag");
  check(step, groceries.version === 1 && madeTag === '"1"', `version ${groceries.version}, ETag ${madeTag}`);
  const location = made.response.headers.get("location") ?? "";
  check(step, location.endsWith(`/v1/lists/${groceries.id}`), `Location ${location}`);
  const both = (await expectData(step, authed.GET("/v1/lists"), 200)).items;
  const order = both.map((l) => l.id);
  check(step, same(order, [home.id, groceries.id]), `lists ${order}: wanted the default, then Groceries`);
  ok(`${step} (id ${groceries.id})`);

  const groceriesPath = { path: { id: groceries.id } };
  step = "lists: add two tasks to Groceries";
  const added: Task[] = [];
  for (const text of ["Milk", "Eggs"]) {
    const want = { date: "2026-11-28", task: text, status: "Incomplete" } as const;
    const answer = await authed.POST("/v1/lists/{id}/tasks", { params: groceriesPath, body: want });
    const task = await expectData(step, Promise.resolve(answer), 201);
    checkTask(step, task, want);
    check(step, task.list_id === groceries.id, `list_id ${task.list_id}, wanted ${groceries.id}`);
    check(step, (answer.response.headers.get("location") ?? "").endsWith(`/v1/tasks/${task.id}`), "Location");
    added.push(task);
  }
  const [milk, eggs] = added;
  check(step, milk !== undefined && eggs !== undefined, "two tasks");
  ok(step);

  const page = { page: 1, per_page: 20 };
  const inGroceries = async () => {
    const answer = authed.GET("/v1/lists/{id}/tasks", { params: { ...groceriesPath, query: page } });
    return (await expectData(step, answer, 200)).items;
  };
  const inDefault = async () => (await expectData(step, authed.GET("/v1/tasks", { params: { query: page } }), 200)).items;

  step = "lists: GET /v1/lists/{id}/tasks lists them, /v1/tasks does not";
  const listed = await inGroceries();
  check(step, same(listed.map((t) => t.id), [milk.id, eggs.id]), `Groceries holds ${listed.map((t) => t.id)}`);
  check(step, listed.every((t) => t.list_id === groceries.id), `list_ids ${listed.map((t) => t.list_id)}`);
  check(step, same((await inDefault()).map((t) => t.id), defaultTasks), "the default list changed");
  ok(step);

  step = "lists: move Eggs to the default list (PATCH /v1/tasks/{id} list_id)";
  const moved = await expectData(
    step,
    authed.PATCH("/v1/tasks/{id}", { params: { path: { id: eggs.id } }, body: { list_id: home.id } }),
    200,
  );
  check(step, moved.id === eggs.id && moved.list_id === home.id, JSON.stringify(moved));
  checkTask(step, moved, { date: eggs.date, task: "Eggs", status: "Incomplete" });
  check(step, moved.version > eggs.version, `version ${moved.version} after ${eggs.version}`);
  const nowDefault = await inDefault();
  const nowIds = nowDefault.map((t) => t.id);
  check(step, same(nowIds, [...defaultTasks, eggs.id]), `/v1/tasks: ${nowIds}, wanted Eggs last`);
  check(step, nowDefault.at(-1)?.list_id === home.id, `list_id ${nowDefault.at(-1)?.list_id}, wanted ${home.id}`);
  check(step, same((await inGroceries()).map((t) => t.id), [milk.id]), "Eggs is still in Groceries");
  const counted = await expectData(step, authed.GET("/v1/lists/{id}", { params: groceriesPath }), 200);
  check(step, counted.task_count === 1, `Groceries' task_count ${counted.task_count}, wanted 1`);
  const homeNow = await expectData(step, authed.GET("/v1/lists/{id}", { params: { path: { id: home.id } } }), 200);
  check(step, homeNow.task_count === defaultTasks.length + 1, `the default list's task_count ${homeNow.task_count}`);
  ok(`${step} (last in /v1/tasks; Groceries' task_count 2 -> 1)`);

  step = "lists: rename Groceries with If-Match";
  const fresh = await authed.GET("/v1/lists/{id}", { params: groceriesPath });
  const held = await expectData(step, Promise.resolve(fresh), 200);
  const etag = fresh.response.headers.get("etag") ?? "";
  check(step, etag === `"${held.version}"`, `ETag ${etag}, version ${held.version}`);
  const rename = (name: string) =>
    authed.PATCH("/v1/lists/{id}", { params: { ...groceriesPath, header: { "If-Match": etag } }, body: { name } });
  const renamedAnswer = await rename("Weekly groceries");
  const renamed = await expectData(step, Promise.resolve(renamedAnswer), 200);
  check(step, renamed.name === "Weekly groceries" && renamed.version === held.version + 1, JSON.stringify(renamed));
  const newTag = renamedAnswer.response.headers.get("etag");
  check(step, newTag === `"${renamed.version}"`, `ETag ${newTag}`);
  check(step, renamed.task_count === 1, JSON.stringify(renamed));
  const { problem: stale } = await expectProblem(step, rename("Groceries"), 412, "precondition_failed");
  check(step, stale.current_list?.name === "Weekly groceries", `current_list ${JSON.stringify(stale.current_list)}`);
  ok(`${step} (If-Match: ${etag} -> 200; again -> 412 precondition_failed with current_list)`);

  step = "lists: the feed of every list (GET /v1/changes)";
  const feed = await expectData(step, authed.GET("/v1/changes", { params: { query: { limit: 500 } } }), 200);
  check(step, feed.has_more === false && /^[0-9]+$/.test(feed.next_since), `next_since ${feed.next_since}`);
  const listSeen = feed.changes.filter((e) => e.kind === "list_upsert" && e.id === groceries.id);
  check(step, listSeen.length === 1, `${listSeen.length} list_upsert entries for Groceries, wanted 1`);
  const entry = listSeen[0]?.list;
  check(step, entry?.name === "Weekly groceries" && entry.task_count === 1, `list_upsert: ${JSON.stringify(entry)}`);
  const upserts = feed.changes.filter((e) => e.kind === "upsert" && e.id === eggs.id);
  check(step, upserts.length === 1, `${upserts.length} upsert entries for Eggs, wanted 1`);
  const movedEntry = upserts[0]!;
  check(step, movedEntry.list_id === home.id, `the upsert's list_id ${movedEntry.list_id}, wanted ${home.id}`);
  check(step, movedEntry.task?.list_id === home.id, `the upsert's task ${JSON.stringify(movedEntry.task)}`);
  check(
    step,
    feed.changes.some((e) => e.kind === "list_upsert" && e.id === home.id),
    "no list_upsert for the default list",
  );
  const seqs = feed.changes.map((e) => e.seq);
  check(step, seqs.every((s, i) => i === 0 || s > seqs[i - 1]!), `seqs ${seqs}`);
  ok(`${step} (${feed.changes.length} entries: list_upsert ${groceries.id}, upsert ${eggs.id} in list ${home.id})`);

  step = "lists: the default list cannot be deleted";
  const deleteHome = authed.DELETE("/v1/lists/{id}", { params: { path: { id: home.id } } });
  await expectProblem(step, deleteHome, 409, "default_list");
  ok(`${step} (409 default_list)`);

  step = "lists: delete Groceries, then GET it: 404 not_found";
  await expectEmpty(step, authed.DELETE("/v1/lists/{id}", { params: groceriesPath }), 204);
  const getGone = authed.GET("/v1/lists/{id}", { params: groceriesPath });
  const { problem: gone } = await expectProblem(step, getGone, 404, "not_found");
  await expectProblem(step, authed.GET("/v1/tasks/{id}", { params: { path: { id: milk.id } } }), 404, "task_not_found");
  const left = (await expectData(step, authed.GET("/v1/lists"), 200)).items;
  check(step, same(left.map((l) => l.id), [home.id]), `lists after the delete: ${JSON.stringify(left)}`);
  const kept = (await inDefault()).map((t) => t.id);
  check(step, same(kept, [...defaultTasks, eggs.id]), `/v1/tasks: ${kept}: the moved task went with the list`);
  const later = authed.GET("/v1/changes", { params: { query: { since: feed.next_since } } });
  const after = await expectData(step, later, 200);
  const removed = after.changes.some((e) => e.kind === "list_removed" && e.id === groceries.id);
  check(step, removed, `entries after the delete: ${JSON.stringify(after.changes)}`);
  ok(`${step} (204; then ${gone.status} ${gone.code}: ${JSON.stringify(gone.detail)}; the feed says list_removed)`);
  return eggs.id;
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

  step = "the change feed: applied from the start, it is the list";
  const feed = await expectData(step, authed.GET("/v1/tasks/changes", { params: { query: { limit: 100 } } }), 200);
  const replica = new Map<number, components["schemas"]["Task"]>();
  for (const change of feed.changes) {
    if (change.kind === "upsert" && change.task) replica.set(change.id, change.task);
    else if (change.kind === "delete") replica.delete(change.id);
    else check(step, false, `a change without its task: ${JSON.stringify(change)}`);
  }
  const byPosition = [...replica.values()].sort((x, y) => (x.position < y.position ? -1 : x.position > y.position ? 1 : 0));
  check(step, same(byPosition.map((t) => t.id), [a, b]), `the feed gives ${byPosition.map((t) => t.id)}, wanted ${[a, b]}`);
  check(step, feed.changes.some((ch) => ch.kind === "delete" && ch.id === c), "the delete is in the feed");
  check(step, feed.has_more === false && /^[0-9]+$/.test(feed.next_since), `next_since ${feed.next_since}`);
  const nothingNew = await expectData(
    step,
    authed.GET("/v1/tasks/changes", { params: { query: { since: feed.next_since } } }),
    200,
  );
  check(step, nothingNew.changes.length === 0, `changes after next_since: ${JSON.stringify(nothingNew.changes)}`);
  ok(step);

  const eggs = await listsStory(authed, account, [a, b]);

  step = "logout";
  await expectEmpty(step, authed.POST("/v1/auth/logout"), 204);
  ok(step);

  step = "old token after logout";
  const { problem, response } = await expectProblem(step, authed.GET("/v1/auth/session"), 401, "session_revoked");
  const challengeHeader = response.headers.get("www-authenticate") ?? "";
  check(step, challengeHeader.startsWith("Bearer"), `WWW-Authenticate ${challengeHeader}`);
  ok(`${step} (401 Problem code=${problem.code})`);

  const authedBy = (t: AccessToken): Api =>
    createClient<paths>({ baseUrl, fetch: fetchWithTimeout, headers: { Authorization: `Bearer ${t.access_token}` } });
  const listSessions = async (step: string, client: Api): Promise<Session[]> =>
    (await expectData(step, client.GET("/v1/auth/sessions"), 200)).items;

  step = "sign in again: list_sessions shows one, current";
  const first = await signIn(step, api, outbox, email, PASSWORD);
  const one = authedBy(first);
  let live = await listSessions(step, one);
  check(step, live.length === 1, `${live.length} sessions, wanted 1 (the logged-out one ended): ${sessionIds(live)}`);
  const mine = live[0]!;
  checkSession(step, mine, first, true);
  ok(step);

  step = "sign in a second time: two sessions, oldest first";
  const second = await signIn(step, api, outbox, email, PASSWORD);
  const two = authedBy(second);
  live = await listSessions(step, one);
  check(step, live.length === 2 && live[0]?.id === mine.id, `sessions ${sessionIds(live)}`);
  const other = live[1]!;
  checkSession(step, other, second, false);
  check(step, other.id !== mine.id && Date.parse(mine.issued_at) <= Date.parse(other.issued_at), sessionIds(live));
  const seenByTwo = await listSessions(step, two);
  check(
    step,
    sessionIds(seenByTwo) === JSON.stringify([[mine.id, false], [other.id, true]]),
    `the second session sees ${sessionIds(seenByTwo)}`,
  );
  ok(step);

  step = "end_session the other by id";
  const endOther = () => one.DELETE("/v1/auth/sessions/{id}", { params: { path: { id: other.id } } });
  await expectEmpty(step, endOther(), 204);
  await expectRevoked(step, two.GET("/v1/auth/session"));
  await expectProblem(step, endOther(), 404, "session_not_found");
  live = await listSessions(step, one);
  check(step, sessionIds(live) === JSON.stringify([[mine.id, true]]), `sessions ${sessionIds(live)}`);
  ok(`${step} (then 401 session_revoked, and 404 session_not_found a second time)`);

  step = "logout scope=others";
  const third = authedBy(await signIn(step, api, outbox, email, PASSWORD));
  check(step, (await listSessions(step, one)).length === 2, "the third sign-in is not listed");
  await expectEmpty(step, one.POST("/v1/auth/logout", { params: { query: { scope: "others" } } }), 204);
  await expectRevoked(step, third.GET("/v1/auth/session"));
  await expectData(step, one.GET("/v1/auth/session"), 200);
  live = await listSessions(step, one);
  check(step, sessionIds(live) === JSON.stringify([[mine.id, true]]), `sessions after logout ${sessionIds(live)}`);
  ok(step);

  step = "change_password";
  const elsewhere = authedBy(await signIn(step, api, outbox, email, PASSWORD));
  await expectProblem(
    step,
    one.POST("/v1/auth/password", { body: { current_password: "not the password", new_password: CHANGED_PASSWORD } }),
    401,
    "invalid_credentials",
  );
  await expectEmpty(
    step,
    one.POST("/v1/auth/password", { body: { current_password: PASSWORD, new_password: CHANGED_PASSWORD } }),
    204,
  );
  await expectData(step, one.GET("/v1/auth/session"), 200); // this one lives on
  await expectRevoked(step, elsewhere.GET("/v1/auth/session")); // every other one ends
  ok(`${step} (a wrong current password: 401 invalid_credentials; other sessions ended)`);

  step = "login with the old password";
  await expectProblem(
    step,
    api.POST("/v1/auth/login", { body: { email, password: PASSWORD } }),
    401,
    "invalid_credentials",
  );
  ok(`${step} (401 invalid_credentials)`);

  step = "request_password_reset";
  const seenBeforeReset = new Set(outboxMails(outbox).map((m) => m.path));
  const reset = await expectData(step, api.POST("/v1/auth/password-reset", { body: { email } }), 202);
  check(step, reset.challenge_id.length > 0, "empty challenge_id");
  check(step, Date.parse(reset.expires_at) > Date.now(), `expires_at ${reset.expires_at} is past`);
  check(step, reset.detail.length > 0, "empty detail");
  ok(step);

  step = "read the reset code from the outbox";
  const resetCode = await readCode(step, outbox, email, seenBeforeReset, "password reset");
  ok(step);

  step = "confirm_password_reset";
  const confirmation = { challenge_id: reset.challenge_id, code: resetCode, new_password: RESET_PASSWORD };
  await expectEmpty(step, api.POST("/v1/auth/password-reset/confirm", { body: confirmation }), 204);
  await expectRevoked(step, one.GET("/v1/auth/session")); // every session ends, this one too
  await expectProblem(step, api.POST("/v1/auth/password-reset/confirm", { body: confirmation }), 401, "invalid_code");
  ok(`${step} (the old token: 401 session_revoked; the code again: 401 invalid_code)`);

  step = "login with the new password";
  const last = await signIn(step, api, outbox, email, RESET_PASSWORD);
  const final = authedBy(last);
  const who = await expectData(step, final.GET("/v1/auth/session"), 200);
  check(step, who.user.id === account.id, `user.id ${who.user.id}, wanted ${account.id}`);
  const kept = await expectData(
    step,
    final.GET("/v1/tasks", { params: { query: { page: 1, per_page: 20 } } }),
    200,
  );
  check(step, same(ids(kept), [a, b, eggs]), `tasks ${ids(kept)} after the reset, wanted ${[a, b, eggs]}`);
  ok(step);

  step = "delete_account";
  await expectEmpty(step, final.DELETE("/v1/auth/account", { body: { password: RESET_PASSWORD } }), 204);
  await expectRevoked(step, final.GET("/v1/auth/session"));
  await expectProblem(
    step,
    api.POST("/v1/auth/login", { body: { email, password: RESET_PASSWORD } }),
    401,
    "invalid_credentials",
  );
  ok(`${step} (then its token: 401 session_revoked; login: 401 invalid_credentials)`);

  step = "register the email again";
  const again = await expectData(step, api.POST("/v1/auth/register", { body: { email, password: PASSWORD } }), 201);
  check(step, again.id !== account.id, `id ${again.id} is the deleted account's`);
  ok(`${step} (201, a new id)`);

  await keepAliveStory(env("LISTO_SHORT_URL"), env("LISTO_SHORT_OUTBOX"), email, Number(env("LISTO_SHORT_TTL")));

  console.log("ts flow: PASS");
}

main().catch((error: unknown) => {
  const message = error instanceof FlowError ? error.message : error instanceof Error ? error.stack : String(error);
  console.error(`ts flow: FAIL at ${message}`);
  process.exit(1);
});
