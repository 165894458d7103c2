/**
 * GraphQL cost limits, checked while the query is parsed and validated, before any resolver runs: a
 * refused query costs its parsing and nothing else (one request of 300 aliased task lists once took 10.8 s
 * of server work). Four limits, each from a well-kept library:
 * - tokens in the document (graphql-js's parser option): bounds the parsing itself;
 * - depth of nested selections (graphql-armor's max-depth rule; introspection is exempt);
 * - aliases (graphql-armor's max-aliases rule): each alias is one more run of its resolver;
 * - estimated cost (graphql-query-complexity): every field costs 1, a list multiplies the cost of what
 *   it selects by the items it may return (the `limit` asked for on `tasks`, LIST_SIZE for the lists
 *   read from the database that a query does not size), and a field that queries the database once per
 *   parent costs more. Templates (`handlers`) are served from memory and cost as plain fields.
 * A refusal is a GraphQL error with extensions { code: 'TASKER_QUERY_TOO_COMPLEX', status: 400 }.
 */
import { maxAliasesRule } from '@escape.tech/graphql-armor-max-aliases';
import { maxDepthRule } from '@escape.tech/graphql-armor-max-depth';
import { GraphQLError, type ValidationContext, type ValidationRule } from 'graphql';
import { type ComplexityEstimator, createComplexityRule, simpleEstimator } from 'graphql-query-complexity';
import mercurius from 'mercurius';

export interface GraphqlLimits {
  readonly maxDepth: number;
  readonly maxAliases: number;
  readonly maxComplexity: number;
  /** Most items `tasks(limit:)` may ask for. */
  readonly maxLimit: number;
}

/** Tokens a document may hold: far more than any real query, far less than a body-limit's worth. */
export const MAX_TOKENS = 5000;
/** The page `tasks` returns when no limit is given (listTasks' default). */
const DEFAULT_PAGE = 50;
/** Items assumed for lists a query cannot size: a task's steps, the transitions of a task or step. */
export const LIST_SIZE = 20;
/** Lists resolved with one database query per parent object, not batched. */
const PER_PARENT_QUERY = new Set(['Task.transitions', 'Step.transitions']);
const PER_PARENT_QUERY_COST = 10;
/** Lists read from the database that a query cannot size. (Templates are in memory: plain fields.) */
const UNSIZED_LISTS = new Set([
  'Task.steps',
  'Task.transitions',
  'Step.transitions',
  'Query.taskTransitions',
  'Query.stepTransitions',
]);

const CODE = { code: 'TASKER_QUERY_TOO_COMPLEX', status: 400 } as const;

function tooComplex(message: string): GraphQLError {
  return new GraphQLError(message, { extensions: { ...CODE } });
}

/** Lists multiply the cost of their selection by the items they may return. */
const listEstimator: ComplexityEstimator = ({ type, field, args, childComplexity }) => {
  const key = `${type.name}.${field.name}`;
  if (key === 'Query.tasks') {
    const limit = typeof args.limit === 'number' && args.limit > 0 ? args.limit : DEFAULT_PAGE;
    return 1 + limit * childComplexity;
  }
  if (UNSIZED_LISTS.has(key)) {
    return (PER_PARENT_QUERY.has(key) ? PER_PARENT_QUERY_COST : 1) + LIST_SIZE * childComplexity;
  }
  return undefined;
};

/** graphql-armor's rules report through this (instead of throwing out of validation). */
const report = (context: ValidationContext | null, error: GraphQLError) => {
  context?.reportError(tooComplex(error.message.replace(/^Syntax Error: /, '')));
};

/** Mercurius's `validationRules`: the cost depends on the variables (a `limit: $n`). */
export function graphqlValidationRules(
  limits: GraphqlLimits,
): (params: { variables?: Record<string, unknown>; operationName?: string }) => ValidationRule[] {
  const depth = maxDepthRule({ n: limits.maxDepth, propagateOnRejection: false, onReject: [report] });
  const aliases = maxAliasesRule({ n: limits.maxAliases, propagateOnRejection: false, onReject: [report] });
  return ({ variables, operationName }) => [
    depth,
    aliases,
    createComplexityRule({
      maximumComplexity: limits.maxComplexity,
      variables: variables ?? {},
      ...(operationName ? { operationName } : {}),
      estimators: [listEstimator, simpleEstimator({ defaultComplexity: 1 })],
      createError: (max, actual) =>
        tooComplex(
          `the query's estimated cost is ${actual}, above the limit of ${max}: every field costs 1 and each ` +
            `list multiplies what it selects by its size (tasks: its limit, default ${DEFAULT_PAGE}; other ` +
            `lists ${LIST_SIZE}); ask for fewer fields or a smaller limit`,
        ),
    }),
  ];
}

/** graphql-js's parse options for mercurius. */
export const GRAPHQL_PARSE_OPTIONS = { maxTokens: MAX_TOKENS } as const;

/** graphql-js's words when the token limit stops the parser (it has no code of its own). */
const TOKEN_LIMIT = /^Syntax Error: Document contains more th\w+ (\d+) tokens/;

type ErrorFormatter = typeof mercurius.defaultErrorFormatter;

/**
 * Mercurius's error formatter, except that a refused query always answers 400 with the code (mercurius
 * answers 200 when validation found more than one error) and the token limit gets the code too.
 */
export const limitErrorFormatter: ErrorFormatter = (execution, context) => {
  const formatted = mercurius.defaultErrorFormatter(execution, context);
  let refused = false;
  const errors = (formatted.response.errors ?? []).map((error) => {
    const tokens = TOKEN_LIMIT.exec(error.message);
    if (tokens) {
      refused = true;
      return { ...error, message: `the query has more than ${tokens[1]} tokens`, extensions: { ...CODE } };
    }
    if (error.extensions?.code === CODE.code) refused = true;
    return error;
  });
  return refused ? { statusCode: 400, response: { ...formatted.response, errors } } : formatted;
};
