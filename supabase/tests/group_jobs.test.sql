-- group_jobs: one key's jobs by status, each list a bounded page (unfinished in queue order,
-- finished newest first) with its count and the list_jobs cursor that continues it; per tenant by RLS.
begin;
create extension if not exists pgtap with schema extensions;
select plan(14);

delete from public.jobs;
delete from public.job_types;
update public.leaseflow_settings set max_invocations = 0;
select public.define_job_type('build', '["compile"]', '{"max_attempts": 1}');
select public.enqueue_jobs('build', '[{"n": 1}, {"n": 2}, {"n": 3}, {"n": 4}, {"n": 5}, {"n": 6}, {"n": 7}]', '{"group_key": "chat-a"}');
select public.enqueue_job('build', '{"n": 99}', '{"group_key": "chat-b"}');
-- n1 completes, n2 fails, n3 runs; n4 to n7 wait.
-- The payloads' n in a list (rows carry a preview of the payload, whole for these small ones).
create function pg_temp.ns(p_list jsonb) returns jsonb language sql as $$
  select coalesce(jsonb_agg(((x.e ->> 'payloadPreview')::jsonb -> 'n') order by x.o), '[]')
    from jsonb_array_elements(p_list) with ordinality x(e, o)
$$;
select public.complete_step((select step_id from public.claim_steps('w', '1 minute') c join public.jobs j on j.id = c.job_id where j.payload ->> 'n' = '1'), 'w', '{}');
select public.fail_step((select step_id from public.claim_steps('w', '1 minute') c join public.jobs j on j.id = c.job_id where j.payload ->> 'n' = '2'), 'w', '{"message": "syntax"}', null, true);
select public.claim_steps('w', '1 minute', 10);

create temp table g on commit drop as select public.group_jobs('chat-a') as doc;
select is((select doc ->> 'groupKey' from g), 'chat-a', 'names the key');
select is((select pg_temp.ns(doc -> 'pending') from g), '[4, 5, 6, 7]'::jsonb, 'pending in queue order');
select is((select pg_temp.ns(doc -> 'running') from g), '[3]'::jsonb, 'running');
select is((select pg_temp.ns(doc -> 'completed') from g), '[1]'::jsonb, 'completed');
select is((select pg_temp.ns(doc -> 'failed') from g), '[2]'::jsonb, 'failed, not another key''s jobs');
select is((select doc -> 'counts' from g), '{"pending": 4, "running": 1, "completed": 1, "failed": 1, "cancelled": 0}'::jsonb,
  'counts every list');

create temp table small on commit drop as select public.group_jobs('chat-a', 2) as doc;
select is((select pg_temp.ns(doc -> 'pending') from small), '[4, 5]'::jsonb, 'p_limit bounds every list, unfinished ones too');
select is((select doc -> 'counts' ->> 'pending' from small), '4', 'while the count says how many there are');
select is((select pg_temp.ns(public.list_jobs(p_statuses => '{pending}', p_group_key => 'chat-a', p_sort => 'created', p_direction => 'asc',
                                               p_limit => 2, p_cursor => doc #>> '{nextCursors,pending}') -> 'items') from small),
  '[6, 7]'::jsonb, 'and the list''s cursor continues it with list_jobs');
select is((select doc #> '{nextCursors,running}' from small), 'null'::jsonb, 'a list shown whole has no cursor');
select is((select doc -> 'pending' -> 0 ? 'payload' from small), false, 'rows are summaries, without the payload');

set local role authenticated;
select set_config('request.jwt.claims', '{"sub": "aaaaaaaa-0000-4000-8000-000000000000", "role": "authenticated"}', true);
select is(public.group_jobs('chat-a') -> 'pending', '[]'::jsonb, 'another tenant sees none of them');
reset role;
select throws_ok($$ select public.group_jobs('chat-a', 501) $$, '22023', 'group_jobs: p_limit must be from 1 to 500, got 501', 'a limit over 500');
set local role authenticated;
reset role;
select throws_ok($$ select public.group_jobs(' ') $$, '22023',
  'group_jobs: p_group_key must be a non-empty text of at most 200 characters, got '' ''', 'a blank key');

select * from finish();
rollback;
