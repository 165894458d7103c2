/**
 * The dependency graph of a task template, for display: each step with its dependency level (0 for
 * steps with no dependencies, otherwise one more than its deepest parent), the edges parent -> child,
 * and the execution order as levels (steps of one level may run in parallel). Pure.
 */

export interface GraphStep {
  readonly name: string;
  readonly dependsOn: readonly string[];
}

export interface TemplateGraph {
  readonly nodes: Array<{ id: string; level: number }>;
  readonly edges: Array<{ from: string; to: string }>;
  /** Step names grouped by level, in level order; within a level in the template's order. */
  readonly executionOrder: string[][];
}

/** Builds the graph; throws a TypeError for an unknown dependency or a cycle (templates never have either). */
export function templateGraph(steps: readonly GraphStep[]): TemplateGraph {
  const byName = new Map(steps.map((s) => [s.name, s]));
  const levels = new Map<string, number>();
  const visiting = new Set<string>();
  const levelOf = (name: string): number => {
    const known = levels.get(name);
    if (known !== undefined) return known;
    const step = byName.get(name);
    if (!step) throw new TypeError(`unknown step "${name}"`);
    if (visiting.has(name)) throw new TypeError(`dependency cycle through "${name}"`);
    visiting.add(name);
    const level = step.dependsOn.reduce((max, parent) => Math.max(max, levelOf(parent) + 1), 0);
    visiting.delete(name);
    levels.set(name, level);
    return level;
  };
  const nodes = steps.map((s) => ({ id: s.name, level: levelOf(s.name) }));
  const edges = steps.flatMap((s) => s.dependsOn.map((from) => ({ from, to: s.name })));
  const executionOrder: string[][] = [];
  for (const node of nodes) {
    while (executionOrder.length <= node.level) executionOrder.push([]);
    executionOrder[node.level]!.push(node.id);
  }
  return { nodes, edges, executionOrder };
}
