import { Command, CommanderError, Option } from 'commander';
import {
  isIsoDate,
  isTopic,
  runDateBoundsFrom,
  runDateOutOfBounds,
  topics,
  type Environment,
  type RunDateBounds,
  type Topic,
} from '@mlops/kernel';
import { CliErrors, UsageError } from './errors.js';
import { utcDateBefore } from './start-events.js';

/** A parsed command line: what to do, with validated options. */
export type CliCommand =
  | {
      name: 'start';
      days: number;
      scale: number | undefined;
      serve: boolean;
      port: number | undefined;
      fresh: boolean;
      until: string | undefined;
      /** Seconds to wait for the runs; undefined: derived from days x scale (`startTimeoutS`). */
      timeoutS: number | undefined;
    }
  | {
      name: 'run';
      date: string;
      scale: number | undefined;
      seed: number | undefined;
      retrain: boolean;
      attach: boolean;
      timeoutS: number;
    }
  | {
      name: 'backfill';
      from: string;
      to: string;
      scale: number | undefined;
      seed: number | undefined;
      attach: boolean;
      timeoutS: number;
    }
  | {
      name: 'replay';
      topics: Topic[];
      since: Date;
      subscription: string | undefined;
      attach: boolean;
      timeoutS: number;
    }
  | { name: 'status'; limit: number; json: boolean }
  | { name: 'models'; json: boolean }
  | {
      name: 'dlq';
      action: 'list' | 'redrive' | 'relay';
      ids: string[];
      subscription: string | undefined;
      limit: number;
      json: boolean;
    }
  | { name: 'serve'; port: number | undefined; host: string | undefined }
  | { name: 'stack'; action: 'up'; emulators: boolean }
  | { name: 'schedule'; at: string; once: boolean; date: string | undefined }
  | { name: 'help'; text: string };

function date(flag: string) {
  return (value: string) => {
    if (!isIsoDate(value)) throw CliErrors.badDate(flag, value);
    return value;
  };
}

function integer(flag: string, min: number, max: number) {
  return (value: string) => {
    const n = Number(value);
    if (!Number.isInteger(n) || n < min || n > max)
      throw CliErrors.badNumber(flag, value, `a whole number from ${min} to ${max}`);
    return n;
  };
}

function positive(flag: string, max: number) {
  return (value: string) => {
    const n = Number(value);
    if (!Number.isFinite(n) || n <= 0 || n > max)
      throw CliErrors.badNumber(flag, value, `a number above 0 and at most ${max}`);
    return n;
  };
}

/** `2026-03-01T00:00:00Z`, `2026-03-01`, or a duration back from now: `90m`, `2h`, `3d`. */
export function parseSince(value: string, now: Date = new Date()): Date {
  const duration = /^(\d+)(s|m|h|d)$/.exec(value);
  if (duration) {
    const unit = { s: 1_000, m: 60_000, h: 3_600_000, d: 86_400_000 }[duration[2] as 's' | 'm' | 'h' | 'd'];
    return new Date(now.getTime() - Number(duration[1]) * unit);
  }
  if (isIsoDate(value)) return new Date(`${value}T00:00:00Z`);
  if (
    /^\d{4}-\d{2}-\d{2}T\d{2}:\d{2}(:\d{2}(\.\d+)?)?(Z|[+-]\d{2}:\d{2})$/.test(value) &&
    !Number.isNaN(Date.parse(value))
  )
    return new Date(value);
  throw CliErrors.badTime('--since', value);
}

/**
 * Refuse a command whose run dates are out of the accepted range (after tomorrow, UTC, unless
 * MLOPS_ALLOW_FUTURE_DATES; before MLOPS_EARLIEST_RUN_DATE), naming the flag.
 */
function checkRunDates(command: CliCommand, bounds: RunDateBounds, now: Date): void {
  const check = (flag: string, runDate: string) => {
    const reason = runDateOutOfBounds(runDate, bounds, now);
    if (reason) throw CliErrors.runDateOutOfRange(flag, reason);
  };
  switch (command.name) {
    case 'run':
      return check('--date', command.date);
    case 'backfill':
      check('--from', command.from);
      return check('--to', command.to);
    case 'schedule':
      if (command.date !== undefined) check('--date', command.date);
      return;
    case 'start': {
      const until = command.until ?? utcDateBefore(now, 1);
      check('--until', until);
      const from = utcDateBefore(new Date(`${until}T00:00:00Z`), command.days - 1);
      return check(`--days ${command.days}`, from);
    }
    default:
      return;
  }
}

/** The program's description, shared by `--help` and the README. */
export const DESCRIPTION = 'Event-driven medallion pipeline and MLOps loop: run, backfill, replay and inspect it.';

/**
 * Parse a command line (without `node` and the script) into a command. Pure: takes its own argv,
 * environment and clock, so tests pass theirs. Throws {@link UsageError} on anything invalid, a
 * ConfigError when the run-date settings are unusable.
 */
