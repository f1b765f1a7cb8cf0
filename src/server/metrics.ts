/** Prometheus metrics of the server, kept in plain maps and written by hand in the text format. */

const DURATION_BUCKETS = [0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10, 30, 60, 120];

interface Histogram {
  counts: number[];
  sum: number;
  count: number;
}

function createHistogram(): Histogram {
  return { counts: DURATION_BUCKETS.map(() => 0), sum: 0, count: 0 };
}

function observe(histogram: Histogram, seconds: number): void {
  histogram.sum += seconds;
  histogram.count += 1;
  for (let index = 0; index < DURATION_BUCKETS.length; index += 1) {
    if (seconds <= (DURATION_BUCKETS[index] as number)) {
      histogram.counts[index] = (histogram.counts[index] as number) + 1;
      break; // cumulative sums are computed when rendering
    }
  }
}

function escapeLabel(value: string): string {
  return value.replace(/\\/g, '\\\\').replace(/"/g, '\\"').replace(/\n/g, '\\n');
}

const SAFE_LABEL = /^[\w.:/-]*$/;

function label(value: string): string {
  return SAFE_LABEL.test(value) ? value : escapeLabel(value);
}

export interface RequestObservation {
  /** `chat`, `models`, `providers`, ... */
  route: string;
  provider: string | undefined;
  status: number;
  /** Set when the request failed. */
  errorKind: string | undefined;
  durationMs: number;
  stream: boolean;
  /** The name of the request's named API key (never the key). */
  key?: string | undefined;
}

export interface Metrics {
  /** Records one finished request. */
  request(observation: RequestObservation): void;
  /** One failed call to an upstream provider (each attempt of a fallback counts, answered or not). */
  upstreamError(provider: string, kind: string): void;
  /** Time from the request to the first content chunk of a chat answer. */
  firstToken(provider: string, milliseconds: number): void;
  streamStarted(): void;
  streamEnded(): void;
  /** An answer's tokens, by provider and (named) key. */
  tokens(key: string | undefined, provider: string, promptTokens: number, completionTokens: number): void;
  /** Whether the state shared through Redis is kept in this process for now (Redis unreachable). */
  sharedStateDegraded(degraded: boolean): void;
  /** The Prometheus text exposition. */
  render(): string;
}

export function createMetrics(): Metrics {
  const requests = new Map<string, number>();
  const errors = new Map<string, number>();
  const upstreamErrors = new Map<string, number>();
  const durations = new Map<string, Histogram>();
  const firstTokens = new Map<string, Histogram>();
  const tokenCounts = new Map<string, number>();
  let streamsInFlight = 0;
  let degraded: number | undefined;

  function increment(map: Map<string, number>, key: string): void {
    map.set(key, (map.get(key) ?? 0) + 1);
  }

  function histogramFor(map: Map<string, Histogram>, key: string): Histogram {
    let histogram = map.get(key);
    if (histogram === undefined) {
      histogram = createHistogram();
      map.set(key, histogram);
    }
    return histogram;
  }

  function renderHistogram(lines: string[], name: string, map: Map<string, Histogram>): void {
    for (const [key, histogram] of map) {
      let cumulative = 0;
      DURATION_BUCKETS.forEach((bound, index) => {
        cumulative += histogram.counts[index] as number;
        lines.push(`${name}_bucket{${key},le="${bound}"} ${cumulative}`);
      });
      lines.push(`${name}_bucket{${key},le="+Inf"} ${histogram.count}`);
      lines.push(`${name}_sum{${key}} ${histogram.sum}`);
      lines.push(`${name}_count{${key}} ${histogram.count}`);
    }
  }

  return {
    request(observation) {
      const provider = observation.provider ?? 'none';
      const providerLabel = label(provider);
      const keyLabel = observation.key === undefined ? '' : `,key="${label(observation.key)}"`;
      increment(requests, `route="${observation.route}",provider="${providerLabel}",status="${observation.status}"${keyLabel}`);
      if (observation.errorKind !== undefined) {
        increment(errors, `route="${observation.route}",provider="${providerLabel}",kind="${label(observation.errorKind)}"`);
      }
      if (observation.route === 'chat' || observation.route === 'messages') {
        const key = `provider="${providerLabel}",stream="${observation.stream}"`;
        observe(histogramFor(durations, key), observation.durationMs / 1000);
      }
    },
    upstreamError(provider, kind) {
      increment(upstreamErrors, `provider="${label(provider)}",kind="${label(kind)}"`);
    },
    firstToken(provider, milliseconds) {
      observe(histogramFor(firstTokens, `provider="${label(provider)}"`), milliseconds / 1000);
    },
    streamStarted() {
      streamsInFlight += 1;
    },
    streamEnded() {
      streamsInFlight -= 1;
    },
    tokens(key, provider, promptTokens, completionTokens) {
      const keyLabel = key === undefined ? '' : `,key="${label(key)}"`;
      for (const [kind, count] of [
        ['prompt', promptTokens],
        ['completion', completionTokens],
      ] as const) {
        const id = `provider="${label(provider)}",kind="${kind}"${keyLabel}`;
        tokenCounts.set(id, (tokenCounts.get(id) ?? 0) + count);
      }
    },
    sharedStateDegraded(on) {
      degraded = on ? 1 : 0;
    },
    render() {
      const lines: string[] = [];
      lines.push('# HELP g4f_requests_total HTTP requests answered, by route, provider and status.');
      lines.push('# TYPE g4f_requests_total counter');
      for (const [key, value] of requests) lines.push(`g4f_requests_total{${key}} ${value}`);
      lines.push('# HELP g4f_errors_total Failed requests, by route, provider and error kind.');
      lines.push('# TYPE g4f_errors_total counter');
      for (const [key, value] of errors) lines.push(`g4f_errors_total{${key}} ${value}`);
      lines.push('# HELP g4f_upstream_errors_total Failed calls to upstream providers, by provider and error kind (every fallback attempt).');
      lines.push('# TYPE g4f_upstream_errors_total counter');
      for (const [key, value] of upstreamErrors) lines.push(`g4f_upstream_errors_total{${key}} ${value}`);
      lines.push('# HELP g4f_request_duration_seconds Duration of model requests (chat completions and messages).');
      lines.push('# TYPE g4f_request_duration_seconds histogram');
      renderHistogram(lines, 'g4f_request_duration_seconds', durations);
      lines.push('# HELP g4f_time_to_first_token_seconds Time from a chat request to its first content chunk.');
      lines.push('# TYPE g4f_time_to_first_token_seconds histogram');
      renderHistogram(lines, 'g4f_time_to_first_token_seconds', firstTokens);
      lines.push('# HELP g4f_streams_in_flight Streamed answers being written now.');
      lines.push('# TYPE g4f_streams_in_flight gauge');
      lines.push(`g4f_streams_in_flight ${streamsInFlight}`);
      lines.push('# HELP g4f_tokens_total Tokens of answers (prompt and completion), by provider and API key name.');
      lines.push('# TYPE g4f_tokens_total counter');
      for (const [key, value] of tokenCounts) lines.push(`g4f_tokens_total{${key}} ${value}`);
      if (degraded !== undefined) {
        lines.push('# HELP g4f_shared_state_degraded 1 while Redis is unreachable and circuits, limits and usage counters are kept in this process.');
        lines.push('# TYPE g4f_shared_state_degraded gauge');
        lines.push(`g4f_shared_state_degraded ${degraded}`);
      }
      return `${lines.join('\n')}\n`;
    },
  };
}
