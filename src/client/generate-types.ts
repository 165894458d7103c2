/**
 * The client's types, generated from the server's OpenAPI document by openapi-typescript (version 6:
 * version 7 needs the TypeScript 5 compiler API, which TypeScript 7 does not have). Build-time only: the
 * client itself does not import this module.
 */
import openapiTS from 'openapi-typescript';
import { openApiDocument } from '../api/openapi-document.js';

const HEADER = `/**
 * The REST API's types, generated from its OpenAPI document (npm run build:api-types). Do not edit:
 * test/api/openapi-types.test.ts fails when this file no longer matches the server.
 */
`;

export async function apiTypesSource(): Promise<string> {
  const doc = await openApiDocument();
  const body = await openapiTS(doc as never, { exportType: true });
  return `${HEADER}${body}`;
}
