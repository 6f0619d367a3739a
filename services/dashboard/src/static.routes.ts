/**
 * The web page: the files of `public/` (read once at start) and Chart.js from its installed
 * package, so nothing is fetched from the internet at run time. Only files that exist at start
 * are served, looked up by exact path, so no request can reach outside the folder.
 */
import { readdirSync, readFileSync, statSync } from 'node:fs';
import { createRequire } from 'node:module';
import { dirname, extname, join, relative, sep } from 'node:path';
import { createHash } from 'node:crypto';
import type { FastifyInstance } from 'fastify';

const TYPES: Record<string, string> = {
  '.html': 'text/html; charset=utf-8',
  '.js': 'text/javascript; charset=utf-8',
  '.css': 'text/css; charset=utf-8',
  '.svg': 'image/svg+xml',
  '.png': 'image/png',
  '.ico': 'image/x-icon',
  '.map': 'application/json; charset=utf-8',
  '.json': 'application/json; charset=utf-8',
};

interface StaticFile {
  body: Buffer;
  type: string;
  etag: string;
  cacheControl: string;
}

function walk(folder: string): string[] {
  const out: string[] = [];
  for (const entry of readdirSync(folder, { withFileTypes: true })) {
    const path = join(folder, entry.name);
    if (entry.isDirectory()) out.push(...walk(path));
    else if (entry.isFile()) out.push(path);
  }
  return out;
}

function file(path: string, cacheControl: string): StaticFile {
  const body = readFileSync(path);
  return {
    body,
    type: TYPES[extname(path)] ?? 'application/octet-stream',
    etag: `"${createHash('sha256').update(body).digest('hex').slice(0, 20)}"`,
    cacheControl,
  };
}

/** Where Chart.js's browser bundle is installed. */
export function chartJsPath(): string {
  const require = createRequire(import.meta.url);
  return join(dirname(require.resolve('chart.js')), 'chart.umd.min.js');
}

/** Load the static files: `public/` plus the Chart.js bundle under `/vendor/`. */
export function loadStaticFiles(publicDir: string): Map<string, StaticFile> {
  const files = new Map<string, StaticFile>();
  if (statSync(publicDir, { throwIfNoEntry: false })?.isDirectory()) {
    for (const path of walk(publicDir)) {
      const url = '/' + relative(publicDir, path).split(sep).join('/');
      if (url.startsWith('/vendor/')) continue;
      files.set(url, file(path, 'no-cache'));
    }
  }
  const chart = chartJsPath();
  files.set('/vendor/chart.umd.min.js', file(chart, 'public, max-age=86400'));
  if (statSync(`${chart}.map`, { throwIfNoEntry: false }))
    files.set('/vendor/chart.umd.min.js.map', file(`${chart}.map`, 'public, max-age=86400'));
  const index = files.get('/index.html');
  if (index) files.set('/', index);
  return files;
}

/** Serve the page's files. */
export function registerStaticRoutes(app: FastifyInstance, files: Map<string, StaticFile>): void {
  for (const [url, content] of files) {
    app.get(url, async (request, reply) => {
      reply
        .header('content-type', content.type)
        .header('cache-control', content.cacheControl)
        .header('etag', content.etag);
      if (request.headers['if-none-match'] === content.etag) return reply.code(304).send();
      return reply.send(content.body);
    });
  }
}
