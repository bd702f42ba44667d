// The dashboard as the local stack serves it (http://127.0.0.1:54324, next to Studio's port): the
// static build in dashboard/dist, and a /config.json naming this stack's API and keys. With the
// service-role key in it, the page opens as an operator without sign-in, as Studio does locally;
// a deployed config holds the URL and the anon key only (README, "The dashboard").
import { existsSync, readFileSync } from "node:fs";
import { createServer, type Server } from "node:http";
import { extname, join, normalize } from "node:path";

const TYPES: Record<string, string> = {
  ".html": "text/html; charset=utf-8",
  ".js": "text/javascript; charset=utf-8",
  ".css": "text/css; charset=utf-8",
  ".svg": "image/svg+xml",
  ".png": "image/png",
  ".json": "application/json",
};

/** Serves `distDir` on 127.0.0.1:`port`, with `config` as /config.json. */
export function startDashboard(port: number, distDir: string, config: Record<string, string>, log: (line: string) => void): Server {
  const server = createServer((request, response) => {
    const path = decodeURIComponent(new URL(request.url ?? "/", "http://localhost").pathname);
    if (path === "/config.json") {
      response.writeHead(200, { "Content-Type": "application/json", "Cache-Control": "no-store" });
      response.end(JSON.stringify(config));
      return;
    }
    // The page's routes live in the hash, so any other path is a file of the build.
    const file = normalize(join(distDir, path === "/" ? "index.html" : path));
    if (!file.startsWith(distDir) || !existsSync(file)) {
      const missing = !existsSync(join(distDir, "index.html"));
      response.writeHead(missing ? 503 : 404, { "Content-Type": "text/plain; charset=utf-8" });
      response.end(missing ? "the dashboard is not built: run `npm run dashboard:build` (scripts/stack up builds it)\n" : `no file ${path}\n`);
      return;
    }
    response.writeHead(200, {
      "Content-Type": TYPES[extname(file)] ?? "application/octet-stream",
      // Built assets carry a content hash in their names; index.html must be read again.
      "Cache-Control": path.startsWith("/assets/") ? "public, max-age=31536000, immutable" : "no-cache",
    });
    response.end(readFileSync(file));
  });
  server.listen(port, "127.0.0.1", () => log(`dashboard on http://127.0.0.1:${port}`));
  return server;
}
