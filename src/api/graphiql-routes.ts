/**
 * GraphiQL at <prefix>/graphiql, served entirely from this server: the page, React, ReactDOM and GraphiQL
 * come from the installed npm packages, so it works offline (mercurius's own page loads them from a CDN).
 * The page holds no data: queries go to <prefix>/graphql with the caller's headers (set a bearer token in
 * GraphiQL's headers editor when auth is on).
 */
import { readFileSync } from 'node:fs';
import { createRequire } from 'node:module';
import { dirname, join } from 'node:path';
import type { FastifyInstance } from 'fastify';
import type { ApiContext } from './context.js';

const require = createRequire(import.meta.url);

/** The files of the page, by the name it requests them under. */
const ASSETS = {
  'react.js': { pkg: 'react', file: 'umd/react.production.min.js', type: 'text/javascript; charset=utf-8' },
  'react-dom.js': {
    pkg: 'react-dom',
    file: 'umd/react-dom.production.min.js',
    type: 'text/javascript; charset=utf-8',
  },
  'graphiql.js': { pkg: 'graphiql', file: 'graphiql.min.js', type: 'text/javascript; charset=utf-8' },
  'graphiql.css': { pkg: 'graphiql', file: 'graphiql.min.css', type: 'text/css; charset=utf-8' },
} as const;

type AssetName = keyof typeof ASSETS;

function page(graphqlPath: string): string {
  return `<!doctype html>
<html lang="en">
<head>
<meta charset="utf-8">
<title>Tasker GraphiQL</title>
<style>html, body, #graphiql { height: 100%; margin: 0; }</style>
<link rel="stylesheet" href="graphiql.css">
</head>
<body>
<div id="graphiql">Loading GraphiQL…</div>
<script src="react.js"></script>
<script src="react-dom.js"></script>
<script src="graphiql.js"></script>
<script>
  const fetcher = GraphiQL.createFetcher({ url: ${JSON.stringify(graphqlPath)} });
  ReactDOM.createRoot(document.getElementById('graphiql')).render(
    React.createElement(GraphiQL, { fetcher, defaultEditorToolsVisibility: true }),
  );
</script>
</body>
</html>
`;
}

export function graphiqlRoutes(app: FastifyInstance, ctx: ApiContext): void {
  const cache = new Map<AssetName, Buffer>();
  const html = page(`${ctx.options.prefix}/graphql`);
  // Relative asset URLs resolve under <prefix>/graphiql/ only when the page ends in a slash.
  app.get('/graphiql', { schema: { hide: true } }, (_request, reply) =>
    reply.redirect(`${ctx.options.prefix}/graphiql/`),
  );
  app.get('/graphiql/', { schema: { hide: true } }, (_request, reply) =>
    reply.type('text/html; charset=utf-8').send(html),
  );
  app.get<{ Params: { file: string } }>('/graphiql/:file', { schema: { hide: true } }, (request, reply) => {
    const name = request.params.file as AssetName;
    const asset = Object.hasOwn(ASSETS, name) ? ASSETS[name] : undefined;
    if (!asset) return reply.callNotFound();
    let body = cache.get(name);
    if (!body) {
      // Through package.json: the packages' export maps do not list their UMD files.
      body = readFileSync(join(dirname(require.resolve(`${asset.pkg}/package.json`)), asset.file));
      cache.set(name, body);
    }
    return reply.type(asset.type).header('cache-control', 'public, max-age=86400').send(body);
  });
}
