/**
 * SIGINT/SIGTERM as an AbortSignal, for commands that stop cleanly instead of dying: the first
 * signal aborts (through `onSignal`, which may choose the reason and say something), and
 * dispose() removes the listeners again.
 */
export function abortOnStopSignals(
  onSignal: (name: NodeJS.Signals, ctrl: AbortController) => void = (name, ctrl) => ctrl.abort(name),
): { signal: AbortSignal; dispose(): void } {
  const ctrl = new AbortController();
  const listener = (name: NodeJS.Signals): void => onSignal(name, ctrl);
  process.on('SIGINT', listener);
  process.on('SIGTERM', listener);
  return {
    signal: ctrl.signal,
    dispose() {
      process.off('SIGINT', listener);
      process.off('SIGTERM', listener);
    },
  };
}
