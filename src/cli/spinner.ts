/** A progress indicator on stderr, shown only when stderr is a terminal. */

export interface Spinner {
  update(text: string): void;
  /** Clears the indicator's line. Safe to call more than once. */
  stop(): void;
}

const FRAMES = ['⠋', '⠙', '⠹', '⠸', '⠼', '⠴', '⠦', '⠧', '⠇', '⠏'];

export function startSpinner(text: string, stream: NodeJS.WriteStream = process.stderr): Spinner {
  if (stream.isTTY !== true || process.env.TERM === 'dumb') return { update() {}, stop() {} };
  let frame = 0;
  let label = text;
  let stopped = false;
  const draw = (): void => {
    stream.write(`\r\u001b[K${FRAMES[frame % FRAMES.length] ?? ''} ${label}`);
    frame++;
  };
  draw();
  const timer = setInterval(draw, 80);
  timer.unref();
  return {
    update(next) {
      label = next;
      if (!stopped) draw();
    },
    stop() {
      if (stopped) return;
      stopped = true;
      clearInterval(timer);
      stream.write('\r\u001b[K');
    },
  };
}
