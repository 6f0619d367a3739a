import { describe, expect, it } from 'vitest';
import {
  ConfigError,
  createLogger,
  dispatch,
  utcTomorrow,
  type AnyEvent,
  type PipelineStarted,
  type StoredDocument,
} from '@mlops/kernel';
import { InMemoryDocumentStore, RecordingPublisher, deliver, testEvent } from '@mlops/testing';
import { createSalesGenService } from '../src/index.js';

const generators = { seed: 42, scale: 1, dirtyShare: 0.01, piiHmacKey: 'test-key-0123456789' };
// Run-date bounds by the real clock: tomorrow (UTC) is accepted, the day after is not.
const TOMORROW = utcTomorrow(new Date());
const DAY_AFTER_TOMORROW = utcTomorrow(new Date(`${TOMORROW}T12:00:00Z`));
const date = '2026-03-03';

function start(data: Partial<PipelineStarted> = {}, runDate = date): AnyEvent {
  return testEvent('mlops.pipeline.started.v1', { runDate, trigger: 'cli', ...data }, runDate);
}

async function dayOf(store: InMemoryDocumentStore, runDate = date): Promise<StoredDocument[]> {
  const documents: StoredDocument[] = [];
  for await (const document of store.query('sales', { where: [{ field: 'run_date', op: '==', value: runDate }] }))
    documents.push(document);
  return documents;
}

function setup(overrides: Partial<typeof generators> = {}) {
  const documents = new InMemoryDocumentStore();
  return {
    documents,
    service: createSalesGenService({ documents, collection: 'sales', generators: { ...generators, ...overrides } }),
  };
}

