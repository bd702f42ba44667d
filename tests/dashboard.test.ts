// The dashboard in a real browser (Chromium from the Debian package, driven by playwright-core,
// headless), as the local stack serves it: operator mode sees every tenant; a demo user signs in
// and sees only its own jobs; the create form shows a payload's field error and writes nothing; a
// created job completes live; filters and pages; bulk retry; a job's timeline; the dead letter by
// reason and a group key's queue; pages follow the jobs API's event streams; keyboard use. Screenshots go to test-results/.
import { mkdirSync } from "node:fs";
import { join, resolve } from "node:path";
import { type Browser, chromium, type Page } from "playwright-core";
import { afterAll, beforeAll, beforeEach, describe, expect, it } from "vitest";
import { ALICE, BOB, publishExampleTypes } from "./helpers/apps.ts";
import { ANON_KEY, API_URL, connect, emptyQueue } from "./helpers/db.ts";

const DASHBOARD_URL = process.env.LEASEFLOW_DASHBOARD_URL ?? "http://127.0.0.1:54324";
const CHROMIUM = process.env.LEASEFLOW_CHROMIUM ?? "/usr/bin/chromium";
const SHOTS = resolve(import.meta.dirname, "../test-results");

const admin = connect({ max: 2 });
let browser: Browser;

beforeAll(async () => {
  mkdirSync(SHOTS, { recursive: true });
  await publishExampleTypes();
  browser = await chromium.launch({ executablePath: CHROMIUM, args: ["--no-sandbox"] });
});
// Edge workers off unless a test turns them on (a job that should run); restored after.
beforeEach(() => emptyQueue(admin, { edgeWorkersOff: true }));
afterAll(async () => {
  await browser?.close();
  await admin`update public.leaseflow_settings set max_invocations = 10`;
  await admin.end();
});

/** A page of the dashboard; `asUser` serves it the config of a deployed dashboard (no operator key). */
async function open(hash: string, options: { asUser?: boolean } = {}): Promise<Page> {
  const context = await browser.newContext({ viewport: { width: 1280, height: 900 } });
  const page = await context.newPage();
  if (options.asUser) {
    await page.route("**/config.json", (route) => route.fulfill({ json: { supabaseUrl: API_URL, anonKey: ANON_KEY } }));
  }
  await page.goto(`${DASHBOARD_URL}/#${hash}`);
  return page;
}

/** Finished jobs of `type` for `tenant` (null: service_role's), made directly. */
async function finishedJobs(count: number, tenant: string | null, status: "completed" | "failed" = "completed", type = "mail.digest") {
  await admin`
    insert into public.jobs (type, status, tenant_id, finished_at, payload, error)
    select ${type}, ${status}, ${tenant}, now(), jsonb_build_object('n', g),
           case when ${status} = 'failed' then '{"message": "mailbox full"}'::jsonb end
      from generate_series(1, ${count}) g`;
}

