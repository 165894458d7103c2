/** Layered left-to-right layout of a step graph with dagre: node boxes and edge polylines in SVG units. */
import dagre from '@dagrejs/dagre';

export interface LayoutNode {
  readonly id: string;
  readonly x: number;
  readonly y: number;
  readonly width: number;
  readonly height: number;
}

export interface LayoutEdge {
  readonly from: string;
  readonly to: string;
  readonly points: ReadonlyArray<{ readonly x: number; readonly y: number }>;
}

export interface GraphLayout {
  readonly nodes: readonly LayoutNode[];
  readonly edges: readonly LayoutEdge[];
  readonly width: number;
  readonly height: number;
}

export const NODE_WIDTH = 168;
export const NODE_HEIGHT = 46;

export function layoutGraph(
  nodes: ReadonlyArray<{ readonly id: string }>,
  edges: ReadonlyArray<{ readonly from: string; readonly to: string }>,
): GraphLayout {
  const g = new dagre.graphlib.Graph();
  g.setGraph({ rankdir: 'LR', nodesep: 24, ranksep: 56, marginx: 12, marginy: 12 });
  g.setDefaultEdgeLabel(() => ({}));
  for (const node of nodes) g.setNode(node.id, { width: NODE_WIDTH, height: NODE_HEIGHT });
  for (const edge of edges) if (g.hasNode(edge.from) && g.hasNode(edge.to)) g.setEdge(edge.from, edge.to);
  dagre.layout(g);
  const graph = g.graph() as { width?: number; height?: number };
  return {
    width: Math.ceil(graph.width ?? NODE_WIDTH),
    height: Math.ceil(graph.height ?? NODE_HEIGHT),
    nodes: nodes.map((n) => {
      const label = g.node(n.id) as { x: number; y: number; width: number; height: number };
      return { id: n.id, x: label.x, y: label.y, width: label.width, height: label.height };
    }),
    edges: g.edges().map((e) => ({
      from: e.v,
      to: e.w,
      points: ((g.edge(e) as { points?: Array<{ x: number; y: number }> }).points ?? []).slice(),
    })),
  };
}
