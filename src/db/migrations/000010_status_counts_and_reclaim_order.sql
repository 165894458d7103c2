-- Status paths that do not grow with history, and recovery that does not wait behind the backlog.
--
-- 1. Counts by state. /health/status counted tasks and steps with GROUP BY state, a scan of both tables
--    (541 ms at a million finished tasks). The counts are now maintained, exactly, by statement-level
--    triggers with transition tables: each INSERT, UPDATE or DELETE adds the net change per state that
--    the statement made (one small upsert per statement, however many rows it touched).
--    Where the change goes matters under load: a single counter row per state would be updated by every
--    claiming and finishing transaction and held locked until each commits, serializing the workers.
--    So every database connection adds to its own rows (keyed by pg_backend_pid(), unique among the
--    connections running at one moment): no transaction ever waits for another's counter row, and no
--    deadlock is possible. The workers' periodic maintenance (reap_lost_steps, once per heartbeat) folds
--    the rows of every connection that is not using them right now into one total row, so the table
--    stays a few dozen rows; reading the counts sums them. Counter rows are updated in place (HOT), so
--    even where nothing vacuums (PGlite) the table does not grow.
--    Estimates (pg_class.reltuples with pg_stats) were the other choice: free to maintain, but wrong by
--    whatever changed since the last ANALYZE, and PGlite does not analyze by itself.
-- 2. Listing tasks by state: an index on (state, id) serves a state filter in id order, newest or oldest
--    first, instead of walking the whole primary key past the finished history.
-- 3. A step taken back from a dead worker keeps its place in the ready queue. reap_lost_steps recorded
--    the lost attempt as a retry due now, which put the step behind every step that became ready while
--    its worker was dying; it now keeps the time it first became ready (run_at), so it is claimed first.
--    release_steps (graceful shutdown, claims whose reply was lost) keeps the place in the same way.
--
-- CREATE TRIGGER and CREATE INDEX lock the tables against writes until this migration commits, so the
-- counts taken below are exactly those the triggers continue from.

-- ---------------------------------------------------------------------------------------------------
-- 1. Counts by state

CREATE TABLE :TASKER_SCHEMA.state_counts (
  backend integer NOT NULL,
  entity varchar(8) NOT NULL CHECK (entity IN ('task', 'step')),
  state varchar(32) NOT NULL,
  n bigint NOT NULL,
  PRIMARY KEY (backend, entity, state)
);
COMMENT ON TABLE :TASKER_SCHEMA.state_counts IS
  'How many tasks and steps are in each state, kept by triggers. The total is the sum over backend: a '
  'connection''s triggers add to its own rows (backend = pg_backend_pid()), and fold_state_counts() moves '
  'rows no connection is using into backend 0. Read it through count_by_state().';

-- Internal: the trigger function of the counts. TG_ARGV[0] is the entity ('task' or 'step'); the
-- transition tables hold the rows the statement inserted (new_rows), deleted (old_rows) or both.
CREATE FUNCTION :TASKER_SCHEMA._count_states() RETURNS trigger
LANGUAGE plpgsql AS $$
BEGIN
  IF TG_OP = 'INSERT' THEN
    INSERT INTO :TASKER_SCHEMA.state_counts AS c (backend, entity, state, n)
    SELECT pg_backend_pid(), TG_ARGV[0], r.state, count(*) FROM new_rows r GROUP BY r.state ORDER BY r.state
    ON CONFLICT (backend, entity, state) DO UPDATE SET n = c.n + excluded.n;
  ELSIF TG_OP = 'DELETE' THEN
    INSERT INTO :TASKER_SCHEMA.state_counts AS c (backend, entity, state, n)
    SELECT pg_backend_pid(), TG_ARGV[0], r.state, -count(*) FROM old_rows r GROUP BY r.state ORDER BY r.state
    ON CONFLICT (backend, entity, state) DO UPDATE SET n = c.n + excluded.n;
  ELSE
    -- Most updates change no state (progress counters, hand-off to children): nothing is written then.
    INSERT INTO :TASKER_SCHEMA.state_counts AS c (backend, entity, state, n)
    SELECT pg_backend_pid(), TG_ARGV[0], x.state, sum(x.d) FROM (
      SELECT r.state, 1 AS d FROM new_rows r
      UNION ALL
      SELECT r.state, -1 FROM old_rows r
    ) x GROUP BY x.state HAVING sum(x.d) <> 0 ORDER BY x.state
    ON CONFLICT (backend, entity, state) DO UPDATE SET n = c.n + excluded.n;
  END IF;
  RETURN NULL;
