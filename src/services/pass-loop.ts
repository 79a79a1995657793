/** What a loop runs now: the pass, and where its failure is told; undefined while it has nothing to run with. */
export type PassNow = { pass: () => Promise<void>; failed: (err: unknown) => void };

export type PassLoop = {
  /** Runs a pass now, or one more after the pass under way; resolves when no pass is left to run. */
  run(): Promise<void>;
  /** Waits for the pass under way, then runs one more (tests: everything due is done). */
  drain(): Promise<void>;
  /** Resolves when the pass under way (if any) ends. */
  idle(): Promise<void>;
};

/**
 * One pass at a time, of a background job kicked by events and a timer: a kick during a pass runs
 * one more after it, so nothing kicked is left waiting for the timer. `now()` gives the pass with
 * what it runs on (undefined once the job stops); a failure ends the run, and the next kick or tick
 * tries again.
 */
export function passLoop(now: () => PassNow | undefined): PassLoop {
  let running: Promise<void> | undefined;
  let again = false;
  const run = (): Promise<void> => {
    const current = now();
    if (!current) return Promise.resolve();
    if (running) {
      again = true;
      return running;
    }
    running = (async () => {
      try {
        do {
          again = false;
          await current.pass();
        } while (again && now());
      } catch (err) {
        current.failed(err);
      } finally {
        running = undefined;
      }
    })();
    return running;
  };
  return {
    run,
    async drain() {
      await running;
      await run();
    },
    idle: async () => void (await running),
  };
}
