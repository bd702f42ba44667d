-- tick() and the enqueue kick: the cron schedule, no wake-up on an idle queue, enough wake-ups
-- for the backlog (capped, minus those alive or on their way), one debounced kick per enqueue
-- into an idle queue, nothing without the Vault secrets, grants.
begin;
create extension if not exists pgtap with schema extensions;
select plan(33);

delete from public.jobs;
delete from public.job_types;
delete from public.workers;
delete from public.worker_wakeups;
delete from net.http_request_queue;
delete from vault.secrets where name like 'leaseflow_%';
update public.leaseflow_settings set worker_batch_size = 10, max_invocations = 10, last_kick_at = null;
select public.define_job_type('mail', '["send"]');

select is(
  (select schedule from cron.job where jobname = 'leaseflow-tick'),
  case when string_to_array(substring((select extversion from pg_extension where extname = 'pg_cron') from '^[0-9]+\.[0-9]+'), '.')::int[] >= array[1, 5]
       then '5 seconds' else '* * * * *' end,
  'leaseflow-tick runs every 5 seconds, or every minute where pg_cron has no second schedules');
select is((select command from cron.job where jobname = 'leaseflow-tick'), 'select public.tick()', 'it runs tick()');

-- Without the Vault secrets nothing is sent (and nothing fails).
select public.enqueue_jobs('mail', '[{}, {}]');
select is((public.tick() ->> 'invocations_started')::int, 0, 'without the Vault secrets, tick starts nothing');
select is((select count(*) from net.http_request_queue), 0::bigint, 'and sends nothing');

select vault.create_secret('http://127.0.0.1:54321/', 'leaseflow_project_url');
select vault.create_secret('worker-secret-for-tests-123', 'leaseflow_worker_secret');
delete from public.jobs;
update public.leaseflow_settings set last_kick_at = null;

-- Idle queue.
select is((public.tick() ->> 'invocations_started')::int, 0, 'an idle queue starts no invocation');
select is((select count(*) from net.http_request_queue), 0::bigint, 'and sends no request');

-- Enqueue into an idle queue: one kick, as many wake-ups as the backlog needs, debounced.
select public.enqueue_job('mail', '{}');
select is((select count(*) from net.http_request_queue), 1::bigint, 'one job into an idle queue wakes one worker');
select row_eq(
  $$ select method, url, headers ->> 'Authorization', convert_from(body, 'UTF8')::jsonb from net.http_request_queue $$,
  row('POST'::text, 'http://127.0.0.1:54321/functions/v1/worker'::text, 'Bearer worker-secret-for-tests-123'::text,
      jsonb_build_object('reason', 'enqueue', 'wakeup_id', (select max(id) from public.worker_wakeups))),
  'it POSTs to the worker function with the secret from Vault');
select public.enqueue_jobs('mail', (select jsonb_agg('{}'::jsonb) from generate_series(1, 1000)));
select is((select count(*) from net.http_request_queue), 1::bigint, 'another enqueue inside the debounce window sends nothing');
delete from net.http_request_queue;
delete from public.worker_wakeups;
update public.leaseflow_settings set last_kick_at = null;
select public.enqueue_jobs('mail', (select jsonb_agg('{}'::jsonb) from generate_series(1, 45)));
select is((select count(*) from net.http_request_queue), 10::bigint,
  'after the window, a kick wakes what the backlog needs (1 046 steps / 10 per batch, capped at 10)');
delete from public.worker_wakeups where reason = 'enqueue' and id not in (select min(id) from public.worker_wakeups);

-- tick: the backlog needs max_invocations (1 046 steps / 10 per batch, capped at 10), minus the one on its way.
select is((public.tick() ->> 'invocations_started')::int, 9, 'tick starts enough invocations for the backlog, minus those on their way');
select is((select count(*) from public.worker_wakeups where reason = 'tick'), 9::bigint, 'each wake-up is recorded');
select is((public.tick() ->> 'invocations_started')::int, 0, 'the next tick sees them on their way and starts none');

-- A wake-up stops counting once the invocation it woke has registered (and, stopped, is not live).
select is(public._live_invocations(), 10, 'ten wake-ups on their way');
select public.register_worker('edge-answered', 'edge', jsonb_build_object('wakeup_id', (select min(id) from public.worker_wakeups)));
select public.stop_worker('edge-answered');
select is(public._live_invocations(), 9, 'a wake-up whose invocation registered and stopped no longer counts');
delete from public.workers;

