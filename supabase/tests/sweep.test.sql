-- sweep(): lapsed leases go back to pending while attempts remain; exhausted ones fail with
-- their job (whose other steps are cancelled); live leases are untouched; grants.
begin;
create extension if not exists pgtap with schema extensions;
select plan(12);

delete from public.jobs;
insert into public.jobs (id, status) values
  ('a0000000-0000-4000-8000-000000000001', 'running'),   -- lapsed lease, attempts left
  ('a0000000-0000-4000-8000-000000000002', 'running'),   -- lapsed lease, last attempt
  ('a0000000-0000-4000-8000-000000000003', 'running');   -- live lease
insert into public.job_steps (id, job_id, seq, status, locked_by, lease_expires_at, attempt, max_attempts) values
  ('a1000000-0000-4000-8000-000000000001', 'a0000000-0000-4000-8000-000000000001', 0, 'running', 'w1', now() - interval '1 second', 1, 3),
  ('a1000000-0000-4000-8000-000000000002', 'a0000000-0000-4000-8000-000000000002', 0, 'running', 'w2', now() - interval '1 second', 2, 2),
  ('a1000000-0000-4000-8000-000000000003', 'a0000000-0000-4000-8000-000000000002', 0, 'running', 'w3', now() + interval '1 minute', 1, 2),
  ('a1000000-0000-4000-8000-000000000004', 'a0000000-0000-4000-8000-000000000003', 0, 'running', 'w4', now() + interval '1 minute', 1, 3);
insert into public.job_steps (id, job_id, seq) values
  ('a1000000-0000-4000-8000-000000000005', 'a0000000-0000-4000-8000-000000000002', 1);

select is(public.sweep() - array['jobs_pruned', 'cron_runs_pruned', 'lane_jobs_started', 'due_jobs_started'],
  '{"leases_reclaimed": 1, "steps_failed": 1}'::jsonb,
  'reports one lease reclaimed and one step failed');

select row_eq(
  $$ select status, locked_by, lease_expires_at, attempt from public.job_steps
      where id = 'a1000000-0000-4000-8000-000000000001' $$,
  row('pending'::text, null::text, null::timestamptz, 1),
  'a lapsed lease with attempts left goes back to pending (the next claim counts the attempt)');
select is(
  (select error from public.job_steps where id = 'a1000000-0000-4000-8000-000000000001') - 'message',
  '{"code": "lease_expired", "worker": "w1", "attempt": 1}'::jsonb,
  'and records which worker lost it on which attempt');
select is((select status from public.jobs where id = 'a0000000-0000-4000-8000-000000000001'), 'running',
  'its job keeps running');

select is((select status from public.job_steps where id = 'a1000000-0000-4000-8000-000000000002'), 'failed',
  'a lapsed lease on the last attempt fails the step');
select is(
  (select error ->> 'message' from public.job_steps where id = 'a1000000-0000-4000-8000-000000000002'),
  format('lease of worker ''w2'' expired at %s on attempt 2 of 2', now() - interval '1 second'),
  'the failure message names the worker, the deadline and the attempts');
select row_eq(
  $$ select status, error ->> 'code' from public.jobs where id = 'a0000000-0000-4000-8000-000000000002' $$,
  row('failed'::text, 'lease_expired'::text),
  'and fails its job');
select results_eq(
  $$ select status, locked_by from public.job_steps
      where id in ('a1000000-0000-4000-8000-000000000003', 'a1000000-0000-4000-8000-000000000005') order by id $$,
  $$ values ('cancelled'::text, null::text), ('cancelled'::text, null::text) $$,
  'the failed job''s running sibling and pending later step are cancelled');

select row_eq(
  $$ select status, locked_by from public.job_steps where id = 'a1000000-0000-4000-8000-000000000004' $$,
  row('running'::text, 'w4'::text),
  'a live lease is untouched');

select is(public.sweep(),
  '{"leases_reclaimed": 0, "steps_failed": 0, "lane_jobs_started": 0, "due_jobs_started": 0, "jobs_pruned": 0, "cron_runs_pruned": 0}'::jsonb,
  'a second sweep finds nothing to do');

set local role anon;
select throws_ok($$ select public.sweep() $$, '42501', 'permission denied for function sweep', 'anon cannot sweep');
reset role;
set local role authenticated;
select throws_ok($$ select public.sweep() $$, '42501', 'permission denied for function sweep',
  'authenticated cannot sweep');
reset role;

select * from finish();
rollback;
