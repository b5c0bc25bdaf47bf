// Delivering a certificate to files on the worker's machine: each file written under a temporary
// name in its own directory (created with its final mode, flushed), then renamed over the old one,
// so a reader sees the old file or the new one, never half of either. The private key's file is
// 0600 from its first byte. Also the reload command a server needs to pick the files up.
import { spawn } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { constants } from 'node:fs';
import { access, open, rename, rm } from 'node:fs/promises';
import { basename, dirname, join } from 'node:path';
import { ApplicationFailure } from '@temporalio/common';

/** The certificate could not be written where asked (a missing directory, no permission). */
export const CERT_DEPLOY_FAILED = 'CertDeployFailed';

export interface StagedFile {
  commit(): Promise<void>;
  discard(): Promise<void>;
}

function deployFailure(path: string, err: unknown): ApplicationFailure {
  const code = (err as NodeJS.ErrnoException).code;
  const why = err instanceof Error ? err.message : String(err); // names the path, never the data
  return ApplicationFailure.create({
    type: CERT_DEPLOY_FAILED,
    // A missing directory or a refused permission stays so until someone fixes it.
    nonRetryable: code === 'ENOENT' || code === 'EACCES' || code === 'ENOTDIR' || code === 'EISDIR',
    message:
      code === 'ENOENT' || code === 'ENOTDIR'
        ? `cannot write ${path}: directory ${dirname(path)} does not exist on the worker; create it or name another file`
        : `cannot write ${path} on the worker: ${why}`,
  });
}

/** Writes `content` beside `path` under a temporary name with `mode`; commit renames it into place. */
export async function stageFile(path: string, content: string, mode: number): Promise<StagedFile> {
  const temp = join(dirname(path), `.${basename(path)}.${randomBytes(6).toString('hex')}.tmp`);
  const discard = () => rm(temp, { force: true }).catch(() => {});
  let handle: Awaited<ReturnType<typeof open>> | undefined;
  try {
    handle = await open(temp, constants.O_WRONLY | constants.O_CREAT | constants.O_EXCL, mode);
    await handle.chmod(mode); // the umask can only narrow the mode; this makes it exact
    await handle.writeFile(content);
    await handle.sync();
    await handle.close();
  } catch (err) {
    await handle?.close().catch(() => {});
    await discard();
    throw deployFailure(path, err);
  }
  return {
    discard,
    async commit() {
      try {
        await rename(temp, path);
      } catch (err) {
        await discard();
        throw deployFailure(path, err);
      }
    },
  };
}

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
    for (const f of files) staged.push(await stageFile(f.path, f.content, f.mode));
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
