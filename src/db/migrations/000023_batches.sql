-- Run-time fan-out (issue 9, fourth part). A step of kind `batch` returns items (`{ items }` or
-- `{ batches }`); the worker reports them (await_batch) and finish_steps creates one worker step per item
-- in the same task: a real step row (name '<batch>[i]', position after the template's, its own retries,
-- lease and audit trail, inputs {item, checkpoint}). The batch step waits for them (waiting_for_retry,
-- parked on 'batch:<id>', the attempt given back), counting them down in batch_pending; when the last
-- worker finishes a trigger wakes it with every worker's results in batch order (or the names of the
-- workers that failed), and the batch step completes with that array, so a step after it converges on
-- all results. A worker saves checkpoints (save_checkpoint) that its next attempt starts from.

ALTER TABLE :TASKER_SCHEMA.steps
  ADD COLUMN batch_parent_id bigint,
  ADD COLUMN batch_index integer,
  ADD COLUMN batch_pending integer;
COMMENT ON COLUMN :TASKER_SCHEMA.steps.batch_parent_id IS 'A batch worker: the batch step that created it.';
COMMENT ON COLUMN :TASKER_SCHEMA.steps.batch_index IS 'A batch worker: its item''s place in the batch (from 0).';
COMMENT ON COLUMN :TASKER_SCHEMA.steps.batch_pending IS 'A batch step: its workers not finished yet.';

-- Internal: outcomes [{step_id, attempt, await_batch: {items, retryable, retry_limit, timeout_ms}}] of
-- batch steps under their leases: the workers are created and the batch step waits for them.
CREATE FUNCTION :TASKER_SCHEMA._start_batches(p_worker_id uuid, p_outcomes jsonb) RETURNS void
LANGUAGE plpgsql AS $$
DECLARE
  r record;
  v_n integer;
  v_base integer;
BEGIN
  FOR r IN
    SELECT s.id, s.task_id, s.named_task_id, s.named_step_id, s.name, s.priority, s.transition_count,
      x -> 'await_batch' AS batch
    FROM jsonb_array_elements(p_outcomes) AS x
    JOIN :TASKER_SCHEMA.steps s ON s.id = (x ->> 'step_id')::bigint
    WHERE x ? 'await_batch' AND s.state = 'in_progress' AND s.worker_id = p_worker_id
      AND s.attempts = (x ->> 'attempt')::integer
    ORDER BY s.id
    FOR UPDATE OF s
  LOOP
    v_n := jsonb_array_length(r.batch -> 'items');
    -- The task's row first (the lock order of the dispatch), then its new steps.
    UPDATE :TASKER_SCHEMA.tasks SET step_count = step_count + v_n, unfinished_steps = unfinished_steps + v_n,
      updated_at = now()
    WHERE id = r.task_id;
    SELECT max(position) + 1 INTO v_base FROM :TASKER_SCHEMA.steps WHERE task_id = r.task_id;
    IF v_base + v_n > 32767 THEN
      RAISE EXCEPTION 'batch step % would take the task past 32767 steps', r.id USING ERRCODE = 'TKOP1';
    END IF;
    INSERT INTO :TASKER_SCHEMA.steps (task_id, named_task_id, named_step_id, position, name, state,
      pending_parents, run_at, retryable, retry_limit, timeout_ms, skippable, inputs, priority,
      batch_parent_id, batch_index)
    SELECT r.task_id, r.named_task_id, r.named_step_id, (v_base + i.n - 1)::smallint,
      left(r.name, 100) || '[' || (i.n - 1) || ']', 'pending', 0, now(),
      coalesce((r.batch ->> 'retryable')::boolean, true), coalesce((r.batch ->> 'retry_limit')::integer, 3),
      (r.batch ->> 'timeout_ms')::integer, false, jsonb_build_object('item', i.item), r.priority, r.id,
      (i.n - 1)::integer
    FROM jsonb_array_elements(r.batch -> 'items') WITH ORDINALITY AS i (item, n);

    UPDATE :TASKER_SCHEMA.steps SET state = 'waiting_for_retry', attempts_base = attempts_base + 1,
      parked_on = 'batch:' || r.id, batch_pending = v_n, waiting_since = now(),
      throttled_at = now(), updated_at = now(), transition_count = transition_count + 1
    WHERE id = r.id;
    INSERT INTO :TASKER_SCHEMA.step_transitions (step_id, sort_key, from_state, to_state, metadata)
    VALUES (r.id, r.transition_count + 1, 'in_progress', 'waiting_for_retry',
      jsonb_build_object('waiting_for', 'batch', 'workers', v_n));
    PERFORM :TASKER_SCHEMA._notify_json(':TASKER_CHANNEL:step',
      jsonb_build_array(jsonb_build_array(r.id, r.task_id, 'waiting_for_retry')));
  END LOOP;
  PERFORM pg_notify(':TASKER_CHANNEL:ready', '');
