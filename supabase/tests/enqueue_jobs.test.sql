-- enqueue_job / enqueue_jobs: what a job looks like when enqueued, batches (order, atomicity,
-- per-element keys), run_at, priority, every bad input with its message, grants.
begin;
create extension if not exists pgtap with schema extensions;
select plan(50);

delete from public.jobs;
delete from public.job_types;
select public.define_job_type('three', '["a", ["b1", "b2"], "c"]', '{"priority": 2, "max_attempts": 4}');

-- One job ------------------------------------------------------------------------------------
create temp table one on commit drop as select * from public.enqueue_job('three', '{"to": "ada@example.com"}');
select row_eq(
  $$ select type, status, payload, priority::int, max_attempts, started_at, tenant_id from one $$,
  row('three'::text, 'running'::text, '{"to": "ada@example.com"}'::jsonb, 2, null::int, now(), null::uuid),
  'a due job without a key is running at once, with the type''s priority');
select results_eq(
  $$ select seq, name, status, max_attempts, run_at from public.job_steps where job_id = (select id from one) $$,
  $$ values (0, 'a'::text, 'pending'::text, 4, now()) $$,
  'only its first group''s steps exist, claimable now, with the type''s max_attempts');
select is((select count(*) from public.enqueue_job('three')), 1::bigint, 'the payload defaults to {}');

-- A batch ------------------------------------------------------------------------------------
create temp table batch on commit drop as
  select id, row_number() over () as position
    from public.enqueue_jobs('three', '[{"n": 1}, {"n": 2}, {"n": 3}]', '{"priority": 5, "max_attempts": 2}') as id;
select is((select count(*) from batch), 3::bigint, 'a batch returns one id per payload');
select results_eq(
  $$ select (j.payload ->> 'n')::int from batch b join public.jobs j on j.id = b.id order by b.position $$,
  $$ values (1), (2), (3) $$,
  'ids come back in payload order');
select results_eq(
  $$ select (j.payload ->> 'n')::int from public.jobs j where j.id in (select id from batch) order by j.enqueue_order $$,
  $$ values (1), (2), (3) $$,
  'enqueue order follows the payload order');
select is((select array_agg(distinct j.priority::int) from public.jobs j where j.id in (select id from batch)), array[5],
  'p_options.priority applies to every job of the batch');
select is((select array_agg(distinct s.max_attempts) from public.job_steps s where s.job_id in (select id from batch)), array[2],
  'p_options.max_attempts reaches the steps');
select is((select array_agg(distinct j.max_attempts) from public.jobs j where j.id in (select id from batch)), array[2],
  'and is kept on the job for its later groups');

create temp table keyed on commit drop as
  select id, row_number() over () as position
    from public.enqueue_jobs('three', '[{"n": 1}, {"n": 2}, {"n": 3}]',
                             '{"group_keys": ["chat-a", null, "chat-b"], "dedupe_keys": ["k1", null, null]}') as id;
select results_eq(
  $$ select j.group_key, j.dedupe_key from keyed k join public.jobs j on j.id = k.id order by k.position $$,
  $$ values ('chat-a'::text, 'k1'::text), (null, null), ('chat-b', null) $$,
  'group_keys and dedupe_keys give each payload its own keys');

-- Delayed ------------------------------------------------------------------------------------
create temp table later on commit drop as
  select * from public.enqueue_job('three', '{}', jsonb_build_object('run_at', now() + interval '1 hour'));
select row_eq($$ select status, run_at, started_at from later $$,
  row('pending'::text, now() + interval '1 hour', null::timestamptz),
  'a job with a future run_at waits, pending');
select is_empty($$ select 1 from public.job_steps where job_id = (select id from later) $$,
  'and has no step rows yet (nothing for the claim to skip)');
select is((select status from public.enqueue_job('three', '{}', jsonb_build_object('run_at', now() - interval '1 hour'))),
  'running', 'a run_at in the past runs now');

-- Atomicity ----------------------------------------------------------------------------------
select throws_ok($$ select public.enqueue_jobs('three', '[{"n": 1}, {"n": 2}, "three"]') $$, '22023',
  'enqueue_jobs: p_payloads[2] must be a JSON object, got "three"', 'a bad element names its index');
select is((select count(*) from public.jobs where payload = '{"n": 1}' and priority = 2), 1::bigint,
  'and nothing of the batch was written');

-- Bad input ----------------------------------------------------------------------------------
select throws_ok($$ select public.enqueue_job('nope', '{}') $$, '22023',
  'enqueue_job: unknown job type ''nope''; define it first with define_job_type()', 'unknown type');
