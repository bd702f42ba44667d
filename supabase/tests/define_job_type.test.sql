-- define_job_type(p_type, p_steps, p_options): normalised steps, options and defaults,
-- redefinition, the steps-change guard, every bad input with its message, grants.
begin;
create extension if not exists pgtap with schema extensions;
select plan(32);

delete from public.jobs;
delete from public.job_types;

select lives_ok(
  $$ select public.define_job_type('campaign_email', '["send_email", "analyze", ["notify_crm", "tag"], "take_action"]') $$,
  'defines a type with a parallel group');
select is((select steps from public.job_types where type = 'campaign_email'),
  '[["send_email"], ["analyze"], ["notify_crm", "tag"], ["take_action"]]'::jsonb,
  'steps are stored as groups (a single step is a group of one)');
select row_eq(
  $$ select max_attempts, backoff_base, backoff_max, backoff_jitter, step_timeout, priority::int, group_concurrency,
            group_rate_limit, group_rate_interval
       from public.job_types where type = 'campaign_email' $$,
  row(3, interval '1 second', interval '1 hour', 0.2::numeric, interval '5 minutes', 3, 1, null::int, null::interval),
  'options default to 3 attempts, 1 s..1 h backoff with 0.2 jitter, 5 min timeout, priority 3, one job per key');

select lives_ok(
  $$ select public.define_job_type('build', '["compile"]',
       '{"max_attempts": 5, "backoff": {"base": "2 seconds", "max": "1 minute", "jitter": 0}, "timeout": "30 seconds",
         "priority": 4, "concurrency": 2, "rate_limit": {"max": 10, "per": "1 minute"}}') $$,
  'accepts every option');
select row_eq(
  $$ select max_attempts, backoff_base, backoff_max, backoff_jitter, step_timeout, priority::int, group_concurrency,
            group_rate_limit, group_rate_interval
       from public.job_types where type = 'build' $$,
  row(5, interval '2 seconds', interval '1 minute', 0::numeric, interval '30 seconds', 4, 2, 10, interval '1 minute'),
  'stores every option');

select lives_ok($$ select public.define_job_type('build', '["compile"]', '{"max_attempts": 7}') $$,
  'redefining replaces the options');
select is((select max_attempts from public.job_types where type = 'build'), 7, 'the new options are stored');
select is((select group_concurrency from public.job_types where type = 'build'), 1, 'omitted options return to their defaults');

-- Steps of a type with unfinished jobs cannot change; options can.
select lives_ok($$ select public.enqueue_job('build', '{}') $$, 'a build job is enqueued');
select throws_ok($$ select public.define_job_type('build', '["compile", "upload"]') $$,
  'PT409', 'define_job_type: job type ''build'' has 1 unfinished jobs, so its steps cannot change (its options can); wait for them or define a new type',
  'changing the steps under unfinished jobs is refused');
select lives_ok($$ select public.define_job_type('build', '["compile"]', '{"max_attempts": 2}') $$,
  'changing only the options under unfinished jobs is allowed');
select public.claim_steps('w', '1 minute', 10);
select throws_ok($$ select public.define_job_type('build', '["compile", "upload"]') $$,
  'PT409', 'define_job_type: job type ''build'' has 1 unfinished jobs, so its steps cannot change (its options can); wait for them or define a new type',
  'nor while the job is held by a worker (the job is its own step)');
select public.fail_step((select id from public.jobs where type = 'build'), 'w', '{"message": "busy"}', interval '1 hour');
select throws_ok($$ select public.define_job_type('build', '["compile", "upload"]') $$,
  'PT409', 'define_job_type: job type ''build'' has 1 unfinished jobs, so its steps cannot change (its options can); wait for them or define a new type',
  'nor while the job waits out a retry backoff');
select public.enqueue_job('build', '{}', jsonb_build_object('run_at', now() + interval '1 day'));
select throws_ok($$ select public.define_job_type('build', '["compile", "upload"]') $$,
  'PT409', 'define_job_type: job type ''build'' has 2 unfinished jobs, so its steps cannot change (its options can); wait for them or define a new type',
  'nor while a job waits for its run_at');