END $$;
COMMENT ON FUNCTION :TASKER_SCHEMA._start_batches(uuid, jsonb) IS
  'Internal: creates the worker steps of batch steps that returned their items; the batch steps wait.';

-- A batch worker finished (for good): one fewer for its batch step; the last one wakes it with the
-- results in batch order, or the names of the workers that did not complete.
CREATE FUNCTION :TASKER_SCHEMA._batch_worker_done() RETURNS trigger
LANGUAGE plpgsql AS $$
DECLARE
  v_pending integer;
  v_results jsonb;
  v_failed jsonb;
BEGIN
  UPDATE :TASKER_SCHEMA.steps SET batch_pending = batch_pending - 1
  WHERE id = NEW.batch_parent_id AND batch_pending > 0
  RETURNING batch_pending INTO v_pending;
  IF v_pending IS DISTINCT FROM 0 THEN
    RETURN NULL;
  END IF;
  SELECT jsonb_agg(w.results ORDER BY w.batch_index),
    jsonb_agg(w.name ORDER BY w.batch_index) FILTER (WHERE w.state NOT IN ('complete', 'resolved_manually', 'skipped'))
  INTO v_results, v_failed
  -- Through the task's steps (its key), so that no index on batch_parent_id costs every other step.
  FROM :TASKER_SCHEMA.steps w WHERE w.task_id = NEW.task_id AND w.batch_parent_id = NEW.batch_parent_id;
  UPDATE :TASKER_SCHEMA.steps SET parked_on = NULL, run_at = least(coalesce(run_at, now()), now()), updated_at = now(),
    inputs = CASE WHEN v_failed IS NULL THEN jsonb_build_object('batch_results', v_results)
      ELSE jsonb_build_object('batch_failed', v_failed) END
  WHERE id = NEW.batch_parent_id;
  PERFORM pg_notify(':TASKER_CHANNEL:ready', '');
  RETURN NULL;
END $$;
COMMENT ON FUNCTION :TASKER_SCHEMA._batch_worker_done() IS
  'Internal (trigger): counts a batch''s finished workers and wakes the batch step after the last one.';
CREATE TRIGGER steps_batch_worker_done AFTER UPDATE OF state ON :TASKER_SCHEMA.steps
  FOR EACH ROW WHEN (NEW.batch_parent_id IS NOT NULL AND OLD.state IN ('pending', 'in_progress', 'waiting_for_retry')
    AND NEW.state IN ('complete', 'error', 'cancelled', 'resolved_manually', 'skipped'))
  EXECUTE FUNCTION :TASKER_SCHEMA._batch_worker_done();

-- Saves a batch worker's checkpoint under its lease; false when the lease is gone (the value is not kept).
CREATE FUNCTION :TASKER_SCHEMA.save_checkpoint(p_step_id bigint, p_attempt integer, p_checkpoint jsonb)
RETURNS boolean
LANGUAGE sql AS $$
  WITH u AS (
    UPDATE :TASKER_SCHEMA.steps SET inputs = coalesce(inputs, '{}') || jsonb_build_object('checkpoint', p_checkpoint),
      updated_at = now()
    WHERE id = p_step_id AND state = 'in_progress' AND attempts = p_attempt AND batch_parent_id IS NOT NULL
    RETURNING 1
  )
  SELECT EXISTS (SELECT 1 FROM u)
$$;
COMMENT ON FUNCTION :TASKER_SCHEMA.save_checkpoint(bigint, integer, jsonb) IS
  'Stores a batch worker''s checkpoint (ctx.checkpoint) while it holds the step; its next attempt gets it.';

-- finish_steps as in migration 22, with batches started before outcomes are recorded.
CREATE OR REPLACE FUNCTION :TASKER_SCHEMA.finish_steps(
  p_worker_id uuid, p_outcomes jsonb, p_claim_limit integer DEFAULT 0, p_named_task_ids integer[] DEFAULT NULL
) RETURNS SETOF :TASKER_SCHEMA.dispatch_row
LANGUAGE plpgsql
SET plan_cache_mode = force_custom_plan
AS $$
DECLARE
  r record;
  v_special boolean;
  v_decided jsonb;
  v_claim bigint[];
  v_left integer := coalesce(p_claim_limit, 0);
