import { formatLine, levelEnabled } from '../memory/logger.js';
import type { LogLevel } from '../memory/logger.js';
import type { LogFields, LoggerPort } from '../../ports/logger.js';

export interface NodeLoggerOptions {
  level?: LogLevel;
  /** One JSON object per line instead of `level message key=value`. */
  json?: boolean;
  /** Where lines go; stderr by default so stdout stays free for program output. */
  write?: (line: string) => void;
  /** Timestamp source for JSON lines; injectable so tests can pin it. */
  now?: () => number;
}

export function nodeLogger(options: NodeLoggerOptions = {}): LoggerPort {
  const threshold = options.level ?? 'info';
  const write = options.write ?? ((line: string) => void process.stderr.write(`${line}\n`));
  const now = options.now ?? Date.now;
  const emit = (level: LogLevel) => (message: string, fields?: LogFields) => {
    if (!levelEnabled(level, threshold)) return;
    if (options.json === true) {
      write(JSON.stringify({ time: new Date(now()).toISOString(), level, message, fields: fields ?? {} }));
    } else {
      write(formatLine(level, message, fields));
    }
  };
  return { debug: emit('debug'), info: emit('info'), warn: emit('warn'), error: emit('error') };
}
