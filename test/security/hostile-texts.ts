// Hostile job files, as texts: each was reproduced against the loader in issue 18.
const TASK = 'task: { type: command, command: ["true"] }\n';

/** Nine levels of ten aliases each: a billion strings if expanded. */
export function aliasBomb(): string {
  const lines = ['a0: &a0 ["x","x","x","x","x","x","x","x","x","x"]'];
  for (let i = 1; i < 9; i++) lines.push(`a${i}: &a${i} [${Array(10).fill(`*a${i - 1}`).join(',')}]`);
  return `${lines.join('\n')}\nschedule: "@daily"\n${TASK}`;
}

/** Merge keys doubling at every level. */
export function mergeBomb(): string {
  const lines = ['x0: &x0 {k: 1}'];
  for (let i = 1; i < 30; i++) lines.push(`x${i}: &x${i} { <<: [*x${i - 1}, *x${i - 1}], k${i}: 1 }`);
  return `${lines.join('\n')}\nschedule: "@daily"\n${TASK}`;
}

export function deepJson(depth = 100_000): string {
  return `{"schedule":"@daily","task":{"type":"command","command":["true"]},"x":${'['.repeat(depth)}${']'.repeat(depth)}}`;
}

export function deepJson5(depth = 100_000): string {
  return `{schedule:"@daily",task:{type:"command",command:["true"]},x:${'['.repeat(depth)}${']'.repeat(depth)}}`;
}

export function deepYaml(depth = 100_000): string {
  return `schedule: "@daily"\n${TASK}x: ${'['.repeat(depth)}${']'.repeat(depth)}\n`;
}

export function manyKeysYaml(keys = 25_000): string {
  return `schedule: "@daily"\n${TASK}${Array.from({ length: keys }, (_, i) => `k${i}: ${i}\n`).join('')}`;
}

export function manyKeysJson5(keys = 100_000): string {
  return `{schedule:"@daily",task:{type:"command",command:["true"]},${Array.from({ length: keys }, (_, i) => `k${i}: ${i}`).join(',')}}`;
}

export const GOOD = `schedule: "@daily"\n${TASK}`;

/** An anchor whose value holds an alias of itself: a cyclic value (found by test/security/fuzz-load.test.ts). */
export function recursiveAlias(): string {
  return `r: &r\n  r: *r\nschedule: "@daily"\n${TASK}`;
}

/** The same through a sequence, deeper in the file. */
export function recursiveAliasInList(): string {
  return `schedule: "@daily"\n${TASK}x:\n  - &l\n    - *l\n`;
}

/** Keys that are a list and a mapping (yaml stringifies them, with a process warning quoting the key). */
export function collectionKeys(): string {
  return `schedule: "@daily"\n${TASK}? [a, "\\e[31m"]\n: 1\n{x: y}: 2\n`;
}

/** A key with a tag that makes it an object (yaml warned, quoting the decoded bytes). */
export function binaryKey(): string {
  return `schedule: "@daily"\n${TASK}!!binary aGVsbG8=: 1\n`;
}
