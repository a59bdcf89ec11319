// The published schema, compiled once, as the validator of every job file.

import { Ajv2020 } from 'ajv/dist/2020.js';
import type { ValidateFunction } from 'ajv';
import schema from '../../schemas/job.schema.json' with { type: 'json' };
import { describeSchemaErrors, type SchemaProblem } from './schema-errors.ts';

export const JOB_SCHEMA: object = schema;

let compiled: ValidateFunction | undefined;

function validator(): ValidateFunction {
  // validateSchema: false skips checking the schema against the 2020-12 meta-schema at every start
  // (~50 ms): test/definitions/schema.test.ts compiles it with that check on.
  compiled ??= new Ajv2020({ allErrors: true, strict: true, allowUnionTypes: true, verbose: true, validateSchema: false }).compile(JOB_SCHEMA);
  return compiled;
}

/** Problems of a merged, interpolated job document against schemas/job.schema.json; empty when valid. */
export function checkAgainstSchema(document: unknown): SchemaProblem[] {
  const validate = validator();
  return validate(document) ? [] : describeSchemaErrors(validate.errors ?? []);
}
