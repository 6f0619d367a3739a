import type { WarehouseAccess } from '../ports/warehouse-access.port.js';
import type { Warehouse } from '../ports/warehouse.port.js';

/**
 * Sessions on one warehouse the test opened and closes itself: every read and write session runs
 * on it, one at a time, and the version counts the write sessions. For tests of code that takes a
 * {@link WarehouseAccess}; the access across processes is tested on its own adapter.
 */
export function warehouseAccessOf(warehouse: Warehouse): WarehouseAccess {
  let writes = 0;
  let queue: Promise<unknown> = Promise.resolve();
  const serial = <T>(work: () => Promise<T>): Promise<T> => {
    const next = queue.then(work, work);
    queue = next.catch(() => undefined);
    return next;
  };
  return {
    read: (work) => serial(() => work(warehouse)),
    write: (work) =>
      serial(async () => {
        try {
          return await work(warehouse);
        } finally {
          writes += 1;
        }
      }),
    version: async () => `test.${writes}`,
    close: async () => undefined,
  };
}
