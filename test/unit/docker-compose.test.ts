// No Docker engine runs here, so this checks docker-compose.yml the way `docker compose config`
// would catch mistakes: services, ports and environment must refer to each other consistently.
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { parse } from 'yaml';
import { z } from 'zod';
import { REPO_DIR } from '../../client/stack/tools.js';
import { parseConfig } from '../../common/config/parse.js';

const service = z.object({
  image: z.string(),
  command: z.array(z.string()).optional(),
  depends_on: z.array(z.string()).default([]),
  environment: z.record(z.string(), z.string()).default({}),
  ports: z.array(z.string()).default([]),
  expose: z.array(z.string()).default([]),
  volumes: z.array(z.string()).default([]),
});
const compose = z
  .object({ services: z.record(z.string(), service), volumes: z.record(z.string(), z.null()).default({}) })
  .parse(parse(readFileSync(join(REPO_DIR, 'docker-compose.yml'), 'utf8')));
const services = compose.services;

/** Ports a service listens on inside the compose network. */
function containerPorts(name: string): number[] {
  const s = services[name];
  if (!s) return [];
  return [...s.ports.map((p) => Number(p.split(':').at(-1))), ...s.expose.map(Number)];
}

/** "host:port" or "scheme://host:port" must name a service of this file and a port it listens on. */
function expectServiceAddress(value: string | undefined, what: string) {
  const match = value?.match(/^(?:https?:\/\/)?([a-z0-9-]+):(\d+)$/);
  expect(match, `${what} = ${value}`).toBeTruthy();
  const [, host, port] = match as RegExpMatchArray;
  expect(Object.keys(services), `${what} names service "${host}"`).toContain(host);
  expect(containerPorts(host as string), `${what}: ${host} listens on ${port}`).toContain(Number(port));
}

describe('docker-compose.yml', () => {
  it('has the services of the product brief, from official images', () => {
    expect(Object.keys(services).sort()).toEqual([
      'postgresql',
      'temporal',
      'temporal-ui',
      'vault',
      'vaultops-worker',
    ]);
    expect(services.temporal?.image).toMatch(/^temporalio\//);
    expect(services['temporal-ui']?.image).toMatch(/^temporalio\/ui:/);
    expect(services.vault?.image).toMatch(/^hashicorp\/vault:/);
    expect(services.postgresql?.image).toMatch(/^postgres:/);
    expect(services['vaultops-worker']?.image).toMatch(/^node:20/);
  });

  it('wires every address to a service and a port that service listens on', () => {
    const worker = services['vaultops-worker']?.environment ?? {};
    expectServiceAddress(worker.VAULT_ADDR, 'worker VAULT_ADDR');
    expectServiceAddress(worker.TEMPORAL_ADDRESS, 'worker TEMPORAL_ADDRESS');
    expectServiceAddress(services['temporal-ui']?.environment.TEMPORAL_ADDRESS, 'UI TEMPORAL_ADDRESS');
    expectServiceAddress(
      `${services.temporal?.environment.POSTGRES_SEEDS}:${services.temporal?.environment.DB_PORT}`,
      'temporal POSTGRES_SEEDS:DB_PORT',
    );
    expect(services.vault?.environment.VAULT_DEV_LISTEN_ADDRESS).toBe(
      `0.0.0.0:${containerPorts('vault')[0]}`,
    );
  });

  it('starts services after what they depend on, and names only real services and volumes', () => {
    for (const [name, s] of Object.entries(services)) {
      for (const dep of s.depends_on)
        expect(Object.keys(services), `${name} depends on ${dep}`).toContain(dep);
    }
    expect(services['vaultops-worker']?.depends_on.sort()).toEqual(['temporal', 'vault']);
    expect(services['temporal-ui']?.depends_on).toContain('temporal');
    for (const s of Object.values(services)) {
      for (const v of s.volumes.filter((v) => !v.startsWith('.'))) {
        expect(Object.keys(compose.volumes)).toContain(v.split(':')[0]);
      }
    }
  });

  it('publishes ports on loopback only', () => {
    for (const s of Object.values(services)) for (const p of s.ports) expect(p).toMatch(/^127\.0\.0\.1:/);
  });

  it('commits no secret: tokens and passwords come from the environment, required', () => {
    for (const [name, s] of Object.entries(services)) {
      for (const [key, value] of Object.entries(s.environment)) {
        if (/TOKEN|PASSWORD|PWD|SECRET/.test(key)) {
          expect(value, `${name}.${key}`).toMatch(/^\$\{[A-Z_]+:\?[^}]+\}$/);
        }
      }
    }
  });

  it("gives the worker an environment vaultops' own configuration accepts", () => {
    const env = Object.fromEntries(
      Object.entries(services['vaultops-worker']?.environment ?? {}).map(([k, v]) => [
        k,
        v.replace(/^\$\{.*\}$/, 'x'),
      ]),
    );
    const config = parseConfig(undefined, env);
    expect(config.vault_integration.address).toBe('http://vault:8200');
    expect(config.vault_integration.authentication?.[0]?.method).toBe('token');
    expect(config.temporal).toMatchObject({
      address: 'temporal:7233',
      namespace: 'default',
      task_queue: 'vaultops',
    });
  });
});
