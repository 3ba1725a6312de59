import { createRequire } from 'node:module';
import { dirname } from 'node:path';
import { z } from 'zod';
import { SchedError } from '@sched/core';
import { defineRoute, type ApiRoute } from './api-route.js';
import { htmlPage, pageRoute } from './html-page.js';
import { buildOpenApiDocument } from './openapi.js';

/** The swagger-ui-dist files /docs loads, with their content types; nothing else of the package is served. */
export const DOCS_ASSETS = Object.freeze({
  'swagger-ui.css': 'text/css',
  'swagger-ui-bundle.js': 'text/javascript',
  'favicon-32x32.png': 'image/png',
});
type DocsAsset = keyof typeof DOCS_ASSETS;
const DOCS_ASSET_NAMES = Object.keys(DOCS_ASSETS) as [DocsAsset, ...DocsAsset[]];

export const DOCS_ASSETS_PATH = '/docs/assets';

/**
 * `/docs`: Swagger UI over `/openapi.json`, every file served by the API itself (no CDN).
 * `validatorUrl: null` keeps Swagger UI from sending the document to validator.swagger.io.
 */
export const DOCS_PAGE = htmlPage({
  title: 'Scheduler API',
  head: `<link rel="stylesheet" href="${DOCS_ASSETS_PATH}/swagger-ui.css">
<link rel="icon" type="image/png" href="${DOCS_ASSETS_PATH}/favicon-32x32.png">`,
  body: `<div id="swagger-ui"></div>
<script src="${DOCS_ASSETS_PATH}/swagger-ui-bundle.js"></script>
<script>
  window.ui = SwaggerUIBundle({
    url: '/openapi.json',
    dom_id: '#swagger-ui',
    deepLinking: true,
    validatorUrl: null,
    presets: [SwaggerUIBundle.presets.apis],
    layout: 'BaseLayout',
  });
</script>`,
});

/**
 * `GET /openapi.json` (the document of `routes` and of these), `GET /docs` and the Swagger UI
 * files under `/docs/assets`. Public: the document is the same for every deployment and holds no data.
 */
export function docsRoutes(routes: readonly ApiRoute[]): ApiRoute[] {
  const root = dirname(createRequire(import.meta.url).resolve('swagger-ui-dist/package.json'));
  const own: ApiRoute[] = [
    defineRoute({
      method: 'get',
      path: '/openapi.json',
      operationId: 'getOpenApiDocument',
      tag: 'pages',
      summary: 'This document',
      access: 'public',
      responses: { 200: { description: 'OpenAPI 3.1', content: { 'application/json': { schema: { type: 'object' } } } } },
      errors: [],
      handle: (_input, _req, res) => {
        res.type('json').send(body);
      },
    }),
    pageRoute({
      path: '/docs',
      operationId: 'getDocsPage',
      summary: 'This document in Swagger UI',
      description: 'HTML page rendering /openapi.json',
      access: 'public',
      html: DOCS_PAGE,
    }),
    defineRoute({
      method: 'get',
      path: `${DOCS_ASSETS_PATH}/:file`,
      operationId: 'getDocsAsset',
      tag: 'pages',
      summary: 'Swagger UI files for /docs (served by the API, no CDN)',
      access: 'public',
      request: { params: z.object({ file: z.enum(DOCS_ASSET_NAMES) }) },
      responses: {
        200: {
          description: 'The file',
          content: Object.fromEntries([...new Set(Object.values(DOCS_ASSETS))].map((type) => [type, { schema: { type: 'string' } }])),
        },
      },
      errors: ['route_not_found'],
      notFound: ({ file }) => new SchedError('route_not_found', `no file ${String(file)} in ${DOCS_ASSETS_PATH}`),
      handle: ({ params: { file } }, _req, res, next) => {
        const type = DOCS_ASSETS[file];
        // The files change only with the swagger-ui-dist version, i.e. with a deploy.
        res.type(type.startsWith('text/') ? `${type}; charset=utf-8` : type).sendFile(file, { root, maxAge: '1h' }, (error) => {
          // A client gone mid-file is not an error worth a log line; anything else before the headers is.
          if (error && !res.headersSent) next(error);
        });
      },
    }),
  ];
  // The document covers these routes too, so it is built once they exist (the first handler serves it).
  const body = JSON.stringify(buildOpenApiDocument([...routes, ...own]));
  return own;
}
