// EXAMPLE SERVICES (not Supabase stand-ins): the outside APIs the example job types call, run
// by the local gateway process on their own port (scripts/stack prints the URLs):
//   /messages-api   an email/SMS/push provider: Idempotency-Key deduplication, a log of every
//                   delivery, and rate-limit (429 + Retry-After), timeout (504 after a delay,
//                   sometimes after having sent) and invalid-recipient (422) failures
//   /sentiment-api  a keyword sentiment classifier with an optional error rate
//   /config         GET / PUT (merge) / POST /reset: failure rates and latencies per run
// Failures are drawn per request, except invalid recipients and replies, which follow from the
// address (a retry meets the same mailbox). State lives in memory until /config/reset.
import { createServer, type IncomingMessage, type Server, type ServerResponse } from "node:http";

/** Knobs of one run. */
export interface SimulatorConfig {
  /** Each request waits a uniform random time in [min, max] ms. */
  latencyMs: [number, number];
  /** Fraction of sends answered 429. */
  rateLimitRate: number;
  /** Retry-After of a 429, seconds. */
  retryAfterSeconds: number;
  /** Fraction of sends answered 504 after timeoutMs. */
  timeoutRate: number;
  /** How long a timing-out send hangs before its 504. */
  timeoutMs: number;
  /** Fraction of timing-out sends that were delivered anyway (the response was lost). */
  deliveredOnTimeoutRate: number;
  /** Fraction of addresses whose mailbox does not exist (422 invalid_recipient). */
  invalidRate: number;
  /** Fractions of delivered emails that get a positive, negative or neutral reply (the rest: none). */
  replies: { positive: number; negative: number; neutral: number };
  /** Fraction of sentiment requests answered 503. */
  sentimentErrorRate: number;
}

/** The defaults: a provider with a few percent of each failure. */
export const DEFAULT_CONFIG: SimulatorConfig = {
  latencyMs: [2, 15],
  rateLimitRate: 0.03,
  retryAfterSeconds: 1,
  timeoutRate: 0.02,
  timeoutMs: 1_500,
  deliveredOnTimeoutRate: 0.5,
  invalidRate: 0.02,
  replies: { positive: 0.3, negative: 0.2, neutral: 0.3 },
  sentimentErrorRate: 0.02,
};

const REPLIES = {
  positive: ["Thanks, this is great - tell me more!", "Love it, can we set up a call?", "Sounds excellent, I am interested."],
  negative: ["Please stop emailing me.", "Not interested, unsubscribe me.", "This is spam and I hate it."],
  neutral: ["Received.", "I will forward this to my team.", "Out of office until Monday."],
} as const;

interface Delivery {
  id: string;
  channel: string;
  to: string;
  subject: string | null;
  body: string;
  idempotencyKey: string;
  reply: string | null;
  at: string;
}

/** FNV-1a: a stable fraction in [0, 1) for a text (which addresses are invalid, who replies what). */
function fraction(text: string): number {
  let hash = 0x811c9dc5;
  for (let i = 0; i < text.length; i++) hash = Math.imul(hash ^ text.charCodeAt(i), 0x01000193) >>> 0;
  return hash / 2 ** 32;
}

/** The sentiment of a text from its words; negative phrases are read first ("not interested"). */
export function classify(text: string): { sentiment: "positive" | "negative" | "neutral"; score: number } {
  const lower = text.toLowerCase();
  const negative = ["not interested", "stop", "unsubscribe", "spam", "hate"].filter((word) => lower.includes(word)).length;
  const rest = negative ? lower.replace("not interested", "") : lower;
  const positive = ["great", "love", "excellent", "interested", "thanks"].filter((word) => rest.includes(word)).length;
  const score = (positive - negative) / Math.max(1, positive + negative);
  return { sentiment: score > 0 ? "positive" : score < 0 ? "negative" : "neutral", score: Math.round(score * 100) / 100 };
}

/** The simulators' state and HTTP handler. */
export class Simulators {
  config: SimulatorConfig = structuredClone(DEFAULT_CONFIG);
  readonly deliveries: Delivery[] = [];
  readonly #byKey = new Map<string, Delivery>();
  readonly #byId = new Map<string, Delivery>();
  readonly #suppressed = new Map<string, string>();
  #requests = { sends: 0, replayed: 0, rateLimited: 0, timedOut: 0, invalid: 0, suppressed: 0, sentiment: 0, sentimentErrors: 0 };

