// The published schema, compiled once, as the validator of every job file.

import { Ajv2020 } from 'ajv/dist/2020.js';
import type { ValidateFunction } from 'ajv';
import schema from '../../schemas/job.schema.json' with { type: 'json' };
import { describeSchemaErrors, type SchemaProblem } from './schema-errors.ts';

export const JOB_SCHEMA: object = schema;

let compiled: ValidateFunction | undefined;

function validator(): ValidateFunction {
  compiled ??= new Ajv2020({ allErrors: true, strict: true, allowUnionTypes: true, verbose: true }).compile(JOB_SCHEMA);
  return compiled;
}

/** Problems of a merged, interpolated job document against schemas/job.schema.json; empty when valid. */
export function checkAgainstSchema(document: unknown): SchemaProblem[] {
  const validate = validator();
  return validate(document) ? [] : describeSchemaErrors(validate.errors ?? []);
}
