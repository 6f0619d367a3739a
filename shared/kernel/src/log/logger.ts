import { parseTraceparent } from '../events/cloud-event.js';

/** Log levels, named as Cloud Logging's severities. */
export type LogLevel = 'debug' | 'info' | 'warning' | 'error';

const SEVERITY: Record<LogLevel, string> = { debug: 'DEBUG', info: 'INFO', warning: 'WARNING', error: 'ERROR' };
const RANK: Record<LogLevel, number> = { debug: 10, info: 20, warning: 30, error: 40 };

/** Structured fields of a log line; never payloads or PII at info level. */
export type LogFields = Record<string, unknown>;

/** A JSON-lines logger that Cloud Logging parses (severity, message, trace). */
export interface Logger {
  debug(message: string, fields?: LogFields): void;
  info(message: string, fields?: LogFields): void;
  warning(message: string, fields?: LogFields): void;
  error(message: string, fields?: LogFields): void;
  /** A logger whose lines all carry these fields (service, eventId, runId, traceparent, ...). */
  child(fields: LogFields): Logger;
}

/** Where log lines go. */
export type LogSink = (line: string) => void;

/** Options of {@link createLogger}. */
export interface LoggerOptions {
  level?: LogLevel;
  sink?: LogSink;
  /** Google Cloud project, used to write the trace field as Cloud Logging expects it. */
  projectId?: string;
  fields?: LogFields;
}

/**
 * Create a JSON-lines logger. A `traceparent` field becomes Cloud Logging's
 * `logging.googleapis.com/trace` and `spanId`, so a run's lines group under one trace.
 */
export function createLogger(options: LoggerOptions = {}): Logger {
  const minimum = RANK[options.level ?? 'info'];
  const sink = options.sink ?? ((line: string) => process.stdout.write(line + '\n'));
  const base = options.fields ?? {};

  const write = (level: LogLevel, message: string, fields: LogFields | undefined) => {
    if (RANK[level] < minimum) return;
    const merged: LogFields = { ...base, ...fields };
    const entry: LogFields = { severity: SEVERITY[level], message, time: new Date().toISOString() };
    for (const [key, value] of Object.entries(merged)) {
      if (key === 'traceparent' && typeof value === 'string') {
        const trace = parseTraceparent(value);
        if (trace) {
          entry['logging.googleapis.com/trace'] = options.projectId
            ? `projects/${options.projectId}/traces/${trace.traceId}`
            : trace.traceId;
          entry['logging.googleapis.com/spanId'] = trace.spanId;
          entry['logging.googleapis.com/trace_sampled'] = trace.sampled;
        }
        continue;
      }
      if (value instanceof Error)
        entry[key] = { name: value.name, message: value.message, code: (value as { code?: unknown }).code };
      else if (value !== undefined) entry[key] = value;
    }
    sink(JSON.stringify(entry));
  };

  return {
    debug: (message, fields) => write('debug', message, fields),
    info: (message, fields) => write('info', message, fields),
    warning: (message, fields) => write('warning', message, fields),
    error: (message, fields) => write('error', message, fields),
    child: (fields) => createLogger({ ...options, fields: { ...base, ...fields } }),
  };
}

/** A logger that drops everything (for tests that assert on effects, not logs). */
export const silentLogger: Logger = createLogger({ sink: () => undefined, level: 'error' });
