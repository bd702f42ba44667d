// campaign_email: one job per recipient of a campaign, three steps —
//   send_email   sends the campaign's email through the messages API
//   analyze      reads the recipient's reply and asks the sentiment API about it
//   take_action  routes on the sentiment: positive → a push to the campaign's owner,
//                negative → the address goes on the suppression list, neutral → nothing
// No address is emailed twice: the send's idempotency key is the campaign and the address (not
// the step id), so a retry, a worker killed after the provider accepted the send, or the same
// campaign enqueued again all reuse one key, and the provider sends once.
import { z } from "zod";
import type { JobTypeDefinition } from "../leaseflow/mod.ts";
import type { Sentiment, Services } from "./services.ts";

/** A campaign_email job's payload. */
export const campaignEmailPayload = z.object({
  /** The campaign, part of the idempotency key. */
  campaignId: z.string().min(1).max(100),
  /** The recipient. */
  to: z.email(),
  /** Subject line. */
  subject: z.string().min(1).max(200),
  /** Text body. */
  body: z.string().min(1).max(20_000),
  /** Who hears about positive replies (a user id for push). (Default: "campaign-owner") */
  owner: z.string().min(1).max(100).optional(),
}).strict();

/** The payload's type. */
export type CampaignEmailPayload = z.infer<typeof campaignEmailPayload>;

/** The key the messages API deduplicates a campaign's send to one address by. */
export function campaignSendKey(payload: Pick<CampaignEmailPayload, "campaignId" | "to">): string {
  return `campaign:${payload.campaignId}:${payload.to.toLowerCase()}`;
}

/** The campaign_email job type, calling `services`. */
export function campaignEmailJobType(services: Services): JobTypeDefinition<CampaignEmailPayload> {
  return {
    type: "campaign_email",
    steps: ["send_email", "analyze", "take_action"],
    // Rate limits are retried after the provider's Retry-After; timeouts with backoff from 500 ms.
    options: { maxAttempts: 6, backoff: { baseMs: 500, maxMs: 30_000, jitter: 0.2 }, timeoutMs: 30_000, priority: 2 },
    payloadSchema: campaignEmailPayload,
    // One unfinished job per campaign and address, so a duplicate in the list is enqueued once.
    enqueueDefaults: (payload) => ({ dedupeKey: campaignSendKey(payload) }),
    handlers: {
      send_email: async ({ payload, signal }) => {
        const sent = await services.sendMessage(
          { channel: "email", to: payload.to, subject: payload.subject, body: payload.body },
          campaignSendKey(payload),
          signal,
        );
        return { messageId: sent.id, replayed: sent.replayed };
      },
      analyze: async ({ previousOutputs, signal }) => {
        const { messageId } = previousOutputs.send_email as { messageId: string };
        const message = await services.getMessage(messageId, signal);
        if (!message.reply) return { sentiment: "neutral", score: 0, reply: null };
        const sentiment = await services.analyze(message.reply, signal);
        return { ...sentiment, reply: message.reply };
      },
      take_action: async ({ payload, previousOutputs, signal }) => {
        const { sentiment } = previousOutputs.analyze as Sentiment;
        if (sentiment === "positive") {
          const owner = payload.owner ?? "campaign-owner";
          const sent = await services.sendMessage(
            { channel: "push", to: owner, body: `${payload.to} replied positively to campaign ${payload.campaignId}` },
            `${campaignSendKey(payload)}:owner-alert`,
            signal,
          );
          return { action: "alerted_owner", owner, messageId: sent.id };
        }
        if (sentiment === "negative") {
          await services.suppress(payload.to, `negative reply to campaign ${payload.campaignId}`, signal);
          return { action: "suppressed" };
        }
        return { action: "none" };
      },
    },
  };
}

/** A campaign to send: one job per address. */
export interface Campaign {
  /** The campaign's id. */
  campaignId: string;
  /** Subject line. */
  subject: string;
  /** Text body. */
  body: string;
  /** Recipients (duplicates are enqueued once). */
  addresses: readonly string[];
  /** Who hears about positive replies. */
  owner?: string;
}

/** The campaign_email payloads and dedupe keys of a campaign, for one enqueue_jobs call. */
export function campaignJobs(campaign: Campaign): { payloads: CampaignEmailPayload[]; dedupeKeys: string[] } {
  const payloads = campaign.addresses.map((to) => ({
    campaignId: campaign.campaignId,
    to,
    subject: campaign.subject,
    body: campaign.body,
    ...(campaign.owner ? { owner: campaign.owner } : {}),
  }));
  return { payloads, dedupeKeys: payloads.map(campaignSendKey) };
}

/** Anything that can call enqueue_jobs: the postgres.js or the supabase-js transport's client. */
export type EnqueueJobs = (type: string, payloads: unknown[], options: Record<string, unknown>) => Promise<string[]>;

/** Enqueues one campaign_email job per address in one enqueue_jobs call (up to 50 000); returns the ids. */
export async function enqueueCampaign(enqueueJobs: EnqueueJobs, campaign: Campaign): Promise<string[]> {
  const invalid = campaign.addresses.findIndex((to) => !campaignEmailPayload.shape.to.safeParse(to).success);
  if (invalid >= 0) {
    throw new Error(`enqueueCampaign: addresses[${invalid}] is not an email address: ${JSON.stringify(campaign.addresses[invalid])}`);
  }
  const { payloads, dedupeKeys } = campaignJobs(campaign);
  return enqueueJobs("campaign_email", payloads, { dedupe_keys: dedupeKeys });
}
