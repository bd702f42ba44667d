-- job_queue_position(p_job_id): place in its key's lane or in the global order, the wait
-- estimated from recent throughput, 0 once running or finished, errors.
begin;
create extension if not exists pgtap with schema extensions;
select plan(10);

delete from public.jobs;
delete from public.job_types;
select public.define_job_type('build', '["compile"]');

-- A key's lane: "you are #3".
create temp table chat on commit drop as
  select id, row_number() over () as n
    from public.enqueue_jobs('build', '[{}, {}, {}, {}]', '{"group_key": "chat-1"}') as id;
select row_eq($$ select * from public.job_queue_position((select id from chat where n = 3)) $$,
  row(3, null::interval), 'the third job of a key is #3; no history, so no estimate yet');

-- Recent history: two builds of 20 s each finished in the last minutes.
insert into public.jobs (type, status, started_at, finished_at) values
  ('build', 'completed', now() - interval '80 seconds', now() - interval '60 seconds'),
  ('build', 'completed', now() - interval '40 seconds', now() - interval '20 seconds');
select row_eq($$ select * from public.job_queue_position((select id from chat where n = 3)) $$,
  row(3, interval '40 seconds'), 'the wait is the jobs ahead times the type''s recent average duration');
select row_eq($$ select * from public.job_queue_position((select id from chat where n = 1)) $$,
  row(1, interval '0'), 'the key''s running job whose step nobody claimed yet is #1 in the global order');
select public.claim_steps('w1', '1 minute', 1);
select row_eq($$ select * from public.job_queue_position((select id from chat where n = 1)) $$,
  row(0, interval '0'), 'once its step is claimed, nothing is ahead of it');

-- The global order: claimable steps ahead of its first step.
create temp table flood on commit drop as
  select id, row_number() over () as n from public.enqueue_jobs('build', (select jsonb_agg('{}'::jsonb) from generate_series(1, 5))) as id;
select row_eq($$ select * from public.job_queue_position((select id from flood where n = 5)) $$,
  row(5, interval '600 seconds'),
  'a job without a key counts the claimable steps ahead of it; the wait uses completions per second over 5 minutes (2 in 300 s: 4 ahead take 600 s)');
update public.jobs set finished_at = now() - interval '1 hour' where status = 'completed';
select row_eq($$ select * from public.job_queue_position((select id from flood where n = 5)) $$,
  row(5, null::interval), 'with jobs ahead and no recent completions the wait is unknown (null), never negative');
create temp table urgent on commit drop as select * from public.enqueue_job('build', '{}', '{"priority": 5}');
select row_eq($$ select queue_position from public.job_queue_position((select id from urgent)) $$,
  row(1), 'a higher priority job goes to the front');

select public.cancel_job((select id from flood where n = 1));
select row_eq($$ select * from public.job_queue_position((select id from flood where n = 1)) $$,
  row(0, interval '0'), 'a finished job waits for nothing');
select throws_ok($$ select * from public.job_queue_position('00000000-0000-4000-8000-00000000beef') $$, 'PT404',
  'job_queue_position: job 00000000-0000-4000-8000-00000000beef not found', 'an unknown job');
select throws_ok($$ select * from public.job_queue_position(null) $$, '22004',
  'job_queue_position: p_job_id must not be null', 'a null id');

select * from finish();
rollback;
