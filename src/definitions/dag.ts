/**
 * Pure graph functions over a DAG given as `parents[i]` = the positions step i depends on.
 * Used to validate definitions, to order steps and to analyse running tasks.
 */

/** The first cycle found, as positions in order (the first position repeated at the end), or null. */
export function findCycle(parents: readonly (readonly number[])[]): number[] | null {
  const WHITE = 0;
  const GREY = 1;
  const BLACK = 2;
  const colour = new Array<number>(parents.length).fill(WHITE);
  const stack: number[] = [];

  // Iterative DFS over parent edges; a grey node met again closes a cycle.
  for (let start = 0; start < parents.length; start++) {
    if (colour[start] !== WHITE) continue;
    const frames: Array<{ node: number; next: number }> = [{ node: start, next: 0 }];
    colour[start] = GREY;
    stack.push(start);
    while (frames.length > 0) {
      const frame = frames[frames.length - 1]!;
      const edges = parents[frame.node] ?? [];
      if (frame.next < edges.length) {
        const parent = edges[frame.next++]!;
        if (colour[parent] === GREY) {
          const from = stack.indexOf(parent);
          // The stack runs child -> parent; report the cycle in dependency order (parent first).
          return [...stack.slice(from), parent].reverse();
        }
        if (colour[parent] === WHITE) {
          colour[parent] = GREY;
          stack.push(parent);
          frames.push({ node: parent, next: 0 });
        }
      } else {
        colour[frame.node] = BLACK;
        stack.pop();
        frames.pop();
      }
    }
  }
  return null;
}

/** Children of each node, derived from the parent lists. */
export function childrenOf(parents: readonly (readonly number[])[]): number[][] {
  const children = parents.map(() => [] as number[]);
  parents.forEach((ps, child) => {
    for (const p of ps) children[p]!.push(child);
  });
  return children;
}

/** A topological order (parents before children), ties broken by position. Throws on a cycle. */
export function topologicalOrder(parents: readonly (readonly number[])[]): number[] {
  const remaining = parents.map((ps) => new Set(ps).size);
  const children = childrenOf(parents.map((ps) => [...new Set(ps)]));
  const ready = remaining.flatMap((n, i) => (n === 0 ? [i] : []));
  const order: number[] = [];
  while (ready.length > 0) {
    ready.sort((a, b) => a - b);
    const node = ready.shift()!;
    order.push(node);
    for (const child of children[node]!) {
      remaining[child]! -= 1;
      if (remaining[child] === 0) ready.push(child);
    }
  }
  if (order.length !== parents.length) throw new Error('graph has a cycle');
  return order;
}

/** Dependency level of each node: 0 for roots, else 1 + the highest level among its parents. */
export function dependencyLevels(parents: readonly (readonly number[])[]): number[] {
  const levels = new Array<number>(parents.length).fill(0);
  for (const node of topologicalOrder(parents)) {
    for (const p of parents[node]!) levels[node] = Math.max(levels[node]!, levels[p]! + 1);
  }
  return levels;
}
