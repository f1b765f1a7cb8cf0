/**
 * `g4f providers [--check]`: the providers with their models, capabilities, base URL and
 * health; `--check` sends a tiny request to each at once and adds status and latency.
 */
import { isG4FError } from '../core/errors.js';
import { catalogStates } from '../providers/catalog.js';
import type { ProviderInfo, Router } from '../routing/types.js';
import { openRouter, type GlobalOptions } from './context.js';
import { describeFailure, describeReason } from './failure.js';
import { startSpinner } from './spinner.js';
import { writeOut } from './stdout.js';
import { createStyle, type Style } from './style.js';
import { formatTable } from './table.js';
import { EXIT } from './usage-error.js';

export interface ProvidersOptions {
  check?: boolean;
  /** Per-provider timeout of `--check`, ms. */
  timeout: number;
  json?: boolean;
}

export interface CheckResult {
  provider: string;
  model: string;
  ok: boolean;
  /** Time to the first text chunk (ok) or to the failure, ms. */
  latencyMs: number;
  /** The error code when the check failed. */
  code?: string;
  error?: string;
}

export async function runProviders(options: ProvidersOptions, globals: GlobalOptions): Promise<number> {
  const router = await openRouter(globals);
  // A probe asks each provider's first model: an upstream that lists its models is asked for them first.
  if (options.check === true) await router.refreshModels();
  const checks = options.check === true ? await checkAll(router, router.listProviders(), options.timeout) : undefined;
  // Listed after the checks: their results are part of each provider's health.
  const providers = router.listProviders();
  // The catalog's presets that are off here, and what turns each on.
  const listed = new Set(providers.map((provider) => provider.name.toLowerCase()));
  const off = catalogStates().filter((state) => !state.enabled && !listed.has(state.preset.name.toLowerCase()));
  if (options.json === true) {
    const listing: unknown[] = providers.map((provider) => ({ ...provider, enabled: true, check: checks?.get(provider.name) }));
    for (const state of off)
      listing.push({
        name: state.preset.name,
        kind: state.preset.protocol,
        url: state.preset.baseUrl,
        models: [...state.preset.models],
        enabled: false,
        reason: state.reason,
      });
    await writeOut(`${JSON.stringify(listing, null, 2)}\n`);
  } else {
    const style = createStyle(process.stdout);
    let text = renderTable(providers, checks, style);
    if (off.length > 0) text += `\n\n${style.dim(`Not enabled (catalog): ${off.map((state) => `${state.preset.name} (${state.reason})`).join(', ')}`)}`;
    await writeOut(`${text}\n`);
  }
  if (checks === undefined) return EXIT.ok;
  return [...checks.values()].every((result) => result.ok) ? EXIT.ok : EXIT.failed;
}

function renderTable(providers: readonly ProviderInfo[], checks: Map<string, CheckResult> | undefined, style: Style): string {
  const header = ['NAME', 'MODELS', 'STREAM', 'AUTH', 'BASE URL', 'HEALTH'];
  if (checks !== undefined) header.push('STATUS', 'LATENCY');
  const rows = providers.map((provider) => {
    const row = [
      style.bold(provider.name),
      provider.models.join(', '),
      provider.supportsStream ? 'yes' : 'no',
      provider.needsAuth ? 'yes' : 'no',
      provider.url,
      describeHealth(provider, style),
    ];
    const check = checks?.get(provider.name);
    if (check !== undefined) {
      row.push(check.ok ? style.green('ok') : style.red(`failed: ${check.error ?? check.code ?? 'unknown'}`));
      row.push(`${Math.round(check.latencyMs)} ms`);
    }
    return row;
  });
  return formatTable(header, rows, style.dim);
}

function describeHealth(provider: ProviderInfo, style: Style): string {
  const { state, successRate, calls, consecutiveFailures } = provider.health;
  const rate = calls === 0 ? '' : ` ${Math.round(successRate * 100)}%`;
  if (state === 'closed' && consecutiveFailures > 0) return style.yellow(`failing${rate}`);
  if (state === 'closed') return style.green(`healthy${rate}`);
  if (state === 'half-open') return style.yellow(`probing${rate}`);
  return style.red(`down${rate}`);
}

/** Checks every provider at once; each check is bounded by `timeoutMs`. */
export async function checkAll(router: Router, providers: readonly ProviderInfo[], timeoutMs: number): Promise<Map<string, CheckResult>> {
  const spinner = startSpinner(`checking ${providers.length} providers…`);
  let done = 0;
  try {
    const results = await Promise.all(
      providers.map(async (provider) => {
        const result = await checkOne(router, provider, timeoutMs);
        done++;
        spinner.update(`checking providers… ${done}/${providers.length} done`);
        return result;
      }),
    );
    return new Map(results.map((result) => [result.provider, result]));
  } finally {
    spinner.stop();
  }
}

async function checkOne(router: Router, provider: ProviderInfo, timeoutMs: number): Promise<CheckResult> {
  const model = provider.models[0] ?? 'gpt-3.5-turbo';
  const started = performance.now();
  // The router's own timers fire first (a timeout is a verdict on the provider's health); the
  // signal is the backstop.
  const signal = AbortSignal.timeout(timeoutMs + 1_000);
  const stream = router.stream({
    model,
    provider: provider.name,
    messages: [{ role: 'user', content: 'Say OK.' }],
    stream: provider.supportsStream,
    maxTokens: 5,
    signal,
    timeouts: { connect: timeoutMs, firstToken: timeoutMs, total: timeoutMs },
  });
  try {
    for await (const chunk of stream) {
      // The first text is enough: leaving the loop aborts the rest of the answer.
      if (chunk.type === 'text-delta' && chunk.text !== '') break;
    }
    return { provider: provider.name, model, ok: true, latencyMs: performance.now() - started };
  } catch (error) {
    const result: CheckResult = { provider: provider.name, model, ok: false, latencyMs: performance.now() - started };
    if (signal.aborted) {
      result.code = 'timeout';
      result.error = `no answer within ${timeoutMs} ms`;
    } else {
      const inner = isG4FError(error, 'AllProvidersFailedError') ? error.attempts[0]?.error : undefined;
      if (inner !== undefined) {
        result.code = inner.code;
        result.error = describeReason(inner, provider.name);
      } else {
        result.code = isG4FError(error) ? error.code : 'error';
        result.error = describeFailure(error);
      }
    }
    return result;
  }
}
