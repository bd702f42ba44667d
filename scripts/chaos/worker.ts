// A Node worker for the chaos suite's job types (scripts/chaos/types.ts): the same process as
// `npm run worker` (node/run.ts), another registry.
import { runNodeWorker } from "../../node/run.ts";
import { chaosRegistry } from "./types.ts";

await runNodeWorker(chaosRegistry);
