-- Demo data for a fresh local database: a few running jobs with work to do, so `scripts/stack
-- psql -c 'select * from claim_next_step(''me'')'` returns something right away.
-- Fixed ids make the rows easy to find in Studio and in the README's examples.

insert into public.jobs (id, status) values
  ('00000000-0000-4000-8000-000000000001', 'running'),  -- welcome email: three steps in order
  ('00000000-0000-4000-8000-000000000002', 'running'),  -- report: a parallel middle group
  ('00000000-0000-4000-8000-000000000003', 'running');  -- image import: two steps

insert into public.job_steps (job_id, seq, input) values
  ('00000000-0000-4000-8000-000000000001', 0, '{"step": "render_template", "template": "welcome"}'),
  ('00000000-0000-4000-8000-000000000001', 1, '{"step": "send_email", "to": "ada@example.com"}'),
  ('00000000-0000-4000-8000-000000000001', 2, '{"step": "record_delivery"}'),
  ('00000000-0000-4000-8000-000000000002', 0, '{"step": "load_rows", "table": "orders"}'),
  ('00000000-0000-4000-8000-000000000002', 1, '{"step": "render_csv"}'),
  ('00000000-0000-4000-8000-000000000002', 1, '{"step": "render_pdf"}'),
  ('00000000-0000-4000-8000-000000000002', 2, '{"step": "upload", "bucket": "reports"}'),
  ('00000000-0000-4000-8000-000000000003', 0, '{"step": "fetch_image", "url": "https://example.com/cat.png"}'),
  ('00000000-0000-4000-8000-000000000003', 1, '{"step": "make_thumbnail", "width": 256}');
