-- fail_steps(p_worker_id, p_failures): several failures in one call, each settled as fail_step
-- settles one (backoff, retry_in_ms, permanent), steps the worker does not hold left out,
-- argument errors naming the element, grants.
begin;
create extension if not exists pgtap with schema extensions;
select plan(12);

delete from public.jobs;
delete from public.job_types;
update public.leaseflow_settings set max_invocations = 0;
select public.define_job_type('mail', '["send"]', '{"max_attempts": 3, "backoff": {"base": "10 seconds", "max": "10 seconds", "jitter": 0}}');
select count(*) from public.enqueue_jobs('mail', '[{"n": 1}, {"n": 2}, {"n": 3}, {"n": 4}]');
create temp table c on commit drop as select step_id, (payload ->> 'n')::int as n from public.claim_steps('w1', '1 minute', 3);
create temp table theirs on commit drop as select step_id from public.claim_steps('w2', '1 minute', 1);

create temp table f on commit drop as
  select * from public.fail_steps('w1', jsonb_build_array(
    jsonb_build_object('step_id', (select step_id from c where n = 1), 'error', '{"message": "timeout"}'::jsonb),
    jsonb_build_object('step_id', (select step_id from c where n = 2), 'error', '{"message": "429"}'::jsonb, 'retry_in_ms', 1500),
    jsonb_build_object('step_id', (select step_id from c where n = 3), 'error', '{"message": "invalid"}'::jsonb, 'permanent', true),
    jsonb_build_object('step_id', (select step_id from theirs), 'error', '{"message": "not mine"}'::jsonb)));
select is((select count(*) from f), 3::bigint, 'it settles the three steps the worker holds and leaves the other out');
select row_eq($$ select status, run_at, error ->> 'message' from f where id = (select step_id from c where n = 1) $$,
  row('pending'::text, now() + interval '10 seconds', 'timeout'::text), 'a transient failure waits the type''s backoff');
select is((select run_at from f where id = (select step_id from c where n = 2)), now() + interval '1.5 seconds',
  'retry_in_ms sets the retry time exactly');
select is((select status from f where id = (select step_id from c where n = 3)), 'failed', 'permanent fails the step at once');
select is((select j.status from public.jobs j join public.all_steps s on s.job_id = j.id where s.id = (select step_id from c where n = 3)),
  'failed', 'and its job');
select is((select array_agg(outcome order by outcome) from public.step_attempts), array['failed', 'retried', 'retried'],
  'every attempt is recorded');
select is((select status from public.all_steps where id = (select step_id from theirs)), 'running',
  'another worker''s step is untouched');

select throws_ok($$ select * from public.fail_steps('w1', '[]') $$, '22023',
  'fail_steps: p_failures must be a JSON array of 1 to 1000 {step_id, error, retry_in_ms?, permanent?} objects, got []', 'an empty batch');
select throws_ok($$ select * from public.fail_steps('w1', '[{"step_id": "00000000-0000-4000-8000-000000000001", "error": {}}, {"step_id": "nope", "error": {}}]') $$, '22023',
  'fail_steps: p_failures[1].step_id must be a uuid, got {"error": {}, "step_id": "nope"}', 'a malformed step id, by index');
select throws_ok($$ select * from public.fail_steps('w1', '[{"step_id": "00000000-0000-4000-8000-000000000001", "error": {}, "retry_in_ms": -1}]') $$, '22023',
  'fail_steps: p_failures[0].retry_in_ms must be an integer from 0 to 2147483647, got {"error": {}, "step_id": "00000000-0000-4000-8000-000000000001", "retry_in_ms": -1}',
  'a negative retry delay');
select throws_ok($$ select * from public.fail_steps('w1', '[{"step_id": "00000000-0000-4000-8000-000000000001", "error": {}}, {"step_id": "00000000-0000-4000-8000-000000000001", "error": {}}]') $$,
  '22023', 'fail_steps: p_failures names step 00000000-0000-4000-8000-000000000001 more than once', 'a step named twice');
set local role authenticated;
select throws_ok($$ select * from public.fail_steps('w1', '[{"step_id": "00000000-0000-4000-8000-000000000001", "error": {}}]') $$, '42501',
  'permission denied for function fail_steps', 'authenticated cannot fail steps');
reset role;

select * from finish();
rollback;
