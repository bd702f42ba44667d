-- job_events: a job's status changes in order, with stable ids, through retry, lease expiry,
-- completion of every step and the job.
begin;
create extension if not exists pgtap with schema extensions;
select plan(6);

delete from public.jobs;
delete from public.job_types;
update public.leaseflow_settings set max_invocations = 0;
select public.define_job_type('two', '["a", "b"]');
create temp table j on commit drop as select * from public.enqueue_job('two', '{}');

select is(jsonb_path_query_array(public.job_events((select id from j)), '$[*].id'), '["job:pending", "job:running"]'::jsonb,
  'an enqueued job: pending, then running');

-- The clock advances between transitions as it would between transactions.
select public.fail_step((select step_id from public.claim_steps('w', '1 minute')), 'w', '{"message": "busy"}', interval '0');
update public.step_attempts set started_at = started_at + interval '1 ms', finished_at = finished_at + interval '2 ms';
-- two's steps run on the job row (every group one step): the running step's times are the job's.
update public.jobs set run_at = now();
select public.claim_steps('w', '1 minute');
update public.jobs set step_started_at = step_started_at + interval '3 ms' where locked_by is not null;
select is(jsonb_path_query_array(public.job_events((select id from j)), '$[*] ? (@.scope == "step").status'),
  '["running", "retried", "running"]'::jsonb, 'a retried attempt, then the running one');

select public.complete_step((select id from public.all_steps where status = 'running'), 'w', '{"ok": 1}');
-- a's completed record is a job_steps row; b runs on the job row, and finishes with its job.
update public.job_steps set finished_at = now() + interval '4 ms' where status = 'completed';
select public.complete_steps('w', jsonb_build_array(jsonb_build_object('step_id', (select step_id from public.claim_steps('w', '1 minute')), 'output', '{}')));
update public.jobs set step_started_at = now() + interval '5 ms', finished_at = now() + interval '7 ms';

create temp table e on commit drop as select public.job_events((select id from j)) as doc;
select is((select jsonb_path_query_array(doc, '$[*].status') from e),
  '["pending", "running", "running", "retried", "running", "completed", "running", "completed", "completed"]'::jsonb,
  'every change, oldest first, ending with the job''s terminal status');
select is((select doc -> -1 ->> 'id' from e), 'job:completed', 'the last event is the job''s');
select is((select count(distinct x ->> 'id') from e, jsonb_array_elements(doc) x), 9::bigint, 'event ids are distinct');

-- A completion that claims the job's next step writes both at one moment (one transaction's
-- now()): the events keep the job's order.
create temp table same on commit drop as select * from public.enqueue_job('two', '{}');
update public.jobs set run_at = now() where id = (select id from same);
select public.complete_and_claim_steps('w2',
  jsonb_build_array(jsonb_build_object('step_id', (select step_id from public.claim_steps('w2', '1 minute') where job_id = (select id from same)))),
  '1 minute');
update public.jobs set created_at = now() - interval '2 ms', started_at = now() - interval '1 ms' where id = (select id from same);
update public.job_steps set started_at = now() - interval '1 ms' where job_id = (select id from same);
select is((select jsonb_agg(x ->> 'stepName' || ':' || (x ->> 'status')) from jsonb_array_elements(public.job_events((select id from same))) x
            where x ->> 'scope' = 'step'),
  '["a:running", "a:completed", "b:running"]'::jsonb,
  'a step completed and the next one claimed at the same moment come in step order');

select * from finish();
rollback;
