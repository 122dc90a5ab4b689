import type { LogFields, LoggerPort } from '../../ports/logger.js';

export type LogLevel = 'debug' | 'info' | 'warn' | 'error';

export interface LogEntry {
  level: LogLevel;
  message: string;
  fields: LogFields;
}

/** A logger that keeps every entry, so tests can assert what was (and was not) logged. */
export interface MemoryLogger extends LoggerPort {
  readonly entries: LogEntry[];
  /** Entries at `level`, optionally only those whose message contains `text`. */
  find(level: LogLevel, text?: string): LogEntry[];
  clear(): void;
}

const LEVEL_RANK: Record<LogLevel, number> = { debug: 10, info: 20, warn: 30, error: 40 };

export function isLogLevel(value: unknown): value is LogLevel {
  return typeof value === 'string' && Object.prototype.hasOwnProperty.call(LEVEL_RANK, value);
}

/** True when an entry at `level` passes a logger configured at `threshold`. */
export function levelEnabled(level: LogLevel, threshold: LogLevel): boolean {
  return LEVEL_RANK[level] >= LEVEL_RANK[threshold];
}

export function memoryLogger(): MemoryLogger {
  const entries: LogEntry[] = [];
  const log = (level: LogLevel) => (message: string, fields?: LogFields) => {
    entries.push({ level, message, fields: { ...fields } });
  };
  return {
    entries,
    debug: log('debug'),
    info: log('info'),
    warn: log('warn'),
    error: log('error'),
    find: (level, text) => entries.filter((e) => e.level === level && (text === undefined || e.message.includes(text))),
    clear: () => {
      entries.length = 0;
    },
  };
}

interface ConsoleLike {
  log(...args: unknown[]): void;
  warn?(...args: unknown[]): void;
  error?(...args: unknown[]): void;
}

/**
 * A logger for any runtime: writes through `globalThis.console` when the host has one and is silent when it
 * does not (some embedded engines have no console at all). One line per event.
 */
export function consoleLogger(level: LogLevel = 'info'): LoggerPort {
  const write = (entryLevel: LogLevel) => (message: string, fields?: LogFields) => {
    if (!levelEnabled(entryLevel, level)) return;
    const target = (globalThis as { console?: ConsoleLike }).console;
    if (target === undefined) return;
    const line = formatLine(entryLevel, message, fields);
    const method = entryLevel === 'error' ? target.error : entryLevel === 'warn' ? target.warn : undefined;
    (method ?? target.log).call(target, line);
  };
  return { debug: write('debug'), info: write('info'), warn: write('warn'), error: write('error') };
}

/** `level message key=value ...`; values that contain spaces or quotes are JSON-quoted. */
export function formatLine(level: LogLevel, message: string, fields?: LogFields): string {
  let line = `${level} ${message}`;
  for (const [key, value] of Object.entries(fields ?? {})) {
    if (value === undefined) continue;
    const text = String(value);
    line += ` ${key}=${/[\s"=]/.test(text) || text === '' ? JSON.stringify(text) : text}`;
  }
  return line;
}
