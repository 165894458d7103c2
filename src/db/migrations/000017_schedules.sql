-- Schedules (issue 10, part 2): named schedules that create a task of a template on a clock (a cron
-- expression in an IANA time zone, or a fixed interval). Each tick creates exactly one task however many
-- workers run: a worker takes a due schedule row with FOR UPDATE SKIP LOCKED, creates the tick's task
-- and advances next_fire_at in that one transaction (a crash rolls all of it back, and another worker
-- fires the tick), and the task carries the identity key 'schedule:<name>:<tick>' so that even a second
-- transaction for the same tick could not create a second task.

CREATE TABLE :TASKER_SCHEMA.schedules (
  id integer GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
  name varchar(128) NOT NULL UNIQUE,
  namespace varchar(64) NOT NULL,
  task_name varchar(128) NOT NULL,
  task_version varchar(32),
  cron varchar(128),
  interval_ms bigint CHECK (interval_ms IS NULL OR interval_ms >= 1000),
  timezone varchar(64) NOT NULL DEFAULT 'UTC',
  context jsonb NOT NULL DEFAULT '{}',
  catch_up varchar(8) NOT NULL DEFAULT 'skip' CHECK (catch_up IN ('skip', 'once', 'all')),
  catch_up_limit integer NOT NULL DEFAULT 10 CHECK (catch_up_limit > 0),
  paused boolean NOT NULL DEFAULT false,
  next_fire_at timestamptz,
  last_fired_at timestamptz,
  last_task_id bigint,
  fires bigint NOT NULL DEFAULT 0,
  skipped_ticks bigint NOT NULL DEFAULT 0,
  source varchar(8) NOT NULL DEFAULT 'api' CHECK (source IN ('api', 'config')),
  created_at timestamptz NOT NULL DEFAULT now(),
  updated_at timestamptz NOT NULL DEFAULT now(),
  CHECK ((cron IS NULL) <> (interval_ms IS NULL))
);
COMMENT ON TABLE :TASKER_SCHEMA.schedules IS
  'Named schedules: each tick of cron (in timezone) or of interval_ms creates a task of namespace/task_name '
  '(task_version, or the latest) with context. next_fire_at is the next tick not yet fired; workers fire '
  'due rows (FOR UPDATE SKIP LOCKED) and advance it in the same transaction. catch_up says what happens '
  'to ticks missed while nothing ran: skip them, fire once, or fire each (at most catch_up_limit). '
  'source = config: declared in the configuration file and reconciled on start.';
-- The due schedules, soonest first: what every worker''s ticker looks at.
CREATE INDEX schedules_due ON :TASKER_SCHEMA.schedules (next_fire_at) WHERE NOT paused;

CREATE TABLE :TASKER_SCHEMA.schedule_fires (
  schedule_id integer NOT NULL REFERENCES :TASKER_SCHEMA.schedules (id) ON DELETE CASCADE,
  tick_at timestamptz NOT NULL,
  task_id bigint,
  fired_at timestamptz NOT NULL DEFAULT now(),
  manual boolean NOT NULL DEFAULT false,
  PRIMARY KEY (schedule_id, tick_at)
);
COMMENT ON TABLE :TASKER_SCHEMA.schedule_fires IS
  'One row per fired tick (and per run-now, manual): which task it created and how late it fired '
  '(fired_at - tick_at). The primary key makes a tick fire at most once.';
