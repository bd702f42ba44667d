-- complete_steps(p_worker_id, p_results): batch completion guarded by the holder, next group
-- created when a group is done, the job's result, argument errors, grants.
begin;
create extension if not exists pgtap with schema extensions;
select plan(25);

delete from public.jobs;
delete from public.job_types;
select public.define_job_type('flow', '["load", ["csv", "pdf"], "upload"]');
create temp table job on commit drop as select * from public.enqueue_job('flow', '{"n": 1}');
create temp table other on commit drop as select * from public.enqueue_job('flow', '{"n": 2}');

create temp table c1 on commit drop as select * from public.claim_steps('w1', '1 minute', 10);
select is((select count(*) from c1), 2::bigint, 'both jobs'' first steps are claimed');

select results_eq(
  $$ select status from public.complete_steps('w1', jsonb_build_array(
       jsonb_build_object('step_id', (select step_id from c1 where job_id = (select id from job)), 'output', '{"rows": 3}'::jsonb),
       jsonb_build_object('step_id', (select step_id from c1 where job_id = (select id from other)), 'output', '{"rows": 5}'::jsonb))) $$,
  $$ values ('completed'::text), ('completed') $$,
  'one call completes several steps');
select is((select count(*) from public.job_timeline where outcome = 'completed' and worker_id = 'w1'), 2::bigint,
  'each completion is recorded as an attempt');
select results_eq(
  $$ select name from public.job_steps where job_id = (select id from job) and seq = 1 order by step_order $$,
  $$ values ('csv'::text), ('pdf') $$,
  'completing a group creates the next group''s steps');

create temp table c2 on commit drop as select * from public.claim_steps('w1', '1 minute', 10) where job_id = (select id from job);
select is((select count(*) from c2), 2::bigint, 'a parallel group is claimable at once');
select is_empty(
  $$ select * from public.complete_steps('w2', jsonb_build_array(jsonb_build_object('step_id', (select step_id from c2 limit 1)))) $$,
  'another worker completes nothing');
select is((select count(*) from public.complete_steps('w1', jsonb_build_array(
  jsonb_build_object('step_id', (select step_id from c2 where step_name = 'csv'), 'output', '"a.csv"'::jsonb),
  jsonb_build_object('step_id', '00000000-0000-4000-8000-00000000dead')))), 1::bigint,
  'steps the worker does not hold are left out of the result');
select is_empty($$ select 1 from public.job_steps where job_id = (select id from job) and seq = 2 $$,
  'the next group waits for every step of the parallel group');
select isnt_empty(
  $$ select * from public.complete_step((select step_id from c2 where step_name = 'pdf'), 'w1', '"a.pdf"') $$,
  'the last parallel step completes');

create temp table c3 on commit drop as select * from public.claim_steps('w1', '1 minute', 10) where job_id = (select id from job);
select is((select previous_outputs from c3), '{"csv": "a.csv", "pdf": "a.pdf", "load": {"rows": 3}}'::jsonb,
  'the last step sees every earlier output');
select isnt_empty($$ select * from public.complete_step((select step_id from c3), 'w1', '{"url": "s3://x"}') $$, 'the last step completes');
select row_eq($$ select status, result, finished_at from public.jobs where id = (select id from job) $$,
  row('completed'::text, '{"url": "s3://x"}'::jsonb, now()),
  'the job completes with its last step''s output as result');

-- Outputs go to their steps by id, however the id is written; no output key leaves a null
-- output, an explicit null is stored as JSON null. Jobs that are their own step, then a step row.
select public.define_job_type('ping', '["go"]');
select public.enqueue_jobs('ping', '[{"n": 1}, {"n": 2}, {"n": 3}]');
create temp table p on commit drop as
  select c.step_id, row_number() over (order by c.step_id) as k from public.claim_steps('w3', '1 minute', 10, array['ping']) c;
