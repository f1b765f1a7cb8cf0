export { createRouter, DEFAULT_ROUTER_RETRY, type RouterOptions, type RouterRetryOptions } from './router.js';
export { DEFAULT_ALIASES, DEFAULT_ROUTES } from './models.js';
export { DEFAULT_CIRCUIT, type CircuitOptions } from './health.js';
export { validateMessages } from './validate.js';
export type * from './types.js';
