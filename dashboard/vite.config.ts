// The dashboard: a static single-page build (dashboard/dist) that any static host can serve next
// to a Supabase project; it reads its project from ./config.json at load time.
import react from "@vitejs/plugin-react";
import { defineConfig } from "vite";

export default defineConfig({
  root: import.meta.dirname,
  // Relative asset paths: the build works from any folder of a static host.
  base: "./",
  plugins: [react()],
  build: { outDir: "dist", emptyOutDir: true, chunkSizeWarningLimit: 700 },
});