select is((select count(*) from public.complete_steps('w3', jsonb_build_array(
  jsonb_build_object('step_id', upper((select step_id from p where k = 1)::text), 'output', '{"up": true}'::jsonb),
  jsonb_build_object('step_id', (select step_id from p where k = 2)),
  jsonb_build_object('step_id', (select step_id from p where k = 3), 'output', 'null'::jsonb)))), 3::bigint,
  'jobs that are their own step complete by ids written in any case');
select results_eq($$ select j.result from public.jobs j join p on p.step_id = j.id order by p.k $$,
  $$ values ('{"up": true}'::jsonb), (null::jsonb), ('null'::jsonb) $$,
  'each job gets its own output: none given is null, an explicit null is JSON null');
select is((select output from public.complete_steps('w1', jsonb_build_array(jsonb_build_object(
    'step_id', upper((select id::text from public.job_steps where job_id = (select id from other) and name = 'csv')),
    'output', '"b.csv"'::jsonb)))),
  '"b.csv"'::jsonb, 'a step row gets its output by an id in upper case too');

-- Argument errors.
select throws_ok($$ select * from public.complete_steps('w1', '[]') $$, '22023',
  'complete_steps: p_results must be a JSON array of 1 to 1000 {step_id, output} objects (or an object of step id: output), got []', 'an empty batch');
-- The object form, {"<step id>": output, ...}: the worker's (no element to take apart).
select public.enqueue_jobs('ping', '[{"n": 4}, {"n": 5}]');
create temp table q on commit drop as
  select c.step_id, row_number() over (order by c.step_id) as k from public.claim_steps('w4', '1 minute', 10, array['ping']) c;
select is((select count(*) from public.complete_steps('w4', jsonb_build_object(
  (select step_id from q where k = 1)::text, '{"n": 4}'::jsonb,
  upper((select step_id from q where k = 2)::text), 'null'::jsonb))), 2::bigint,
  'an object of step id: output completes its steps, ids written in any case');
select results_eq($$ select j.result from public.jobs j join q on q.step_id = j.id order by q.k $$,
  $$ values ('{"n": 4}'::jsonb), ('null'::jsonb) $$,
  'each step gets the output under its id');
select throws_ok($$ select * from public.complete_steps('w1', '{"nope": 1}') $$, '22023',
  'complete_steps: p_results key ''nope'' is not a step id (a uuid)', 'an object key that is not a step id');
select throws_ok($$ select * from public.complete_steps('w1', '{}') $$, '22023',
  'complete_steps: p_results must name 1 to 1000 steps, got 0', 'an empty object');
select throws_ok(
  $$ select * from public.complete_steps('w1', '{"00000000-0000-4000-8000-00000000000a": 1, "00000000-0000-4000-8000-00000000000A": 2}') $$,
  '22023', 'complete_steps: p_results names step 00000000-0000-4000-8000-00000000000a more than once', 'two keys naming one step');

select throws_ok($$ select * from public.complete_steps('w1', '[{"step_id": "nope"}]') $$, '22023',
  'complete_steps: p_results[0] must be an object {step_id: uuid, output?: any JSON}, got {"step_id": "nope"}', 'a malformed step id');
select throws_ok($$ select * from public.complete_steps('w1', '[{"step_id": "00000000-0000-4000-8000-000000000001", "result": 1}]') $$, '22023',
  'complete_steps: p_results[0] must be an object {step_id: uuid, output?: any JSON}, got {"result": 1, "step_id": "00000000-0000-4000-8000-000000000001"}',
  'an unknown key');
select throws_ok(
  $$ select * from public.complete_steps('w1', '[{"step_id": "00000000-0000-4000-8000-000000000001"}, {"step_id": "00000000-0000-4000-8000-000000000001"}]') $$,
  '22023', 'complete_steps: p_results names step 00000000-0000-4000-8000-000000000001 more than once', 'a step named twice');

set local role authenticated;
select throws_ok($$ select * from public.complete_steps('w1', '[{"step_id": "00000000-0000-4000-8000-000000000001"}]') $$, '42501',
  'permission denied for function complete_steps', 'authenticated cannot complete');
reset role;

select * from finish();
rollback;
