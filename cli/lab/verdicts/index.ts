/** Verdict aggregation and its reporters (terminal matrix, JUnit XML, JSON). */
export * from './verdicts.js';
export * from './matrix.js';
export * from './junit.js';
export * from './json.js';
