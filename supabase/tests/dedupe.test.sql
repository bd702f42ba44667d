-- dedupe_key: an unfinished job of the same type and tenant with the same key is returned
-- instead of a new one, also inside one batch; finished jobs free the key.
begin;
create extension if not exists pgtap with schema extensions;
select plan(9);

delete from public.jobs;
delete from public.job_types;
select public.define_job_type('email', '["send"]');
select public.define_job_type('sms', '["send"]');

create temp table first on commit drop as
  select * from public.enqueue_job('email', '{"to": "ada@example.com"}', '{"dedupe_key": "campaign-7:ada"}');
select is((select id from public.enqueue_job('email', '{"to": "other"}', '{"dedupe_key": "campaign-7:ada"}')),
  (select id from first), 'the same key returns the unfinished job');
select is((select count(*) from public.jobs), 1::bigint, 'and creates nothing');
select is((select payload from public.jobs), '{"to": "ada@example.com"}'::jsonb, 'the first payload is kept');

select isnt((select id from public.enqueue_job('sms', '{}', '{"dedupe_key": "campaign-7:ada"}')),
  (select id from first), 'keys are per type');
select isnt((select id from public.enqueue_job('email', '{}', jsonb_build_object('dedupe_key', 'campaign-7:ada', 'tenant_id', gen_random_uuid()))),
  (select id from first), 'and per tenant');

create temp table batch on commit drop as
  select id, row_number() over () as position
    from public.enqueue_jobs('email', '[{"n": 1}, {"n": 2}, {"n": 3}, {"n": 4}]',
                             '{"dedupe_keys": ["x", "y", "x", "campaign-7:ada"]}') as id;
select is((select id from batch where position = 3), (select id from batch where position = 1),
  'inside a batch, a repeated key returns the job its first occurrence created');
select is((select id from batch where position = 4), (select id from first),
  'a batch element can match an existing unfinished job');
select is((select payload from public.jobs where id = (select id from batch where position = 1)), '{"n": 1}'::jsonb,
  'the first occurrence''s payload wins');

update public.jobs set status = 'completed', finished_at = now() where id = (select id from first);
select isnt((select id from public.enqueue_job('email', '{}', '{"dedupe_key": "campaign-7:ada"}')),
  (select id from first), 'once the job finished, the key creates a new job');

select * from finish();
rollback;
