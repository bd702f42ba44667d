-- Per-key FIFO: one running job per key (or the type's concurrency), in enqueue order, other
-- keys never blocked, the key released on completion, failure and cancel; rate limit; keys
-- are per tenant.
begin;
create extension if not exists pgtap with schema extensions;
select plan(21);

delete from public.jobs;
delete from public.job_types;
select public.define_job_type('build', '["compile"]', '{"max_attempts": 1}');

create temp table builds on commit drop as
  select id, row_number() over () as n
    from public.enqueue_jobs('build', '[{"n": 1}, {"n": 2}, {"n": 3}, {"n": 4}]',
                             '{"group_keys": ["chat-a", "chat-a", "chat-b", "chat-a"], "priority": 3}') as id;
create function pg_temp.status_of(p_n int) returns text language sql as
  $$ select j.status from public.jobs j join builds b on b.id = j.id where b.n = p_n $$;

select results_eq($$ select pg_temp.status_of(n::int) from builds order by n $$,
  $$ values ('running'::text), ('pending'), ('running'), ('pending') $$,
  'the first job of each key runs; the others of chat-a wait');
select is_empty($$ select 1 from public.job_steps where job_id = (select id from builds where n = 2) $$,
  'a waiting job has no claimable step');

-- A higher priority does not jump the key's queue.
select public.enqueue_job('build', '{"n": 5}', '{"group_key": "chat-a", "priority": 5}');
select is((select status from public.jobs where payload = '{"n": 5}'), 'pending', 'a high-priority job of a busy key waits its turn');

-- Complete chat-a's first job: its next job (n = 2) starts, not n = 5.
create temp table c1 on commit drop as select * from public.claim_steps('w1', '1 minute', 10);
select is((select count(*) from c1), 2::bigint, 'only the running jobs'' steps are claimable (one per key)');
select isnt_empty(
  $$ select * from public.complete_step((select step_id from c1 where job_id = (select id from builds where n = 1)), 'w1', '{}') $$,
  'chat-a''s first job completes');
select is(pg_temp.status_of(2), 'running', 'completing a job starts the next job of its key, in enqueue order');
select is(pg_temp.status_of(4), 'pending', 'and only that one');

-- Failure releases the key.
create temp table c2 on commit drop as select * from public.claim_steps('w1', '1 minute', 10);
select isnt_empty(
  $$ select * from public.fail_step((select step_id from c2 where job_id = (select id from builds where n = 2)), 'w1',
                                   '{"message": "syntax error"}', null, true) $$,
  'chat-a''s second job fails');
select is(pg_temp.status_of(4), 'running', 'a failed job releases its key');

-- Cancel releases the key.
select lives_ok($$ select public.cancel_job((select id from builds where n = 4), 'not needed') $$, 'cancel chat-a''s running job');
select is((select status from public.jobs where payload = '{"n": 5}'), 'running', 'a cancelled job releases its key');

-- Cancelling a waiting job does not start anything out of turn.
select public.enqueue_job('build', '{"n": 6}', '{"group_key": "chat-a"}');
select lives_ok($$ select public.cancel_job((select id from public.jobs where payload = '{"n": 6}')) $$, 'cancel a waiting job');
select is((select count(*) from public.jobs where group_key = 'chat-a' and status = 'running'), 1::bigint,
  'the key still has exactly one running job');

-- Jobs without a key are never blocked by keys.
select is((select status from public.enqueue_job('build', '{"n": 7}')), 'running', 'a job without a key runs at once');

-- Keys are per tenant.
select is((select status from public.enqueue_job('build', '{"n": 8}',
  jsonb_build_object('group_key', 'chat-a', 'tenant_id', '11111111-1111-4111-8111-111111111111'))), 'running',
  'another tenant''s chat-a is a different key');

-- Concurrency 2.
select public.define_job_type('render', '["draw"]', '{"concurrency": 2}');
create temp table renders on commit drop as select * from public.enqueue_jobs('render', '[{}, {}, {}]', '{"group_key": "k"}') as e(id);
select results_eq(
  $$ select j.status from renders e join public.jobs j on j.id = e.id order by j.enqueue_order $$,
  $$ values ('running'::text), ('running'), ('pending') $$,
  'with concurrency 2, two jobs of a key run at once');

-- Rate limit: at most 2 starts per hour per key.
select public.define_job_type('ping', '["send"]', '{"concurrency": 10, "rate_limit": {"max": 2, "per": "1 hour"}}');
create temp table pings on commit drop as select * from public.enqueue_jobs('ping', '[{}, {}, {}]', '{"group_key": "r"}') as e(id);
select results_eq(
  $$ select j.status from pings e join public.jobs j on j.id = e.id order by j.enqueue_order $$,
  $$ values ('running'::text), ('running'), ('pending') $$,
  'the rate limit holds the third start');
select is((public.sweep() ->> 'lane_jobs_started')::int, 0, 'sweep does not start it inside the window');
update public.jobs set started_at = now() - interval '2 hours' where type = 'ping' and status = 'running';
select is((public.sweep() ->> 'lane_jobs_started')::int, 1, 'sweep starts it once the window has passed');

-- A delayed head holds its key until due, then sweep starts it.
select public.enqueue_job('build', '{"n": 9}', jsonb_build_object('group_key', 'chat-z', 'run_at', now() + interval '1 hour'));
select public.enqueue_job('build', '{"n": 10}', '{"group_key": "chat-z"}');
select is((select count(*) from public.jobs where group_key = 'chat-z' and status = 'running'), 0::bigint,
  'a delayed head holds its key (strict FIFO)');
update public.jobs set run_at = now() - interval '1 second' where payload = '{"n": 9}';
select is((public.sweep() ->> 'lane_jobs_started')::int, 1, 'sweep starts the head once it is due');

select * from finish();
rollback;