describe("the dashboard", () => {
  it("opens as an operator on the local stack, without sign-in, and shows every tenant's jobs", async () => {
    await finishedJobs(2, ALICE.id);
    await finishedJobs(1, BOB.id);
    await finishedJobs(1, null);
    const page = await open("/jobs");
    await expect.poll(() => page.getByTestId("viewer").textContent()).toContain("operator");
    await expect.poll(() => page.locator("tbody tr[data-job-id]").count()).toBe(4);
    await page.goto(`${DASHBOARD_URL}/#/`);
    await expect.poll(() => page.getByTestId("count-completed").textContent()).toContain("4");
    await page.screenshot({ path: join(SHOTS, "dashboard-overview.png"), fullPage: true });
    await page.context().close();
  });

  it("signs a demo user in and shows only that user's jobs", async () => {
    await finishedJobs(2, ALICE.id);
    await finishedJobs(3, BOB.id);
    const page = await open("/jobs", { asUser: true });
    await page.getByLabel("Email").fill(ALICE.email);
    await page.getByLabel("Password").fill("not-the-password");
    await page.getByRole("button", { name: "Sign in" }).click();
    await expect.poll(() => page.getByRole("alert").textContent()).toContain("Invalid login credentials");
    await page.getByLabel("Password").fill(ALICE.password);
    await page.getByRole("button", { name: "Sign in" }).click();
    await expect.poll(() => page.getByTestId("viewer").textContent()).toBe(ALICE.email);
    await expect.poll(() => page.locator("tbody tr[data-job-id]").count()).toBe(2);
    await expect.poll(() => page.getByText("2 jobs").count()).toBe(1);
    await page.context().close();
  });

  it("shows a payload's field error from the type's schema and writes nothing", async () => {
    const page = await open("/create");
    await page.getByLabel("Type").fill("notify");
    await page.getByLabel("Payload (JSON)").fill(JSON.stringify({ kind: "email", to: "not-an-address", subject: "s", body: "b" }));
    await page.getByRole("button", { name: "Create job" }).click();
    // The first call to the jobs function may start its process (a second or more).
    await expect.poll(async () => (await page.locator(".field-issues").allTextContents()).join(" "), { timeout: 20_000 })
      .toMatch(/payload\.to.*email/i);
    expect(await admin`select count(*)::int as count from public.jobs`).toEqual([{ count: 0 }]);
    await page.context().close();
  });

  it("creates a job that completes live on its page, with its timeline: the attempt, its worker and outcome", async () => {
    await admin`update public.leaseflow_settings set max_invocations = 10`;
    const page = await open("/create");
    await page.getByLabel("Type").fill("leaseflow.sleep");
    await page.getByLabel("Payload (JSON)").fill('{"ms": 50}');
    await page.getByRole("button", { name: "Create job" }).click();
    const link = page.getByTestId("created-job");
    await link.click();
    await expect.poll(() => page.getByTestId("job-status").textContent(), { timeout: 30_000 }).toBe("completed");
    const attempt = page.getByRole("list", { name: "Steps and attempts" }).locator("tbody tr").first();
    await expect.poll(() => attempt.textContent()).toMatch(/^1.+completed/);
    await page.screenshot({ path: join(SHOTS, "dashboard-job.png"), fullPage: true });
    await page.context().close();
  });

  it("filters by status and priority, and pages with the cursor", async () => {
    await finishedJobs(30, null);
    await finishedJobs(3, null, "failed");
    const page = await open("/jobs");
    await expect.poll(() => page.getByText("33 jobs").count()).toBe(1);
    expect(await page.locator("tbody tr[data-job-id]").count()).toBe(25);
    await page.getByRole("button", { name: "Next" }).click();
    await expect.poll(() => page.locator("tbody tr[data-job-id]").count()).toBe(8);
    await page.getByRole("checkbox", { name: "failed" }).check();
    await expect.poll(() => page.getByText("3 jobs").count()).toBe(1);
    await expect.poll(() => page.locator("tbody tr[data-job-id]").count()).toBe(3);
    await admin`update public.jobs set priority = 5 where id = (select id from public.jobs where status = 'failed' limit 1)`;
    await page.locator("select[name=priority]").selectOption("5");
    await expect.poll(() => page.locator("tbody tr[data-job-id]").count()).toBe(1);
    await page.screenshot({ path: join(SHOTS, "dashboard-jobs.png"), fullPage: true });
    await page.context().close();
  });

  it("retries the selected failed jobs after a confirmation, with each row's result", async () => {
    await admin`select public.define_job_type('mail.digest', '["send"]')`;
    await finishedJobs(3, null, "failed");
    await finishedJobs(1, null, "completed");
    const page = await open("/jobs");
    await expect.poll(() => page.locator("tbody tr[data-job-id]").count()).toBe(4);
    await page.getByRole("checkbox", { name: "Select every job on this page" }).check();
    await page.getByRole("button", { name: "Retry selected" }).click();
    await page.getByRole("button", { name: "Yes, retry" }).click();
    await expect.poll(async () => (await page.locator(".bulk-result").allTextContents()).filter((text) => text === "retried").length).toBe(3);
    expect((await page.locator(".bulk-result").allTextContents()).filter((text) => text.startsWith("refused")).length).toBe(1);
    const statuses = await admin<{ status: string }[]>`select status from public.jobs order by status`;
    expect(statuses.map((row) => row.status)).toEqual(["completed", "running", "running", "running"]);
    await page.context().close();
  });

  it("groups the dead letter by reason and retries every job of one reason; shows a group key's queue by status", async () => {
    await admin`select public.define_job_type('mail.digest', '["send"]')`;
    await admin`
      insert into public.jobs (type, status, finished_at, error, group_key)
      select 'mail.digest', 'failed', now(), jsonb_build_object('message', case when g <= 2 then 'mailbox full' else 'timeout' end), 'chat-9'
        from generate_series(1, 5) g`;
    const page = await open("/dead-letter");
    await expect.poll(() => page.getByRole("heading", { name: /mailbox full/ }).textContent()).toContain("(2)");
    await page.getByRole("button", { name: "Retry all 2" }).click();
    await expect.poll(() => page.getByRole("status").textContent()).toBe("Retried 2 of 2");
    const statuses = await admin<{ status: string; n: number }[]>`
      select status, count(*)::int as n from public.jobs group by status order by status`;
    // The key's first retried job runs; the second waits for it (one at a time per key).
    expect(statuses).toEqual([{ status: "failed", n: 3 }, { status: "pending", n: 1 }, { status: "running", n: 1 }]);
    await page.goto(`${DASHBOARD_URL}/#/groups/chat-9`);
    await expect.poll(() => page.getByRole("heading", { name: /^Failed/ }).textContent()).toBe("Failed (3)");
    await page.context().close();
  });

  it("follows a page over one event stream of the jobs API and polls nothing: jobs finished elsewhere show within 2 s", async () => {
    const page = await open("/");
    const requests: string[] = [];
    page.on("request", (request) => requests.push(`${request.method()} ${new URL(request.url()).pathname} ${request.headers().accept ?? ""}`));
    await expect.poll(() => page.getByTestId("count-completed").textContent()).toContain("0");
    await new Promise((resolve) => setTimeout(resolve, 500));
    const before = requests.length;
    await finishedJobs(3, null);
    await expect.poll(() => page.getByTestId("count-completed").textContent(), { timeout: 2_000, interval: 100 }).toContain("3");
    // Nothing was asked after the page opened its stream: the change came over it.
    expect(requests.slice(before)).toEqual([]);
    expect(requests.filter((line) => line.includes("/rest/v1/"))).toEqual([]);
    expect(requests.filter((line) => line.startsWith("GET /functions/v1/jobs/overview text/event-stream"))).toHaveLength(1);
    await page.context().close();
  });

  it("works from the keyboard: Tab reaches the navigation and the filters, Enter follows a link", async () => {
    await finishedJobs(2, null);
    await finishedJobs(1, null, "failed");
    const page = await open("/");
    await expect.poll(() => page.getByTestId("count-completed").textContent()).toContain("2");
    // Tab until the Jobs link has the focus, then follow it with Enter.
    for (let presses = 0; presses < 10; presses++) {
      await page.keyboard.press("Tab");
      if (await page.evaluate(() => document.activeElement?.textContent === "Jobs")) break;
    }
    await page.keyboard.press("Enter");
    await expect.poll(() => page.evaluate(() => window.location.hash)).toBe("#/jobs");
    await expect.poll(() => page.locator("tbody tr[data-job-id]").count()).toBe(3);
    // The search field is the next stop after the navigation; typing filters the list.
    for (let presses = 0; presses < 10; presses++) {
      await page.keyboard.press("Tab");
      if (await page.evaluate(() => (document.activeElement as HTMLInputElement | null)?.type === "search")) break;
    }
    await page.keyboard.type("failed-nowhere");
    await expect.poll(() => page.getByText("No job matches.").count()).toBe(1);
    await page.context().close();
  });
});
