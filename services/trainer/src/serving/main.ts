/**
 * The container entrypoint of a served model (Vertex AI custom container, see `serving.main.ts`):
 *
 *   node services/trainer/dist/serving/main.js
 *
 * A composition root like `src/main.ts`, so it is the one file here that reads the environment.
 */
import { startServing } from './serving.main.js';

// eslint-disable-next-line no-restricted-properties -- the serving entrypoint is a composition root, like src/main.ts
startServing(process.env).then((server) => {
  if (typeof server === 'number') process.exit(server);
  const stop = (): void => {
    void server.close().then(() => process.exit(0));
  };
  process.once('SIGTERM', stop);
  process.once('SIGINT', stop);
});
