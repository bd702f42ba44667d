// Sign in: a user with email and password (Supabase Auth), or an operator with a service-role
// key, kept in this tab's session storage only.
import { useState } from "react";
import type { Client } from "../api.ts";
import { Refusal } from "../components/ui.tsx";

export function SignIn({ client, onOperatorKey }: { client: Client; onOperatorKey: (key: string) => void }) {
  const [email, setEmail] = useState("");
  const [password, setPassword] = useState("");
  const [key, setKey] = useState("");
  const [error, setError] = useState<Error>();
  return (
    <main className="sign-in">
      <h1>leaseflow</h1>
      <form
        aria-label="Sign in"
        onSubmit={async (event) => {
          event.preventDefault();
          const { error: refused } = await client.auth.signInWithPassword({ email, password });
          setError(refused ?? undefined);
        }}
      >
        <label>Email <input name="email" type="email" autoComplete="username" required value={email} onChange={(e) => setEmail(e.target.value)} /></label>
        <label>Password <input name="password" type="password" autoComplete="current-password" required value={password} onChange={(e) => setPassword(e.target.value)} /></label>
        <button type="submit">Sign in</button>
        <Refusal error={error} />
      </form>
      <details>
        <summary>Operator: use a service-role key</summary>
        <form aria-label="Operator key" onSubmit={(event) => { event.preventDefault(); if (key.trim()) onOperatorKey(key.trim()); }}>
          <label>Service-role key <input name="operatorKey" type="password" value={key} onChange={(e) => setKey(e.target.value)} /></label>
          <p className="muted">Kept in this tab's session storage only; it sees every tenant.</p>
          <button type="submit">Open as operator</button>
        </form>
      </details>
    </main>
  );
}
