// LOCAL STAND-IN for Supabase's API gateway on 127.0.0.1:54321 (started by `scripts/stack up`):
//   POST /rest/v1/rpc/<fn>      PostgREST's RPC slice (rpc.ts), connected as `authenticator`
//   GET  /rest/v1/<relation>    PostgREST's reads of tables and views (rest.ts), the same way
//   *    /auth/v1/...           Supabase Auth's password sign-in slice (auth.ts)
//   OPTIONS /rest/v1/*, /auth/v1/*  CORS preflights (a function answers its own)
//   *    /functions/v1/<name>   the project's Edge Functions in Deno processes (functions.ts)
//   GET  /health                liveness for scripts/stack
// and pg_net's delivery loop (net-delivery.ts). It also hosts the example job types' outside
// services (supabase/functions/_shared/examples/simulators.ts) and the dashboard
// (../dashboard-server.ts), each on its own port. It writes the
// API keys and the services' URLs to <stack dir>/gateway.env.
// Production code talks to it exactly as to Supabase: nothing in supabase/ knows it exists.
import { writeFileSync } from "node:fs";
import { createServer, type IncomingMessage, type ServerResponse } from "node:http";
import { join, resolve } from "node:path";
import postgres from "postgres";
import { AuthSlice } from "./auth.ts";
import { FunctionHost } from "./functions.ts";
import { JwtError, LOCAL_JWT_SECRET, localApiKey, verifyJwt, type JwtClaims } from "./jwt.ts";
import { runNetDelivery } from "./net-delivery.ts";
import { nestedDeeperThan } from "../../../supabase/functions/_shared/leaseflow/errors.ts";
import { readRelation } from "./rest.ts";
import { callRpc } from "./rpc.ts";
import { startSimulators } from "../../../supabase/functions/_shared/examples/simulators.ts";
import { startDashboard } from "../dashboard-server.ts";
import { carryOnAfterClosedConnections } from "../../../node/unhandled.ts";

const root = resolve(import.meta.dirname, "../../..");
const stackDir = process.env.LEASEFLOW_STACK_DIR ?? join(root, ".stack");
const port = Number(process.env.LEASEFLOW_GATEWAY_PORT ?? 54321);
const dbUrl = process.env.SUPABASE_DB_URL ?? "postgresql://postgres:postgres@127.0.0.1:54322/postgres";
const jwtSecret = process.env.LEASEFLOW_JWT_SECRET ?? LOCAL_JWT_SECRET;
// Request bodies past this are refused with 413 before they are read whole (hosted Supabase
// documents no figure; the jobs API refuses more than 10 MiB itself).
const maxBodyBytes = Number(process.env.LEASEFLOW_GATEWAY_MAX_BODY_BYTES ?? 64 * 1024 * 1024);
// How deep RPC arguments may nest here (see handleRpc).
const MAX_ARGS_DEPTH = 1000;
const apiUrl = `http://127.0.0.1:${port}`;
const simulatorsPort = Number(process.env.LEASEFLOW_SIMULATORS_PORT ?? port + 9);
const dashboardPort = Number(process.env.LEASEFLOW_DASHBOARD_PORT ?? port + 3);
const servicesEnv = {
  LEASEFLOW_MESSAGES_API_URL: `http://127.0.0.1:${simulatorsPort}/messages-api`,
  LEASEFLOW_SENTIMENT_API_URL: `http://127.0.0.1:${simulatorsPort}/sentiment-api`,
  LEASEFLOW_SIMULATORS_URL: `http://127.0.0.1:${simulatorsPort}`,
};

// The same claims as the CLI's well-known local keys, so the tokens are stable across restarts.
const anonKey = localApiKey("anon", jwtSecret);
const serviceRoleKey = localApiKey("service_role", jwtSecret);

