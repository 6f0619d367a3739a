/**
 * Stops a TypeScript entry point (run by tsx) that imports the compiled library instead of its
 * sources. That happens when the `@mlops/source` export condition is missing, and it would run
 * whatever dist/ was built last, silently.
 */
import { dirname } from 'node:path';
import { fileURLToPath } from 'node:url';
import { SharedErrors } from '../errors.js';

const entry = process.argv[1] ?? '';
if (import.meta.url.endsWith('.js') && /\.[cm]?tsx?$/.test(entry))
  throw SharedErrors.sourceConditionMissing(entry, dirname(dirname(fileURLToPath(import.meta.url))));
