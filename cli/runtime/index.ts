/** Loads every built-in backend (each registers itself) and re-exports the runtime API. */
import './netns/backend.js';

export * from './runtime.js';
export { MissingToolError, LabCommandError, NotRootError } from './errors.js';
