-- claimable_job_types(): the types some worker can claim, from what the workers registered
-- (metadata.types): the worker Edge Function's latest invocation, and each live Node worker.
begin;
create extension if not exists pgtap with schema extensions;
select plan(8);

delete from public.workers;
update public.leaseflow_settings set max_invocations = 10;

select is(public.claimable_job_types(), null, 'null while Edge workers are on and no invocation has registered its types');
select public.register_worker('edge-old', 'edge', '{"types": ["a", "b"]}');
update public.workers set started_at = now() - interval '1 hour' where id = 'edge-old';
select public.stop_worker('edge-old');
select public.register_worker('edge-new', 'edge', '{"types": ["b", "c"]}');
select public.stop_worker('edge-new');
select is(public.claimable_job_types(), array['b', 'c'], 'the types of the latest invocation, stopped or not (the function stays deployed)');

select public.register_worker('node-live', 'node', '{"types": ["d", "b"]}');
select public.register_worker('node-silent', 'node', '{"types": ["e"]}');
update public.workers set last_heartbeat_at = now() - interval '1 minute' where id = 'node-silent';
select public.register_worker('node-stopped', 'node', '{"types": ["f"]}');
select public.stop_worker('node-stopped');
select is(public.claimable_job_types(), array['b', 'c', 'd'], 'and those of each live Node worker (not a silent or stopped one), once each');

update public.leaseflow_settings set max_invocations = 0;
select is(public.claimable_job_types(), array['b', 'd'], 'with Edge workers off, only the live Node workers''');
delete from public.workers where kind = 'node';
select is(public.claimable_job_types(), '{}'::text[], 'and none without them');

set local role authenticated;
select lives_ok($$ select public.claimable_job_types() $$, 'authenticated may call it (queue_stats does)');
reset role;
set local role anon;
select throws_ok($$ select public.claimable_job_types() $$, '42501', 'permission denied for function claimable_job_types', 'anon may not');
reset role;
select function_privs_are('public', '_edge_worker_types', array[]::text[], 'service_role', array[]::text[],
  'the Edge part is internal');

select * from finish();
rollback;
