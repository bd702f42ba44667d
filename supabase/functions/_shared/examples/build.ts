// build: a per-chat build queue. Each job bundles one message's code with esbuild; jobs share
// the chat id as group key, so one chat's builds run one at a time in the order they were sent
// while other chats' builds run alongside. A syntax error is the user's, not the system's: the
// step fails permanently with esbuild's message, line and column.
import { z } from "zod";
import { type JobTypeDefinition, PermanentError } from "../leaseflow/mod.ts";
import { bundle } from "./esbuild.ts";

/** A build job's payload. */
export const buildPayload = z.object({
  /** The chat; its builds run in order, one at a time. */
  chatId: z.string().min(1).max(200),
  /** The message whose code this is. */
  messageId: z.string().min(1).max(200),
  /** TypeScript / TSX source, at most 100 KB. */
  code: z.string().min(1).max(100_000),
}).strict();

/** The payload's type. */
export type BuildPayload = z.infer<typeof buildPayload>;

/** The build job type. */
export const buildJobType: JobTypeDefinition<BuildPayload> = {
  type: "build",
  steps: ["compile"],
  options: { maxAttempts: 3, timeoutMs: 60_000, priority: 4 },
  payloadSchema: buildPayload,
  enqueueDefaults: (payload) => ({ groupKey: payload.chatId }),
  handlers: {
    compile: async ({ payload }) => {
      const result = await bundle(payload.code);
      if (!result.ok) {
        const first = result.errors[0]!;
        throw new PermanentError(`${first.line}:${first.column}: ${first.text}`, { details: { errors: result.errors } });
      }
      return {
        chatId: payload.chatId,
        messageId: payload.messageId,
        outputBytes: new TextEncoder().encode(result.code).length,
        warnings: result.warnings,
      };
    },
  },
};
