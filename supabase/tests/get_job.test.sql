-- get_job: a job with its steps, every attempt (the running one too), its queue position while
-- unfinished; RLS decides visibility; bad input.
begin;
create extension if not exists pgtap with schema extensions;
select plan(13);

delete from public.jobs;
delete from public.job_types;
update public.leaseflow_settings set max_invocations = 0;
select public.define_job_type('mail', '["render", "send"]', '{"max_attempts": 3}');
create temp table j on commit drop as
  select * from public.enqueue_job('mail', '{"to": "ada@example.com"}', '{"tenant_id": "aaaaaaaa-0000-4000-8000-000000000000"}');
grant select on j to authenticated;

select is((public.get_job((select id from j)) ->> 'queuePosition')::int, 1, 'an unclaimed job is first in the queue');
select is(public.get_job((select id from j)) -> 'steps' -> 0 -> 'attempts', '[]'::jsonb, 'its first step has no attempts yet');

-- Attempt 1 fails and is retried; attempt 2 runs.
select public.fail_step((select step_id from public.claim_steps('w1', '1 minute')), 'w1', '{"code": "transient", "message": "smtp 451"}', interval '0');
select public.claim_steps('w2', '1 minute');
create temp table got on commit drop as select public.get_job((select id from j)) as doc;

select is((select doc ->> 'status' from got), 'running', 'status');
select is((select doc -> 'payload' from got), '{"to": "ada@example.com"}'::jsonb, 'payload');
select is((select (doc ->> 'queuePosition')::int from got), 0, 'position 0 once a step started');
select is((select jsonb_path_query_array(doc, '$.steps[*].name') from got), '["render"]'::jsonb,
  'steps that exist so far (later groups are created when their turn comes)');
select is((select jsonb_path_query_array(doc, '$.steps[0].attempts[*].outcome') from got), '["retried", "running"]'::jsonb,
  'the timeline: the retried attempt, then the running one');
select is((select doc #>> '{steps,0,attempts,0,error,message}' from got), 'smtp 451', 'a failed attempt keeps its error');
select is((select doc #>> '{steps,0,attempts,1,workerId}' from got), 'w2', 'the running attempt names its worker');
select ok((select doc ? 'completedAt' and doc -> 'completedAt' = 'null' from got), 'completedAt is null until it completes');

select public.complete_step((select id from public.all_steps where status = 'running'), 'w2', '{}');
select public.cancel_job((select id from j));
select is(public.get_job((select id from j)) -> 'queuePosition', 'null'::jsonb, 'a finished job has no queue position');

-- Another tenant's job is not found; bad input.
set local role authenticated;
select set_config('request.jwt.claims', '{"sub": "bbbbbbbb-0000-4000-8000-000000000000", "role": "authenticated"}', true);
select throws_ok(format('select public.get_job(%L)', (select id from j)), 'PT404',
  format('get_job: job %s not found', (select id from j)), 'RLS hides another tenant''s job: not found');
reset role;
select throws_ok($$ select public.get_job(null) $$, '22004', 'get_job: p_job_id must not be null', 'null id');

select * from finish();
rollback;