const log = (line: string) => console.log(`${new Date().toISOString()} ${line}`);
// Postgres restarting or terminating connections (the chaos suite does both) must not end the
// gateway: the worker's policy, through the gateway's log.
const logFields = (message: string, fields?: Record<string, unknown>) => log(`${message}${fields ? ` ${JSON.stringify(fields)}` : ""}`);
carryOnAfterClosedConnections({ warn: logFields, error: logFields });
const authenticatorUrl = new URL(dbUrl);
authenticatorUrl.username = "authenticator";
const api = postgres(authenticatorUrl.toString(), { max: 10, prepare: false, onnotice: () => {} });
const admin = postgres(dbUrl, { max: 4, onnotice: () => {} });
const auth = new AuthSlice(admin, jwtSecret, `${apiUrl}/auth/v1`);
const functions = new FunctionHost(
  root,
  { SUPABASE_URL: apiUrl, SUPABASE_ANON_KEY: anonKey, SUPABASE_SERVICE_ROLE_KEY: serviceRoleKey, SUPABASE_DB_URL: dbUrl, ...servicesEnv },
  port + 1000,
  log,
);

// Every answer of the gateway's own carries CORS headers, as Supabase's do, so a page on another
// origin reads its errors too (a 401 without them reaches the page as a failed fetch). A
// function's answers carry the function's own.
const CORS = {
  "Access-Control-Allow-Origin": "*",
  // supabase-js reads a count from Content-Range.
  "Access-Control-Expose-Headers": "Content-Range, Range-Unit, Content-Location, Location",
};

function send(response: ServerResponse, status: number, body: unknown, headers: Record<string, string> = {}): void {
  response.writeHead(status, { "Content-Type": "application/json", ...CORS, ...headers });
  response.end(JSON.stringify(body));
}

/** A browser's preflight of an API call (PostgREST's and Auth's routes): any origin, the headers it asks for. */
function preflight(request: IncomingMessage, response: ServerResponse): void {
  response.writeHead(204, {
    ...CORS,
    "Access-Control-Allow-Methods": "GET, HEAD, POST, OPTIONS",
    "Access-Control-Allow-Headers": request.headers["access-control-request-headers"] ?? "authorization, apikey, content-type, x-client-info, prefer, range, accept",
    "Access-Control-Max-Age": "86400",
  });
  response.end();
}

/** A body over maxBodyBytes: answered 413 without being buffered. */
class BodyTooLarge extends Error {}

async function readBody(request: IncomingMessage): Promise<Buffer> {
  const tooLarge = () => {
    // The rest is read and dropped: a client still sending would get EPIPE, not the 413.
    request.resume();
    return new BodyTooLarge();
  };
  if (Number(request.headers["content-length"] ?? 0) > maxBodyBytes) throw tooLarge();
  const chunks: Buffer[] = [];
  let size = 0;
  for await (const chunk of request) {
    size += (chunk as Buffer).length;
    if (size > maxBodyBytes) throw tooLarge();
    chunks.push(chunk as Buffer);
  }
  return Buffer.concat(chunks);
}

/** The caller's token: Authorization: Bearer, else the apikey header; none means anon. */
function claimsOf(request: IncomingMessage): JwtClaims | undefined {
  const bearer = /^Bearer (.+)$/i.exec(request.headers.authorization ?? "")?.[1];
  const token = bearer ?? (request.headers.apikey as string | undefined);
  return token ? verifyJwt(token, jwtSecret) : undefined;
}

/** The caller's verified claims as PostgREST takes them, or the 401 it answers. */
function restCaller(request: IncomingMessage, response: ServerResponse): JwtClaims | undefined {
  let claims: JwtClaims;
  try {
    claims = claimsOf(request) ?? { role: "anon" };
  } catch (error) {
    if (error instanceof JwtError) return void send(response, 401, { code: error.code, message: error.message, details: null, hint: null });
    throw error;
  }
  if (!["anon", "authenticated", "service_role"].includes(claims.role)) {
    return void send(response, 401, { code: "PGRST301", message: `role "${claims.role}" does not exist`, details: null, hint: null });
  }
  return claims;
}

