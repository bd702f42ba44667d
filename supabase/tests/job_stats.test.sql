-- job_stats: totals, wait and processing time, throughput windows, success rate, retries, lease
-- expiries, oldest pending age, the type filter and RLS.
begin;
create extension if not exists pgtap with schema extensions;
select plan(12);

delete from public.jobs;
delete from public.job_types;
update public.leaseflow_settings set max_invocations = 0;
select public.define_job_type('mail', '["send"]', '{"max_attempts": 2}');
select public.define_job_type('other', '["x"]');
select public.enqueue_jobs('mail', '[{"n": 1}, {"n": 2}, {"n": 3}]');
select public.enqueue_job('mail', '{"n": 4}', jsonb_build_object('run_at', now() + interval '1 hour'));
select public.enqueue_job('other', '{}');

-- n1 completes after a retry; n2 fails for good; n3 loses its lease once.
create temp table c on commit drop as select c.*, j.payload ->> 'n' as n from public.claim_steps('w', '1 minute', 10, '{mail}') c join public.jobs j on j.id = c.job_id;
select public.fail_step((select step_id from c where n = '1'), 'w', '{"message": "busy"}', interval '0');
select public.fail_step((select step_id from c where n = '2'), 'w', '{"message": "invalid"}', null, true);
-- (mail has one step: each job is its own step, with the step's lease and start.)
update public.jobs set lease_expires_at = now() - interval '1 second' where id = (select step_id from c where n = '3');
select public.claim_steps('w2', '1 minute', 10, '{mail}');
select public.complete_step((select id from public.all_steps where job_id = (select job_id from c where n = '1')), 'w2', '{}');
-- n1's first attempt (retried) started 3 s ago and its second 1 s ago; it was admitted 10 s ago,
-- enqueued 20 s ago and due 12 s ago: it waited 9 s for its first claim and took 3 s from there.
-- (Counted from the second attempt, processing would be 1 s; from admission, 10 s.)
update public.step_attempts set started_at = now() - interval '3 seconds'
 where job_id = (select job_id from c where n = '1');
update public.jobs set step_started_at = now() - interval '1 second' where id = (select job_id from c where n = '1');
update public.jobs set started_at = now() - interval '10 seconds', created_at = now() - interval '20 seconds',
                       run_at = now() - interval '12 seconds'
 where payload ->> 'n' = '1';
-- The delayed n4 is the only pending one: made 90 s old, inside this transaction's frozen now().
update public.jobs set created_at = now() - interval '90 seconds' where payload ->> 'n' = '4';

create temp table s on commit drop as select public.job_stats('mail') as doc;
select is((select doc -> 'totals' from s), '{"all": 4, "pending": 1, "running": 1, "completed": 1, "failed": 1, "cancelled": 0}'::jsonb,
  'totals by status for the type');
select is((select (doc ->> 'avgProcessingMs')::numeric from s), 3000.0, 'average processing time of completed jobs: first claim to finish');
select is((select (doc ->> 'avgWaitMs')::numeric from s), 9000.0, 'average wait of completed jobs: from due (enqueue or a later run_at) to first claim');
select is((select doc -> 'completed' from s), '{"1m": 1, "5m": 1, "60m": 1}'::jsonb, 'completions per window');
select is((select (doc #>> '{throughputPerSecond,1m}')::numeric from s), 0.02, 'throughput per second over a minute');
select is((select (doc ->> 'successRate')::numeric from s), 0.5, 'success rate over finished jobs');
select is((select (doc ->> 'retries')::int from s), 1, 'retries');
select is((select (doc ->> 'leaseExpiries')::int from s), 1, 'lease expiries');
select is((select (doc ->> 'oldestPendingAgeMs')::int from s), 90000, 'the oldest pending job''s age, ms');
select is((public.job_stats() #>> '{totals,all}')::int, 5, 'without a type: every job');

-- 1 000 mail jobs completed after n1, each having waited 2 s and taken 1 s: n1 (9 s and 3 s),
-- finished a minute earlier, falls outside the latest 1 000 (counted, it would move both averages).
update public.jobs set finished_at = now() - interval '1 minute' where payload ->> 'n' = '1';
with made as (
  insert into public.jobs (type, status, created_at, run_at, started_at, finished_at)
  select 'mail', 'completed', now() - interval '3 seconds', now() - interval '3 seconds', now() - interval '3 seconds', now()
    from generate_series(1, 1000)
  returning id
)
insert into public.job_steps (job_id, seq, name, status, attempt, started_at, finished_at)
select id, 0, 'send', 'completed', 1, now() - interval '1 second', now() from made;
select is((select jsonb_build_object('wait', doc -> 'avgWaitMs', 'processing', doc -> 'avgProcessingMs') from (select public.job_stats('mail') as doc) d),
  '{"wait": 2000.0, "processing": 1000.0}'::jsonb,
  'the averages cover the latest 1 000 jobs completed in the last hour');
delete from public.jobs where payload = '{}'::jsonb and status = 'completed' and type = 'mail';

set local role authenticated;
select set_config('request.jwt.claims', '{"sub": "aaaaaaaa-0000-4000-8000-000000000000", "role": "authenticated"}', true);
select is((public.job_stats() #>> '{totals,all}')::int, 0, 'a tenant''s figures cover only its jobs');
reset role;

select * from finish();
rollback;