select throws_ok($$ select public.enqueue_job(null, '{}') $$, '22004', 'enqueue_job: p_type must not be null', 'null type');
select throws_ok($$ select public.enqueue_job('three', '[1, 2]') $$, '22023',
  'enqueue_job: p_payload must be a JSON object, got [1, 2]', 'a payload that is not an object');
select throws_ok($$ select public.enqueue_job('three', '"hello"') $$, '22023',
  'enqueue_job: p_payload must be a JSON object, got "hello"', 'a string payload');
select throws_ok(
  format($$ select public.enqueue_job('three', '{"blob": "%s"}') $$, repeat('x', 262144)), 'PT413',
  'enqueue_job: p_payload is 262156 bytes of JSON; the maximum is 262144 (256 KiB)', 'an oversized payload');
select throws_ok(
  format($$ select public.enqueue_jobs('three', '[{}, {"blob": "%s"}]') $$, repeat('x', 262144)), 'PT413',
  'enqueue_jobs: p_payloads[1] is 262156 bytes of JSON; the maximum is 262144 (256 KiB)', 'an oversized payload in a batch names its index');
-- Nesting: values at most 64 levels below the payload object (a value of it is level 1).
select lives_ok(format($$ select public.enqueue_job('three', '{"a": %s1%s}') $$, repeat('[', 63), repeat(']', 63)),
  'a payload with values 64 levels deep is accepted');
select throws_ok(format($$ select public.enqueue_job('three', '{"a": %s%s}') $$, repeat('[', 65), repeat(']', 65)), '22023',
  'enqueue_job: p_payload holds values nested more than 64 levels deep; the maximum is 64 (a value of the payload object is level 1)',
  'a payload nested 65 levels deep is refused');
select throws_ok(format($$ select public.enqueue_jobs('three', '[{}, {"a": %s%s}]') $$, repeat('[', 9000), repeat(']', 9000)), '22023',
  'enqueue_jobs: p_payloads[1] holds values nested more than 64 levels deep; the maximum is 64 (a value of the payload object is level 1)',
  'a batch element nested 9 000 deep is refused, naming its index');
select throws_ok(format($$ select public.enqueue_jobs('three', '[{}, {"a": %s%s}, "three"]') $$, repeat('[', 70), repeat(']', 70)), '22023',
  'enqueue_jobs: p_payloads[1] holds values nested more than 64 levels deep; the maximum is 64 (a value of the payload object is level 1)',
  'the first bad element is named, whichever rule it breaks');
select throws_ok($$ select public.enqueue_jobs('three', '[]') $$, '22023',
  'enqueue_jobs: p_payloads must be a non-empty JSON array of payload objects, got []', 'an empty batch');
select throws_ok($$ select public.enqueue_jobs('three', '{"n": 1}') $$, '22023',
  'enqueue_jobs: p_payloads must be a non-empty JSON array of payload objects, got {"n": 1}', 'a batch that is not an array');
select throws_ok($$ select public.enqueue_jobs('three', null) $$, '22004',
  'enqueue_jobs: p_payloads must not be null', 'a null batch');
select throws_ok(
  $$ select public.enqueue_jobs('three', (select jsonb_agg('{}'::jsonb) from generate_series(1, 50001))) $$, '22023',
  'enqueue_jobs: p_payloads has 50001 elements; the maximum is 50000', 'a batch over the maximum');
select throws_ok($$ select public.enqueue_job('three', '{}', '{"priority": 6}') $$, '22023',
  'enqueue_job: p_options.priority must be an integer from 1 to 5, got 6', 'priority above 5');
select throws_ok($$ select public.enqueue_job('three', '{}', '{"priority": 0}') $$, '22023',
  'enqueue_job: p_options.priority must be an integer from 1 to 5, got 0', 'priority below 1');
select throws_ok($$ select public.enqueue_job('three', '{}', '{"priority": "high"}') $$, '22023',
  'enqueue_job: p_options.priority must be an integer from 1 to 5, got "high"', 'a priority that is not a number');
select throws_ok($$ select public.enqueue_job('three', '{}', '{"run_at": "infinity"}') $$, '22023',
  'enqueue_job: p_options.run_at must be from 1 year ago to 10 years ahead, got "infinity"', 'run_at infinity');
select throws_ok($$ select public.enqueue_job('three', '{}', '{"run_at": "-infinity"}') $$, '22023',
  'enqueue_job: p_options.run_at must be from 1 year ago to 10 years ahead, got "-infinity"', 'run_at -infinity');
