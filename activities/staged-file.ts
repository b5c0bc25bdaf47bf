// Files the worker delivers (a lease's credential, a certificate's key): written beside their
// final path under a temporary name, created with their final mode (0600 from the first byte,
// never wider: the umask can only narrow it), flushed, and renamed into place only when the caller
// commits, so a reader sees the old file or the new one, never half of either. A failure is an
// ApplicationFailure of the caller's type, naming the path and never the data.
import { randomBytes } from 'node:crypto';
import { constants } from 'node:fs';
import { open, rename, rm } from 'node:fs/promises';
import { basename, dirname, join } from 'node:path';
import { ApplicationFailure } from '@temporalio/common';

export interface StagedFile {
  commit(): Promise<void>;
  discard(): Promise<void>;
}

/** A write failure, phrased for whoever must fix the worker's file system. */
export function fileFailure(type: string, path: string, err: unknown): ApplicationFailure {
  const code = (err as NodeJS.ErrnoException).code;
  // Node's messages name the syscall and the path, never the data written.
  const why = err instanceof Error ? err.message : String(err);
  return ApplicationFailure.create({
    type,
    // A missing directory or a refused permission stays so until someone fixes it.
    nonRetryable: code === 'ENOENT' || code === 'EACCES' || code === 'ENOTDIR' || code === 'EISDIR',
    message:
      code === 'ENOENT' || code === 'ENOTDIR'
        ? `cannot write ${path}: directory ${dirname(path)} does not exist on the worker; create it or name another file`
        : `cannot write ${path} on the worker: ${why}`,
  });
}

/** Writes `content` beside `path` under a temporary name with `mode`; commit renames it into place. */
export async function stageFile(
  path: string,
  content: string,
  mode: number,
  failureType: string,
): Promise<StagedFile> {
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
    throw fileFailure(failureType, path, err);
  }
  return {
    discard,
    async commit() {
      try {
        await rename(temp, path);
      } catch (err) {
        await discard();
        throw fileFailure(failureType, path, err);
      }
    },
  };
}