export function parseCli(argv: readonly string[], env: Environment = {}, now: Date = new Date()): CliCommand {
  let result: CliCommand | undefined;
  let helpText = '';
  const program = new Command('mlops')
    .description(DESCRIPTION)
    .exitOverride()
    .configureOutput({ writeOut: (text) => (helpText += text), writeErr: (text) => (helpText += text) })
    .showSuggestionAfterError(true)
    .addHelpText(
      'after',
      `\nMode and state come from the environment: MLOPS_MODE=${env.MLOPS_MODE ?? 'local'} (local|emulator|gcp), MLOPS_HOME=${env.MLOPS_HOME ?? '.mlops'}.\nSee README.md for every setting.`,
    );

  program
    .command('start')
    .description(
      'run the whole pipeline on the embedded defaults for the last N days, print a report, then serve the dashboard',
    )
    .addOption(new Option('--days <n>', 'days of history to run').argParser(integer('--days', 1, 3650)).default(120))
    .addOption(new Option('--until <date>', 'last run date (default: yesterday, UTC)').argParser(date('--until')))
    .addOption(
      new Option('--scale <n>', 'volume multiplier (default: MLOPS_SCALE or 1)').argParser(positive('--scale', 1000)),
    )
    .option('--no-serve', 'exit after the report instead of serving the dashboard')
    .addOption(new Option('--port <n>', 'dashboard port').argParser(integer('--port', 0, 65535)))
    .option('--fresh', 'delete the local state folder first', false)
    .addOption(
      new Option(
        '--timeout <seconds>',
        'give up waiting for the runs after this long (default: from --days x --scale)',
      ).argParser(integer('--timeout', 1, 604800)),
    )
    .action(
      (o: {
        days: number;
        scale?: number;
        serve: boolean;
        port?: number;
        fresh: boolean;
        until?: string;
        timeout?: number;
      }) => {
        result = {
          name: 'start',
          days: o.days,
          scale: o.scale,
          serve: o.serve,
          port: o.port,
          fresh: o.fresh,
          until: o.until,
          timeoutS: o.timeout,
        };
      },
    );

  program
    .command('run')
    .description('run the chain for one date and print what it produced')
    .requiredOption('--date <date>', 'run date, YYYY-MM-DD', date('--date'))
    .addOption(new Option('--scale <n>', 'volume multiplier').argParser(positive('--scale', 1000)))
    .addOption(new Option('--seed <n>', 'generator seed').argParser(integer('--seed', 0, 4294967295)))
    .option('--retrain', 'train a challenger after this run whatever the retraining policy says', false)
    .option('--attach', 'only publish and watch: services run elsewhere (mlops stack up, Cloud Run)', false)
    .addOption(
      new Option('--timeout <seconds>', 'give up waiting after this long')
        .argParser(integer('--timeout', 1, 86400))
        .default(600),
    )
    .action(
      (o: { date: string; scale?: number; seed?: number; retrain: boolean; attach: boolean; timeout: number }) => {
        result = {
          name: 'run',
          date: o.date,
          scale: o.scale,
          seed: o.seed,
          retrain: o.retrain,
          attach: o.attach,
          timeoutS: o.timeout,
        };
      },
    );

  program
    .command('backfill')
    .description('publish one start event per date, marked as a backfill, and show stages completing')
    .requiredOption('--from <date>', 'first run date', date('--from'))
    .requiredOption('--to <date>', 'last run date', date('--to'))
    .addOption(new Option('--scale <n>', 'volume multiplier').argParser(positive('--scale', 1000)))
    .addOption(new Option('--seed <n>', 'generator seed').argParser(integer('--seed', 0, 4294967295)))
    .option('--attach', 'only publish and watch: services run elsewhere', false)
    .addOption(
      new Option('--timeout <seconds>', 'give up waiting after this long')
        .argParser(integer('--timeout', 1, 86400))
        .default(3600),
    )
    .action((o: { from: string; to: string; scale?: number; seed?: number; attach: boolean; timeout: number }) => {
      if (o.from > o.to) throw CliErrors.badRange(o.from, o.to);
      result = {
        name: 'backfill',
        from: o.from,
        to: o.to,
        scale: o.scale,
        seed: o.seed,
        attach: o.attach,
        timeoutS: o.timeout,
      };
    });

  program
    .command('replay')
    .description('deliver again every event published on a topic since a time (a backfill from the bus)')
    .requiredOption('--topic <topic...>', `one or more of ${topics.join(', ')}, or "all"`)
    .requiredOption('--since <time>', 'ISO time, date, or a duration back from now (90m, 2h, 3d)')
    .option('--subscription <name>', 'only this subscription (default: every subscription of the topic)')
    .option('--attach', 'only schedule the redeliveries: services run elsewhere', false)
    .addOption(
      new Option('--timeout <seconds>', 'give up waiting after this long')
        .argParser(integer('--timeout', 1, 86400))
        .default(3600),
    )
    .action((o: { topic: string[]; since: string; subscription?: string; attach: boolean; timeout: number }) => {
      const chosen = o.topic.includes('all') ? topics.filter((topic) => topic !== 'dead-letter') : o.topic;
      for (const topic of chosen) if (!isTopic(topic)) throw CliErrors.badTopic(topic, topics);
      result = {
        name: 'replay',
        topics: chosen as Topic[],
        since: parseSince(o.since),
        subscription: o.subscription,
        attach: o.attach,
        timeoutS: o.timeout,
      };
    });

  program
    .command('status')
    .description('runs, their stages and timings, subscriptions and dead letters')
    .addOption(new Option('--limit <n>', 'runs to show').argParser(integer('--limit', 1, 10000)).default(20))
    .option('--json', 'print JSON', false)
    .action((o: { limit: number; json: boolean }) => {
      result = { name: 'status', limit: o.limit, json: o.json };
    });

  program
    .command('models')
    .description('model versions, their metrics, and the champion')
    .option('--json', 'print JSON', false)
    .action((o: { json: boolean }) => {
      result = { name: 'models', json: o.json };
    });

  const dlq = program.command('dlq').description('dead letters: list them, or redrive them after a fix');
  dlq
    .command('list')
    .description('list dead letters, newest first')
    .option('--subscription <name>', 'only this subscription')
    .addOption(new Option('--limit <n>', 'how many').argParser(integer('--limit', 1, 10000)).default(50))
    .option('--json', 'print JSON', false)
    .action((o: { subscription?: string; limit: number; json: boolean }) => {
      result = { name: 'dlq', action: 'list', ids: [], subscription: o.subscription, limit: o.limit, json: o.json };
    });
  dlq
    .command('redrive')
    .description('put dead letters back on their subscription')
    .option('--id <id...>', 'only these dead letters (default: all)')
    .option('--subscription <name>', 'only this subscription')
    .action((o: { id?: string[]; subscription?: string }) => {
      result = { name: 'dlq', action: 'redrive', ids: o.id ?? [], subscription: o.subscription, limit: 0, json: false };
    });

  dlq
    .command('relay')
    .description(
      'the dead-letters service (gcp): receive Pub/Sub dead letters from Eventarc on PORT, announce each as stage.failed',
    )
    .action(() => {
      result = { name: 'dlq', action: 'relay', ids: [], subscription: undefined, limit: 0, json: false };
    });

  program
    .command('serve')
    .description('serve the dashboard (historical, predictive and operations views)')
    .addOption(
      new Option('--port <n>', 'port (default: MLOPS_DASHBOARD_PORT or 8080)').argParser(integer('--port', 0, 65535)),
    )
    .option('--host <address>', 'address to bind (default 127.0.0.1; others need MLOPS_DASHBOARD_ALLOW_REMOTE=true)')
    .action((o: { port?: number; host?: string }) => {
      result = { name: 'serve', port: o.port, host: o.host };
    });

  const stack = program
    .command('stack')
    .description('the docker-compose topology as plain processes: emulators and every service');
  stack
    .command('up')
    .description(
      'start the Pub/Sub and Firestore emulators (unless --no-emulators) and every service as its own process; Ctrl-C stops them',
    )
    .option('--no-emulators', 'use the embedded bus and document store instead of the emulators')
    .action((o: { emulators: boolean }) => {
      result = { name: 'stack', action: 'up', emulators: o.emulators };
    });

  program
    .command('schedule')
    .description('the scheduler: publish pipeline.started for the previous day (UTC) every day at a time, or once')
    .addOption(
      new Option('--at <HH:MM>', 'time of day, UTC').default('02:00').argParser((value: string) => {
        if (!/^([01]\d|2[0-3]):[0-5]\d$/.test(value)) throw CliErrors.badTime('--at', value);
        return value;
      }),
    )
    .option('--once', 'publish now and exit (what the Cloud Run job does)', false)
    .addOption(
      new Option('--date <date>', 'with --once: the run date (default: yesterday, UTC)').argParser(date('--date')),
    )
    .action((o: { at: string; once: boolean; date?: string }) => {
      result = { name: 'schedule', at: o.at, once: o.once, date: o.date };
    });

  try {
    program.parse([...argv], { from: 'user' });
  } catch (error) {
    if (error instanceof CommanderError) {
      if (
        error.code === 'commander.helpDisplayed' ||
        error.code === 'commander.help' ||
        error.code === 'commander.version'
      )
        return { name: 'help', text: helpText };
      throw new UsageError(error.message.replace(/^error: /, ''));
    }
    throw error;
  }
  if (!result) return { name: 'help', text: program.helpInformation() };
  checkRunDates(result, runDateBoundsFrom(env), now);
  return result;
}