select throws_ok($$ select public.enqueue_job('three', '{}', '{"run_at": "4713-01-01T00:00:00Z BC"}') $$, '22023',
  'enqueue_job: p_options.run_at must be from 1 year ago to 10 years ahead, got "4713-01-01T00:00:00Z BC"', 'run_at 4713 BC');
select throws_ok($$ select public.enqueue_job('three', '{}', jsonb_build_object('run_at', now() + interval '11 years')) $$, '22023',
  null, 'run_at more than 10 years ahead');
select throws_ok($$ select public.enqueue_job('three', '{}', '{"run_at": "next tuesday-ish"}') $$, '22023',
  'enqueue_job: p_options.run_at must be an ISO 8601 timestamp string, got "next tuesday-ish"', 'a malformed run_at');
select throws_ok($$ select public.enqueue_job('three', '{}', '{"run_at": 12}') $$, '22023',
  'enqueue_job: p_options.run_at must be an ISO 8601 timestamp string, got 12', 'a run_at that is not a string');
select throws_ok($$ select public.enqueue_job('three', '{}', '{"group_key": ""}') $$, '22023',
  'enqueue_job: p_options.group_key must be a non-empty string of at most 200 characters, got ""', 'an empty group key');
select throws_ok($$ select public.enqueue_job('three', '{}', '{"queue": "x"}') $$, '22023',
  'enqueue_job: p_options.queue is not a known option (known: priority, run_at, group_key, dedupe_key, max_attempts, tenant_id)',
  'an unknown option is named');
select throws_ok($$ select public.enqueue_job('three', '{}', '{"group_keys": ["a"]}') $$, '22023',
  'enqueue_job: p_options.group_keys is not a known option (known: priority, run_at, group_key, dedupe_key, max_attempts, tenant_id)',
  'per-element keys belong to enqueue_jobs');
select throws_ok($$ select public.enqueue_jobs('three', '[{}, {}]', '{"group_keys": ["a"]}') $$, '22023',
  'enqueue_jobs: p_options.group_keys must be an array with one entry per payload (2), got ["a"]', 'keys of the wrong length');
select throws_ok($$ select public.enqueue_jobs('three', '[{}, {}]', '{"dedupe_keys": ["a", 7]}') $$, '22023',
  'enqueue_jobs: p_options.dedupe_keys[1] must be a non-empty string of at most 200 characters, got 7', 'a bad key names its index');
select throws_ok($$ select public.enqueue_jobs('three', '[{}]', '{"group_key": "a", "group_keys": ["a"]}') $$, '22023',
  'enqueue_jobs: p_options.group_key and p_options.group_keys exclude each other', 'one key and per-element keys together');
-- Each distinct key's lane is locked until the call commits, one slot of the server's shared lock
-- table each: 50 000 keys in one call had failed with "out of shared memory".
select throws_ok($$ select public.enqueue_jobs('three', (select jsonb_agg('{}'::jsonb) from generate_series(1, 1001)),
                                               jsonb_build_object('group_keys', (select jsonb_agg('lane-' || g) from generate_series(1, 1001) g))) $$,
  '22023', 'enqueue_jobs: p_options.group_keys holds 1001 distinct keys; the maximum is 1000 per call (each key''s lane stays locked until the call commits): split the batch',
  'more than 1 000 distinct group keys in one call are refused');
select is((select count(*)::int
             from public.enqueue_jobs('three', (select jsonb_agg('{}'::jsonb) from generate_series(1, 1001)),
                                      jsonb_build_object('group_keys', (select jsonb_agg('lane-' || least(g, 1000)) from generate_series(1, 1001) g)))),
  1001, 'the limit counts distinct keys: 1 001 payloads over 1 000 keys are enqueued');
select is((select count(*)::int from public.jobs where group_key like 'lane-%' and status = 'running'), 1000,
  'and each of the 1 000 lanes starts its first job');
select throws_ok($$ select public.enqueue_job('three', '{}', '{"tenant_id": "not-a-uuid"}') $$, '22023',
  'enqueue_job: p_options.tenant_id must be a uuid, got "not-a-uuid"', 'a malformed tenant id');
select throws_ok($$ select public.enqueue_job('three', '{}', null) $$, '22004',
  'enqueue_job: p_options must not be null (pass ''{}'' for the defaults)', 'null options');

set local role anon;
select throws_ok($$ select public.enqueue_job('three', '{}') $$, '42501',
  'permission denied for function enqueue_job', 'anon cannot enqueue');
reset role;

select * from finish();
rollback;