  /** Forgets every delivery and sets the config (defaults, then `config`). */
  reset(config: Partial<SimulatorConfig> = {}): void {
    this.config = { ...structuredClone(DEFAULT_CONFIG), ...config };
    this.deliveries.length = 0;
    this.#byKey.clear();
    this.#byId.clear();
    this.#suppressed.clear();
    this.#requests = { sends: 0, replayed: 0, rateLimited: 0, timedOut: 0, invalid: 0, suppressed: 0, sentiment: 0, sentimentErrors: 0 };
  }

  /** Deliveries, the same message delivered more than once, and request counters. */
  summary() {
    const seen = new Map<string, number>();
    for (const d of this.deliveries) {
      const key = JSON.stringify([d.channel, d.to.toLowerCase(), d.subject, d.body]);
      seen.set(key, (seen.get(key) ?? 0) + 1);
    }
    const duplicates = [...seen].filter(([, count]) => count > 1).map(([key, count]) => {
      const [channel, to, subject] = JSON.parse(key) as string[];
      return { channel, to, subject, count };
    });
    const byChannel: Record<string, number> = {};
    for (const d of this.deliveries) byChannel[d.channel] = (byChannel[d.channel] ?? 0) + 1;
    return { deliveries: this.deliveries.length, byChannel, duplicates, suppressed: this.#suppressed.size, requests: this.#requests };
  }

  async handle(request: IncomingMessage, response: ServerResponse): Promise<void> {
    const url = new URL(request.url ?? "/", "http://simulators");
    const path = url.pathname;
    const body = request.method === "GET" ? undefined : await readJson(request);
    const send = (status: number, payload: unknown, headers: Record<string, string> = {}) => {
      response.writeHead(status, { "Content-Type": "application/json", ...headers });
      response.end(JSON.stringify(payload));
    };
    const fail = (status: number, code: string, message: string, headers: Record<string, string> = {}) =>
      send(status, { error: { code, message } }, headers);

    if (path === "/health") return send(200, { ok: true });
    if (path === "/config" && request.method === "GET") return send(200, this.config);
    if (path === "/config" && request.method === "PUT") {
      this.config = { ...this.config, ...(body as Partial<SimulatorConfig>) };
      return send(200, this.config);
    }
    if (path === "/config/reset" && request.method === "POST") {
      this.reset((body ?? {}) as Partial<SimulatorConfig>);
      return send(200, this.config);
    }
    if (path === "/messages-api/deliveries" && request.method === "GET") {
      const to = url.searchParams.get("to");
      return send(200, { ...this.summary(), items: to ? this.deliveries.filter((d) => d.to === to) : undefined });
    }

    await this.#latency();
    if (path === "/messages-api/messages" && request.method === "POST") return this.#send(request, body, send, fail);
    const message = /^\/messages-api\/messages\/([^/]+)$/.exec(path);
    if (message && request.method === "GET") {
      const found = this.#byId.get(decodeURIComponent(message[1]!));
      if (!found) return fail(404, "not_found", `no message ${message[1]}`);
      return send(200, { id: found.id, to: found.to, channel: found.channel, reply: found.reply });
    }
    const suppression = /^\/messages-api\/suppressions\/([^/]+)$/.exec(path);
    if (suppression && request.method === "PUT") {
      const address = decodeURIComponent(suppression[1]!).toLowerCase();
      this.#suppressed.set(address, String((body as { reason?: unknown } | undefined)?.reason ?? ""));
      return send(200, { address, suppressed: true });
    }
    if (path === "/sentiment-api/analyze" && request.method === "POST") {
      this.#requests.sentiment++;
      const text = (body as { text?: unknown } | undefined)?.text;
      if (typeof text !== "string" || text === "") return fail(400, "invalid_request", "body.text must be a non-empty string");
      if (Math.random() < this.config.sentimentErrorRate) {
        this.#requests.sentimentErrors++;
        return fail(503, "unavailable", "sentiment model is overloaded");
      }
      return send(200, classify(text));
    }
    fail(404, "not_found", `no route for ${request.method} ${path}`);
  }

  async #send(
    request: IncomingMessage,
    body: unknown,
    send: (status: number, payload: unknown, headers?: Record<string, string>) => void,
    fail: (status: number, code: string, message: string, headers?: Record<string, string>) => void,
  ): Promise<void> {
    this.#requests.sends++;
    const key = request.headers["idempotency-key"];
    const message = body as { channel?: unknown; to?: unknown; subject?: unknown; body?: unknown } | undefined;
    if (typeof key !== "string" || key === "") return fail(400, "invalid_request", "the Idempotency-Key header is required");
    if (!message || !["email", "sms", "push"].includes(message.channel as string) || typeof message.to !== "string" || typeof message.body !== "string") {
      return fail(400, "invalid_request", "body must be {channel: email|sms|push, to, subject?, body}");
    }
    if (Math.random() < this.config.rateLimitRate) {
      this.#requests.rateLimited++;
      return fail(429, "rate_limited", "too many requests", { "Retry-After": String(this.config.retryAfterSeconds) });
    }
    const earlier = this.#byKey.get(key);
    if (earlier) {
      this.#requests.replayed++;
      return send(200, { id: earlier.id, status: "sent", replayed: true });
    }
    const to = message.to.toLowerCase();
    if (message.channel === "email" && fraction(`mailbox:${to}`) < this.config.invalidRate) {
      this.#requests.invalid++;
      return fail(422, "invalid_recipient", `mailbox ${message.to} does not exist`);
    }
    if (this.#suppressed.has(to)) {
      this.#requests.suppressed++;
      return fail(422, "suppressed", `${message.to} is on the suppression list`);
    }
    if (Math.random() < this.config.timeoutRate) {
      this.#requests.timedOut++;
      if (Math.random() < this.config.deliveredOnTimeoutRate) this.#deliver(key, message as Required<typeof message>);
      await sleep(this.config.timeoutMs);
      return fail(504, "timeout", `upstream timed out after ${this.config.timeoutMs} ms`);
    }
    const delivery = this.#deliver(key, message as Required<typeof message>);
    send(200, { id: delivery.id, status: "sent", replayed: false });
  }

