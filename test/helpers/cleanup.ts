import type { TestContext } from 'node:test';

const stacks = new WeakMap<TestContext, Array<() => unknown>>();

/**
 * Runs `fn` when the test ends, after every cleanup registered later: last in, first out. node:test
 * runs `t.after` hooks first in, first out, and stops at the first that throws. A schema registered
 * for dropping before its servers started was then dropped under the running servers; when that
 * drop deadlocked with them, the servers were never killed and the test file never exited. Here
 * every cleanup runs even when one fails, and the first failure is reported.
 */
export function cleanup(t: TestContext, fn: () => unknown): void {
  let stack = stacks.get(t);
  if (stack === undefined) {
    const fns: Array<() => unknown> = (stack = []);
    stacks.set(t, fns);
    t.after(() => runCleanups(fns));
  }
  stack.push(fn);
}

/** Pops and runs every cleanup, the last registered first; rejects with the first failure, after all ran. */
export async function runCleanups(fns: Array<() => unknown>): Promise<void> {
  const failures: unknown[] = [];
  for (let next = fns.pop(); next !== undefined; next = fns.pop()) {
    try {
      await next();
    } catch (err) {
      failures.push(err);
    }
  }
  if (failures.length > 0) throw failures[0];
}