-- Live workers count; the cap holds.
delete from public.worker_wakeups;
select public.register_worker('edge-a', 'edge');
select public.register_worker('edge-b', 'edge');
update public.leaseflow_settings set max_invocations = 3;
select is((public.tick() ->> 'invocations_started')::int, 1, 'with 2 live workers and a cap of 3, one more starts');
select public.register_worker('node-a', 'node');
update public.workers set last_heartbeat_at = now() - interval '1 minute';
delete from public.worker_wakeups;
create temp table silent_tick on commit drop as select public.tick() as result;
select is((select (result ->> 'live_invocations')::int from silent_tick), 0, 'workers with a stale heartbeat are not counted as alive');
select is((select (result ->> 'invocations_lost')::int from silent_tick), 2, 'tick reports the two silent invocations as lost');
select results_eq(
  $$ select id, stopped_at = last_heartbeat_at, metadata ->> 'stopped_by' from public.workers where kind = 'edge' order by id $$,
  $$ values ('edge-a'::text, true, 'lost'::text), ('edge-b', true, 'lost') $$,
  'and marks them stopped (lost), last seen at their last heartbeat, so they are pruned in time');
select is((select stopped_at from public.workers where id = 'node-a'), null, 'a silent Node process is left alone');

-- Only work an invocation can claim wakes one: the types the worker function handles (as its
-- latest invocation registered them), never steps made by hand (workers claim their types only).
delete from public.jobs;
delete from public.workers;
delete from public.worker_wakeups;
update public.leaseflow_settings set max_invocations = 10, last_kick_at = now();
select public.define_job_type('retired', '["go"]');
select public.register_worker('edge-types', 'edge', '{"types": ["mail"]}');
select public.stop_worker('edge-types');
select public.enqueue_jobs('retired', '[{}, {}, {}]');
insert into public.jobs (id, status) values ('c0000000-0000-4000-8000-000000000001', 'running');
insert into public.job_steps (job_id, seq) values ('c0000000-0000-4000-8000-000000000001', 0);
create temp table unclaimable_tick on commit drop as select public.tick() as result;
select is((select (result ->> 'backlog')::int from unclaimable_tick), 0,
  'steps of a type the worker function does not handle, and steps made by hand, are no backlog');
select is((select (result ->> 'invocations_started')::int from unclaimable_tick), 0, 'so a tick wakes nothing for them');
select is((select unclaimable_steps from public.queue_stats where type = 'retired'), 3::bigint,
  'queue_stats shows the steps of a type no worker handles as unclaimable');
select is((select unclaimable_steps from public.queue_stats where type is null), 1::bigint, 'and the steps made by hand');
select public.enqueue_job('mail', '{}');
select is((public.tick() ->> 'backlog')::int, 1, 'a step of a type the worker function handles is backlog');
select is((select unclaimable_steps from public.queue_stats where type = 'mail'), 0::bigint, 'and not unclaimable');
-- A job that is its own step and waits for a due retry is out of the claim queue until a claim
-- puts it back: it is backlog too, or it would wait for the next enqueue.
select public.fail_step((select step_id from public.claim_steps('w', '1 minute', 10, array['mail'])), 'w', '{"message": "busy"}', interval '0');
select is((select queue_at from public.jobs where type = 'mail'), null, 'a retried job that is its own step leaves the claim queue');
select is((public.tick() ->> 'backlog')::int, 1, 'and counts as backlog once its retry is due');
-- Steps in job_steps (a parallel group) count the same ways: queued, and with a retry due.
delete from public.jobs;
select public.define_job_type('fanout', '[["x", "y"]]');
-- (The function's types as a later invocation registers them: started after the first.)
update public.workers set started_at = started_at - interval '1 second' where id = 'edge-types';
select public.register_worker('edge-types-2', 'edge', '{"types": ["mail", "fanout"]}');
select public.stop_worker('edge-types-2');
select public.enqueue_job('fanout', '{}');
select is((public.tick() ->> 'backlog')::int, 2, 'the queued steps of a parallel group are backlog');
select public.fail_step((select step_id from public.claim_steps('w', '1 minute', 10, array['fanout']) order by step_name limit 1),
                        'w', '{"message": "busy"}', interval '0');
select is((public.tick() ->> 'backlog')::int, 1, 'and so is one of them whose retry is due, while the other is held');

-- Turned off.
update public.leaseflow_settings set max_invocations = 0, last_kick_at = null;
delete from public.worker_wakeups;
select public.enqueue_job('mail', '{}');
select is((select count(*) from public.worker_wakeups), 0::bigint, 'max_invocations = 0 turns the wake-ups off');

set local role authenticated;
select throws_ok($$ select public.tick() $$, '42501', 'permission denied for function tick', 'authenticated cannot tick');
reset role;
set local role anon;
select throws_ok($$ select public.tick() $$, '42501', 'permission denied for function tick', 'anon cannot tick');
reset role;

select * from finish();
rollback;
