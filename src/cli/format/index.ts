/**
 * Output as docker's CLI prints it: --format (table, json, Go templates) over rows, Go's
 * tabwriter alignment, and go-units' human sizes, durations and times.
 */
export { formatter, indentJson, prepareFormat, render, sortedKeys, templateErrorMessage } from './format.js';
export { tabulate, type TabOptions } from './table.js';
export { ago, bytesSize, ellipsis, formatG, goTime, humanSize, rfc3339 } from './human.js';
export { displayablePorts, joinHostPort, naturalCompare, portLines } from './ports.js';
