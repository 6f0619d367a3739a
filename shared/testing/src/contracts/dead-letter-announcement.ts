import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import {
  PermanentError,
  TransientError,
  UNKNOWN_RUN_ID,
  createLogger,
  encodeMessage,
  hostService,
  type AnyEvent,
  type CloudEvent,
  type HostedService,
  type Logger,
  type Service,
  type WireMessage,
} from '@mlops/kernel';
import { startEvent, waitFor } from '../helpers.js';
import type { EventBusFixture } from './event-bus.contract.js';

type Failure = CloudEvent<'mlops.stage.failed.v1'>;

/** A sales-gen that fails on purpose for some dates. */
const salesGen: Service = {
  name: 'sales-gen',
  consumes: ['mlops.pipeline.started.v1'],
  async handle(event) {
    if (event.rundate === '2026-07-04') throw new PermanentError('SALES_GEN.NO_DATA', 'no sales for this date');
    if (event.rundate === '2026-07-05') throw new TransientError('SALES_GEN.BUSY', 'the store is busy');
  },
};

/**
 * Every dead letter of a hosted service, on any bus: one ERROR line with the code, subscription,
 * event and run, and exactly one `stage.failed` carrying the reason, including for a message that
 * never reached the handler because it failed validation.
 */
export function deadLetterAnnouncementSuite(
  name: string,
  create: (log: Logger) => Promise<EventBusFixture>,
  options: { timeoutMs?: number } = {},
): void {
  const timeout = options.timeoutMs ?? 10_000;
  describe(`dead letters are logged and announced: ${name}`, () => {
    let fixture: EventBusFixture;
    let hosted: HostedService;
    let failures: Failure[];
    let lines: Record<string, unknown>[];

    beforeEach(async () => {
      lines = [];
      failures = [];
      const log = createLogger({ sink: (line) => void lines.push(JSON.parse(line) as Record<string, unknown>) });
      fixture = await create(log);
      await fixture.bus.subscribe(
        { name: 'observer-stage-failed', topic: 'stage-failed' },
        async (event) => void failures.push(event as Failure),
      );
      hosted = await hostService(salesGen, {
        bus: fixture.bus,
        log,
        settings: { maxAttempts: 2, backoff: { minMs: 20, maxMs: 50 } },
      });
    });
    afterEach(async () => {
      await hosted?.close();
      await fixture.cleanup();
    });

    const deadLetterLines = () => lines.filter((line) => String(line.message).startsWith('dead-lettered message'));
    const settle = () => new Promise((resolve) => setTimeout(resolve, 400));

    it('announces a message that fails validation, with the run it names', async () => {
      const event = startEvent('2026-07-01');
      const good = encodeMessage(event);
      await fixture.injectRaw('pipeline-start', {
        ...good,
        data: Buffer.from(JSON.stringify({ runDate: '2026-02-30', trigger: 'cli' })),
      });
      await waitFor(() => failures.length === 1, 'stage.failed', timeout);
      expect(failures[0]).toMatchObject({
        runid: event.runid,
        rundate: '2026-07-01',
        source: '//mlops/sales-gen',
        data: { stage: 'sales-gen', code: 'EVENT.SCHEMA_VIOLATION', causeEventId: event.id, runDates: ['2026-07-01'] },
      });
      expect(failures[0]!.data.reason).toContain('runDate');
      await waitFor(() => deadLetterLines().length === 1, 'the dead-letter log line', timeout);
      expect(deadLetterLines()[0]).toMatchObject({
        severity: 'ERROR',
        code: 'EVENT.SCHEMA_VIOLATION',
        subscription: 'sales-gen.pipeline-start',
        eventId: event.id,
        runId: event.runid,
      });
      const [letter] = await fixture.bus.listDeadLetters({ subscription: 'sales-gen.pipeline-start' });
      expect(letter).toMatchObject({ code: 'EVENT.SCHEMA_VIOLATION', eventId: event.id, runId: event.runid });
    });

    it.each([
      [
        'an envelope without a run id',
        (good: WireMessage): WireMessage => ({
          ...good,
          attributes: Object.fromEntries(Object.entries(good.attributes).filter(([key]) => key !== 'ce-runid')),
        }),
        'EVENT.ENVELOPE_INVALID',
        '2026-07-02',
      ],
      [
        'bytes that are not JSON, with no attributes',
        (): WireMessage => ({ data: Buffer.from('not json at all'), attributes: {} }),
        'EVENT.INVALID_JSON',
        undefined,
      ],
    ])('announces %s under the placeholder run', async (_why, corrupt, code, runDate) => {
      await fixture.injectRaw('pipeline-start', corrupt(encodeMessage(startEvent('2026-07-02'))));
      await waitFor(() => failures.length === 1, 'stage.failed', timeout);
      expect(failures[0]).toMatchObject({
        runid: UNKNOWN_RUN_ID,
        rundate: runDate ?? new Date().toISOString().slice(0, 10),
        data: { stage: 'sales-gen', code },
      });
      await waitFor(() => deadLetterLines().length === 1, 'the dead-letter log line', timeout);
      expect(deadLetterLines()[0]).toMatchObject({ severity: 'ERROR', code, runId: UNKNOWN_RUN_ID });
    });

    it.each([
      ['a permanent error', '2026-07-04', 'SALES_GEN.NO_DATA', 'SALES_GEN.NO_DATA'],
      ['the last attempt of a transient error', '2026-07-05', 'BUS.MAX_ATTEMPTS', 'SALES_GEN.BUSY'],
    ])("announces a handler's %s once", async (_why, date, letterCode, failureCode) => {
      const event: AnyEvent = startEvent(date);
      await fixture.bus.publish(event);
      await waitFor(() => deadLetterLines().length === 1, 'the dead-letter log line', timeout);
      await settle();
      expect(failures).toHaveLength(1);
      expect(failures[0]).toMatchObject({ runid: event.runid, data: { code: failureCode, causeEventId: event.id } });
      expect(deadLetterLines()).toHaveLength(1);
      expect(deadLetterLines()[0]).toMatchObject({ severity: 'ERROR', code: letterCode, eventId: event.id });
    });
  });
}
