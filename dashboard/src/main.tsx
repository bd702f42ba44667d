import { createRoot } from "react-dom/client";
import { loadConfig } from "./api.ts";
import { App } from "./App.tsx";
import "./styles.css";

const root = createRoot(document.getElementById("root")!);
loadConfig().then(
  (config) => root.render(<App config={config} />),
  (error: Error) => root.render(<p role="alert" className="refusal">{error.message}</p>),
);