  #deliver(key: string, message: { channel: unknown; to: unknown; subject?: unknown; body: unknown }): Delivery {
    const to = String(message.to);
    const draw = fraction(`reply:${to.toLowerCase()}`);
    const { positive, negative, neutral } = this.config.replies;
    const kind = message.channel !== "email" ? null
      : draw < positive ? "positive"
      : draw < positive + negative ? "negative"
      : draw < positive + negative + neutral ? "neutral"
      : null;
    const delivery: Delivery = {
      id: `msg_${this.deliveries.length + 1}`,
      channel: String(message.channel),
      to,
      subject: typeof message.subject === "string" ? message.subject : null,
      body: String(message.body),
      idempotencyKey: key,
      reply: kind ? REPLIES[kind][Math.floor(fraction(`pick:${to}`) * 3)]! : null,
      at: new Date().toISOString(),
    };
    this.deliveries.push(delivery);
    this.#byKey.set(key, delivery);
    this.#byId.set(delivery.id, delivery);
    return delivery;
  }

  async #latency(): Promise<void> {
    const [min, max] = this.config.latencyMs;
    if (max > 0) await sleep(min + Math.random() * (max - min));
  }
}

function sleep(ms: number): Promise<void> {
  return new Promise((resolve) => setTimeout(resolve, ms));
}

async function readJson(request: IncomingMessage): Promise<unknown> {
  const chunks: Buffer[] = [];
  for await (const chunk of request) chunks.push(chunk as Buffer);
  const text = Buffer.concat(chunks).toString();
  if (!text) return undefined;
  try {
    return JSON.parse(text);
  } catch {
    return undefined;
  }
}

/** Starts the simulators' HTTP server on 127.0.0.1:`port`. */
export function startSimulators(port: number, log: (line: string) => void): { simulators: Simulators; server: Server } {
  const simulators = new Simulators();
  const server = createServer((request, response) => {
    simulators.handle(request, response).catch((error) => {
      log(`[sim] ${request.method} ${request.url}: ${(error as Error).stack ?? error}`);
      if (!response.headersSent) response.writeHead(500).end();
    });
  });
  server.listen(port, "127.0.0.1", () => log(`[sim] example services listening on http://127.0.0.1:${port}`));
  return { simulators, server };
}
