// Delivering a certificate to files on the worker's machine, each staged and renamed into place
// (staged-file.ts), the private key's file 0600 from its first byte; and the reload command a
// server needs to pick the files up.
import { spawn } from 'node:child_process';
import { constants } from 'node:fs';
import { access } from 'node:fs/promises';
import { dirname } from 'node:path';
import { fileFailure, type StagedFile, stageFile } from '../staged-file.js';

/** The certificate could not be written where asked (a missing directory, no permission). */
export const CERT_DEPLOY_FAILED = 'CertDeployFailed';

const deployFailure = (path: string, err: unknown) => fileFailure(CERT_DEPLOY_FAILED, path, err);

/** Fails (as a deploy failure) unless each path's directory exists and may be written. */
export async function checkWritable(paths: string[]): Promise<void> {
  for (const path of paths) {
    try {
      await access(dirname(path), constants.W_OK);
    } catch (err) {
      throw deployFailure(path, err);
    }
  }
}

/**
 * Stages every file (after any staged already), then renames them into place one after another;
 * on a failure none of those not yet renamed is left behind.
 */
export async function replaceFiles(
  files: { path: string; content: string; mode: number }[],
  alreadyStaged: StagedFile[] = [],
): Promise<void> {
  const staged: StagedFile[] = [...alreadyStaged];
  try {
    for (const f of files) staged.push(await stageFile(f.path, f.content, f.mode, CERT_DEPLOY_FAILED));
    for (const s of staged) await s.commit();
  } catch (err) {
    await Promise.all(staged.map((s) => s.discard()));
    throw err;
  }
}

export interface ReloadOutcome {
  ok: boolean;
  /** The exit code, or the signal that ended it, or a timeout: no output (it may name secrets). */
  detail: string;
}

/** Runs the reload command with `sh -c`; its outcome is reported, never thrown. */
export function runReloadCommand(command: string, timeoutMs = 60_000): Promise<ReloadOutcome> {
  return new Promise((resolve) => {
    const child = spawn('sh', ['-c', command], { stdio: 'ignore', timeout: timeoutMs });
    child.on('error', (err) => resolve({ ok: false, detail: `could not run: ${err.message}` }));
    child.on('exit', (code, signal) =>
      resolve(
        code === 0
          ? { ok: true, detail: 'exit 0' }
          : { ok: false, detail: signal ? `ended by ${signal}` : `exit ${code}` },
      ),
    );
  });
}
