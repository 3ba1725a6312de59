import { createRequire } from 'node:module';
import { dirname } from 'node:path';
import express, { type Router } from 'express';
import { SchedError } from '@sched/core';
import type { OpenApiDocument } from './openapi.js';
import { methodNotAllowed, sendProblem } from './problem.js';

/** The swagger-ui-dist files /docs loads, with their content types; nothing else of the package is served. */
export const DOCS_ASSETS: Readonly<Record<string, string>> = Object.freeze({
  'swagger-ui.css': 'text/css',
  'swagger-ui-bundle.js': 'text/javascript',
  'favicon-32x32.png': 'image/png',
});

export const DOCS_ASSETS_PATH = '/docs/assets';

/**
 * `/docs`: Swagger UI over `/openapi.json`, every file served by the API itself (no CDN).
 * `validatorUrl: null` keeps Swagger UI from sending the document to validator.swagger.io.
 */
export const DOCS_PAGE = `<!doctype html>
<html lang="en">
<head>
<meta charset="utf-8">
<meta name="viewport" content="width=device-width, initial-scale=1">
<title>Scheduler API</title>
<link rel="stylesheet" href="${DOCS_ASSETS_PATH}/swagger-ui.css">
<link rel="icon" type="image/png" href="${DOCS_ASSETS_PATH}/favicon-32x32.png">
</head>
<body>
<div id="swagger-ui"></div>
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
</script>
</body>
</html>
`;

/** `GET /openapi.json`, `GET /docs` and the Swagger UI files under `/docs/assets`. */
export function docsRoutes(document: OpenApiDocument): Router {
  const router = express.Router();
  const body = JSON.stringify(document);
  const root = dirname(createRequire(import.meta.url).resolve('swagger-ui-dist/package.json'));

  router
    .route('/openapi.json')
    .get((_req, res) => {
      res.type('json').send(body);
    })
    .all(methodNotAllowed(['GET', 'HEAD']));

  router
    .route('/docs')
    .get((_req, res) => {
      res.type('html').send(DOCS_PAGE);
    })
    .all(methodNotAllowed(['GET', 'HEAD']));

  router
    .route(`${DOCS_ASSETS_PATH}/:file`)
    .get((req, res, next) => {
      const file = String(req.params.file);
      const type = Object.hasOwn(DOCS_ASSETS, file) ? DOCS_ASSETS[file] : undefined;
      if (type === undefined) {
        sendProblem(res, new SchedError('route_not_found', `no file ${file} in ${DOCS_ASSETS_PATH}`), req.originalUrl);
        return;
      }
      // The files change only with the swagger-ui-dist version, i.e. with a deploy.
      res.type(type.startsWith('text/') ? `${type}; charset=utf-8` : type).sendFile(file, { root, maxAge: '1h' }, (error) => {
        // A client gone mid-file is not an error worth a log line; anything else before the headers is.
        if (error && !res.headersSent) next(error);
      });
    })
    .all(methodNotAllowed(['GET', 'HEAD']));

  return router;
}
