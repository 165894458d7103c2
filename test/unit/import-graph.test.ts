/**
 * The layers of src/ form a tree: a folder imports only folders of its own layer or below, and no two
 * folders import each other, directly or round a circle. Type-only imports count: they tie the layers
 * together just the same. The layers, bottom first, are those of docs/architecture.md ("Layers").
 */
import { readdirSync, readFileSync, statSync } from 'node:fs';
import { dirname, join, relative, resolve } from 'node:path';
import { describe, expect, test } from 'vitest';

const src = join(import.meta.dirname, '..', '..', 'src');

const LAYERS: readonly (readonly string[])[] = [
  ['errors', 'parse-or-throw', 'model'],
  ['db'],
  ['definitions', 'analysis', 'handlers', 'diagnostics'],
  ['engine'],
  ['events', 'worker', 'telemetry', 'templates', 'config'],
  ['tasker'],
  ['api', 'cli', 'index'],
  ['examples', 'bench', 'client'],
];

function filesUnder(dir: string): string[] {
  return readdirSync(dir).flatMap((name) => {
    const path = join(dir, name);
    if (statSync(path).isDirectory()) return filesUnder(path);
    return path.endsWith('.ts') ? [path] : [];
  });
}

/** The folder (or top-level module) a file belongs to: `engine`, `errors`, `tasker`. */
function unitOf(file: string): string {
  const parts = relative(src, file).split('/');
  return parts.length === 1 ? parts[0]!.replace(/\.ts$/, '') : parts[0]!;
}

/** Folder-level import arrows, each with the files that make it. */
function importGraph(): Map<string, Map<string, string[]>> {
  const graph = new Map<string, Map<string, string[]>>();
  for (const file of filesUnder(src)) {
    const text = readFileSync(file, 'utf8');
    for (const m of text.matchAll(/^(?:import|export)\s[^;]*?\sfrom\s+'(\.{1,2}\/[^']+)'/gms)) {
      const target = resolve(dirname(file), m[1]!).replace(/\.js$/, '.ts');
      const [from, to] = [unitOf(file), unitOf(target)];
      if (from === to) continue;
      const out = graph.get(from) ?? new Map<string, string[]>();
      out.set(to, [...(out.get(to) ?? []), relative(src, file)]);
      graph.set(from, out);
    }
  }
  return graph;
}

const rank = (unit: string): number => {
  const found = LAYERS.findIndex((layer) => layer.includes(unit));
  if (found < 0) throw new Error(`src/${unit} is in no layer: add it to LAYERS (and docs/architecture.md)`);
  return found;
};

/** Every elementary circle through the smallest name in it, as `a -> b -> a`. */
function circles(graph: Map<string, Map<string, string[]>>): string[] {
  const found = new Set<string>();
  const walk = (start: string, node: string, path: string[]) => {
    for (const next of graph.get(node)?.keys() ?? []) {
      if (next === start) found.add([...path, start].join(' -> '));
      else if (next > start && !path.includes(next)) walk(start, next, [...path, next]);
    }
  };
  for (const node of graph.keys()) walk(node, node, [node]);
  return [...found].sort();
}

describe('the import graph of src/', () => {
  const graph = importGraph();

  test('the graph is read (the parser sees the arrows it should)', () => {
    expect(graph.get('engine')?.has('db')).toBe(true);
    expect(graph.get('api')?.has('tasker')).toBe(true);
  });

  test('no folder imports a folder of a higher layer', () => {
    const upward: string[] = [];
    for (const [from, targets] of graph) {
      for (const [to, files] of targets) {
        if (rank(to) > rank(from)) upward.push(`${from} -> ${to} (${files.join(', ')})`);
      }
    }
    expect(upward).toEqual([]);
  });

  test('no circle between folders', () => {
    expect(circles(graph)).toEqual([]);
  });

  test('no circle between the modules of one folder', () => {
    const fileGraph = new Map<string, Map<string, string[]>>();
    for (const file of filesUnder(src)) {
      const text = readFileSync(file, 'utf8');
      const from = relative(src, file);
      for (const m of text.matchAll(/^(?:import|export)\s[^;]*?\sfrom\s+'(\.\/[^']+)'/gms)) {
        const to = relative(src, resolve(dirname(file), m[1]!).replace(/\.js$/, '.ts'));
        const out = fileGraph.get(from) ?? new Map<string, string[]>();
        out.set(to, [from]);
        fileGraph.set(from, out);
      }
    }
    expect(circles(fileGraph)).toEqual([]);
  });
});
