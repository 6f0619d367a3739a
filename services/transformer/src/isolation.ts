/**
 * A bad bronze partition fails its own date alone. Before a build, each date's files are checked
 * against what landed (each file present, of the landed size): a missing or truncated file marks the
 * date broken without running anything. A build that still fails for good (a file the engine cannot
 * read: corrupt Parquet, malformed JSONL, a schema it cannot cast) is split in halves, in date order,
 * until the failing dates stand alone; the others build. A broken date is recorded with the file and
 * the reason, is left out of later builds, and is retried on the next event of that date (a
 * redelivery, a redrive, a replay, a re-landed partition) or a redelivery of the event that found it.
 * A date found broken while building another date's event has no dead letter of its own: that event
 * is acknowledged (its date built) and a copy of it is dead-lettered with the broken dates' reason,
 * so `mlops dlq redrive` retries them once the file is fixed.
 */
import {
  PermanentError,
  classifyError,
  encodeMessage,
  errorCode,
  errorMessage,
  topicOf,
  type CloudEvent,
  type DeadLetterSink,
  type DocumentStore,
  type HandlerContext,
  type ObjectStore,
} from '@mlops/kernel';
import { TransformerErrors } from './errors.js';
import { recordBuilt, type BuiltEntry, type LandedEntry } from './ledger.js';

/** A run date to build, and from what (the handler's BuildableDate). */
export interface BuildableDate {
  readonly runDate: string;
  readonly inputsHash: string;
  readonly entries: readonly LandedEntry[];
}

/** Dates whose files are listed at once before a build. */
const CHECKS_AT_ONCE = 16;

/** A date that could not be built from its partitions, and why. */
export interface BrokenDate {
  readonly date: BuildableDate;
  /** What failed: the runner's error, or TRANSFORMER.BAD_PARTITION from the file check. */
  readonly error: unknown;
  /** The files the failure names (the date's files when it names none). */
  readonly files: string[];
}

/**
 * The first file of a date's partitions that is not in the lake as it landed (missing, or of
 * another size: truncated or rewritten), as a broken date; undefined when every file is there.
 * Partitions recorded without their files are not checked.
 */
export async function checkPartitions(
  objects: Pick<ObjectStore, 'list'>,
  date: BuildableDate,
): Promise<BrokenDate | undefined> {
  for (const entry of date.entries) {
    if (!entry.objects || entry.objects.length === 0) continue;
    const prefix = entry.objects[0]!.key.slice(0, entry.objects[0]!.key.lastIndexOf('/') + 1);
    const listed = new Map((await objects.list(prefix)).map((object) => [object.key, object.bytes]));
    for (const landed of entry.objects) {
      const bytes = listed.get(landed.key);
      if (bytes === landed.bytes) continue;
      const problem =
        bytes === undefined
          ? `missing from the lake (landed with ${landed.bytes} bytes)`
          : `${bytes} bytes in the lake, ${landed.bytes} when it landed (truncated or rewritten)`;
      return { date, error: TransformerErrors.badPartition(date.runDate, landed.key, problem), files: [landed.key] };
    }
  }
  return undefined;
}

/** The lake keys of a date's partitions that a runner's message names, else every file of the date. */
export function filesNamed(message: string, date: BuildableDate): string[] {
  const keys = date.entries.flatMap((entry) => (entry.objects ?? []).map((object) => object.key));
  const named = keys.filter((key) => message.includes(key));
  if (named.length > 0) return named;
  // A message may name a partition folder or a glob rather than the file.
  const folders = keys.filter((key) => message.includes(key.slice(0, key.lastIndexOf('/') + 1)));
  return folders.length > 0 ? folders : keys;
}

/**
 * Build dates in order with `build`; when a run fails for good, build its halves in order instead,
 * down to single dates. Resolves to the dates that failed alone. A transient failure is thrown (the
 * bus redelivers; dates already built are in the ledger).
 */
export async function buildIsolating<D extends BuildableDate>(
  dates: readonly D[],
  build: (dates: readonly D[]) => Promise<void>,
  onSplit: (dates: readonly D[], error: unknown) => void,
): Promise<BrokenDate[]> {
  try {
    await build(dates);
    return [];
  } catch (error) {
    if (classifyError(error) !== 'permanent') throw error;
    if (dates.length === 1) return [{ date: dates[0]!, error, files: filesNamed(errorMessage(error), dates[0]!) }];
    onSplit(dates, error);
    const middle = Math.ceil(dates.length / 2);
    const left = await buildIsolating(dates.slice(0, middle), build, onSplit);
    const right = await buildIsolating(dates.slice(middle), build, onSplit);
    return [...left, ...right];
  }
}

