/** The server's usage counting is the one token counter's (src/core/token-count.ts). */
export { countTexts, countUsage } from '../core/token-count.js';
