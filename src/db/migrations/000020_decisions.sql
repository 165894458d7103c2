-- Decision steps and deferred convergence (issue 9, first part). A step of kind `decision` returns which
-- of its children to run; the worker checks the names against the template and reports the others in
-- its outcome (skip_children). finish_steps then skips them in the same transaction as the decision's
-- completion, so no worker can claim one first: each goes pending -> skipped (pruned = true) with the
-- decision as the reason, and so does every step below whose parents were all skipped that way. A step
-- with at least one parent that ran (a join below a decision) runs once its other parents are done or
-- skipped, and sees only the results of the parents that ran (skipped parents give none, migration 2).
-- Skipped steps count as done for their task, which finishes when nothing else is left.

ALTER TABLE :TASKER_SCHEMA.steps ADD COLUMN pruned boolean NOT NULL DEFAULT false;
COMMENT ON COLUMN :TASKER_SCHEMA.steps.pruned IS
  'Skipped because a decision step did not choose it (or every parent of it was so skipped); a bypassed '
  'step (skipped at creation) is not pruned: its children still run.';

-- Internal: skips pending steps a decision left out, and below them every step whose parents were all
-- skipped so; children with a parent that ran become ready when nothing else holds them. The tasks'
-- rows are locked by the caller. Returns the tasks that finished, as [[id, state], ...].
CREATE FUNCTION :TASKER_SCHEMA._prune_steps(p_ids bigint[], p_metadata jsonb[]) RETURNS jsonb
LANGUAGE plpgsql AS $$
DECLARE
  v_ids bigint[] := p_ids;
  v_meta jsonb[] := p_metadata;
  v_pruned bigint[];
  v_changes jsonb;
  v_tasks bigint[] := '{}';
  v_ready bigint[];
  v_finishing bigint[];
BEGIN
  WHILE v_ids IS NOT NULL AND cardinality(v_ids) > 0 LOOP
    WITH u AS (
      UPDATE :TASKER_SCHEMA.steps s SET state = 'skipped', pruned = true, run_at = NULL, completed_at = now(),
        updated_at = now(), transition_count = s.transition_count + 1
      FROM unnest(v_ids, v_meta) AS f (id, metadata)
      WHERE s.id = f.id AND s.state = 'pending'
      RETURNING s.id, s.task_id, s.transition_count, s.blocked, f.metadata
    ), tr AS (
      INSERT INTO :TASKER_SCHEMA.step_transitions (step_id, sort_key, from_state, to_state, metadata)
      SELECT u.id, u.transition_count, 'pending', 'skipped', u.metadata FROM u
    ), counted AS (
      -- A blocked step was not counted as unfinished.
      UPDATE :TASKER_SCHEMA.tasks t SET unfinished_steps = t.unfinished_steps - d.n, updated_at = now()
      FROM (SELECT u.task_id, count(*) FILTER (WHERE NOT u.blocked)::integer AS n FROM u GROUP BY u.task_id) d
      WHERE t.id = d.task_id
    )
    SELECT array_agg(u.id), jsonb_agg(jsonb_build_array(u.id, u.task_id, 'skipped')),
      v_tasks || array_agg(DISTINCT u.task_id)
    INTO v_pruned, v_changes, v_tasks FROM u;
    EXIT WHEN v_pruned IS NULL;
    PERFORM :TASKER_SCHEMA._notify_json(':TASKER_CHANNEL:step', v_changes);

    -- Their children have one parent fewer to wait for.
    WITH d AS (
      SELECT c.id, count(*)::smallint AS n
      FROM :TASKER_SCHEMA.steps s CROSS JOIN LATERAL unnest(s.child_ids) AS c (id)
      WHERE s.id = ANY (v_pruned) GROUP BY c.id
    )
    UPDATE :TASKER_SCHEMA.steps s SET pending_parents = s.pending_parents - d.n, updated_at = now()
    FROM d WHERE s.id = d.id AND s.state = 'pending';

    -- Free children whose parents were all pruned go too; the others are ready.
    WITH free AS (
      SELECT c.id, bool_and(p.pruned) AS all_pruned
      FROM (SELECT DISTINCT x.id FROM :TASKER_SCHEMA.steps s CROSS JOIN LATERAL unnest(s.child_ids) AS x (id)
            WHERE s.id = ANY (v_pruned)) c
      JOIN :TASKER_SCHEMA.steps cs ON cs.id = c.id AND cs.state = 'pending' AND cs.pending_parents = 0
      CROSS JOIN LATERAL unnest(cs.parent_ids) AS pp (id)
      JOIN :TASKER_SCHEMA.steps p ON p.id = pp.id
      GROUP BY c.id
    )
    SELECT array_agg(free.id) FILTER (WHERE all_pruned),
      array_agg('{"reason": "every step it depends on was skipped by a decision"}'::jsonb) FILTER (WHERE all_pruned),
      array_agg(free.id) FILTER (WHERE NOT all_pruned)
    INTO v_ids, v_meta, v_ready FROM free;
    IF v_ready IS NOT NULL THEN
      UPDATE :TASKER_SCHEMA.steps SET run_at = now(), updated_at = now() WHERE id = ANY (v_ready);
      PERFORM pg_notify(':TASKER_CHANNEL:ready', '');
    END IF;
  END LOOP;

  SELECT array_agg(t.id) INTO v_finishing FROM :TASKER_SCHEMA.tasks t
  WHERE t.id = ANY (v_tasks) AND t.unfinished_steps = 0 AND t.state IN ('pending', 'in_progress');
  IF v_finishing IS NULL THEN
    RETURN NULL;
  END IF;
  RETURN :TASKER_SCHEMA._finish_tasks(v_finishing);
END $$;
COMMENT ON FUNCTION :TASKER_SCHEMA._prune_steps(bigint[], jsonb[]) IS
  'Internal: skips steps a decision left out and what only they lead to; returns the tasks that finished.';

-- Internal: the decisions among recorded outcomes (an accepted outcome: its step is now complete under
-- the attempt reported) and the children each left out, by name.
CREATE FUNCTION :TASKER_SCHEMA._apply_decisions(p_outcomes jsonb) RETURNS jsonb
LANGUAGE plpgsql AS $$
DECLARE
  v_ids bigint[];
  v_meta jsonb[];
BEGIN
  SELECT array_agg(ch.id ORDER BY ch.id),
    array_agg(jsonb_build_object('reason', 'not chosen by decision step ' || s.name, 'decision_step_id', s.id)
      ORDER BY ch.id)
  INTO v_ids, v_meta
  FROM jsonb_array_elements(p_outcomes) AS o
  JOIN :TASKER_SCHEMA.steps s ON s.id = (o ->> 'step_id')::bigint AND s.state = 'complete'
    AND s.attempts = (o ->> 'attempt')::integer
  CROSS JOIN LATERAL unnest(s.child_ids) AS c (id)
  JOIN :TASKER_SCHEMA.steps ch ON ch.id = c.id
  WHERE o ? 'skip_children' AND ch.name::text IN (SELECT jsonb_array_elements_text(o -> 'skip_children'));
  IF v_ids IS NULL THEN
    RETURN NULL;
  END IF;
  RETURN :TASKER_SCHEMA._prune_steps(v_ids, v_meta);
END $$;
COMMENT ON FUNCTION :TASKER_SCHEMA._apply_decisions(jsonb) IS
  'Internal: skips the children that decision outcomes [{step_id, attempt, skip_children: [names]}] left out.';
