// The shell: who is looking (an operator by key, or a signed-in user), the navigation and the
// page for the location hash.
import { useEffect, useMemo, useState } from "react";
import { type Client, type DashboardConfig, operatorClient, userClient } from "./api.ts";
import { useHashPath } from "./hooks.ts";
import { CreateJob } from "./pages/CreateJob.tsx";
import { DeadLetter } from "./pages/DeadLetter.tsx";
import { Groups } from "./pages/Groups.tsx";
import { JobDetail } from "./pages/JobDetail.tsx";
import { Jobs } from "./pages/Jobs.tsx";
import { Overview } from "./pages/Overview.tsx";
import { SignIn } from "./pages/SignIn.tsx";

const OPERATOR_KEY = "leaseflow.operatorKey";
const PAGES = [
  ["/", "Overview"],
  ["/jobs", "Jobs"],
  ["/groups", "Groups"],
  ["/dead-letter", "Dead letter"],
  ["/create", "Create job"],
] as const;

type Viewer = { kind: "operator"; client: Client; pasted: boolean } | { kind: "user"; client: Client; email: string };

export function App({ config }: { config: DashboardConfig }) {
  const users = useMemo(() => userClient(config), [config]);
  const [pastedKey, setPastedKey] = useState(() => sessionStorage.getItem(OPERATOR_KEY));
  const [email, setEmail] = useState<string | null>(null);
  const [checked, setChecked] = useState(false);

  useEffect(() => {
    const { data } = users.auth.onAuthStateChange((_event, session) => {
      setEmail(session?.user.email ?? null);
      setChecked(true);
    });
    return () => data.subscription.unsubscribe();
  }, [users]);

  const operatorKey = config.operatorKey ?? pastedKey;
  const viewer: Viewer | null = useMemo(() => {
    if (operatorKey) return { kind: "operator", client: operatorClient(config, operatorKey), pasted: !config.operatorKey };
    if (email) return { kind: "user", client: users, email };
    return null;
  }, [config, operatorKey, email, users]);

  if (!viewer) {
    if (!checked) return <p className="muted">Loading…</p>;
    return (
      <SignIn
        client={users}
        onOperatorKey={(key) => {
          sessionStorage.setItem(OPERATOR_KEY, key);
          setPastedKey(key);
        }}
      />
    );
  }
  const signOut = async () => {
    if (viewer.kind === "user") await users.auth.signOut();
    else {
      sessionStorage.removeItem(OPERATOR_KEY);
      setPastedKey(null);
    }
  };
  return <Shell viewer={viewer} onSignOut={viewer.kind === "operator" && !viewer.pasted ? undefined : signOut} />;
}

function Shell({ viewer, onSignOut }: { viewer: Viewer; onSignOut?: () => void }) {
  const path = useHashPath();
  const [, section, rest] = /^\/([^/]*)\/?(.*)$/.exec(path) ?? [];
  let page;
  if (section === "jobs" && rest) page = <JobDetail client={viewer.client} id={rest} />;
  else if (section === "jobs") page = <Jobs client={viewer.client} />;
  else if (section === "groups") page = <Groups client={viewer.client} groupKey={rest ?? ""} />;
  else if (section === "dead-letter") page = <DeadLetter client={viewer.client} />;
  else if (section === "create") page = <CreateJob client={viewer.client} />;
  else page = <Overview client={viewer.client} />;
  return (
    <>
      <header>
        <strong>leaseflow</strong>
        <nav aria-label="Pages">
          {PAGES.map(([href, label]) => (
            <a key={href} href={`#${href}`} aria-current={`/${section ?? ""}` === href ? "page" : undefined}>{label}</a>
          ))}
        </nav>
        <span className="viewer" data-testid="viewer">
          {viewer.kind === "operator" ? "operator (every tenant)" : viewer.email}
        </span>
        {onSignOut ? <button type="button" onClick={onSignOut}>Sign out</button> : null}
      </header>
      <main>{page}</main>
    </>
  );
}
