import { parseLogTime, type LogEntry } from '../runtime/index.js';

/**
 * One line of a container's log as `ContainerService.logs` yields it. `time` is the log file's
 * own stamp, left as it is: turning it into Docker's form costs more than the rest of the line,
 * so it is done only when a client asks for timestamps (`dockerLogTime`).
 */
export type LogLine = LogEntry;

/** A log line's time as Docker prints it: fixed-width RFC 3339 in UTC with nanoseconds. */
export function dockerLogTime(entry: LogLine): string {
  return parseLogTime(entry.time).nano;
}
