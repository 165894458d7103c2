// The container image, the compose stack and the Kubernetes manifests of deploy/. Docker does not run
// on these machines, so nothing here builds or starts a container: the files are checked against what
// does run here — the Kubernetes schemas (kubernetes-models), the real CLI's options, the real health
// and metrics paths, and the files the compose stack mounts.
import { existsSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { Deployment } from 'kubernetes-models/apps/v1/Deployment';
import { Service } from 'kubernetes-models/v1/Service';
import { describe, expect, it } from 'vitest';
import { parse, parseAllDocuments } from 'yaml';
import { cli, REPO, tempProject } from '../cli/cli-helpers.js';

const DEPLOY = join(REPO, 'deploy');

/** The long options `tasker <command> --help` lists. */
async function optionsOf(command: string): Promise<Set<string>> {
  const help = await cli([command, '--help'], tempProject());
  return new Set([...help.stdout.matchAll(/(--[a-z-]+)/g)].map((m) => m[1]!));
}

/** Every `--option` of an argument list exists on that tasker command. */
async function expectRealCommand(args: readonly string[]): Promise<void> {
  const [command, ...rest] = args;
  expect(['serve', 'worker']).toContain(command);
  const known = await optionsOf(command!);
  for (const arg of rest) if (arg.startsWith('--')) expect(known, `${command} ${arg}`).toContain(arg);
}

describe('deploy/ (Docker itself is not run here: static checks only)', () => {
  it('Dockerfile: multi-stage, non-root, tasker serve by default, health check on /tasker/health/live', () => {
    const text = readFileSync(join(DEPLOY, 'Dockerfile'), 'utf8');
    expect(text.match(/^FROM /gm)?.length).toBeGreaterThanOrEqual(2);
    expect(text).toMatch(/^USER node$/m);
    expect(text).toMatch(/^CMD \["serve"\]$/m);
    expect(text).toMatch(/^HEALTHCHECK .*\n.*\/tasker\/health\/live/m);
    expect(text).toMatch(/npm ci --omit=dev/);
  });

  it('compose: every service the issue names, real tasker commands, mounted files exist', async () => {
    const compose = parse(readFileSync(join(DEPLOY, 'compose.yaml'), 'utf8'), { merge: true }) as {
      services: Record<
        string,
        {
          command?: string[];
          volumes?: string[];
          deploy?: { replicas?: number };
          environment?: Record<string, string>;
        }
      >;
    };
    const services = compose.services;
    expect(Object.keys(services).sort()).toEqual(
      ['api', 'grafana', 'jaeger', 'postgres', 'prometheus', 'worker'].sort(),
    );
    expect(services.api!.command).toContain('--no-worker');
    expect(services.worker!.deploy?.replicas).toBe(2);
    await expectRealCommand(services.api!.command!);
    await expectRealCommand(services.worker!.command!);
    for (const name of ['api', 'worker']) {
      expect(services[name]!.environment?.DATABASE_URL).toMatch(/^postgres:\/\/.+@postgres:5432\//);
      expect(services[name]!.environment?.TASKER_OTLP_ENDPOINT).toBe('http://jaeger:4318');
    }
    for (const service of Object.values(services)) {
      for (const volume of service.volumes ?? []) {
        const source = volume.split(':')[0]!;
        if (source.startsWith('.')) expect(existsSync(join(DEPLOY, source)), volume).toBe(true);
      }
    }
    // Prometheus scrapes the ports and path the processes serve.
    const prometheus = parse(readFileSync(join(DEPLOY, 'prometheus/prometheus.yml'), 'utf8')) as {
      scrape_configs: Array<{
        metrics_path: string;
        static_configs?: Array<{ targets: string[] }>;
        dns_sd_configs?: Array<{ names: string[]; port: number }>;
      }>;
    };
    const [api, worker] = prometheus.scrape_configs;
    expect(api!.metrics_path).toBe('/tasker/metrics');
    expect(api!.static_configs![0]!.targets).toEqual([
      `api:${services.api!.command![services.api!.command!.indexOf('--port') + 1]}`,
    ]);
    expect(worker!.dns_sd_configs![0]).toMatchObject({
      names: ['worker'],
      port: Number(services.worker!.command![services.worker!.command!.indexOf('--port') + 1]),
    });
  });

  it('Kubernetes manifests validate against the Kubernetes schemas and probe the real routes', async () => {
    const docs = ['api.yaml', 'worker.yaml'].flatMap((file) =>
      parseAllDocuments(readFileSync(join(DEPLOY, 'k8s', file), 'utf8')).map((d) => d.toJS()),
    );
    const deployments = docs.filter((d) => d.kind === 'Deployment');
    expect(deployments.map((d) => d.metadata.name).sort()).toEqual(['tasker-api', 'tasker-worker']);
    for (const doc of docs) {
      const model = doc.kind === 'Deployment' ? new Deployment(doc) : new Service(doc);
      expect(() => model.validate(), `${doc.kind} ${doc.metadata.name}`).not.toThrow();
    }
    // The validator does catch a wrong shape (so the check above can fail).
    expect(() => new Deployment({ ...deployments[0], spec: { replicas: 'two' } }).validate()).toThrow();

    const shutdownMs = 30_000;
    for (const d of deployments) {
      const container = d.spec.template.spec.containers[0];
      await expectRealCommand(container.args);
      expect(container.livenessProbe.httpGet.path).toBe('/tasker/health/live');
      expect(container.readinessProbe.httpGet.path).toBe('/tasker/health/ready');
      expect(container.resources.requests).toBeDefined();
      expect(d.spec.template.spec.securityContext.runAsNonRoot).toBe(true);
      // Graceful termination outlasts the worker's shutdown timeout.
      expect(d.spec.template.spec.terminationGracePeriodSeconds * 1000).toBeGreaterThanOrEqual(
        d.metadata.name === 'tasker-worker' ? shutdownMs + 5000 : 1,
      );
    }
  });
});