END $$;
COMMENT ON FUNCTION :TASKER_SCHEMA._count_states() IS
  'Internal: statement trigger of tasks and steps; adds the net change per state to this connection''s '
  'rows of state_counts.';

-- Internal: TRUNCATE empties a table without row events; its counts go with it.
CREATE FUNCTION :TASKER_SCHEMA._reset_state_counts() RETURNS trigger
LANGUAGE plpgsql AS $$
BEGIN
  DELETE FROM :TASKER_SCHEMA.state_counts WHERE entity = TG_ARGV[0];
  RETURN NULL;
END $$;
COMMENT ON FUNCTION :TASKER_SCHEMA._reset_state_counts() IS
  'Internal: clears the counts of a truncated table.';

CREATE TRIGGER tasks_count_inserts AFTER INSERT ON :TASKER_SCHEMA.tasks
  REFERENCING NEW TABLE AS new_rows FOR EACH STATEMENT EXECUTE FUNCTION :TASKER_SCHEMA._count_states('task');
CREATE TRIGGER tasks_count_updates AFTER UPDATE ON :TASKER_SCHEMA.tasks
  REFERENCING OLD TABLE AS old_rows NEW TABLE AS new_rows
  FOR EACH STATEMENT EXECUTE FUNCTION :TASKER_SCHEMA._count_states('task');
CREATE TRIGGER tasks_count_deletes AFTER DELETE ON :TASKER_SCHEMA.tasks
  REFERENCING OLD TABLE AS old_rows FOR EACH STATEMENT EXECUTE FUNCTION :TASKER_SCHEMA._count_states('task');
CREATE TRIGGER tasks_count_truncate AFTER TRUNCATE ON :TASKER_SCHEMA.tasks
  FOR EACH STATEMENT EXECUTE FUNCTION :TASKER_SCHEMA._reset_state_counts('task');

CREATE TRIGGER steps_count_inserts AFTER INSERT ON :TASKER_SCHEMA.steps
  REFERENCING NEW TABLE AS new_rows FOR EACH STATEMENT EXECUTE FUNCTION :TASKER_SCHEMA._count_states('step');
CREATE TRIGGER steps_count_updates AFTER UPDATE ON :TASKER_SCHEMA.steps
  REFERENCING OLD TABLE AS old_rows NEW TABLE AS new_rows
  FOR EACH STATEMENT EXECUTE FUNCTION :TASKER_SCHEMA._count_states('step');
CREATE TRIGGER steps_count_deletes AFTER DELETE ON :TASKER_SCHEMA.steps
  REFERENCING OLD TABLE AS old_rows FOR EACH STATEMENT EXECUTE FUNCTION :TASKER_SCHEMA._count_states('step');
CREATE TRIGGER steps_count_truncate AFTER TRUNCATE ON :TASKER_SCHEMA.steps
  FOR EACH STATEMENT EXECUTE FUNCTION :TASKER_SCHEMA._reset_state_counts('step');

-- The counts so far, after the triggers exist (and hold their locks): nothing is counted twice or missed.
INSERT INTO :TASKER_SCHEMA.state_counts (backend, entity, state, n)
SELECT 0, 'task', state, count(*) FROM :TASKER_SCHEMA.tasks GROUP BY state;
INSERT INTO :TASKER_SCHEMA.state_counts (backend, entity, state, n)
SELECT 0, 'step', state, count(*) FROM :TASKER_SCHEMA.steps GROUP BY state;

