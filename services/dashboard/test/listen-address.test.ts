import { loadConfig } from '@mlops/kernel';
import { describe, expect, it } from 'vitest';
import { listenAddressOf } from '../src/start.js';

describe('where the dashboard listens', () => {
  const cases = [
    {
      name: 'pull: the dashboard settings, loopback',
      env: { MLOPS_DASHBOARD_PORT: '8090', PORT: '9000' },
      transport: 'pull' as const,
      want: { host: '127.0.0.1', port: 8090, allowRemote: false },
    },
    {
      name: 'pull on Cloud Run still needs the opt-in to bind elsewhere',
      env: { K_SERVICE: 'dashboard', MLOPS_DASHBOARD_HOST: '0.0.0.0' },
      transport: 'pull' as const,
      want: { host: '0.0.0.0', port: 8080, allowRemote: false },
    },
    {
      name: 'http off Cloud Run: PORT on loopback, no remote bind',
      env: { PORT: '9000', MLOPS_DASHBOARD_PORT: '8090' },
      transport: 'http' as const,
      want: { host: '127.0.0.1', port: 9000, allowRemote: false },
    },
    {
      name: 'http on Cloud Run: PORT on every interface, behind Cloud Run',
      env: { PORT: '8080', K_SERVICE: 'dashboard' },
      transport: 'http' as const,
      want: { host: '0.0.0.0', port: 8080, allowRemote: true },
    },
    {
      name: 'http with MLOPS_HTTP_HOST elsewhere and no Cloud Run: refused unless opted in',
      env: { PORT: '9000', MLOPS_HTTP_HOST: '10.0.0.5' },
      transport: 'http' as const,
      want: { host: '10.0.0.5', port: 9000, allowRemote: false },
    },
  ];
  it.each(cases)('$name', ({ env, transport, want }) => {
    expect(listenAddressOf(loadConfig({ MLOPS_HOME: '/tmp/unused-mlops-home', ...env }), transport)).toEqual(want);
  });
});
