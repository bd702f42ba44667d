-- queue_stats, dead_letter, job_timeline: what they show, and that they are security_invoker.
begin;
create extension if not exists pgtap with schema extensions;
select plan(12);

delete from public.jobs;
delete from public.job_types;
select public.define_job_type('mail', '["send"]', '{"max_attempts": 2}');
create temp table ok_job on commit drop as select * from public.enqueue_job('mail', '{"to": "a"}');
create temp table bad_job on commit drop as select * from public.enqueue_job('mail', '{"to": "b"}');
select public.enqueue_job('mail', '{"to": "c"}', jsonb_build_object('run_at', now() + interval '1 hour'));

create temp table c on commit drop as select * from public.claim_steps('w1', '1 minute', 2);
select public.complete_step((select step_id from c where job_id = (select id from ok_job)), 'w1', '{"sent": true}');
select public.fail_step((select step_id from c where job_id = (select id from bad_job)), 'w1', '{"message": "mailbox full"}', interval '0');
select public.fail_step((select step_id from public.claim_steps('w2', '1 minute', 1)), 'w2', '{"message": "mailbox full"}');

select row_eq(
  $$ select pending, running, completed, failed, cancelled, throughput_per_min_1m, success_rate_60m, retries_60m, lease_expiries_60m
       from public.queue_stats where type = 'mail' $$,
  row(1::bigint, 0::bigint, 1::bigint, 1::bigint, 0::bigint, 1::numeric, 0.5::numeric, 1::bigint, 0::bigint),
  'queue_stats counts jobs by status, throughput, success rate and retries per type');
-- ok_job was enqueued (and due) 4 s ago and first claimed 1.5 s ago, when it was admitted 3 s ago.
update public.jobs set created_at = now() - interval '4 seconds', run_at = now() - interval '4 seconds',
                       started_at = now() - interval '3 seconds'
 where id = (select id from ok_job);
-- (mail has one step: the job is its own step, with the step's start.)
update public.jobs set step_started_at = now() - interval '1.5 seconds' where id = (select id from ok_job);
select row_eq($$ select avg_wait_ms_60m, avg_processing_ms_60m from public.queue_stats where type = 'mail' $$,
  row(2500.0::numeric, 1500.0::numeric),
  'queue_stats averages the wait to the first claim and the processing after it, apart');
-- 1 000 jobs completed after it, each having waited 2 s and taken 1 s: ok_job (2.5 s and 1.5 s),
-- finished a minute earlier, falls outside the latest 1 000 (counted, it would move both averages).
update public.jobs set finished_at = now() - interval '1 minute' where id = (select id from ok_job);
with made as (
  insert into public.jobs (type, status, created_at, run_at, started_at, finished_at)
  select 'mail', 'completed', now() - interval '3 seconds', now() - interval '3 seconds', now() - interval '3 seconds', now()
    from generate_series(1, 1000)
  returning id
)
insert into public.job_steps (job_id, seq, name, status, attempt, started_at, finished_at)
select id, 0, 'send', 'completed', 1, now() - interval '1 second', now() from made;
select row_eq($$ select avg_wait_ms_60m, avg_processing_ms_60m from public.queue_stats where type = 'mail' $$,
  row(2000.0::numeric, 1000.0::numeric),
  'queue_stats averages over the type''s latest 1 000 jobs completed in the last hour');
delete from public.jobs where status = 'completed' and id <> (select id from ok_job);
-- Inside one transaction now() stands still, so the age is made: the pending job (the delayed
-- one) was created 42 s ago. Any other formula (its run_at, the newest job) gives another age.
update public.jobs set created_at = now() - interval '42 seconds' where status = 'pending';
select is((select oldest_pending_age from public.queue_stats where type = 'mail'), interval '42 seconds',
  'and the age of the oldest pending job');

select row_eq($$ select job_id, type, last_error, attempts from public.dead_letter $$,
  row((select id from bad_job), 'mail'::text, 'mailbox full'::text, 2::bigint),
  'dead_letter lists failed jobs with their last error and attempt count');

select results_eq(
  $$ select step_name, attempt, worker_id, outcome, error ->> 'message' from public.job_timeline
      where job_id = (select id from bad_job) order by attempt $$,
  $$ values ('send'::text, 1, 'w1'::text, 'retried'::text, 'mailbox full'::text), ('send', 2, 'w2', 'failed', 'mailbox full') $$,
  'job_timeline shows every attempt of the job');
select public.enqueue_job('mail', '{"to": "d"}');
create temp table running on commit drop as select * from public.claim_steps('w3', '1 minute', 1);
select row_eq($$ select worker_id, outcome, finished_at from public.job_timeline where step_id = (select step_id from running) $$,
  row('w3'::text, 'running'::text, null::timestamptz), 'and the attempt in progress');

select ok((select 'security_invoker=true' = any (reloptions) from pg_class where oid = 'public.queue_stats'::regclass),
  'queue_stats is security_invoker');
select ok((select 'security_invoker=true' = any (reloptions) from pg_class where oid = 'public.dead_letter'::regclass),
  'dead_letter is security_invoker');
select ok((select 'security_invoker=true' = any (reloptions) from pg_class where oid = 'public.job_timeline'::regclass),
  'job_timeline is security_invoker');
set local role anon;
select throws_ok($$ select * from public.queue_stats $$, '42501', 'permission denied for view queue_stats', 'anon cannot read the stats');
reset role;
set local role service_role;
select is((select count(*) from public.dead_letter), 1::bigint, 'service_role sees everything');
reset role;

select * from finish();
rollback;
