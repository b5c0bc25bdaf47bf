// The docs as tests: a walkthrough is the ```sh blocks of a page that follow a
// `<!-- run: <name> -->` marker, run in order in one shell, as a reader pastes them into one
// terminal. Blocks without a marker are prose examples and never run.
import { spawn } from 'node:child_process';
import { mkdirSync, mkdtempSync, readdirSync, readFileSync, symlinkSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';

export interface Walkthrough {
  name: string;
  file: string;
  /** The shell blocks, in document order. */
  blocks: string[];
}

const MARKED_BLOCK = /^<!-- run: ([a-z0-9-]+) -->\s*\n```sh\n([\s\S]*?)\n```/gm;

/** Every marked walkthrough in the Markdown files of `dir`, by name. */
export function walkthroughsIn(dir: string): Map<string, Walkthrough> {
  const found = new Map<string, Walkthrough>();
  for (const file of readdirSync(dir).filter((f) => f.endsWith('.md'))) {
    const text = readFileSync(join(dir, file), 'utf8');
    const markers = text.match(/^<!-- run:/gm)?.length ?? 0;
    const marked = [...text.matchAll(MARKED_BLOCK)].length;
    // A marker that no sh block follows would leave its walkthrough silently short.
    if (markers !== marked)
      throw new Error(`${file}: ${markers - marked} "<!-- run:" marker(s) not right before a \`\`\`sh block`);
    for (const [, name, block] of text.matchAll(MARKED_BLOCK)) {
      const known = found.get(name as string);
      if (known && known.file !== file)
        throw new Error(`walkthrough "${name}" is in both ${known.file} and ${file}`);
      const walkthrough = known ?? { name: name as string, file, blocks: [] };
      walkthrough.blocks.push(block as string);
      found.set(walkthrough.name, walkthrough);
    }
  }
  return found;
}

/**
 * A reader's working directory: the repository's package.json, bin/ and node_modules, the tools
 * as .tools (so `npm run vaultops` and `.tools/bin/bao` work as written), and `.vaultops/dev`
 * pointing at the dev stack's state directory (so `source .vaultops/dev/env.sh` does).
 */
export function readerDirectory(repoDir: string, stateDir: string, toolsDir: string): string {
  const dir = mkdtempSync(join(tmpdir(), 'vaultops-docs-reader-'));
  for (const entry of ['package.json', 'bin', 'node_modules'])
    symlinkSync(join(repoDir, entry), join(dir, entry));
  symlinkSync(toolsDir, join(dir, '.tools')); // $VAULTOPS_TOOLS_DIR where set, as for the stack
  mkdirSync(join(dir, '.vaultops'));
  symlinkSync(stateDir, join(dir, '.vaultops', 'dev'));
  return dir;
}

export interface WalkthroughRun {
  code: number | null;
  output: string;
  ms: number;
}

/** Runs the walkthrough's blocks in one bash, stopping at the first failing command. */
export function runWalkthrough(
  walkthrough: Walkthrough,
  options: { cwd: string; env: NodeJS.ProcessEnv; timeoutMs: number },
): Promise<WalkthroughRun> {
  // -e: a failing command fails the walkthrough; -x: the output shows which command it was.
  const script = ['set -euxo pipefail', ...walkthrough.blocks].join('\n');
  const started = Date.now();
  return new Promise((resolve) => {
    const child = spawn('bash', ['-c', script], { cwd: options.cwd, env: options.env, detached: true });
    let output = '';
    child.stdout.on('data', (d) => {
      output += d;
    });
    child.stderr.on('data', (d) => {
      output += d;
    });
    const timer = setTimeout(() => {
      output += `\n[timed out after ${options.timeoutMs / 1000}s]`;
      if (child.pid) process.kill(-child.pid, 'SIGKILL'); // the shell and what it started
    }, options.timeoutMs);
    child.on('close', (code) => {
      clearTimeout(timer);
      resolve({ code, output, ms: Date.now() - started });
    });
  });
}
