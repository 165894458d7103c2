-- Compensation (issue 9, last part). A template may name a failure handler (`on_failure`) and each step
-- an undo step (`undo`); both are steps of kind `compensation`, declared in the template but not created
-- with the task (register_template gets only the other steps; the template's stored configuration keeps
-- them under "compensation" and "steps"). When the task fails for good (its state becomes error, in the
-- same transaction), a trigger creates them as real steps of the task, with their own retries, leases
-- and audit trail:
--   * the undo steps of the steps that completed, in a chain, the step that completed last undone first;
--     an undo step that fails for good blocks the rest of the chain (nothing earlier is undone after a
--     later undo failed), as any step below a failed one;
--   * the failure handler, at once, beside the chain.
-- Each gets inputs {failedSteps: [{name, error}], results: {step: results}, undoing: step name or null}.
-- The task stays in error whatever they do: a compensation step's outcome is in its own audit trail. It
-- runs once per task: a task retried after its compensation ran does not compensate again.

ALTER TABLE :TASKER_SCHEMA.steps ADD COLUMN compensation varchar(16)
  CHECK (compensation IN ('undo', 'on_failure'));
COMMENT ON COLUMN :TASKER_SCHEMA.steps.compensation IS
  'A compensation step created when its task failed: undo (undoes the step named in inputs.undoing) or '
  'on_failure (the template''s failure handler). NULL for every other step.';

-- The task just failed for good: create its compensation steps, if its template declares any.
CREATE FUNCTION :TASKER_SCHEMA._start_compensation() RETURNS trigger
LANGUAGE plpgsql AS $$
DECLARE
  v_conf jsonb;
  v_names text[];
  v_undoing text[];
  v_undos integer;
  v_n integer;
  v_ids bigint[];
  v_base integer;
  v_failed jsonb;
  v_results jsonb;
  v_step_seq regclass := format('%I.%I', :TASKER_SCHEMA_LITERAL, 'steps_id_seq')::regclass;