async function handleRead(request: IncomingMessage, response: ServerResponse, relation: string, query: URLSearchParams): Promise<void> {
  if (request.method !== "GET" && request.method !== "HEAD") {
    return send(response, 405, { code: "PGRST117", message: `Unsupported HTTP method: ${request.method} (the local gateway serves reads of tables and views only)`, details: null, hint: null });
  }
  const claims = restCaller(request, response);
  if (!claims) return;
  const result = await readRelation(api, relation, query, request.headers, claims.role, claims, request.method === "HEAD");
  if (result.body === undefined) {
    response.writeHead(result.status, { "Content-Type": "application/json", ...result.headers });
    response.end();
    return;
  }
  send(response, result.status, result.body, result.headers);
}

async function handleAuth(request: IncomingMessage, response: ServerResponse, path: string, query: URLSearchParams): Promise<void> {
  const raw = request.method === "POST" ? (await readBody(request)).toString() : "";
  let body: unknown = {};
  if (raw.trim() !== "") {
    try {
      body = JSON.parse(raw);
    } catch {
      return send(response, 400, { code: "bad_json", message: "Could not parse request body as JSON" }, { "X-Supabase-Api-Version": "2024-01-01" });
    }
  }
  const result = await auth.handle(request.method ?? "GET", path, query, body, request.headers.authorization);
  if (result.body === undefined) {
    response.writeHead(result.status, { ...CORS, ...result.headers });
    response.end();
    return;
  }
  send(response, result.status, result.body, result.headers);
}

async function handleRpc(request: IncomingMessage, response: ServerResponse, name: string): Promise<void> {
  if (request.method !== "POST") return send(response, 405, { code: "PGRST117", message: `Unsupported HTTP method: ${request.method}`, details: null, hint: null });
  const claims = restCaller(request, response);
  if (!claims) return;
  const raw = (await readBody(request)).toString() || "{}";
  let args: unknown;
  try {
    args = JSON.parse(raw);
  } catch {
    return send(response, 400, { code: "PGRST102", message: "Empty or invalid json", details: null, hint: null });
  }
  if (typeof args !== "object" || args === null || Array.isArray(args)) {
    return send(response, 400, { code: "PGRST102", message: "the body must be a JSON object of named arguments", details: null, hint: null });
  }
  // PostgREST hands any depth to Postgres (whose functions answer for it); this stand-in sends
  // the arguments on with a recursive JSON.stringify, which overflows its stack near 5 000.
  if (nestedDeeperThan(args, MAX_ARGS_DEPTH)) {
    return send(response, 400, { code: "PGRST102", message: `the body is nested more than ${MAX_ARGS_DEPTH} levels deep (the local gateway's limit)`, details: null, hint: null });
  }
  const result = await callRpc(api, name, args as Record<string, unknown>, claims.role, claims);
  send(response, result.status, result.body);
}

async function handleFunction(request: IncomingMessage, response: ServerResponse, name: string, rest: string, query: string): Promise<void> {
  if (!functions.exists(name)) return send(response, 404, { code: "NOT_FOUND", message: "Requested function was not found" });
  // A preflight carries no token: it reaches the function, which answers CORS itself.
  if (request.method !== "OPTIONS" && functions.verifyJwt(name)) {
    try {
      if (!claimsOf(request)) throw new JwtError("PGRST301", "Missing authorization header");
    } catch {
      return send(response, 401, { code: 401, message: "Invalid JWT" });
    }
  }
  const body = request.method === "GET" || request.method === "HEAD" ? undefined : await readBody(request);
  // A client that goes away (an SSE reader closing) cancels the function's request too.
  const gone = new AbortController();
  response.on("close", () => gone.abort());
  let upstream: Response;
  let instance: { port: number; release: () => void } | undefined;
  try {
    instance = await functions.acquire(name);
    upstream = await fetch(`http://127.0.0.1:${instance.port}/${name}${rest}${query}`, {
      method: request.method,
      headers: endToEnd(request.headers as Record<string, string>),
      body: body && new Uint8Array(body),
      signal: gone.signal,
    });
  } catch (error) {
    instance?.release();
    if (gone.signal.aborted) return;
    return send(response, 502, { code: "BOOT_ERROR", message: `function ${name} failed: ${(error as Error).message}` });
  }
  response.writeHead(upstream.status, endToEnd(Object.fromEntries(upstream.headers)));
  // Streamed, not buffered: Server-Sent Events must reach the client as they are written.
  try {
    if (upstream.body) for await (const chunk of upstream.body) response.write(chunk);
  } catch (error) {
    if (!gone.signal.aborted) log(`[fn:${name}] response stream failed: ${(error as Error).message}`);
  } finally {
    instance.release();
  }
  response.end();
}

