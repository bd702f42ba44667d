-- group_jobs: one key's jobs by status in queue order; finished lists capped; per tenant by RLS.
begin;
create extension if not exists pgtap with schema extensions;
select plan(8);

delete from public.jobs;
delete from public.job_types;
update public.leaseflow_settings set max_invocations = 0;
select public.define_job_type('build', '["compile"]', '{"max_attempts": 1}');
select public.enqueue_jobs('build', '[{"n": 1}, {"n": 2}, {"n": 3}, {"n": 4}, {"n": 5}]', '{"group_key": "chat-a"}');
select public.enqueue_job('build', '{"n": 99}', '{"group_key": "chat-b"}');
-- n1 completes, n2 fails, n3 runs; n4 and n5 wait.
select public.complete_step((select step_id from public.claim_steps('w', '1 minute') c join public.jobs j on j.id = c.job_id where j.payload ->> 'n' = '1'), 'w', '{}');
select public.fail_step((select step_id from public.claim_steps('w', '1 minute') c join public.jobs j on j.id = c.job_id where j.payload ->> 'n' = '2'), 'w', '{"message": "syntax"}', null, true);
select public.claim_steps('w', '1 minute', 10);

create temp table g on commit drop as select public.group_jobs('chat-a') as doc;
select is((select doc ->> 'groupKey' from g), 'chat-a', 'names the key');
select is((select jsonb_path_query_array(doc, '$.pending[*].payload.n') from g), '[4, 5]'::jsonb, 'pending in queue order');
select is((select jsonb_path_query_array(doc, '$.running[*].payload.n') from g), '[3]'::jsonb, 'running');
select is((select jsonb_path_query_array(doc, '$.completed[*].payload.n') from g), '[1]'::jsonb, 'completed');
select is((select jsonb_path_query_array(doc, '$.failed[*].payload.n') from g), '[2]'::jsonb, 'failed, not another key''s jobs');
select is(jsonb_path_query_array(public.group_jobs('chat-a', 1), '$.pending[*].payload.n'), '[4, 5]'::jsonb,
  'the finished-list cap leaves unfinished lists whole');

set local role authenticated;
select set_config('request.jwt.claims', '{"sub": "aaaaaaaa-0000-4000-8000-000000000000", "role": "authenticated"}', true);
select is(public.group_jobs('chat-a') -> 'pending', '[]'::jsonb, 'another tenant sees none of them');
reset role;
select throws_ok($$ select public.group_jobs(' ') $$, '22023',
  'group_jobs: p_group_key must be a non-empty text of at most 200 characters, got '' ''', 'a blank key');

select * from finish();
rollback;
