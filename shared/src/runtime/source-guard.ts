/**
 * Stops a TypeScript entry point (run by tsx) that imports the compiled library instead of its
 * sources. That happens when the `@mlops/source` export condition is missing, and it would run
 * whatever dist/ was built last, silently.
 */
import { dirname } from 'node:path';
import { fileURLToPath } from 'node:url';
import { PermanentError } from '../errors.js';

const entry = process.argv[1] ?? '';
if (import.meta.url.endsWith('.js') && /\.[cm]?tsx?$/.test(entry))
  throw new PermanentError(
    'BUILD.SOURCE_CONDITION_MISSING',
    `${entry} is TypeScript but imported the compiled @mlops/shared (${dirname(dirname(fileURLToPath(import.meta.url)))}): run it with ` +
      '`tsx --conditions=@mlops/source` (or `node --conditions=@mlops/source --import tsx`), or run the built dist/*.js',
  );
