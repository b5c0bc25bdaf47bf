// `vaultops codec-server` as an operator runs it for a real deployment: the worker's key file from
// the configuration, tokens checked against the real server, Ctrl-C to stop.
import { type ChildProcess, spawn } from 'node:child_process';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { defaultPayloadConverter, type Payload } from '@temporalio/common';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { REPO_DIR } from '../../../client/stack/tools.js';
import { EncryptionCodec } from '../../../codec/codec.js';
import { loadKeyFile } from '../../../codec/key-file.js';
import { rootClient, server, tokenWithPolicy } from '../../harness/vault.js';

const UI = 'https://temporal.example.test';
const root = rootClient();
const dir = mkdtempSync(join(tmpdir(), 'vaultops-codec-cli-'));
const keyFile = join(dir, 'codec-keys.json');
let codec: EncryptionCodec;
let child: ChildProcess;
let url: string;
let allowed: string;
let other: string;
let output = '';

beforeAll(async () => {
  codec = new EncryptionCodec(loadKeyFile(keyFile, { create: true })); // as the worker made it
  const granted = await tokenWithPolicy(root, 'path "auth/token/lookup-self" { capabilities = ["read"] }');
  allowed = granted.token;
  ({ token: other } = await tokenWithPolicy(root, 'path "secret/*" { capabilities = ["read"] }'));
  const config = join(dir, 'vaultops.yaml');
  writeFileSync(
    config,
    `vault_integration:\n  address: "${server().address}"\ncodec:\n  key_file: "${keyFile}"\n`,
  );
  child = spawn(
    process.execPath,
    ['bin/vaultops.js', '--config', config, 'codec-server', '--ui-origin', UI, '--policy', granted.policy],
    { cwd: REPO_DIR, env: { PATH: process.env.PATH ?? '', HOME: dir }, stdio: ['ignore', 'pipe', 'pipe'] },
  );
  child.stdout?.on('data', (d) => {
    output += d;
  });
  child.stderr?.on('data', (d) => {
    output += d;
  });
  const until = Date.now() + 60_000;
  while (!/codec server (http:\/\/127\.0\.0\.1:\d+)/.test(output)) {
    if (Date.now() > until || child.exitCode !== null)
      throw new Error(`codec-server did not start:\n${output}`);
    await new Promise((r) => setTimeout(r, 100));
  }
  url = (output.match(/codec server (http:\/\/127\.0\.0\.1:\d+)/) as RegExpMatchArray)[1] as string;
}, 90_000);

afterAll(async () => {
  if (child && child.exitCode === null) child.kill('SIGKILL');
  await root.close();
  rmSync(dir, { recursive: true, force: true });
});

const asJson = (p: Payload) => ({
  metadata: Object.fromEntries(
    Object.entries(p.metadata ?? {}).map(([k, v]) => [k, Buffer.from(v ?? []).toString('base64')]),
  ),
  data: Buffer.from(p.data ?? []).toString('base64'),
});

async function decode(headers: Record<string, string>) {
  const [sealed] = await codec.encode([defaultPayloadConverter.toPayload({ server: 'OpenBao' })]);
  return fetch(`${url}/decode`, {
    method: 'POST',
    headers: { 'Content-Type': 'application/json', 'X-Namespace': 'default', Origin: UI, ...headers },
    body: JSON.stringify({ payloads: [asJson(sealed as Payload)] }),
  });
}

describe(`vaultops codec-server on ${server().flavour}`, () => {
  it("decodes with the worker's key for a token with the policy, refuses the rest, stops on SIGTERM", async () => {
    const ok = await decode({ Authorization: `Bearer ${allowed}` });
    expect(ok.status).toBe(200);
    const [opened] = ((await ok.json()) as { payloads: { data: string }[] }).payloads;
    expect(JSON.parse(Buffer.from(opened?.data ?? '', 'base64').toString('utf8'))).toEqual({
      server: 'OpenBao',
    });
    expect((await decode({})).status).toBe(401);
    expect((await decode({ Authorization: `Bearer ${other}` })).status).toBe(403);
    expect(output).not.toContain(allowed);

    const exited = new Promise<number | null>((resolve) => child.once('exit', (code) => resolve(code)));
    child.kill('SIGTERM');
    expect(await exited).toBe(0);
  });
});