-- Bad input.
select throws_ok($$ select public.define_job_type(null, '["a"]') $$, '22004',
  'define_job_type: p_type must not be null', 'null type');
select throws_ok($$ select public.define_job_type('9lives', '["a"]') $$, '22023',
  'define_job_type: p_type must start with a letter and contain only letters, digits and _ . : - (at most 100 characters), got ''9lives''',
  'a type name must start with a letter');
select throws_ok($$ select public.define_job_type('t', null) $$, '22004', 'define_job_type: p_steps must not be null', 'null steps');
select throws_ok($$ select public.define_job_type('t', '[]') $$, '22023',
  'define_job_type: p_steps must be a non-empty JSON array of step names, got []', 'empty steps');
select throws_ok($$ select public.define_job_type('t', '{"a": 1}') $$, '22023',
  'define_job_type: p_steps must be a non-empty JSON array of step names, got {"a": 1}', 'steps that are not an array');
select throws_ok($$ select public.define_job_type('t', '["a", 42]') $$, '22023',
  'define_job_type: p_steps[1] must be a step name or a non-empty array of step names, got 42', 'a step that is not a name');
select throws_ok($$ select public.define_job_type('t', '["a", []]') $$, '22023',
  'define_job_type: p_steps[1] must be a step name or a non-empty array of step names, got []', 'an empty parallel group');
select throws_ok($$ select public.define_job_type('t', '["a", ["b", "bad name"]]') $$, '22023',
  'define_job_type: p_steps[1][1] must be a step name (a letter, then letters, digits, _ . -; at most 100 characters), got "bad name"',
  'a bad name inside a group names its position');
select throws_ok($$ select public.define_job_type('t', '["a", ["b", "a"]]') $$, '22023',
  'define_job_type: p_steps names step ''a'' twice; step names must be unique within a job type', 'duplicate step names');
select throws_ok($$ select public.define_job_type('t', '["a"]', '{"retries": 3}') $$, '22023',
  'define_job_type: p_options.retries is not a known option (known: max_attempts, backoff, timeout, priority, concurrency, rate_limit)',
  'an unknown option is named');
select throws_ok($$ select public.define_job_type('t', '["a"]', '{"max_attempts": 0}') $$, '22023',
  'define_job_type: p_options.max_attempts must be an integer from 1 to 100, got 0', 'max_attempts out of range');
select throws_ok($$ select public.define_job_type('t', '["a"]', '{"backoff": {"base": "soon"}}') $$, '22023',
  'define_job_type: p_options.backoff.base must be a duration string such as ''30 seconds'', got "soon"', 'a malformed duration');
select throws_ok($$ select public.define_job_type('t', '["a"]', '{"backoff": {"base": "1 minute", "max": "1 second"}}') $$, '22023',
  'define_job_type: p_options.backoff.max (00:00:01) must not be shorter than p_options.backoff.base (00:01:00)', 'max below base');
select throws_ok($$ select public.define_job_type('t', '["a"]', '{"timeout": "30 days"}') $$, '22023',
  'define_job_type: p_options.timeout must be at most 24 days (a JavaScript timer holds at most 2^31 - 1 ms), got "30 days"',
  'a timeout longer than a timer holds');
select lives_ok($$ select public.define_job_type('t', '["a"]', '{"timeout": "24 days"}') $$, 'a timeout of 24 days is taken');
select throws_ok($$ select public.define_job_type('t', '["a"]', '{"rate_limit": {"max": 5}}') $$, '22023',
  'define_job_type: p_options.rate_limit needs both max and per, got {"max": 5}', 'a rate limit without a window');

set local role authenticated;
select throws_ok($$ select public.define_job_type('t', '["a"]') $$, '42501',
  'permission denied for function define_job_type', 'authenticated cannot define job types');
reset role;
set local role anon;
select throws_ok($$ select public.define_job_type('t', '["a"]') $$, '42501',
  'permission denied for function define_job_type', 'anon cannot define job types');
reset role;

select * from finish();
rollback;
