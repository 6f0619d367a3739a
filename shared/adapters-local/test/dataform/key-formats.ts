/** The key formats the Dataform project checks (dataform/includes/keys.js), for tests outside Dataform. */
import { createRequire } from 'node:module';
import { resolve } from 'node:path';

const require = createRequire(import.meta.url);
const keys = require(resolve(import.meta.dirname, '../../../../dataform/includes/keys.js')) as {
  FORMATS: Readonly<Record<string, string>>;
};

/** Key column name to its pattern (an anchored regular expression). */
export const KEY_FORMATS: Readonly<Record<string, string>> = keys.FORMATS;