BEGIN
  SELECT configuration INTO v_conf FROM :TASKER_SCHEMA.named_tasks WHERE id = NEW.named_task_id;
  IF v_conf -> 'compensation' IS NULL OR jsonb_typeof(v_conf -> 'compensation') <> 'object' THEN
    RETURN NULL;
  END IF;
  IF EXISTS (SELECT 1 FROM :TASKER_SCHEMA.steps WHERE task_id = NEW.id AND compensation IS NOT NULL) THEN
    RETURN NULL;
  END IF;

  -- The undo steps of the completed steps, the one completed last first; then the failure handler.
  SELECT array_agg(p.name ORDER BY p.ord, p.completed_at DESC, p.id DESC),
    array_agg(p.undoing ORDER BY p.ord, p.completed_at DESC, p.id DESC),
    count(*) FILTER (WHERE p.undoing IS NOT NULL)
  INTO v_names, v_undoing, v_undos
  FROM (
    SELECT 0 AS ord, u.value #>> '{}' AS name, u.key AS undoing, s.completed_at, s.id
    FROM jsonb_each(coalesce(v_conf #> '{compensation,undo}', '{}')) AS u
    JOIN :TASKER_SCHEMA.steps s ON s.task_id = NEW.id AND s.name = u.key AND s.state = 'complete'
      AND s.batch_parent_id IS NULL AND s.compensation IS NULL
    UNION ALL
    SELECT 1, v_conf #>> '{compensation,onFailure}', NULL, NULL, NULL
    WHERE v_conf #>> '{compensation,onFailure}' IS NOT NULL
  ) p;
  v_n := coalesce(cardinality(v_names), 0);
  IF v_n = 0 THEN
    RETURN NULL;
  END IF;

  SELECT coalesce(jsonb_agg(jsonb_build_object('name', s.name, 'error', s.last_error) ORDER BY s.position)
      FILTER (WHERE s.state = 'error'), '[]'),
    coalesce(jsonb_object_agg(s.name, s.results) FILTER (WHERE s.state = 'complete' AND s.batch_parent_id IS NULL),
      '{}')
  INTO v_failed, v_results
  FROM :TASKER_SCHEMA.steps s WHERE s.task_id = NEW.id AND s.state IN ('error', 'complete');

  -- Their named steps (the template registered only the others).
  INSERT INTO :TASKER_SCHEMA.dependent_systems (name)
  SELECT DISTINCT coalesce(c ->> 'dependentSystem', 'default')
  FROM jsonb_array_elements(v_conf -> 'steps') AS c WHERE c ->> 'name' = ANY (v_names)
  ON CONFLICT (name) DO NOTHING;
  INSERT INTO :TASKER_SCHEMA.named_steps (dependent_system_id, name, description)
  SELECT ds.id, c ->> 'name', c ->> 'description'
  FROM jsonb_array_elements(v_conf -> 'steps') AS c
  JOIN :TASKER_SCHEMA.dependent_systems ds ON ds.name = coalesce(c ->> 'dependentSystem', 'default')
  WHERE c ->> 'name' = ANY (v_names)
  ON CONFLICT (dependent_system_id, name) DO NOTHING;

  -- The task's row first (the lock order of the dispatch), then its new steps.
  UPDATE :TASKER_SCHEMA.tasks SET step_count = step_count + v_n, unfinished_steps = unfinished_steps + v_n,
    updated_at = now()
  WHERE id = NEW.id;
  SELECT max(position) + 1 INTO v_base FROM :TASKER_SCHEMA.steps WHERE task_id = NEW.id;
  IF v_base + v_n > 32767 THEN
    RAISE EXCEPTION 'compensating task % would take it past 32767 steps', NEW.id USING ERRCODE = 'TKOP1';
  END IF;
  SELECT array_agg(nextval(v_step_seq)) INTO v_ids FROM generate_series(1, v_n);

  INSERT INTO :TASKER_SCHEMA.steps (id, task_id, named_task_id, named_step_id, position, name, state,
    pending_parents, parent_ids, child_ids, run_at, retryable, retry_limit, timeout_ms, skippable, inputs,
    priority, compensation)
  SELECT v_ids[p.n], NEW.id, NEW.named_task_id, ns.id, (v_base + p.n - 1)::smallint, p.name, 'pending',
    CASE WHEN p.undoing IS NOT NULL AND p.n > 1 THEN 1 ELSE 0 END,
    CASE WHEN p.undoing IS NOT NULL AND p.n > 1 THEN ARRAY[v_ids[p.n - 1]] ELSE '{}' END,
    CASE WHEN p.undoing IS NOT NULL AND p.n < v_undos THEN ARRAY[v_ids[p.n + 1]] ELSE '{}' END,
    CASE WHEN p.undoing IS NULL OR p.n = 1 THEN now() END,
    coalesce((c ->> 'retryable')::boolean, true), coalesce((c ->> 'retryLimit')::integer, 3),
    (c ->> 'timeoutMs')::integer, false,
    jsonb_build_object('failedSteps', v_failed, 'results', v_results, 'undoing', p.undoing),
    NEW.priority, CASE WHEN p.undoing IS NULL THEN 'on_failure' ELSE 'undo' END
  FROM unnest(v_names, v_undoing) WITH ORDINALITY AS p (name, undoing, n)
  JOIN LATERAL (SELECT x AS c FROM jsonb_array_elements(v_conf -> 'steps') AS x WHERE x ->> 'name' = p.name
    LIMIT 1) cs ON true
  JOIN :TASKER_SCHEMA.dependent_systems ds ON ds.name = coalesce(cs.c ->> 'dependentSystem', 'default')
  JOIN :TASKER_SCHEMA.named_steps ns ON ns.dependent_system_id = ds.id AND ns.name = p.name;

  PERFORM :TASKER_SCHEMA._notify_json(':TASKER_CHANNEL:step',
    (SELECT jsonb_agg(jsonb_build_array(id, NEW.id, 'pending')) FROM unnest(v_ids) AS id));
  PERFORM pg_notify(':TASKER_CHANNEL:ready', '');
  RETURN NULL;
END $$;
COMMENT ON FUNCTION :TASKER_SCHEMA._start_compensation() IS
  'Internal (trigger): a task failed for good; creates the undo steps of its completed steps (a chain, '
  'the last completed undone first) and its failure handler, as its template declares them (once per task).';
CREATE TRIGGER tasks_start_compensation AFTER UPDATE OF state ON :TASKER_SCHEMA.tasks
  FOR EACH ROW WHEN (NEW.state = 'error' AND OLD.state IS DISTINCT FROM 'error')
  EXECUTE FUNCTION :TASKER_SCHEMA._start_compensation();

-- queue_stats as in migration 19, except that parked_steps counts only the steps parked on a concurrency
-- key (batch steps, steps waiting for a child and steps waiting for a signal are parked too since
-- migrations 21 to 23), and `waiting` counts each of those waits.
DROP FUNCTION :TASKER_SCHEMA.queue_stats();
CREATE FUNCTION :TASKER_SCHEMA.queue_stats()
RETURNS TABLE (ready_steps bigint, oldest_ready_age_seconds numeric, in_progress_steps bigint, live_workers bigint,
  parked_steps bigint, waiting jsonb)
LANGUAGE sql STABLE AS $$
  SELECT r.n, coalesce(round(extract(epoch FROM now() - r.oldest)::numeric, 3), 0),
    (SELECT count(*) FROM :TASKER_SCHEMA.steps WHERE state = 'in_progress'),
    (SELECT count(*) FROM :TASKER_SCHEMA.workers w
     WHERE w.stopped_at IS NULL AND w.last_heartbeat_at > now() - make_interval(secs => w.lease_ms / 1000.0)),
    coalesce((p.counts ->> 'key')::bigint, 0),
    jsonb_build_object('batch', 0, 'child', 0, 'signal', 0) || coalesce(p.counts - 'key', '{}')
  FROM (
    SELECT count(*) AS n, min(run_at) AS oldest FROM :TASKER_SCHEMA.steps
    WHERE pending_parents = 0 AND state IN ('pending', 'waiting_for_retry') AND parked_on IS NULL
      AND run_at <= now()
  ) r,
  (
    SELECT jsonb_object_agg(k.kind, k.n) AS counts FROM (
      SELECT CASE WHEN parked_on ~ '^(batch|child|signal):' THEN split_part(parked_on, ':', 1) ELSE 'key' END AS kind,
        count(*) AS n
      FROM :TASKER_SCHEMA.steps
      WHERE parked_on IS NOT NULL AND pending_parents = 0 AND state IN ('pending', 'waiting_for_retry')
      GROUP BY 1
    ) k
  ) p
$$;
COMMENT ON FUNCTION :TASKER_SCHEMA.queue_stats() IS
  'What metrics read at each scrape: ready steps (claimable now) and the age of the oldest, running '
  'steps, live workers, steps parked on a full concurrency key, and steps parked waiting for their '
  'batch''s workers, a child task or a signal (waiting: {batch, child, signal}). Reads only partial '
  'indexes and the workers table.';