describe('sales-gen', () => {
  it("writes the run date's orders to the collection and announces them", async () => {
    const { documents, service } = setup();
    const published = await deliver(service, start());
    const day = await dayOf(documents);
    expect(day.length).toBeGreaterThan(700);
    const [announced] = published.ofType('mlops.sales.generated.v1');
    expect(announced!.data).toMatchObject({
      runDate: date,
      collection: 'sales',
      documentCount: day.length,
      scale: 1,
      seed: 42,
    });
    expect(announced!.data.dirtyCount / day.length).toBeGreaterThan(0.005);
    expect(announced!.data.dirtyCount / day.length).toBeLessThan(0.015);
    expect(announced!.subject).toBe(`sales/${date}`);
    expect(day.every((document) => document.data.run_date === date)).toBe(true);
    expect(day.filter((document) => document.id === document.data.order_id).length).toBe(
      day.length - day.filter((d) => d.id.endsWith('_dup')).length,
    );
  });

  it('writes the same documents for the same seed, scale and date', async () => {
    const a = setup();
    const b = setup();
    await deliver(a.service, start());
    await deliver(b.service, start());
    expect(await dayOf(b.documents)).toEqual(await dayOf(a.documents));
  });

  it('leaves exactly one copy of the day when run twice', async () => {
    const { documents, service } = setup();
    await deliver(service, start());
    const once = await dayOf(documents);
    const again = await deliver(service, start());
    expect(await dayOf(documents)).toEqual(once);
    expect(again.ofType('mlops.sales.generated.v1')[0]!.data.documentCount).toBe(once.length);
  });

  it('leaves only the new set when the day is generated again at another scale or seed', async () => {
    const { documents, service } = setup();
    await deliver(service, start({ scale: 2 }));
    await deliver(service, start({ scale: 0.5, seed: 7 }));
    const fresh = setup();
    await deliver(fresh.service, start({ scale: 0.5, seed: 7 }));
    expect((await dayOf(documents)).map((d) => d.id)).toEqual((await dayOf(fresh.documents)).map((d) => d.id));
  });

  it('removes a document of the day it did not generate', async () => {
    const { documents, service } = setup();
    await documents.upsertBatch('sales', [{ id: 'stranger', data: { run_date: date, order_id: 'stranger' } }]);
    await deliver(service, start());
    const fresh = setup();
    await deliver(fresh.service, start());
    expect((await dayOf(documents)).map((d) => d.id)).toEqual((await dayOf(fresh.documents)).map((d) => d.id));
    expect((await dayOf(documents)).some((d) => d.id === 'stranger')).toBe(false);
  });

  it('leaves other dates alone', async () => {
    const { documents, service } = setup();
    await deliver(service, start({}, '2026-03-02'));
    const before = await dayOf(documents, '2026-03-02');
    await deliver(service, start());
    await deliver(service, start({ scale: 0.3 }));
    expect(await dayOf(documents, '2026-03-02')).toEqual(before);
  });

  it('takes scale and seed from the start event over the configuration', async () => {
    const { service } = setup();
    const published = await deliver(service, start({ scale: 0.25, seed: 9 }));
    const data = published.ofType('mlops.sales.generated.v1')[0]!.data;
    expect(data).toMatchObject({ scale: 0.25, seed: 9 });
    expect(data.documentCount).toBeLessThan(400);
  });

  it.each([
    ['only clickstream', ['clickstream']],
    ['startups and clickstream', ['startups', 'clickstream']],
  ] as const)(
    'writes nothing when the run asks for %s, says so, and closes its stage as skipped',
    async (_name, sources) => {
      const { documents, service } = setup();
      const lines: string[] = [];
      const published = await deliver(service, start({ sources: [...sources] }), {
        log: createLogger({ sink: (line) => lines.push(line) }),
      });
      expect(published.events.map((event) => [event.type, (event.data as { code?: string }).code])).toEqual([
        ['mlops.stage.skipped.v1', 'SALES_GEN.NOT_REQUESTED'],
      ]);
      expect(await documents.count('sales')).toBe(0);
      expect(lines.some((line) => line.includes('sales skipped'))).toBe(true);
    },
  );

  it('passes the backfill window on', async () => {
    const { service } = setup({ scale: 0.1 });
    const published = await deliver(
      service,
      start({ trigger: 'backfill', backfill: { from: '2026-03-01', to: '2026-03-05' } }),
    );
    expect(published.ofType('mlops.sales.generated.v1')[0]!.data.backfill).toEqual({
      from: '2026-03-01',
      to: '2026-03-05',
    });
  });

  describe('bad input', () => {
    it.each([
      ['an impossible date', { runDate: '2026-02-30' }],
      ['a negative scale', { scale: -1 }],
      ['a zero scale', { scale: 0 }],
      ['an unknown source', { sources: ['weather'] }],
    ])('the schema refuses %s before the handler runs', async (_name, data) => {
      const { documents, service } = setup();
      const event = testEvent(
        'mlops.pipeline.started.v1',
        { runDate: date, trigger: 'cli', ...data } as PipelineStarted,
        date,
      );
      await expect(deliver(service, event)).rejects.toMatchObject({ code: 'EVENT.SCHEMA_VIOLATION' });
      expect(await documents.count('sales')).toBe(0);
    });

    it.each([
      ['a zero scale', { scale: 0 }, 'SALES_GEN.BAD_SCALE'],
      ['a scale above 1000', { scale: 5000 }, 'SALES_GEN.BAD_SCALE'],
      ['a fractional seed', { seed: 1.5 }, 'SALES_GEN.BAD_SEED'],
      ['an impossible date', { runDate: '2026-02-30' }, 'SALES_GEN.BAD_RUN_DATE'],
      ['a run date after tomorrow', { runDate: DAY_AFTER_TOMORROW }, 'SALES_GEN.RUN_DATE_OUT_OF_RANGE'],
      ['run date 9999-12-31', { runDate: '9999-12-31' }, 'SALES_GEN.RUN_DATE_OUT_OF_RANGE'],
      ['the day before the earliest run date', { runDate: '2019-12-31' }, 'SALES_GEN.RUN_DATE_OUT_OF_RANGE'],
      ['an unknown source', { sources: ['weather'] }, 'SALES_GEN.UNKNOWN_SOURCE'],
    ])('the handler itself refuses %s with a stable code and announces stage.failed', async (_name, data, code) => {
      const { documents, service } = setup();
      const publisher = new RecordingPublisher();
      const event = testEvent(
        'mlops.pipeline.started.v1',
        { runDate: date, trigger: 'cli', ...data } as PipelineStarted,
        date,
      );
      const delivery = {
        messageId: '1',
        subscription: 'sales-gen.pipeline-start',
        attempt: 1,
        publishedAt: new Date(),
      };
      await expect(
        dispatch(service, event, delivery, publisher, createLogger({ sink: () => undefined })),
      ).rejects.toMatchObject({ code, errorClass: 'permanent' });
      expect(publisher.ofType('mlops.stage.failed.v1')[0]!.data).toMatchObject({ stage: 'sales-gen', code });
      expect(await documents.count('sales')).toBe(0);
    });

    it.each([
      ['a zero scale', { scale: 0 }, 'MLOPS_SCALE'],
      ['a negative scale', { scale: -2 }, 'MLOPS_SCALE'],
      ['a dirty share above one half', { dirtyShare: 0.9 }, 'MLOPS_DIRTY_SHARE'],
      ['a short PII key', { piiHmacKey: 'short' }, 'MLOPS_PII_HMAC_KEY'],
      ['no PII key (absent outside local mode)', { piiHmacKey: '' }, 'MLOPS_PII_HMAC_KEY'],
    ])('refuses to start with %s, naming the setting', (_name, overrides, setting) => {
      let thrown: unknown;
      try {
        setup(overrides);
      } catch (error) {
        thrown = error;
      }
      expect(thrown).toBeInstanceOf(ConfigError);
      expect((thrown as ConfigError).setting).toBe(setting);
    });
  });
});

describe('sales-gen run-date bounds', () => {
  it('accepts tomorrow and the earliest run date, and 9999-12-31 only when future dates are allowed', async () => {
    const settings = { ...generators, scale: 0.05 };
    for (const runDate of [TOMORROW, '2020-01-01'])
      await deliver(
        createSalesGenService({ documents: new InMemoryDocumentStore(), collection: 'sales', generators: settings }),
        start({}, runDate),
      );
    await expect(
      deliver(
        createSalesGenService({ documents: new InMemoryDocumentStore(), collection: 'sales', generators: settings }),
        start({}, '9999-12-31'),
      ),
    ).rejects.toMatchObject({
      code: 'SALES_GEN.RUN_DATE_OUT_OF_RANGE',
      message: expect.stringContaining('MLOPS_ALLOW_FUTURE_DATES'),
    });
    const allowed = { ...settings, runDates: { earliest: '2020-01-01', allowFuture: true } };
    await deliver(
      createSalesGenService({ documents: new InMemoryDocumentStore(), collection: 'sales', generators: allowed }),
      start({}, '9999-12-31'),
    );
  });
});
