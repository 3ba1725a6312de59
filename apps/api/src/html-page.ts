import { defineRoute, textResponse, type ApiRoute, type RouteAccess } from './api-route.js';

export interface HtmlPage {
  title: string;
  /** Inside `<head>`, after the title: styles, links. */
  head: string;
  body: string;
}

/** A whole HTML document; the API's pages are static strings, built once (no template engine, no build step). */
export function htmlPage(page: HtmlPage): string {
  return `<!doctype html>
<html lang="en">
<head>
<meta charset="utf-8">
<meta name="viewport" content="width=device-width, initial-scale=1">
<title>${page.title}</title>
${page.head}
</head>
<body>
${page.body}
</body>
</html>
`;
}

export interface PageRouteOptions {
  path: string;
  operationId: string;
  summary: string;
  /** What the page shows (the 200 response's description). */
  description: string;
  access: Extract<RouteAccess, 'browser' | 'public'>;
  html: string;
}

/** `GET <path>`: a static page. */
export function pageRoute(page: PageRouteOptions): ApiRoute {
  return defineRoute({
    method: 'get',
    path: page.path,
    operationId: page.operationId,
    tag: 'pages',
    summary: page.summary,
    access: page.access,
    responses: { 200: textResponse('text/html', page.description) },
    errors: page.access === 'public' ? [] : ['unauthorized'],
    handle: (_input, _req, res) => {
      res.type('html').send(page.html);
    },
  });
}
