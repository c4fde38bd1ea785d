import assert from 'node:assert/strict';
import type { OpenAPIV3_1 } from 'openapi-types';
import { OPERATION_METHODS, type OpenApiDocument } from '../../src/http/openapi.js';

/**
 * The object itself; the document has $refs only to component schemas, so a $ref anywhere else
 * (a response, a parameter, an example) fails the test that reads it.
 */
export function inline<T extends object>(value: T): Exclude<T, OpenAPIV3_1.ReferenceObject> {
  assert.ok(!('$ref' in value), `unexpected $ref ${JSON.stringify(value)}`);
  return value as Exclude<T, OpenAPIV3_1.ReferenceObject>;
}

/** A method of a path item, as the `paths` of the document key them. */
export type Method = `${OpenAPIV3_1.HttpMethods}`;

/** Every operation of the document with its path and method. */
export function operationsOf(
  document: OpenApiDocument,
): { path: string; method: string; op: OpenAPIV3_1.OperationObject }[] {
  return Object.entries(document.paths ?? {}).flatMap(([path, item]) =>
    OPERATION_METHODS.flatMap((method) => {
      const op = item?.[method];
      return op === undefined ? [] : [{ path, method, op }];
    }),
  );
}
