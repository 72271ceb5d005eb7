/** Loads every built-in backend (each registers itself) and re-exports the runtime API. */
import './netns/backend.js';
import './docker/backend.js';

export * from './runtime.js';
export * from './registry.js';
export { LabRuntime, logTail } from './orchestrator.js';
export { MissingToolError, LabCommandError, NotRootError } from './errors.js';
