-- next_claimable_at: the earliest retry, delayed job or lapsing lease a worker could wait for, by type.
begin;
create extension if not exists pgtap with schema extensions;
select plan(10);

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

-- Held steps: claimable again when their leases lapse (a holder that stopped renewing), each
-- type's own (hq's lapse first).
select public.define_job_type('h', '["s"]');
select public.define_job_type('hp', '[["x", "y"]]');
select public.define_job_type('hq', '[["x", "y"]]');
select public.enqueue_job(t, '{}') from unnest('{h,hp,hq}'::text[]) t;
select count(*) from public.claim_steps('w', '20 seconds', 10, '{h}');
select count(*) from public.claim_steps('w', '30 seconds', 10, '{hp}');
select count(*) from public.claim_steps('w', '10 seconds', 10, '{hq}');
select is(public.next_claimable_at('{h}'), now() + interval '20 seconds', 'a held job that is its own step: when its lease lapses');
select is(public.next_claimable_at('{hp}'), now() + interval '30 seconds', 'held steps of a parallel group: when their leases lapse');
select is(public.next_claimable_at('{h,hp}'), now() + interval '20 seconds', 'the first lease of the given types to lapse');

select * from finish();
rollback;
