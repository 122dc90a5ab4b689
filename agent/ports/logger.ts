/**
 * Structured logging. Fields carry identifiers and counts only: the agent never logs keys, readings or names.
 */
export type LogFields = Record<string, string | number | boolean | undefined>;

export interface LoggerPort {
  debug(message: string, fields?: LogFields): void;
  info(message: string, fields?: LogFields): void;
  warn(message: string, fields?: LogFields): void;
  error(message: string, fields?: LogFields): void;
}
