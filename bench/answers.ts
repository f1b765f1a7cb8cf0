/** What the bench's upstream answers (bench/upstream.ts), and what a target's answers are checked against. */

/** Twenty words: a text answer is 20 content chunks of one word each. */
export const WORDS: readonly string[] = Array.from({ length: 20 }, (_, index) => `word${index + 1} `);
/** A tool call's arguments, streamed in 20 fragments. */
export const TOOL_ARGUMENTS = JSON.stringify({ city: 'Paris', days: 7, units: 'metric', detail: 'hourly forecast with wind and rain' });
export const TOOL_NAME = 'get_weather';
