// JSON-lines logs: one JSON object per line, appended and flushed as it happens, so a
// crashed or interrupted run keeps every line written so far and tools can stream it.
// Non-finite numbers, which JSON cannot hold, are written as the strings "NaN",
// "Infinity" and "-Infinity" rather than silently as null.

import { appendFileSync, mkdirSync } from 'node:fs';
import { dirname } from 'node:path';

export function toJsonLine(record: Record<string, unknown>): string {
  return JSON.stringify(record, (_key, value: unknown) => (typeof value === 'number' && !Number.isFinite(value) ? String(value) : value)) + '\n';
}

export class JsonlLogger {
  constructor(readonly path: string) {
    mkdirSync(dirname(path), { recursive: true });
  }

  log(record: Record<string, unknown>): void {
    appendFileSync(this.path, toJsonLine(record));
  }
}
