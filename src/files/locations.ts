// Where each value of a parsed document sits in its file, keyed by JSON pointer.

export interface Position {
  line: number;
  column: number;
}

export interface Location extends Position {
  file: string;
}

export interface Locations {
  /** Position of the value at a pointer (`/task/command/1`). */
  values: Map<string, Location>;
  /** Position of the key that names an object member. */
  keys: Map<string, Location>;
}

export function emptyLocations(): Locations {
  return { values: new Map(), keys: new Map() };
}

export function pointer(path: readonly (string | number)[]): string {
  return path.map((p) => '/' + String(p).replaceAll('~', '~0').replaceAll('/', '~1')).join('');
}

/** The location of the value at `path`, or of its nearest ancestor that has one. */
export function locate(locations: Locations, path: readonly (string | number)[], preferKey = false): Location | undefined {
  for (let n = path.length; n >= 0; n--) {
    const p = pointer(path.slice(0, n));
    const found = (preferKey && n === path.length && locations.keys.get(p)) || locations.values.get(p);
    if (found) return found;
  }
  return undefined;
}

/** Offsets → 1-based line and column, counting \n, \r\n, \r, U+2028 and U+2029 as line ends. */
export function positionAt(text: string, offset: number): Position {
  let line = 1;
  let lineStart = 0;
  for (let i = 0; i < offset && i < text.length; i++) {
    const c = text.charCodeAt(i);
    if (c === 10 || c === 0x2028 || c === 0x2029 || (c === 13 && text.charCodeAt(i + 1) !== 10)) {
      line++;
      lineStart = i + 1;
    }
  }
  return { line, column: offset - lineStart + 1 };
}
