-- register_worker / heartbeat_worker / stop_worker: a worker's life in the workers table.
begin;
create extension if not exists pgtap with schema extensions;
select plan(11);

delete from public.workers;

select row_eq($$ select id, kind, stopped_at, metadata from public.register_worker('edge-1', 'edge', '{"budget_ms": 140000}') $$,
  row('edge-1'::text, 'edge'::text, null::timestamptz, '{"budget_ms": 140000}'::jsonb), 'a worker registers as alive');
update public.workers set last_heartbeat_at = now() - interval '1 minute';
select is((select last_heartbeat_at from public.heartbeat_worker('edge-1')), now(), 'a heartbeat records now');
select row_eq($$ select stopped_at, metadata from public.stop_worker('edge-1', '{"completed": 12}') $$,
  row(now(), '{"budget_ms": 140000, "completed": 12}'::jsonb), 'stopping records when, and merges the summary');
select is_empty($$ select * from public.heartbeat_worker('edge-1') $$, 'a stopped worker''s heartbeat changes nothing');
select is_empty($$ select * from public.stop_worker('edge-1') $$, 'stopping twice changes nothing');
select is((select stopped_at from public.register_worker('edge-1', 'edge')), null::timestamptz, 're-registering revives the id');

select throws_ok($$ select public.register_worker('w', 'lambda') $$, '22023',
  'register_worker: p_kind must be ''edge'' or ''node'', got ''lambda''', 'an unknown kind');
select throws_ok($$ select public.register_worker('', 'node') $$, '22023',
  'register_worker: p_worker_id must be a non-empty string, got ''''', 'an empty id');
select throws_ok($$ select public.register_worker('w', 'node', '[]') $$, '22023',
  'register_worker: p_metadata must be a JSON object, got []', 'metadata that is not an object');
set local role authenticated;
select throws_ok($$ select public.register_worker('w', 'node') $$, '42501',
  'permission denied for function register_worker', 'authenticated cannot register workers');
reset role;
set local role anon;
select throws_ok($$ select * from public.workers $$, '42501', 'permission denied for table workers', 'anon cannot read workers');
reset role;

select * from finish();
rollback;