BEGIN
  -- One look for the rare outcomes (children, batches, decisions); most round trips have none.
  v_special := p_outcomes @? '$[*] ? (exists(@.await_child) || exists(@.await_batch) || exists(@.skip_children))';
  -- Steps that started a child task wait for it (not an attempt); the other outcomes are recorded.
  IF v_special AND p_outcomes @? '$[*] ? (exists(@.await_child))' THEN
    PERFORM :TASKER_SCHEMA._await_children(p_worker_id, p_outcomes);
    p_outcomes := (SELECT coalesce(jsonb_agg(x), '[]') FROM jsonb_array_elements(p_outcomes) AS x
      WHERE NOT x ? 'await_child');
  END IF;
  -- Batch steps that returned their items fan out to one worker step each, and wait for them.
  IF v_special AND p_outcomes @? '$[*] ? (exists(@.await_batch))' THEN
    PERFORM :TASKER_SCHEMA._start_batches(p_worker_id, p_outcomes);
    p_outcomes := (SELECT coalesce(jsonb_agg(x), '[]') FROM jsonb_array_elements(p_outcomes) AS x
      WHERE NOT x ? 'await_batch');
  END IF;
  SELECT * INTO r FROM :TASKER_SCHEMA._record_outcomes(p_outcomes, p_worker_id);
  -- Decision steps that completed: the children they did not choose are skipped, with what only they lead to.
  IF v_special AND p_outcomes @? '$[*] ? (exists(@.skip_children))' THEN
    v_decided := :TASKER_SCHEMA._apply_decisions(p_outcomes);
  END IF;

  RETURN QUERY SELECT 'refused'::text, id, NULL::bigint, NULL::text, NULL::integer, NULL::text, NULL::integer,
    NULL::integer, NULL::integer, NULL::integer, NULL::jsonb, NULL::jsonb, NULL::jsonb, NULL::text, NULL::text,
    NULL::timestamptz, NULL::timestamptz
  FROM unnest(r.refused) AS id;
  RETURN QUERY SELECT 'retry'::text, (e ->> 0)::bigint, (e ->> 1)::bigint, 'waiting_for_retry'::text, NULL::integer,
    NULL::text, NULL::integer, NULL::integer, NULL::integer, NULL::integer, NULL::jsonb, NULL::jsonb, NULL::jsonb,
    NULL::text, NULL::text, (e ->> 2)::timestamptz, NULL::timestamptz
  FROM jsonb_array_elements(r.retrying) AS e;
  RETURN QUERY SELECT 'task'::text, NULL::bigint, t.id, e ->> 1, t.named_task_id, NULL::text,
    NULL::integer, NULL::integer, NULL::integer, NULL::integer, NULL::jsonb, NULL::jsonb, NULL::jsonb,
    t.correlation_id::text, t.traceparent::text, t.started_at, t.created_at
  FROM jsonb_array_elements(coalesce(r.finished, '[]') || coalesce(v_decided, '[]')) AS e
  JOIN :TASKER_SCHEMA.tasks t ON t.id = (e ->> 0)::bigint;

  -- The children this worker made ready go to this worker first: no round trip, no wake-up.
  IF r.ready IS NOT NULL AND v_left > 0 THEN
    SELECT array_agg(c.id ORDER BY c.id) INTO v_claim FROM (
      SELECT s.id FROM :TASKER_SCHEMA.steps s
      WHERE s.id = ANY (r.ready) AND (p_named_task_ids IS NULL OR s.named_task_id = ANY (p_named_task_ids))
        AND s.flow_control = 0 AND s.state = 'pending'
      ORDER BY s.id LIMIT v_left
    ) c;
    IF v_claim IS NOT NULL THEN
      RETURN QUERY SELECT * FROM :TASKER_SCHEMA._start_steps(p_worker_id, v_claim,
        array_fill('pending'::text, ARRAY[cardinality(v_claim)]));
      v_left := v_left - cardinality(v_claim);
    END IF;
  END IF;
  IF r.ready IS NOT NULL AND cardinality(r.ready) > coalesce(cardinality(v_claim), 0) THEN
    -- (Children a decision skipped are among r.ready; a wake-up too many costs one empty claim.)
    PERFORM pg_notify(':TASKER_CHANNEL:ready', '');
  END IF;
  IF v_left > 0 THEN
    RETURN QUERY SELECT * FROM :TASKER_SCHEMA.claim_steps(p_worker_id, p_named_task_ids, v_left);
  END IF;
END $$;
COMMENT ON FUNCTION :TASKER_SCHEMA.finish_steps(uuid, jsonb, integer, integer[]) IS
  'A worker''s round trip: records outcomes [{step_id, attempt, ok, results, error, permanent, '
  'retry_delay_ms, skip_children, await_child, await_batch}] of steps it holds, then claims up to p_claim_limit ready steps (the children it just '
  'made ready first). Returns refused, retry, task (run_at = when it started) and claimed rows.';
