// Clients for the outside services the example job types call, and how their failures map to
// the runtime's settlement: 429 → RetryAfterError (the service's Retry-After), 5xx / timeouts /
// network errors → TransientError, 4xx → PermanentError. Locally the simulators in
// ./simulators.ts answer; in production point the URLs at real providers that speak the same
// small contract.
//
// Messages API:  POST {url}/messages  (Idempotency-Key header) {channel, to, subject?, body}
//                  → 200 {id, status: "sent", replayed} | 422 {error: {code, message}} | 429 | 5xx
//                GET  {url}/messages/:id → {id, to, channel, reply}
//                PUT  {url}/suppressions/:address → 200
// Sentiment API: POST {url}/analyze {text} → {sentiment: positive|negative|neutral, score}
import { PermanentError, RetryAfterError, TransientError } from "../leaseflow/mod.ts";

/** Where the services are: LEASEFLOW_MESSAGES_API_URL and LEASEFLOW_SENTIMENT_API_URL. */
export interface ServiceUrls {
  /** Base URL of the messages API (email, sms, push). */
  messagesApiUrl?: string;
  /** Base URL of the sentiment API. */
  sentimentApiUrl?: string;
  /** Per-request timeout, ms. (Default: 10 000) */
  requestTimeoutMs?: number;
}

/** One outbound message. */
export interface OutboundMessage {
  /** How it travels. */
  channel: "email" | "sms" | "push";
  /** Address, phone number or user id. */
  to: string;
  /** Subject line (email). */
  subject?: string;
  /** The text. */
  body: string;
}

/** What the messages API answers for a send. */
export interface SentMessage {
  /** The provider's message id. */
  id: string;
  /** True when the idempotency key had been used: nothing new was sent. */
  replayed: boolean;
}

/** A sentiment label with its score (−1..1). */
export interface Sentiment {
  /** The label. */
  sentiment: "positive" | "negative" | "neutral";
  /** Strength, −1 (negative) .. 1 (positive). */
  score: number;
}

/** HTTP clients for the example services, configured from the environment. */
export class Services {
  constructor(private readonly urls: ServiceUrls) {}

  /** Reads LEASEFLOW_MESSAGES_API_URL and LEASEFLOW_SENTIMENT_API_URL. */
  static fromEnv(env: (name: string) => string | undefined): Services {
    return new Services({ messagesApiUrl: env("LEASEFLOW_MESSAGES_API_URL"), sentimentApiUrl: env("LEASEFLOW_SENTIMENT_API_URL") });
  }

  /** Sends a message at most once per idempotency key (the provider deduplicates). */
  sendMessage(message: OutboundMessage, idempotencyKey: string, signal: AbortSignal): Promise<SentMessage> {
    return this.#call<SentMessage>("messages", "/messages", { method: "POST", body: message, idempotencyKey, signal });
  }

  /** A sent message with the recipient's reply (null when none came). */
  getMessage(id: string, signal: AbortSignal): Promise<{ id: string; to: string; reply: string | null }> {
    return this.#call("messages", `/messages/${encodeURIComponent(id)}`, { method: "GET", signal });
  }

  /** Puts an address on the provider's suppression list (idempotent). */
  async suppress(address: string, reason: string, signal: AbortSignal): Promise<void> {
    await this.#call("messages", `/suppressions/${encodeURIComponent(address)}`, { method: "PUT", body: { reason }, signal });
  }

  /** The sentiment of a text. */
  analyze(text: string, signal: AbortSignal): Promise<Sentiment> {
    return this.#call<Sentiment>("sentiment", "/analyze", { method: "POST", body: { text }, signal });
  }

  async #call<T>(
    service: "messages" | "sentiment",
    path: string,
    request: { method: string; body?: unknown; idempotencyKey?: string; signal: AbortSignal },
  ): Promise<T> {
    const base = service === "messages" ? this.urls.messagesApiUrl : this.urls.sentimentApiUrl;
    if (!base) {
      const variable = service === "messages" ? "LEASEFLOW_MESSAGES_API_URL" : "LEASEFLOW_SENTIMENT_API_URL";
      throw new PermanentError(`the ${service} API is not configured: set ${variable}`);
    }
    const url = `${base.replace(/\/+$/, "")}${path}`;
    const headers: Record<string, string> = { "Content-Type": "application/json" };
    if (request.idempotencyKey) headers["Idempotency-Key"] = request.idempotencyKey;
    let response: Response;
    try {
      response = await fetch(url, {
        method: request.method,
        headers,
        body: request.body === undefined ? undefined : JSON.stringify(request.body),
        signal: AbortSignal.any([request.signal, AbortSignal.timeout(this.urls.requestTimeoutMs ?? 10_000)]),
      });
    } catch (error) {
      if (request.signal.aborted) throw request.signal.reason;
      throw new TransientError(`${request.method} ${url} failed: ${(error as Error).message}`, { cause: error });
    }
    const text = await response.text();
    let body: { error?: { code?: string; message?: string } } & Record<string, unknown> = {};
    try {
      body = text ? JSON.parse(text) : {};
    } catch {
      // Not JSON (a proxy's error page): the status decides below.
    }
    if (response.ok) return body as T;
    const reason = body.error?.message ?? (text.slice(0, 200) || response.statusText);
    const details = { service, status: response.status, code: body.error?.code };
    if (response.status === 429) {
      const seconds = Number(response.headers.get("Retry-After"));
      throw new RetryAfterError(Number.isFinite(seconds) && seconds >= 0 ? seconds * 1000 : 1_000, `${service} API rate limit: ${reason}`, { details });
    }
    if (response.status >= 500 || response.status === 408) {
      throw new TransientError(`${service} API ${response.status}: ${reason}`, { details });
    }
    throw new PermanentError(`${service} API ${response.status}: ${reason}`, { details });
  }
}
