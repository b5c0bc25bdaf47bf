// Where the pinned tools live, and installing them on first use (scripts/install-tools.sh).
import { spawnSync } from 'node:child_process';
import { existsSync } from 'node:fs';
import { join } from 'node:path';
import { REPO_DIR } from '../../common/repo-dir.js';

export { REPO_DIR };

export const TOOLS_BIN = join(process.env.VAULTOPS_TOOLS_DIR ?? join(REPO_DIR, '.tools'), 'bin');

export type ToolName =
  | 'temporal-test-server'
  | 'temporal'
  | 'openbao'
  | 'vault'
  | 'softhsm'
  | 'postgres'
  | 'mariadb'
  | 'slapd';

const BINARY: Record<ToolName, string> = {
  'temporal-test-server': 'temporal-test-server',
  temporal: 'temporal',
  openbao: 'bao',
  vault: 'vault',
  softhsm: 'softhsm2-util',
  postgres: 'postgres',
  mariadb: 'mariadbd',
  slapd: 'slapd',
};

/** Path of a tool's binary, running the installer when it is missing. Throws with the installer's words. */
export function toolPath(tool: ToolName): string {
  const path = join(TOOLS_BIN, BINARY[tool]);
  if (existsSync(path)) return path;
  const result = spawnSync('bash', [join(REPO_DIR, 'scripts/install-tools.sh'), tool], {
    stdio: ['ignore', 'inherit', 'pipe'],
    encoding: 'utf8',
  });
  process.stderr.write(result.stderr ?? '');
  if (result.status !== 0 || !existsSync(path)) {
    throw new Error(
      `${tool} is not installed and scripts/install-tools.sh ${tool} failed:\n${(result.stderr ?? '').trim()}`,
    );
  }
  return path;
}

/** The SoftHSM2 PKCS#11 module shipped by Debian's softhsm2 package. */
export function softhsmModulePath(): string {
  toolPath('softhsm');
  for (const candidate of [
    '/usr/lib/softhsm/libsofthsm2.so',
    '/usr/lib/x86_64-linux-gnu/softhsm/libsofthsm2.so',
  ]) {
    if (existsSync(candidate)) return candidate;
  }
  throw new Error('SoftHSM2 is installed but libsofthsm2.so was not found; reinstall the softhsm2 package');
}
