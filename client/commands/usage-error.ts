// The one error class for bad CLI input, shared by every command: cli.ts tells it by name and
// exits 2 (fix your input), as commander does for its own usage errors.

/** Bad CLI input: exit code 2 and the message, nothing else. */
export class UsageError extends Error {
  override name = 'UsageError';
}
