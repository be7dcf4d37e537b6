/**
 * A readable API page at `/docs`: Swagger UI, served from the `swagger-ui-dist` package (no
 * CDN), rendering the gateway's own `/v1/openapi.json`.
 */
import { createRequire } from 'node:module';
import { dirname } from 'node:path';
import express, { type Express } from 'express';

const assets = dirname(createRequire(import.meta.url).resolve('swagger-ui-dist/package.json'));

const PAGE = `<!doctype html>
<html lang="en">
  <head>
    <meta charset="utf-8" />
    <title>weft gateway API</title>
    <link rel="stylesheet" href="/docs/assets/swagger-ui.css" />
  </head>
  <body>
    <div id="api"></div>
    <script src="/docs/assets/swagger-ui-bundle.js"></script>
    <script>
      window.ui = SwaggerUIBundle({ url: '/v1/openapi.json', dom_id: '#api', deepLinking: true });
    </script>
  </body>
</html>
`;

export function docsPage(app: Express): void {
  app.get('/docs', (_req, res) => {
    res.type('html').send(PAGE);
  });
  app.use('/docs/assets', express.static(assets, { index: false }));
}
