/**
 * One queue of rendering work for the whole page, run in animation frames with a shared time
 * budget, so that however much there is to render (a streaming answer, a stored answer of
 * 100,000 characters, a long conversation) no main-thread task runs much past the budget.
 */

/** Time given to rendering in one frame. */
export const FRAME_BUDGET_MS = 8;

/**
 * A piece of rendering: does units of work while `performance.now() < deadline` (at least one
 * when called before the deadline) and returns true when it has nothing left to do.
 */
export type RenderStep = (deadline: number) => boolean;

const steps: RenderStep[] = [];
// biome-ignore lint/correctness/noUnusedVariables: read by `??=` in schedule()
let frame: number | undefined;

function run(): void {
  frame = undefined;
  const deadline = performance.now() + FRAME_BUDGET_MS;
  // Every step queued now gets its turn, oldest first; the ones not done stay for the next frame.
  const round = steps.splice(0, steps.length);
  const left: RenderStep[] = [];
  for (const step of round) {
    if (performance.now() >= deadline || !step(deadline)) left.push(step);
  }
  steps.unshift(...left);
  if (steps.length > 0) frame = requestAnimationFrame(run);
}

/** Queues `step`; `first` puts it before the others (what the user looks at). */
export function schedule(step: RenderStep, first = false): void {
  if (steps.includes(step)) return;
  if (first) steps.unshift(step);
  else steps.push(step);
  frame ??= requestAnimationFrame(run);
}

export function unschedule(step: RenderStep): void {
  const index = steps.indexOf(step);
  if (index >= 0) steps.splice(index, 1);
}
