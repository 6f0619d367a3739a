import { describe, expect, it } from 'vitest';
import { replayLine } from '../src/commands/replay.command.js';

describe('what replay prints', () => {
  const since = new Date('2026-03-01T00:00:00.000Z');
  it.each([
    [
      'the embedded bus, which counts deliveries',
      { subscriptions: 4, deliveries: 56 },
      undefined,
      'rewound 4 subscriptions of pipeline-start to 2026-03-01T00:00:00.000Z: 56 deliveries scheduled',
    ],
    [
      'Pub/Sub, whose seek does not say how many messages it redelivers',
      { subscriptions: 4, deliveries: undefined },
      undefined,
      'rewound 4 subscriptions of pipeline-start to 2026-03-01T00:00:00.000Z',
    ],
    [
      'one subscription',
      { subscriptions: 1, deliveries: 1 },
      'sales-gen.pipeline-start',
      'rewound subscription sales-gen.pipeline-start of pipeline-start to 2026-03-01T00:00:00.000Z: 1 delivery scheduled',
    ],
    [
      'a topic nobody listens to',
      { subscriptions: 0, deliveries: 0 },
      undefined,
      'rewound no subscription of pipeline-start to 2026-03-01T00:00:00.000Z: 0 deliveries scheduled',
    ],
  ] as const)('%s', (_name, result, subscription, line) => {
    expect(replayLine('pipeline-start', since, result, subscription)).toBe(line);
  });
});
