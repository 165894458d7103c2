import { describe, expect, test } from 'vitest';
import { templateGraph } from '../../src/analysis/template-graph.js';

describe('templateGraph', () => {
  test('levels are the longest path from a root; execution order groups steps by level', () => {
    const graph = templateGraph([
      { name: 'a', dependsOn: [] },
      { name: 'b', dependsOn: ['a'] },
      { name: 'c', dependsOn: [] },
      { name: 'd', dependsOn: ['b', 'c'] },
      { name: 'e', dependsOn: ['a'] },
    ]);
    expect(graph.nodes).toEqual([
      { id: 'a', level: 0 },
      { id: 'b', level: 1 },
      { id: 'c', level: 0 },
      { id: 'd', level: 2 },
      { id: 'e', level: 1 },
    ]);
    expect(graph.edges).toEqual([
      { from: 'a', to: 'b' },
      { from: 'b', to: 'd' },
      { from: 'c', to: 'd' },
      { from: 'a', to: 'e' },
    ]);
    expect(graph.executionOrder).toEqual([['a', 'c'], ['b', 'e'], ['d']]);
  });

  test('an unknown dependency or a cycle is refused', () => {
    expect(() => templateGraph([{ name: 'a', dependsOn: ['x'] }])).toThrow('unknown step "x"');
    expect(() =>
      templateGraph([
        { name: 'a', dependsOn: ['b'] },
        { name: 'b', dependsOn: ['a'] },
      ]),
    ).toThrow('cycle');
    expect(templateGraph([])).toEqual({ nodes: [], edges: [], executionOrder: [] });
  });
});
