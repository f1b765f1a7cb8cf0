/** A mistake in how the command line was used: exit code 2. */
export class UsageError extends Error {
  override readonly name = 'UsageError';
}

/** The process exit codes of `g4f`. */
export const EXIT = {
  ok: 0,
  /** The providers failed (or another runtime failure). */
  failed: 1,
  /** Bad arguments, options or configuration. */
  usage: 2,
  /** Interrupted by the user (Ctrl-C). */
  interrupted: 130,
} as const;