CREATE FUNCTION :TASKER_SCHEMA.fold_state_counts() RETURNS integer
LANGUAGE plpgsql AS $$
DECLARE
  v_folded integer;
BEGIN
  -- One folder at a time; the others skip it (the next heartbeat will do).
  IF NOT pg_try_advisory_xact_lock(hashtext(:TASKER_SCHEMA_LITERAL || '/fold_state_counts')) THEN
    RETURN 0;
  END IF;
  -- Rows a running transaction holds are skipped: folding never waits for a worker.
  WITH taken AS (
    SELECT ctid FROM :TASKER_SCHEMA.state_counts WHERE backend <> 0 FOR UPDATE SKIP LOCKED
  ), moved AS (
    DELETE FROM :TASKER_SCHEMA.state_counts c USING taken WHERE c.ctid = taken.ctid
    RETURNING c.entity, c.state, c.n
  ), sums AS (
    SELECT entity, state, sum(n) AS n, count(*) AS rows FROM moved GROUP BY entity, state
  ), upserted AS (
    INSERT INTO :TASKER_SCHEMA.state_counts AS c (backend, entity, state, n)
    SELECT 0, entity, state, n FROM sums ORDER BY entity, state
    ON CONFLICT (backend, entity, state) DO UPDATE SET n = c.n + excluded.n
    RETURNING 1
  )
  SELECT coalesce(sum(rows), 0)::integer INTO v_folded FROM sums;
  RETURN v_folded;
END $$;
COMMENT ON FUNCTION :TASKER_SCHEMA.fold_state_counts() IS
  'Moves the per-connection rows of state_counts that no transaction holds into the totals (backend 0), '
  'keeping the table small. Returns how many rows were folded. Workers call it with every reap.';

CREATE FUNCTION :TASKER_SCHEMA.count_by_state()
RETURNS TABLE (entity text, state text, n bigint)
LANGUAGE sql STABLE AS $$
  SELECT c.entity::text, c.state::text, sum(c.n)::bigint
  FROM :TASKER_SCHEMA.state_counts c
  GROUP BY c.entity, c.state
  HAVING sum(c.n) <> 0
  ORDER BY c.entity, c.state
$$;
COMMENT ON FUNCTION :TASKER_SCHEMA.count_by_state() IS
  'Tasks (entity task) and steps (entity step) by state, exact as of the reader''s snapshot, from the '
  'maintained counts: reads a few dozen rows, whatever the history. States with none are left out.';

-- ---------------------------------------------------------------------------------------------------
-- 2. Listing tasks by state

CREATE INDEX tasks_state ON :TASKER_SCHEMA.tasks (state, id);

-- ---------------------------------------------------------------------------------------------------
-- 3. Taken-back steps keep their place

CREATE OR REPLACE FUNCTION :TASKER_SCHEMA.reap_lost_steps() RETURNS integer
LANGUAGE plpgsql
SET plan_cache_mode = force_custom_plan
AS $$
DECLARE
  v_outcomes jsonb;
  v_ids bigint[];
  v_ready_at timestamptz[];
  v_taken integer := 0;
  r record;
