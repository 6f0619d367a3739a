export { bernoulli, syntheticDataset } from '../src/index.js';

/** Run `fn` and return the error it throws (or fail the test when it does not throw). */
export function thrown(fn: () => unknown): { code?: string; message: string } {
  try {
    fn();
  } catch (error) {
    return error as { code?: string; message: string };
  }
  throw new Error('expected an error, but nothing was thrown');
}
