// JSON-lines logs: one JSON object per line, appended and flushed as it happens, so a
// crashed or interrupted run keeps every line written so far and tools can stream it.
// Non-finite numbers, which JSON cannot hold, are written as the strings "NaN",
// "Infinity" and "-Infinity" rather than silently as null.

import { appendFileSync, existsSync, mkdirSync, readFileSync } from 'node:fs';
import { dirname } from 'node:path';
import { writeFileAtomic } from './atomic-write.js';

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

  /**
   * Keeps only the lines whose record passes `keep`, so that a resumed run, which redoes
   * the iterations after its checkpoint, does not log them twice. A line that is not JSON
   * (torn by a crash mid-write) is dropped as well.
   */
  truncate(keep: (record: Record<string, unknown>) => boolean): void {
    if (!existsSync(this.path)) return;
    const kept = readFileSync(this.path, 'utf8')
      .split('\n')
      .filter((line) => {
        if (line.trim() === '') return false;
        try {
          return keep(JSON.parse(line) as Record<string, unknown>);
        } catch {
          return false;
        }
      });
    writeFileAtomic(this.path, kept.map((line) => line + '\n').join(''));
  }
}
