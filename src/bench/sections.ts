/**
 * The registry of benchmark sections, in run order. To add one (e.g. the HTTP API or telemetry on/off),
 * write a `BenchSection` and append it to SECTIONS; --only, --list, the table and the JSON pick it up.
 */
import type { BenchSection } from './section.js';
import { claimSection } from './workloads/claim-section.js';
import { costSection } from './workloads/cost-section.js';
import { childrenSection, fanoutSection } from './workloads/dynamic-sections.js';
import { flowControlSection } from './workloads/flow-control-section.js';
import { growthSection } from './workloads/growth-section.js';
import { httpSection, telemetrySection } from './workloads/overhead-sections.js';
import { scaleOutSection } from './workloads/scale-out-section.js';
import { statusSection } from './workloads/status-section.js';
import {
  chainSection,
  diamondSection,
  serialSection,
  singleSection,
} from './workloads/throughput-sections.js';

export const SECTIONS: readonly BenchSection[] = [
  singleSection,
  chainSection,
  diamondSection,
  serialSection,
  claimSection,
  growthSection,
  statusSection,
  costSection,
  flowControlSection,
  fanoutSection,
  childrenSection,
  telemetrySection,
  httpSection,
  scaleOutSection,
];

export function findSections(
  keys: readonly string[] | null,
  all: readonly BenchSection[] = SECTIONS,
): BenchSection[] {
  if (!keys) return [...all];
  return keys.map((key) => {
    const section = all.find((s) => s.key === key);
    if (!section) {
      throw new Error(`unknown section "${key}"; known: ${all.map((s) => s.key).join(', ')}`);
    }
    return section;
  });
}
