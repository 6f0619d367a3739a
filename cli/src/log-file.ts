import { appendFileSync, mkdirSync } from 'node:fs';
import { dirname } from 'node:path';

/** A log sink appending JSON lines to a file (created on first use). */
export function fileSink(path: string): (line: string) => void {
  let ready = false;
  return (line) => {
    if (!ready) {
      mkdirSync(dirname(path), { recursive: true });
      ready = true;
    }
    appendFileSync(path, `${line}\n`);
  };
}
