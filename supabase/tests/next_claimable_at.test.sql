-- next_claimable_at: the earliest retry or delayed job a worker could wait for, by type.
begin;
create extension if not exists pgtap with schema extensions;
select plan(7);

delete from public.jobs;
delete from public.job_types;
update public.leaseflow_settings set max_invocations = 0;
select public.define_job_type('a', '["s"]');
select public.define_job_type('b', '["s"]');

select is(public.next_claimable_at(), null, 'an empty queue: nothing to wait for');
select public.enqueue_job('a', '{}', jsonb_build_object('run_at', now() + interval '1 hour'));
select is(public.next_claimable_at(), now() + interval '1 hour', 'a delayed job');
select public.enqueue_job('b', '{}');
select public.fail_step((select step_id from public.claim_steps('w', '1 minute')), 'w', '{"message": "busy"}', interval '3 seconds');
select is(public.next_claimable_at(), now() + interval '3 seconds', 'a step in retry backoff comes first');
select is(public.next_claimable_at('{a}'), now() + interval '1 hour', 'only the given types count');
select is(public.next_claimable_at('{c}'), null, 'a type without jobs: null');

-- Steps in job_steps (a parallel group): queued, then one in retry backoff while the other is held.
select public.define_job_type('p', '[["x", "y"]]');
select public.enqueue_job('p', '{}');
select is(public.next_claimable_at('{p}'), now(), 'a queued step of a parallel group: its run_at');
select public.fail_step((select step_id from public.claim_steps('w', '1 minute', 10, '{p}') order by step_name limit 1),
                        'w', '{"message": "busy"}', interval '5 seconds');
select is(public.next_claimable_at('{p}'), now() + interval '5 seconds', 'a step of a parallel group in retry backoff');

select * from finish();
rollback;