// `expect: 100-continue` too: this gateway answered it (Node does) and has read the body, and
// fetch refuses to send it on (curl sends it for bodies over 1 MiB: a 502 before).
const HOP_BY_HOP = new Set(["host", "connection", "keep-alive", "transfer-encoding", "content-length", "content-encoding", "upgrade", "expect"]);
/** Headers without the hop-by-hop ones, which belong to each connection, not to the message. */
function endToEnd(headers: Record<string, string>): Record<string, string> {
  return Object.fromEntries(Object.entries(headers).filter(([name]) => !HOP_BY_HOP.has(name.toLowerCase())));
}

const server = createServer((request, response) => {
  const { pathname: path, search } = new URL(request.url ?? "/", apiUrl);
  const rpc = /^\/rest\/v1\/rpc\/([^/]+)$/.exec(path);
  const fn = /^\/functions\/v1\/([^/]+)(\/.*)?$/.exec(path);
  const relation = rpc ? null : /^\/rest\/v1\/([^/]+)$/.exec(path);
  const handled = path === "/health"
    ? Promise.resolve(send(response, 200, { ok: true }))
    : request.method === "OPTIONS" && /^\/(rest|auth)\/v1\//.test(path) ? Promise.resolve(preflight(request, response))
    : path.startsWith("/auth/v1/") ? handleAuth(request, response, path.slice("/auth/v1".length), new URL(request.url ?? "/", apiUrl).searchParams)
    : rpc ? handleRpc(request, response, decodeURIComponent(rpc[1]!))
    : relation ? handleRead(request, response, decodeURIComponent(relation[1]!), new URL(request.url ?? "/", apiUrl).searchParams)
    : fn ? handleFunction(request, response, fn[1]!, fn[2] ?? "", search)
    : Promise.resolve(send(response, 404, { code: "NOT_FOUND", message: `no route for ${request.method} ${path}` }));
  handled.catch((error) => {
    if (error instanceof BodyTooLarge) {
      return send(response, 413, { code: "PAYLOAD_TOO_LARGE", message: `the request body exceeds ${maxBodyBytes} bytes (the local gateway's limit)` });
    }
    log(`error on ${request.method} ${path}: ${(error as Error).stack ?? error}`);
    if (!response.headersSent) send(response, 500, { code: "INTERNAL", message: String((error as Error).message ?? error) });
  });
});

const { server: simulatorsServer } = startSimulators(simulatorsPort, log);
const dashboardServer = startDashboard(dashboardPort, join(root, "dashboard/dist"),
  { supabaseUrl: apiUrl, anonKey, operatorKey: serviceRoleKey }, log);

const stopping = new AbortController();
const delivery = runNetDelivery(admin, stopping.signal, log);

server.listen(port, "127.0.0.1", () => {
  writeFileSync(
    join(stackDir, "gateway.env"),
    `SUPABASE_URL=${apiUrl}\nSUPABASE_ANON_KEY=${anonKey}\nSUPABASE_SERVICE_ROLE_KEY=${serviceRoleKey}\n` +
      Object.entries(servicesEnv).map(([key, value]) => `${key}=${value}\n`).join("") +
      `LEASEFLOW_DASHBOARD_URL=http://127.0.0.1:${dashboardPort}\n`,
  );
  log(`gateway listening on ${apiUrl}`);
});

for (const signal of ["SIGTERM", "SIGINT"] as const) {
  process.on(signal, async () => {
    log(`${signal}: stopping`);
    stopping.abort();
    functions.stopAll();
    server.close();
    simulatorsServer.close();
    dashboardServer.close();
    await delivery;
    await Promise.all([api.end({ timeout: 2 }), admin.end({ timeout: 2 })]);
    process.exit(0);
  });
}
