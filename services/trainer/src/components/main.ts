/**
 * The container entrypoint of a Vertex AI Pipelines step (see `step-main.ts`):
 *
 *   node services/trainer/dist/components/main.js <component> --executor_input '{{$}}' ...
 *
 * A composition root like `src/main.ts`, so it is the one file here that reads the environment.
 */
import { runComponentMain } from './step-main.js';

// eslint-disable-next-line no-restricted-properties -- a pipeline step's entrypoint is a composition root, like src/main.ts
runComponentMain(process.argv.slice(2), process.env).then((code) => process.exit(code));
