// Small readers for normalising fields: each returns the value or records a located problem.

import { parseDuration } from './duration.ts';
import { DefinitionError, ERROR_CODES } from './errors.ts';

export type Path = (string | number)[];

export class Problems {
  readonly list: DefinitionError[] = [];
  add(code: DefinitionError['code'], path: Path, message: string): void {
    this.list.push(new DefinitionError(code, path, message));
  }
  /** Runs `fn`, recording a thrown DefinitionError instead of propagating it. */
  attempt<T>(fn: () => T): T | undefined {
    try {
      return fn();
    } catch (error) {
      if (error instanceof DefinitionError) {
        this.list.push(error);
        return undefined;
      }
      throw error;
    }
  }
}

export function duration(problems: Problems, value: unknown, path: Path, fallbackMs: number, options: { min?: number } = {}): number {
  if (value === undefined) return fallbackMs;
  const ms = parseDuration(value);
  if (typeof ms !== 'number') {
    problems.add(ERROR_CODES.duration, path, ms.error);
    return fallbackMs;
  }
  if (options.min !== undefined && ms < options.min) {
    problems.add(ERROR_CODES.duration, path, `must be at least ${options.min >= 1000 ? `${options.min / 1000}s` : `${options.min}ms`}`);
    return fallbackMs;
  }
  return ms;
}

export function url(problems: Problems, value: string, path: Path): string {
  try {
    const parsed = new URL(value);
    if (parsed.protocol !== 'http:' && parsed.protocol !== 'https:') throw new Error('not http');
  } catch {
    problems.add(ERROR_CODES.schema, path, `"${value}" is not an http:// or https:// URL`);
  }
  return value;
}
