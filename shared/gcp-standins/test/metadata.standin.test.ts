import { GoogleAuth } from 'google-auth-library';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { startMetadataServer, type MetadataServer, type StandinLogEntry } from '../src/index.js';

// Application Default Credentials through the real google-auth-library, as on Cloud Run: nothing
// but GCE_METADATA_HOST points it at the stand-in (no key file, no project variable, no gcloud
// configuration), so it detects a metadata server and asks it for the project and a token.

const ADC_VARIABLES = [
  'GOOGLE_APPLICATION_CREDENTIALS',
  'GOOGLE_CLOUD_PROJECT',
  'GCLOUD_PROJECT',
  'gcloud_project',
  'google_cloud_project',
  'GCE_METADATA_IP',
  'GCE_METADATA_HOST',
  'METADATA_SERVER_DETECTION',
];

describe('metadata server stand-in', () => {
  const log: StandinLogEntry[] = [];
  const saved = new Map(ADC_VARIABLES.map((name) => [name, process.env[name]]));
  const savedConfig = process.env.CLOUDSDK_CONFIG;
  const gcloudConfig = mkdtempSync(join(tmpdir(), 'standin-gcloud-'));
  let metadata: MetadataServer;

  beforeAll(async () => {
    metadata = await startMetadataServer({
      projectId: 'rehearsal-project',
      serviceAccounts: {
        default: 'mlops-runtime@rehearsal-project.iam.gserviceaccount.com',
        trainer: 'mlops-trainer@rehearsal-project.iam.gserviceaccount.com',
      },
      log: (entry) => log.push(entry),
    });
    for (const name of ADC_VARIABLES) delete process.env[name];
    process.env.CLOUDSDK_CONFIG = gcloudConfig; // an empty gcloud configuration: no project there
    process.env.GCE_METADATA_HOST = metadata.host;
  });
  afterAll(async () => {
    for (const [name, value] of saved) {
      if (value === undefined) delete process.env[name];
      else process.env[name] = value;
    }
    if (savedConfig === undefined) delete process.env.CLOUDSDK_CONFIG;
    else process.env.CLOUDSDK_CONFIG = savedConfig;
    rmSync(gcloudConfig, { recursive: true, force: true });
    await metadata?.stop();
  });

  it('gives GoogleAuth a project id, the service account and an access token', async () => {
    const auth = new GoogleAuth({ scopes: ['https://www.googleapis.com/auth/bigquery'] });
    expect(await auth.getProjectId()).toBe('rehearsal-project');
    expect((await auth.getCredentials()).client_email).toBe('mlops-runtime@rehearsal-project.iam.gserviceaccount.com');
    const token = await auth.getAccessToken();
    expect(token).toMatch(/^ya29\.standin\./);
    expect(metadata.tokenInfo(token!)).toMatchObject({
      email: 'mlops-runtime@rehearsal-project.iam.gserviceaccount.com',
      scopes: ['https://www.googleapis.com/auth/bigquery'],
    });
    const headers = await (await auth.getClient()).getRequestHeaders();
    expect(headers.get('authorization')).toBe(`Bearer ${token}`);
    expect(await auth.getUniverseDomain()).toBe('googleapis.com');
    expect(metadata.tokenInfo('ya29.forged')).toBeUndefined();
  });

  it('serves another identity on its own address', async () => {
    process.env.GCE_METADATA_HOST = metadata.hosts.trainer;
    try {
      const auth = new GoogleAuth();
      expect((await auth.getCredentials()).client_email).toBe(
        'mlops-trainer@rehearsal-project.iam.gserviceaccount.com',
      );
      expect(metadata.tokenInfo((await auth.getAccessToken())!)?.email).toBe(
        'mlops-trainer@rehearsal-project.iam.gserviceaccount.com',
      );
    } finally {
      process.env.GCE_METADATA_HOST = metadata.host;
    }
  });

  it('requires Metadata-Flavor: Google, and answers 501 to paths it does not serve', async () => {
    const base = `http://${metadata.host}/computeMetadata/v1`;
    expect((await fetch(`${base}/project/project-id`)).status).toBe(403);
    const flavoured = (path: string) => fetch(`${base}${path}`, { headers: { 'Metadata-Flavor': 'Google' } });
    const answer = await flavoured('/project/project-id');
    expect([answer.status, answer.headers.get('metadata-flavor'), await answer.text()]).toEqual([
      200,
      'Google',
      'rehearsal-project',
    ]);
    expect((await flavoured('/instance/attributes/cluster-name')).status).toBe(404);
    log.length = 0;
    expect((await flavoured('/instance/service-accounts/default/identity?audience=x')).status).toBe(501);
    expect(log).toMatchObject([{ severity: 'WARNING', standin: 'metadata:default' }]);
  });
});