BEGIN
  WITH dead AS (
    SELECT id FROM :TASKER_SCHEMA.workers
    WHERE stopped_at IS NULL AND last_heartbeat_at < now() - make_interval(secs => lease_ms / 1000.0)
    FOR UPDATE SKIP LOCKED
  )
  UPDATE :TASKER_SCHEMA.workers w SET stopped_at = now(), stop_reason = 'heartbeat lost'
  FROM dead WHERE w.id = dead.id;

  SELECT jsonb_agg(jsonb_build_object(
    'step_id', s.id, 'attempt', s.attempts, 'worker_id', s.worker_id, 'ok', false, 'permanent', false,
    'retry_delay_ms', 0,
    'error', jsonb_build_object('class', 'LeaseExpiredError',
      'message', format('worker %s (%s) stopped sending heartbeats while running this step', w.name, w.id)))),
    array_agg(s.id), array_agg(s.run_at)
  INTO v_outcomes, v_ids, v_ready_at
  FROM :TASKER_SCHEMA.steps s JOIN :TASKER_SCHEMA.workers w ON w.id = s.worker_id
  WHERE s.state = 'in_progress' AND w.stopped_at IS NOT NULL;
  IF v_outcomes IS NOT NULL THEN
    SELECT * INTO r FROM :TASKER_SCHEMA._record_outcomes(v_outcomes, NULL);
    -- Back to the time each step first became ready (its run_at while it ran), not the back of the
    -- queue. Only the steps this call took back: a refused one was finished by its worker meanwhile.
    UPDATE :TASKER_SCHEMA.steps s SET run_at = k.ready_at
    FROM unnest(v_ids, v_ready_at) AS k (id, ready_at)
    WHERE s.id = k.id AND s.state = 'waiting_for_retry' AND k.ready_at < s.run_at
      AND NOT (k.id = ANY (coalesce(r.refused, '{}')));
    PERFORM pg_notify(':TASKER_CHANNEL:ready', '');
    v_taken := jsonb_array_length(v_outcomes) - coalesce(cardinality(r.refused), 0);
  END IF;
  -- The same periodic caller keeps the state counts small. Last, once every step and task lock this
  -- transaction needs is held: a connection whose counter row the fold removes waits for this commit,
  -- and must not be holding a row this transaction still has to wait for.
  PERFORM :TASKER_SCHEMA.fold_state_counts();
  RETURN v_taken;
END $$;
COMMENT ON FUNCTION :TASKER_SCHEMA.reap_lost_steps() IS
  'Takes back the steps of workers whose heartbeat is older than their lease: each counts a failed '
  'attempt (LeaseExpiredError) and is retried at once, keeping its place in the ready queue (the time it '
  'first became ready), or fails when it has no attempts left. Also folds the state counts. Returns how '
  'many steps were taken back. Any worker may call it; concurrent calls share the work.';

CREATE OR REPLACE FUNCTION :TASKER_SCHEMA.release_steps(p_worker_id uuid, p_step_ids bigint[], p_reason text)
RETURNS integer
LANGUAGE plpgsql
SET plan_cache_mode = force_custom_plan
AS $$
DECLARE
  v_count integer;
  v_changes jsonb;
BEGIN
  WITH h AS (
    SELECT s.id FROM :TASKER_SCHEMA.steps s
    WHERE s.worker_id = p_worker_id AND s.state = 'in_progress'
      AND (p_step_ids IS NULL OR s.id = ANY (p_step_ids))
    ORDER BY s.id FOR UPDATE
  ), u AS (
    -- run_at stays the time the step became ready: it goes back to its place in the queue.
    UPDATE :TASKER_SCHEMA.steps s
    SET state = 'waiting_for_retry', attempts = s.attempts - 1, run_at = least(coalesce(s.run_at, now()), now()),
      updated_at = now(), transition_count = s.transition_count + 1
    FROM h WHERE s.id = h.id
    RETURNING s.id, s.task_id, s.transition_count, s.attempts
  ), tr AS (
    INSERT INTO :TASKER_SCHEMA.step_transitions (step_id, sort_key, from_state, to_state, metadata)
    SELECT id, transition_count, 'in_progress', 'waiting_for_retry',
      jsonb_build_object('reason', p_reason, 'released', true, 'worker_id', p_worker_id, 'attempt', attempts + 1)
    FROM u
  )
  SELECT count(*)::integer, jsonb_agg(jsonb_build_array(id, task_id, 'waiting_for_retry')) INTO v_count, v_changes FROM u;
  IF v_count > 0 THEN
    PERFORM pg_notify(':TASKER_CHANNEL:ready', '');
    PERFORM :TASKER_SCHEMA._notify_json(':TASKER_CHANNEL:step', v_changes);
  END IF;
  RETURN v_count;
END $$;
COMMENT ON FUNCTION :TASKER_SCHEMA.release_steps(uuid, bigint[], text) IS
  'Gives back steps a worker holds without charging the attempt (graceful shutdown): they are claimable '
  'again at once, in their place in the ready queue. NULL step ids = all of the worker''s.';
