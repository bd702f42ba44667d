// notify: typed notification jobs with priorities 1–5 (higher first). The payload's `kind`
// selects the shape:
//   email         {to, subject, body}                      sent through the messages API
//   notification  {userId, channel: push|sms|email, message}  sent through the messages API
//   report        {reportType, format: pdf|csv, dateRange}  rendered here (a real CSV or PDF)
// Unless the request sets one, the priority comes from the kind: notifications 4, emails 3,
// reports 2 (a person waits on a push; nobody waits on a nightly report).
import { z } from "zod";
import { type JobTypeDefinition, PermanentError } from "../leaseflow/mod.ts";
import type { Services } from "./services.ts";

const isoDate = z.iso.date();

/** A notify job's payload, one of three kinds. */
export const notifyPayload = z.discriminatedUnion("kind", [
  z.object({
    kind: z.literal("email"),
    to: z.email(),
    subject: z.string().min(1).max(200),
    body: z.string().min(1).max(20_000),
  }).strict(),
  z.object({
    kind: z.literal("report"),
    reportType: z.enum(["sales", "usage", "billing"]),
    format: z.enum(["pdf", "csv"]),
    dateRange: z.object({ from: isoDate, to: isoDate }).strict()
      .refine((range) => range.from <= range.to, { message: "from must not be after to", path: ["from"] })
      .refine((range) => daysBetween(range.from, range.to) < 366, { message: "a report covers at most 366 days", path: ["to"] }),
  }).strict(),
  z.object({
    kind: z.literal("notification"),
    userId: z.string().min(1).max(100),
    channel: z.enum(["push", "sms", "email"]),
    message: z.string().min(1).max(1_000),
  }).strict(),
]);

/** The payload's type. */
export type NotifyPayload = z.infer<typeof notifyPayload>;

const PRIORITY_BY_KIND = { notification: 4, email: 3, report: 2 } as const;
// What fits one SMS and one push notification; longer messages are cut with an ellipsis.
const MAX_LENGTH = { sms: 160, push: 240, email: 1_000 } as const;

/** The notify job type, sending through `services`. */
export function notifyJobType(services: Services): JobTypeDefinition<NotifyPayload> {
  return {
    type: "notify",
    steps: ["deliver"],
    options: { maxAttempts: 5, backoff: { baseMs: 500, maxMs: 60_000, jitter: 0.2 }, timeoutMs: 30_000 },
    payloadSchema: notifyPayload,
    enqueueDefaults: (payload) => ({ priority: PRIORITY_BY_KIND[payload.kind] }),
    handlers: {
      deliver: async ({ payload, idempotencyKey, signal }) => {
        switch (payload.kind) {
          case "email": {
            const sent = await services.sendMessage({ channel: "email", to: payload.to, subject: payload.subject, body: payload.body }, idempotencyKey, signal);
            return { kind: payload.kind, messageId: sent.id };
          }
          case "notification": {
            const body = truncate(payload.message, MAX_LENGTH[payload.channel]);
            const sent = await services.sendMessage({ channel: payload.channel, to: payload.userId, body }, idempotencyKey, signal);
            return { kind: payload.kind, channel: payload.channel, messageId: sent.id, truncated: body !== payload.message };
          }
          case "report":
            return { kind: payload.kind, ...(await renderReport(payload)) };
          default:
            throw new PermanentError(`notify: unknown kind ${JSON.stringify((payload as { kind: unknown }).kind)}`);
        }
      },
    },
  };
}

function truncate(text: string, max: number): string {
  return text.length <= max ? text : `${text.slice(0, max - 1)}…`;
}

function daysBetween(from: string, to: string): number {
  return Math.round((Date.parse(`${to}T00:00:00Z`) - Date.parse(`${from}T00:00:00Z`)) / 86_400_000);
}

/** One row per day of the range with figures derived from the date (the same range gives the same report). */
function reportRows(payload: Extract<NotifyPayload, { kind: "report" }>): [string, number, number][] {
  const days = daysBetween(payload.dateRange.from, payload.dateRange.to) + 1;
  return Array.from({ length: days }, (_, index) => {
    const day = new Date(Date.parse(`${payload.dateRange.from}T00:00:00Z`) + index * 86_400_000).toISOString().slice(0, 10);
    const seed = [...`${payload.reportType}${day}`].reduce((hash, char) => (hash * 31 + char.charCodeAt(0)) >>> 0, 7);
    return [day, seed % 1_000, (seed >>> 10) % 100_000 / 100];
  });
}

/** Renders the report as a CSV file or a one-page PDF; returns its size and SHA-256. */
async function renderReport(payload: Extract<NotifyPayload, { kind: "report" }>) {
  const rows = reportRows(payload);
  const header = ["date", "count", "amount"];
  const bytes: Uint8Array<ArrayBuffer> = payload.format === "csv"
    ? new TextEncoder().encode([header, ...rows].map((row) => row.join(",")).join("\n") + "\n")
    : pdfDocument(`${payload.reportType} report ${payload.dateRange.from} to ${payload.dateRange.to}`, rows.map((row) => row.join("   ")));
  const digest = new Uint8Array(await crypto.subtle.digest("SHA-256", bytes));
  return {
    reportType: payload.reportType,
    format: payload.format,
    rows: rows.length,
    bytes: bytes.length,
    sha256: [...digest].map((byte) => byte.toString(16).padStart(2, "0")).join(""),
  };
}

/** A minimal valid PDF 1.4: one page of Helvetica text lines (the first 50). */
function pdfDocument(title: string, lines: string[]): Uint8Array<ArrayBuffer> {
  const escape = (text: string) => text.replace(/[\\()]/g, (char) => `\\${char}`);
  const text = [title, "", ...lines.slice(0, 50)]
    .map((line, index) => `BT /F1 10 Tf 50 ${780 - index * 14} Td (${escape(line)}) Tj ET`)
    .join("\n");
  const objects = [
    "<< /Type /Catalog /Pages 2 0 R >>",
    "<< /Type /Pages /Kids [3 0 R] /Count 1 >>",
    "<< /Type /Page /Parent 2 0 R /MediaBox [0 0 595 842] /Contents 4 0 R /Resources << /Font << /F1 5 0 R >> >> >>",
    `<< /Length ${text.length} >>\nstream\n${text}\nendstream`,
    "<< /Type /Font /Subtype /Type1 /BaseFont /Helvetica >>",
  ];
  let pdf = "%PDF-1.4\n";
  const offsets: number[] = [];
  objects.forEach((body, index) => {
    offsets.push(pdf.length);
    pdf += `${index + 1} 0 obj\n${body}\nendobj\n`;
  });
  const xref = pdf.length;
  pdf += `xref\n0 ${objects.length + 1}\n0000000000 65535 f \n`;
  pdf += offsets.map((offset) => `${String(offset).padStart(10, "0")} 00000 n \n`).join("");
  pdf += `trailer\n<< /Size ${objects.length + 1} /Root 1 0 R >>\nstartxref\n${xref}\n%%EOF\n`;
  return new TextEncoder().encode(pdf);
}
