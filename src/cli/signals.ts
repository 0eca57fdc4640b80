/** Waiting for Ctrl-C or a supervisor's SIGTERM, for the long-running commands. */

/** Resolves once SIGINT or SIGTERM arrives, after `close()` settles; the handlers are then removed. */
export function closeOnSignal(close: () => Promise<unknown>): Promise<void> {
  return new Promise<void>((resolve) => {
    const stop = () => {
      process.off('SIGINT', stop);
      process.off('SIGTERM', stop);
      close().then(
        () => resolve(),
        () => resolve(),
      );
    };
    process.once('SIGINT', stop);
    process.once('SIGTERM', stop);
  });
}
