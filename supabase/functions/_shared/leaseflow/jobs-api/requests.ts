// What the jobs API accepts, as Zod schemas, and how a failed parse becomes the 400 the API
// answers (every issue with its field path).
import { z } from "zod";

/** A job or step id (any UUID layout; the database decides whether it exists). */
export const jobId = z.string().regex(/^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$/i, "must be a UUID");

const jsonObject = z.record(z.string(), z.unknown());
const key = z.string().trim().min(1).max(200);
const options = {
  /** 1..5, higher first. (Default: the type's, or what the type derives from the payload) */
  priority: z.number().int().min(1).max(5).optional(),
  /** Not started before this instant (ISO 8601 with offset). */
  runAt: z.iso.datetime({ offset: true }).optional(),
  /** Not started before now + delayMs. */
  delayMs: z.number().int().min(0).max(31_536_000_000).optional(),
  /** Attempts per step, 1..100. (Default: the type's) */
  maxAttempts: z.number().int().min(1).max(100).optional(),
};
const notBoth = (value: { runAt?: string; delayMs?: number }) => value.runAt === undefined || value.delayMs === undefined;
const notBothMessage = { message: "runAt and delayMs exclude each other", path: ["delayMs"] };

/** POST /jobs with one job. */
export const enqueueOne = z.object({
  type: z.string().min(1).max(100),
  payload: jsonObject.default({}),
  groupKey: key.optional(),
  dedupeKey: key.optional(),
  ...options,
}).strict().refine(notBoth, notBothMessage);

/** POST /jobs with a batch: one job per element of payloads (at most 50 000), all or none. */
export const enqueueMany = z.object({
  type: z.string().min(1).max(100),
  payloads: z.array(jsonObject).min(1).max(50_000),
  groupKey: key.optional(),
  groupKeys: z.array(key.nullable()).optional(),
  dedupeKeys: z.array(key.nullable()).optional(),
  ...options,
}).strict().refine(notBoth, notBothMessage)
  .refine((value) => !(value.groupKey && value.groupKeys), { message: "groupKey and groupKeys exclude each other", path: ["groupKeys"] })
  .refine((value) => !value.groupKeys || value.groupKeys.length === value.payloads.length, {
    message: "must have one entry per payload", path: ["groupKeys"],
  })
  .refine((value) => !value.dedupeKeys || value.dedupeKeys.length === value.payloads.length, {
    message: "must have one entry per payload", path: ["dedupeKeys"],
  });

/** GET /jobs query. */
export const listQuery = z.object({
  /** One status or several, comma-separated. */
  status: z.string().transform((value) => value.split(",").map((part) => part.trim()).filter(Boolean))
    .pipe(z.array(z.enum(["pending", "running", "completed", "failed", "cancelled"])).min(1)).optional(),
  type: z.string().min(1).max(100).optional(),
  groupKey: key.optional(),
  search: z.string().min(1).max(200).optional(),
  /** One priority or several, comma-separated. */
  priority: z.string().transform((value) => value.split(",").map((part) => part.trim()).filter(Boolean).map(Number))
    .pipe(z.array(z.number().int().min(1).max(5)).min(1)).optional(),
  /** Created at or after this instant (ISO 8601). */
  createdAfter: z.iso.datetime({ offset: true }).optional(),
  /** Created before this instant (ISO 8601). */
  createdBefore: z.iso.datetime({ offset: true }).optional(),
  sort: z.enum(["created", "priority", "status"]).default("created"),
  order: z.enum(["asc", "desc"]).default("desc"),
  cursor: z.string().min(1).max(200).optional(),
  limit: z.coerce.number().int().min(1).max(500).default(50),
}).strict();

/** GET /groups/:key query. */
export const groupQuery = z.object({
  /** Jobs per list: the first unfinished ones in queue order, the latest finished ones. */
  limit: z.coerce.number().int().min(1).max(500).default(50),
}).strict();

/** GET /stats query. */
export const statsQuery = z.object({ type: z.string().min(1).max(100).optional() }).strict();

/** GET /dead-letter query. */
export const deadLetterQuery = z.object({
  /** The newest failures, at most this many. */
  limit: z.coerce.number().int().min(1).max(1_000).default(500),
}).strict();

/** A route that takes no query parameters. */
export const noQuery = z.object({}).strict();

/** DELETE /jobs/:id body (optional). */
export const cancelBody = z.object({ reason: z.string().min(1).max(1_000).optional() }).strict();

/** One failed rule: where (a dotted path) and what. */
export { type Issue, issuesOf } from "../registry.ts";
