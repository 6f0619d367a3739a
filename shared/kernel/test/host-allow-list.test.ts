import { describe, expect, it } from 'vitest';
import { createHostCheck, hostRefusal, parseAllowedHosts } from '@mlops/kernel';

describe('the Host allow-list of every HTTP listener', () => {
  const loopbackOnly = createHostCheck();
  const configured = createHostCheck({
    allowedHosts: ['dash.example.com', '*.corp.example', 'api.example.org:8443', '10.0.0.5', '[fd00::1]'],
    cloudRunService: 'lander',
  });

  it.each([
    ['localhost', true],
    ['localhost:8080', true],
    ['LocalHost:1', true],
    ['127.0.0.1:18901', true],
    ['[::1]:18901', true],
    ['[::1]', true],
    ['localhost.', true],
    ['attacker.example:18901', false],
    ['127.0.0.2', false],
    ['127.0.0.1.attacker.example', false],
    ['localhost.attacker.example', false],
    ['::1', false],
    ['', false],
    [undefined, false],
    ['dash.example.com', false],
  ])('by default answers %s: %s', (host, expected) => {
    expect(loopbackOnly(host)).toBe(expected);
  });

  it.each([
    ['dash.example.com', true],
    ['DASH.example.com:443', true],
    ['evil.dash.example.com', false],
    ['dash.example.com.evil.example', false],
    ['a.corp.example', true],
    ['a.b.corp.example:9', true],
    ['corp.example', false],
    ['evilcorp.example', false],
    ['api.example.org:8443', true],
    ['api.example.org', false],
    ['api.example.org:443', false],
    ['10.0.0.5:8080', true],
    ['[fd00::1]:80', true],
    ['lander-abc123-ew.a.run.app', true],
    ['lander-123456789.europe-west1.run.app', true],
    ['trainer-abc123-ew.a.run.app', false],
    ['lander.attacker.example', false],
    ['localhost:3000', true],
  ])('with configured hosts answers %s: %s', (host, expected) => {
    expect(configured(host)).toBe(expected);
  });

  it('checks the setting and says what is wrong', () => {
    expect(parseAllowedHosts(' a.example , b.example:8080 ,, *.c.example ')).toEqual([
      'a.example',
      'b.example:8080',
      '*.c.example',
    ]);
    expect(() => parseAllowedHosts('https://a.example')).toThrow(/"https:\/\/a.example" is not a host name/);
    expect(() => parseAllowedHosts('a b')).toThrow(/is not a host name/);
  });

  it('refuses with a JSON body naming the host and the setting', () => {
    expect(hostRefusal('attacker.example:18901')).toEqual({
      error: {
        code: 'HTTP.HOST_NOT_ALLOWED',
        message: expect.stringMatching(/Host "attacker.example:18901" is not served here.*MLOPS_ALLOWED_HOSTS/),
      },
    });
  });
});
