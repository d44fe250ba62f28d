import type { TestFn } from 'ava';
import { checkContract } from './contract.js';
import { startBacking, startSystem, type Backing, type BackingOptions, type System, type SystemOptions } from './system.js';

export interface UseOptions {
  /**
   * Stops what the file started next to the system (a balancer, an extra
   * sidecar, apps on a backing), after the tests and before the system stops.
   */
  beforeStop?: () => unknown;
}

/**
 * One system for the whole test file: started before the first test, stopped
 * after the last (even when a test or a hook failed). Returns an accessor for
 * the running system.
 *
 * The start is a serial hook, so `test.before` hooks declared after this call
 * run once the system is up (seed data there). Stop what the file starts
 * itself in `beforeStop`: hooks the file declares later run after the stop.
 */
export function useSystem(test: TestFn, options: SystemOptions & UseOptions = {}): () => System {
  const { beforeStop, ...systemOptions } = options;
  const system = useRunning(test, 'system', () => startSystem(systemOptions), beforeStop);
  // Every answer of its gateways is checked against the OpenAPI document (the file fails after its tests if one does not match).
  checkContract(test, () => system().gatewayUrls);
  return system;
}

/** The same for the backing services only (Redis, a database, Sentry, the broker): for tests that start their own apps on it. */
export function useBacking(test: TestFn, options: BackingOptions & UseOptions = {}): () => Backing {
  const { beforeStop, ...backingOptions } = options;
  return useRunning(test, 'backing', () => startBacking(backingOptions), beforeStop);
}

function useRunning<T extends { stop(): Promise<void> }>(
  test: TestFn,
  what: string,
  start: () => Promise<T>,
  beforeStop: UseOptions['beforeStop'],
): () => T {
  let running: T | undefined;
  test.serial.before(`start the ${what}`, async () => {
    running = await start();
  });
  test.serial.after.always(`stop the ${what}`, async () => {
    try {
      await beforeStop?.();
    } finally {
      await running?.stop();
    }
  });
  return () => {
    if (!running) throw new Error(`the ${what} is not running (its start failed, or a test ran before it)`);
    return running;
  };
}
