// esbuild, as WebAssembly, in this process: the same code runs in Deno (the Edge Function) and
// Node. esbuild-wasm's Node entry would start a child process, which an Edge Function may not,
// so this uses its browser entry with the wasm module read from the package and compiled once
// per process (~200 ms on the CI box; each bundle after that is a few ms).
import { readFile } from "node:fs/promises";
import { fileURLToPath } from "node:url";
import type * as Esbuild from "esbuild-wasm";

/** One esbuild message with its position (1-based line, 0-based column, as esbuild reports). */
export interface BuildMessage {
  /** What esbuild said. */
  text: string;
  /** Line in the source. */
  line: number;
  /** Column in the line. */
  column: number;
}

/** A bundle or the reasons there is none. */
export type BundleResult =
  | { ok: true; code: string; warnings: BuildMessage[] }
  | { ok: false; errors: BuildMessage[] };

let ready: Promise<typeof Esbuild> | undefined;

function load(): Promise<typeof Esbuild> {
  ready ??= (async () => {
    // The browser entry looks for `self`, which Node does not define.
    (globalThis as { self?: unknown }).self ??= globalThis;
    const esbuild = (await import("esbuild-wasm/esm/browser.js")) as typeof Esbuild;
    const wasm = await readFile(fileURLToPath(import.meta.resolve("esbuild-wasm/esbuild.wasm")));
    await esbuild.initialize({ wasmModule: await WebAssembly.compile(wasm), worker: false });
    return esbuild;
  })();
  ready.catch(() => (ready = undefined));
  return ready;
}

const toMessage = (message: Esbuild.Message): BuildMessage => ({
  text: message.text,
  line: message.location?.line ?? 0,
  column: message.location?.column ?? 0,
});

/** Bundles TypeScript/TSX `source` to minified ESM; imports of packages stay imports. */
export async function bundle(source: string): Promise<BundleResult> {
  const esbuild = await load();
  try {
    const result = await esbuild.build({
      stdin: { contents: source, loader: "tsx", sourcefile: "input.tsx" },
      bundle: true,
      write: false,
      format: "esm",
      external: ["*"],
      minify: true,
      logLevel: "silent",
    });
    return { ok: true, code: result.outputFiles[0]?.text ?? "", warnings: result.warnings.map(toMessage) };
  } catch (error) {
    const errors = (error as { errors?: Esbuild.Message[] }).errors;
    if (!errors?.length) throw error;
    return { ok: false, errors: errors.map(toMessage) };
  }
}
