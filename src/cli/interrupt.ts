/**
 * Ctrl-C while a request runs: the first one aborts the request (the command then exits
 * 130 after cleaning up), a second one exits at once.
 */
import { EXIT } from './usage-error.js';

export interface Interrupt {
  readonly signal: AbortSignal;
  readonly interrupted: boolean;
  dispose(): void;
}

export function watchInterrupt(): Interrupt {
  const controller = new AbortController();
  let interrupted = false;
  const onSignal = (): void => {
    if (interrupted) process.exit(EXIT.interrupted);
    interrupted = true;
    controller.abort();
  };
  process.on('SIGINT', onSignal);
  return {
    signal: controller.signal,
    get interrupted() {
      return interrupted;
    },
    dispose() {
      process.off('SIGINT', onSignal);
    },
  };
}
