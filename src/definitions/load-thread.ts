// The worker thread of off-thread.ts: loads one job file at a time, as loadJobFile does on the main thread.
import { parentPort } from 'node:worker_threads';
import { loadJobFile, type FileContent, type LoadOptions, type LoadResult } from './load.ts';
import type { ParsedDocument } from '../files/parse.ts';

export interface LoadRequest {
  id: number;
  file: string;
  defaults?: ParsedDocument;
  options: LoadOptions;
  content: FileContent;
}

export interface LoadReply {
  id: number;
  result: LoadResult;
}

parentPort?.on('message', (request: LoadRequest) => {
  const result = loadJobFile(request.file, request.defaults, request.options, request.content);
  parentPort?.postMessage({ id: request.id, result } satisfies LoadReply);
});
