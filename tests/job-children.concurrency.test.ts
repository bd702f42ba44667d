import { afterAll, beforeEach, describe, expect, it } from "vitest";
import { connect, emptyQueue } from "./helpers/db.ts";

const admin = connect();
afterAll(() => admin.end());
beforeEach(() => emptyQueue(admin, { edgeWorkersOff: true }));

const jobId = "d0000000-0000-4000-8000-000000000001";

/** Rows of job_steps and step_attempts whose job is gone. */
async function orphans(): Promise<number> {
  const [row] = await admin<{ orphans: number }[]>`
    select ((select count(*) from public.job_steps s where not exists (select 1 from public.jobs j where j.id = s.job_id))
          + (select count(*) from public.step_attempts a where not exists (select 1 from public.jobs j where j.id = a.job_id)))::int as orphans`;
  return row!.orphans;
}

// The triggers that keep a job's steps and attempts with it (migration jobs_and_steps) run once per
// statement; these are the races a foreign key's row lock settles, and they must settle them too.
describe("a job's steps and attempts against a concurrent delete of the job", () => {
  it("a delete that comes while a step is being inserted waits for it, and then deletes it too", async () => {
    await admin`insert into public.jobs (id, status) values (${jobId}, 'running')`;
    const writer = connect();
    const deleter = connect();
    try {
      await writer`begin`;
      await writer`insert into public.job_steps (job_id, seq) values (${jobId}, 0)`;
      await writer`insert into public.step_attempts (step_id, job_id, attempt, worker_id, outcome)
                   values (${jobId}, ${jobId}, 1, 'w1', 'retried')`;
      let deleted = false;
      const deleting = deleter`delete from public.jobs where id = ${jobId}`.then((rows) => {
        deleted = true;
        return rows.count;
      });
      await new Promise((resolve) => setTimeout(resolve, 300));
      // The inserts' check holds the job (key share), so the delete waits for them to commit.
      expect(deleted).toBe(false);
      await writer`commit`;
      expect(await deleting).toBe(1);
      expect(await orphans()).toBe(0);
    } finally {
      await writer.end();
      await deleter.end();
    }
  });

  it("an insert that comes while its job is being deleted waits, then is refused", async () => {
    await admin`insert into public.jobs (id, status) values (${jobId}, 'running')`;
    const writer = connect();
    const deleter = connect();
    try {
      await deleter`begin`;
      await deleter`delete from public.jobs where id = ${jobId}`;
      let settled = false;
      const inserting = writer`insert into public.job_steps (job_id, seq) values (${jobId}, 0)`.then(
        () => "inserted",
        (error: { code?: string }) => error.code,
      ).finally(() => { settled = true; });
      await new Promise((resolve) => setTimeout(resolve, 300));
      // The insert's check asks for the job (key share), which the delete holds until it ends.
      expect(settled).toBe(false);
      await deleter`commit`;
      expect(await inserting).toBe("23503");
      expect(await orphans()).toBe(0);
    } finally {
      await writer.end();
      await deleter.end();
    }
  });
});
