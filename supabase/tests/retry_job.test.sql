-- retry_job(p_job_id): a failed or cancelled job runs again from the step that stopped it;
-- completed steps keep their outputs; keys and dedupe keys are respected; errors.
begin;
create extension if not exists pgtap with schema extensions;
select plan(11);

delete from public.jobs;
delete from public.job_types;
select public.define_job_type('flow', '["load", "send", "log"]', '{"max_attempts": 1}');
create temp table job on commit drop as select * from public.enqueue_job('flow', '{}', '{"dedupe_key": "d1"}');
select public.complete_step((select step_id from public.claim_steps('w1', '1 minute', 1)), 'w1', '{"rows": 3}');
select public.fail_step((select step_id from public.claim_steps('w1', '1 minute', 1)), 'w1', '{"message": "smtp down"}');
select is((select status from public.jobs where id = (select id from job)), 'failed', 'the job failed in its second step');

select row_eq($$ select status, error, finished_at, started_at from public.retry_job((select id from job)) $$,
  row('running'::text, null::jsonb, null::timestamptz, now()), 'retry_job runs it again');
select results_eq(
  $$ select name, status, attempt, output from public.all_steps where job_id = (select id from job) order by seq $$,
  $$ values ('load'::text, 'completed'::text, 1, '{"rows": 3}'::jsonb), ('send', 'pending', 0, null) $$,
  'from the failed step, with a fresh budget of attempts; completed steps keep their output');
create temp table c on commit drop as select * from public.claim_steps('w1', '1 minute', 1);
select row_eq($$ select step_name, previous_outputs from c $$, row('send'::text, '{"load": {"rows": 3}}'::jsonb),
  'the retried step sees the earlier outputs');
select is((select count(*) from public.step_attempts where outcome = 'failed'), 1::bigint, 'the earlier failure stays in the record');

-- Conflicts.
select throws_ok($$ select public.retry_job((select id from job)) $$, 'PT409',
  format('retry_job: job %s is running; only failed or cancelled jobs can be retried', (select id from job)),
  'a running job cannot be retried');
select public.cancel_job((select id from job));
create temp table newer on commit drop as select * from public.enqueue_job('flow', '{}', '{"dedupe_key": "d1"}');
select throws_ok($$ select public.retry_job((select id from job)) $$, 'PT409',
  format('retry_job: job %s has dedupe_key ''d1'', which unfinished job %s now holds', (select id from job), (select id from newer)),
  'a job whose dedupe key another unfinished job holds cannot be retried');

-- A retried keyed job waits for its key.
create temp table k1 on commit drop as select * from public.enqueue_job('flow', '{}', '{"group_key": "g"}');
select public.cancel_job((select id from k1));
create temp table k2 on commit drop as select * from public.enqueue_job('flow', '{}', '{"group_key": "g"}');
select is((select status from public.retry_job((select id from k1))), 'pending', 'a retried job waits while its key is busy');

select throws_ok($$ select public.retry_job('00000000-0000-4000-8000-00000000beef') $$, 'PT404',
  'retry_job: job 00000000-0000-4000-8000-00000000beef not found', 'an unknown job');

-- A cancelled job that never started gets its first steps when retried.
create temp table never on commit drop as
  select * from public.enqueue_job('flow', '{}', jsonb_build_object('run_at', now() + interval '1 day'));
select public.cancel_job((select id from never));
update public.jobs set run_at = now() - interval '1 second' where id = (select id from never);
select is((select status from public.retry_job((select id from never))), 'running', 'a job cancelled before it started runs when retried');
select is((select count(*) from public.all_steps where job_id = (select id from never) and status = 'pending'), 1::bigint,
  'with its first step queued');

select * from finish();
rollback;
