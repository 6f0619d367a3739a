/**
 * `npm run dataform:publish -- [--branch dataform] [--push REMOTE] [--project P] [--location L]`:
 * writes dataform/ as the root of a branch that Cloud Dataform compiles (see dataform-layout.ts),
 * from the committed dataform/ only, and optionally pushes that branch.
 */
import { execFileSync } from 'node:child_process';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { parseArgs } from 'node:util';
import { buildCloudDataformLayout, publishToBranch, repositoryRoot } from './dataform-layout.js';

const { values } = parseArgs({
  options: {
    branch: { type: 'string', default: 'dataform' },
    push: { type: 'string' },
    project: { type: 'string' },
    location: { type: 'string' },
  },
});

const root = repositoryRoot(dirname(fileURLToPath(import.meta.url)));
const projectDir = join(root, 'dataform');
const dirty = execFileSync('git', ['status', '--porcelain', '--', 'dataform'], { cwd: root, encoding: 'utf8' }).trim();
if (dirty) {
  console.error(`dataform/ has uncommitted changes; commit them first:\n${dirty}`);
  process.exit(1);
}
const head = execFileSync('git', ['rev-parse', 'HEAD'], { cwd: root, encoding: 'utf8' }).trim();
const layout = mkdtempSync(join(tmpdir(), 'dataform-layout-'));
try {
  const entries = buildCloudDataformLayout(projectDir, layout, {
    origin: `source: dataform/ at ${head}`,
    ...(values.project ? { defaultProject: values.project } : {}),
    ...(values.location ? { defaultLocation: values.location } : {}),
  });
  const result = publishToBranch(root, layout, values.branch!, `Dataform project from dataform/ at ${head}`);
  console.log(
    `${result.changed ? 'published' : 'unchanged'}: ${result.branch} = ${result.commit} (${entries.join(', ')})`,
  );
  if (values.push) {
    execFileSync('git', ['push', values.push, `refs/heads/${result.branch}:refs/heads/${result.branch}`], {
      cwd: root,
      stdio: 'inherit',
    });
  }
} finally {
  rmSync(layout, { recursive: true, force: true });
}