/** The ledger entry of a broken date. */
export function brokenEntry(broken: BrokenDate, causeEventId: string): BuiltEntry {
  return {
    runDate: broken.date.runDate,
    inputsHash: broken.date.inputsHash,
    status: 'broken',
    code: errorCode(broken.error),
    reason: errorMessage(broken.error).slice(0, 2000),
    files: broken.files,
    causeEventId,
  };
}

/** The error to throw for the handled event's own broken date: the runner's, or the file check's. */
export function brokenError(broken: BrokenDate): Error {
  return broken.error instanceof Error
    ? broken.error
    : new PermanentError('TRANSFORMER.BAD_PARTITION', errorMessage(broken.error));
}

/**
 * Build dates whose files are all there as landed, isolating any date whose partition the run cannot
 * read; record each broken date and announce it (`stage.failed`), except the handled event's own
 * date, whose error the caller throws. Resolves to the broken dates.
 */
export async function buildChecked<D extends BuildableDate>(
  deps: {
    readonly documents: DocumentStore;
    readonly ledgerCollection: string;
    readonly objects?: Pick<ObjectStore, 'list'>;
  },
  event: CloudEvent<'mlops.bronze.landed.v1'>,
  context: HandlerContext,
  dates: readonly D[],
  build: (dates: readonly D[]) => Promise<void>,
): Promise<BrokenDate[]> {
  const broken: BrokenDate[] = [];
  const readable: D[] = [];
  // Listings of a few dates at a time (a backlog of months is hundreds of listings on GCS).
  for (let start = 0; start < dates.length; start += CHECKS_AT_ONCE) {
    const slice = dates.slice(start, start + CHECKS_AT_ONCE);
    const objects = deps.objects;
    const problems = objects
      ? await Promise.all(slice.map((date) => checkPartitions(objects, date)))
      : slice.map(() => undefined);
    slice.forEach((date, index) => {
      const problem = problems[index];
      if (problem) broken.push(problem);
      else readable.push(date);
    });
  }
  if (readable.length > 0)
    broken.push(
      ...(await buildIsolating(readable, build, (part, error) =>
        context.log.warning(`a run of ${part.length} dates failed; building its halves to isolate the bad date`, {
          first: part[0]!.runDate,
          last: part.at(-1)!.runDate,
          error: errorMessage(error).slice(0, 500),
        }),
      )),
    );
  broken.sort((a, b) => a.date.runDate.localeCompare(b.date.runDate));
  if (broken.length === 0) return broken;
  await recordBuilt(
    deps.documents,
    deps.ledgerCollection,
    broken.map((entry) => brokenEntry(entry, event.id)),
  );
  for (const entry of broken) {
    const recorded = brokenEntry(entry, event.id);
    context.log.error(`${recorded.runDate} is not built: ${recorded.reason}`, {
      code: recorded.code,
      runDate: recorded.runDate,
      files: recorded.files,
    });
    if (entry.date.runDate === event.data.runDate) continue;
    await context.emit(
      'mlops.stage.failed.v1',
      {
        stage: 'transformer',
        code: recorded.code!,
        reason: recorded.reason!,
        runDates: [recorded.runDate],
        causeEventId: event.id,
        details: { files: recorded.files! },
      },
      { subject: `transformer/${recorded.runDate}`, rundate: recorded.runDate },
    );
  }
  return broken;
}

/**
 * Dead-letter a copy of the (acknowledged) event that found other dates broken: its redrive is a
 * redelivery of that event, which retries every date it found broken (their `causeEventId`).
 */
export async function deadLetterFinder(
  sink: DeadLetterSink,
  event: CloudEvent<'mlops.bronze.landed.v1'>,
  context: HandlerContext,
  broken: readonly BrokenDate[],
): Promise<void> {
  const first = brokenEntry(broken[0]!, event.id);
  const dates = broken.map((entry) => entry.date.runDate);
  const files = [...new Set(broken.flatMap((entry) => entry.files))];
  await sink.deadLetter(encodeMessage(event), {
    subscription: context.delivery.subscription,
    topic: topicOf(event.type),
    code: first.code!,
    reason:
      `${dates.join(', ')} not built while building ${event.data.runDate} (${files.join(', ')}): ${first.reason}; this event was handled, redrive it once the file is fixed to rebuild ${dates.length === 1 ? 'that date' : 'those dates'}`.slice(
        0,
        2000,
      ),
    attempts: context.delivery.attempt,
  });
  context.log.warning(`dead-lettered a copy of the event, to redrive once ${dates.join(', ')} can be read`, {
    runDates: dates,
    files,
  });
}
