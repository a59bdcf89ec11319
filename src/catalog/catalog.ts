// The catalog: per job file, its last good definition and its current errors; ids resolved across
// files (the file that claimed an id first keeps it). Pure: the reloader feeds it load results.

import { ERROR_CODES, type FileError } from '../definitions/errors.ts';
import type { LoadResult } from '../definitions/load.ts';
import type { JobDefinition } from '../definitions/types.ts';
import type { Location } from '../files/locations.ts';

export interface CatalogChange {
  kind: 'added' | 'changed' | 'removed';
  id: string;
  definition?: JobDefinition;
  previous?: JobDefinition;
}

interface FileEntry {
  /** The last good definition: it keeps running while the file is in error. */
  definition?: JobDefinition;
  idAt?: Location;
  errors: FileError[];
}

export interface FileStatus {
  file: string;
  id?: string;
  ok: boolean;
  errors: FileError[];
  runningHash?: string;
}

export class Catalog {
  /** In the order files were first seen: that order decides who keeps a duplicate id. */
  private readonly files = new Map<string, FileEntry>();
  private owners = new Map<string, { file: string; definition: JobDefinition }>();
  private duplicates = new Map<string, FileError>();

  apply(updates: readonly { file: string; result: LoadResult | 'gone' }[]): CatalogChange[] {
    const before = this.owners;
    for (const { file, result } of updates) {
      if (result === 'gone') this.files.delete(file);
      else if (result.ok) this.files.set(file, { definition: result.definition, ...(result.idAt ? { idAt: result.idAt } : {}), errors: [] });
      else this.files.set(file, { ...this.files.get(file), errors: result.errors });
    }
    this.resolveOwners();
    const changes: CatalogChange[] = [];
    for (const [id, { definition }] of this.owners) {
      const previous = before.get(id)?.definition;
      if (!previous) changes.push({ kind: 'added', id, definition });
      else if (previous.hash !== definition.hash) changes.push({ kind: 'changed', id, definition, previous });
    }
    for (const [id, { definition }] of before) if (!this.owners.has(id)) changes.push({ kind: 'removed', id, previous: definition });
    return changes;
  }

  definitions(): JobDefinition[] {
    return [...this.owners.values()].map((o) => o.definition);
  }

  get(id: string): JobDefinition | undefined {
    return this.owners.get(id)?.definition;
  }

  fileErrors(): FileError[] {
    return [...this.files.keys()].flatMap((file) => this.errorsOf(file));
  }

  fileStatuses(): FileStatus[] {
    return [...this.files].map(([file, entry]) => {
      const errors = this.errorsOf(file);
      return {
        file,
        ...(entry.definition ? { id: entry.definition.id } : {}),
        ok: errors.length === 0,
        errors,
        ...(entry.definition && this.owners.get(entry.definition.id)?.file === file ? { runningHash: entry.definition.hash } : {}),
      };
    });
  }

  private errorsOf(file: string): FileError[] {
    const entry = this.files.get(file);
    const duplicate = this.duplicates.get(file);
    return [...(entry?.errors ?? []), ...(duplicate ? [duplicate] : [])];
  }

  private resolveOwners(): void {
    const owners = new Map<string, { file: string; definition: JobDefinition }>();
    const duplicates = new Map<string, FileError>();
    for (const [file, entry] of this.files) {
      const def = entry.definition;
      if (!def) continue;
      const owner = owners.get(def.id);
      if (!owner) {
        owners.set(def.id, { file, definition: def });
        continue;
      }
      duplicates.set(file, {
        code: ERROR_CODES.duplicateId,
        file,
        ...(entry.idAt ? { line: entry.idAt.line, column: entry.idAt.column } : {}),
        field: 'id',
        message: `"${def.id}" is already the id of ${owner.file}: set a different id in one of the two files`,
      });
    }
    this.owners = owners;
    this.duplicates = duplicates;
  }
}
