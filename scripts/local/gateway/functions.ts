// LOCAL STAND-IN: `/functions/v1/<name>` as Supabase's edge gateway serves it. Each function
// runs in Deno processes (started on first use, started again if one died), serving
// supabase/functions/<name>/index.ts with the environment a hosted function gets. A request goes
// to the least busy process, and a new one starts while all are busy, up to one per CPU
// (LEASEFLOW_FUNCTION_PROCESSES): hosted, concurrent invocations run in separate isolates, so one
// process for all of them would serialise on one thread what runs side by side in production.
// verify_jwt comes from supabase/config.toml ([functions.<name>] verify_jwt, default true).
import { spawn, spawnSync, type ChildProcess } from "node:child_process";
import { existsSync, readFileSync } from "node:fs";
import { cpus } from "node:os";
import { join } from "node:path";

/** What every function process gets in its environment. */
export interface FunctionEnv {
  SUPABASE_URL: string;
  SUPABASE_ANON_KEY: string;
  SUPABASE_SERVICE_ROLE_KEY: string;
  SUPABASE_DB_URL: string;
  [name: string]: string;
}

interface Running {
  child: ChildProcess;
  port: number;
  ready: Promise<void>;
  /** Requests this process is serving now. */
  inFlight: number;
}

/** Starts, reuses and restarts the Deno processes of the project's functions. */
export class FunctionHost {
  readonly #running = new Map<string, Running[]>();
  readonly #maxProcesses = Number(process.env.LEASEFLOW_FUNCTION_PROCESSES ?? cpus().length) || 1;
  #nextPort: number;

  constructor(
    private readonly root: string,
    private readonly env: FunctionEnv,
    firstPort: number,
    private readonly log: (line: string) => void,
  ) {
    this.#nextPort = firstPort;
  }

  /** Whether supabase/functions/<name>/index.ts exists. */
  exists(name: string): boolean {
    return /^[a-z0-9][a-z0-9_-]*$/i.test(name) && existsSync(join(this.root, "supabase/functions", name, "index.ts"));
  }

  /** [functions.<name>] verify_jwt from supabase/config.toml (default true, as the CLI's). */
  verifyJwt(name: string): boolean {
    const config = readFileSync(join(this.root, "supabase/config.toml"), "utf8");
    const section = config.split(/^\[/m).find((block) => block.startsWith(`functions.${name}]`));
    const setting = section && /^verify_jwt\s*=\s*(true|false)/m.exec(section);
    return setting ? setting[1] === "true" : true;
  }

  /** A process of the function to send one request to (its port), and `release` to call when
   * the response has ended. */
  async acquire(name: string): Promise<{ port: number; release: () => void }> {
    const alive = (this.#running.get(name) ?? []).filter((running) => running.child.exitCode === null && running.child.signalCode === null);
    let chosen = alive.reduce<Running | undefined>((least, running) => (!least || running.inFlight < least.inFlight ? running : least), undefined);
    if (!chosen || (chosen.inFlight > 0 && alive.length < this.#maxProcesses)) {
      chosen = this.#start(name);
      alive.push(chosen);
    }
    this.#running.set(name, alive);
    const running = chosen;
    running.inFlight++;
    try {
      await running.ready;
    } catch (error) {
      running.inFlight--;
      throw error;
    }
    let released = false;
    return {
      port: running.port,
      release: () => {
        if (!released) running.inFlight--;
        released = true;
      },
    };
  }

  /** Stops every function process. */
  stopAll(): void {
    for (const processes of this.#running.values()) for (const running of processes) running.child.kill("SIGTERM");
    this.#running.clear();
  }

  /** The next port from `firstPort` on that nothing listens on (another stack's functions may
   * hold the same range): a bind that succeeds says it is free. */
  #freePort(): number {
    for (;;) {
      const port = this.#nextPort++;
      if (portIsFree(port)) return port;
      this.log(`[functions] port ${port} is in use; trying ${port + 1}`);
    }
  }

  #start(name: string): Running {
    const port = this.#freePort();
    const fileEnv = readEnvFile(join(this.root, "supabase/functions/.env"));
    const child = spawn(
      join(this.root, "node_modules/.bin/deno"),
      ["run", "--allow-net", "--allow-env", "--allow-read", "--allow-sys", `supabase/functions/${name}/index.ts`],
      {
        cwd: this.root,
        env: { ...process.env, ...fileEnv, ...this.env, DENO_DIR: join(this.root, ".deno"), DENO_SERVE_ADDRESS: `tcp:127.0.0.1:${port}`, NO_COLOR: "1" },
        stdio: ["ignore", "pipe", "pipe"],
      },
    );
    const ready = new Promise<void>((resolve, reject) => {
      const onData = (chunk: Buffer) => {
        const text = chunk.toString();
        for (const line of text.split("\n").filter(Boolean)) this.log(`[fn:${name}] ${line}`);
        if (text.includes("Listening on")) resolve();
      };
      child.stdout!.on("data", onData);
      child.stderr!.on("data", onData);
      child.on("exit", (code, signal) => {
        this.log(`[fn:${name}] exited (${signal ?? code})`);
        reject(new Error(`function ${name} exited before listening (${signal ?? code})`));
      });
    });
    ready.catch(() => {});
    this.log(`[fn:${name}] starting on 127.0.0.1:${port}`);
    return { child, port, ready, inFlight: 0 };
  }
}

/** KEY=value lines (the file `supabase functions serve --env-file` reads); missing file: {}. */
function readEnvFile(path: string): Record<string, string> {
  if (!existsSync(path)) return {};
  const entries = readFileSync(path, "utf8")
    .split("\n")
    .map((line) => /^\s*([A-Za-z_][A-Za-z0-9_]*)\s*=\s*(.*?)\s*$/.exec(line))
    .filter((match): match is RegExpExecArray => match !== null)
    .map((match) => [match[1]!, match[2]!.replace(/^(['"])(.*)\1$/, "$2")]);
  return Object.fromEntries(entries);
}

/** Whether 127.0.0.1:`port` can be bound now (checked by binding it in a child process, since a
 * bind is asynchronous in this one). */
function portIsFree(port: number): boolean {
  const probe = spawnSync(process.execPath, ["-e", `require("net").createServer().once("error", () => process.exit(1)).listen(${port}, "127.0.0.1", function () { this.close(() => process.exit(0)); })`]);
  return probe.status === 0;
}
