/**
 * A step graph drawn with SVG from a dagre layout: left to right, parents before children, each node
 * coloured by state (data-state on the node), critical-path nodes and edges outlined. Nodes are buttons:
 * Enter/Space or a click selects the step.
 */
import { useMemo } from 'preact/hooks';
import { humanState } from '../lib/format.js';
import { layoutGraph } from '../lib/graph-layout.js';

export interface GraphNode {
  readonly id: string;
  readonly label: string;
  readonly state?: string;
  readonly detail?: string;
}

export interface DagGraphProps {
  readonly nodes: readonly GraphNode[];
  readonly edges: ReadonlyArray<{ readonly from: string; readonly to: string }>;
  readonly critical?: ReadonlySet<string>;
  readonly selected?: string | null;
  readonly onSelect?: (id: string) => void;
  readonly label: string;
}

export function DagGraph({ nodes, edges, critical, selected, onSelect, label }: DagGraphProps) {
  const layout = useMemo(() => layoutGraph(nodes, edges), [nodes, edges]);
  const byId = new Map(nodes.map((n) => [n.id, n]));
  return (
    <div class="graph-scroll">
      <svg
        class="dag"
        aria-label={label}
        width={layout.width}
        height={layout.height}
        viewBox={`0 0 ${layout.width} ${layout.height}`}
      >
        <defs>
          <marker
            id="arrow"
            viewBox="0 0 10 10"
            refX="9"
            refY="5"
            markerWidth="9"
            markerHeight="9"
            markerUnits="userSpaceOnUse"
            orient="auto"
          >
            <path d="M0,0 L10,5 L0,10 z" class="arrow-head" />
          </marker>
        </defs>
        {layout.edges.map((edge) => {
          const onPath = critical?.has(edge.from) && critical.has(edge.to);
          const d = edge.points
            .map((p, i) => `${i === 0 ? 'M' : 'L'}${p.x.toFixed(1)},${p.y.toFixed(1)}`)
            .join(' ');
          return (
            <path
              key={`${edge.from}->${edge.to}`}
              class={`edge${onPath ? ' critical' : ''}`}
              d={d}
              marker-end="url(#arrow)"
              data-from={edge.from}
              data-to={edge.to}
            />
          );
        })}
        {layout.nodes.map((box) => {
          const node = byId.get(box.id)!;
          const isCritical = critical?.has(box.id) ?? false;
          const x = box.x - box.width / 2;
          const y = box.y - box.height / 2;
          const activate = () => onSelect?.(box.id);
          return (
            // biome-ignore lint/a11y/noStaticElementInteractions: it has role="button" whenever it has handlers
            <g
              key={box.id}
              class={`node state-${node.state ?? 'none'}${isCritical ? ' critical' : ''}${selected === box.id ? ' selected' : ''}`}
              data-step={node.label}
              data-state={node.state}
              data-critical={isCritical ? 'true' : 'false'}
              transform={`translate(${x},${y})`}
              tabindex={onSelect ? 0 : undefined}
              role={onSelect ? 'button' : 'img'}
              aria-label={`${node.label}${node.state ? `: ${humanState(node.state)}` : ''}${isCritical ? ' (critical path)' : ''}`}
              onClick={activate}
              onKeyDown={(e) => {
                if (e.key === 'Enter' || e.key === ' ') {
                  e.preventDefault();
                  activate();
                }
              }}
            >
              <rect width={box.width} height={box.height} rx="8" />
              <text x="10" y="19" class="node-label">
                {node.label.length > 22 ? `${node.label.slice(0, 21)}…` : node.label}
              </text>
              <text x="10" y="36" class="node-detail">
                {node.detail ?? (node.state ? humanState(node.state) : '')}
              </text>
            </g>
          );
        })}
      </svg>
    </div>
  );
}
