// fsync by path: a file's bytes, or a directory's entries (a rename is durable only once the
// directory holding it is synced too).
import { open } from 'node:fs/promises';

export async function fsyncPath(path: string, flags: 'r' | 'r+' = 'r'): Promise<void> {
  const handle = await open(path, flags);
  try {
    await handle.sync();
  } finally {
    await handle.close();
  }
}
