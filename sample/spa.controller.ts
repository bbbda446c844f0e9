import { Controller, Get, Header, type OnModuleInit } from '@nestjs/common';
import { existsSync } from 'node:fs';
import { readFile } from 'node:fs/promises';
import { fileURLToPath } from 'node:url';

/**
 * The sample's single-page app (sample/public: static HTML and plain browser JavaScript, no build step), served at
 * GET /app by the sample itself on either adapter. The folder is found beside this file when it runs from source
 * (ts-jest) and from dist/sample (`npm start`, which compiles TypeScript only): then in the source tree.
 */
const PUBLIC_DIRS = [new URL('./public/', import.meta.url), new URL('../../sample/public/', import.meta.url)];

/** No inline script, no other origin: an injected tag can neither run nor send anything elsewhere. */
const CSP = "default-src 'none'; script-src 'self'; connect-src 'self'; style-src 'unsafe-inline'; img-src 'self'; "
  + "form-action 'self'; frame-ancestors 'none'; base-uri 'none'";

@Controller('app')
export class SpaController implements OnModuleInit {
  private indexHtml = '';
  private appJs = '';

  /** Read once at boot, so a missing file fails the start rather than a request. */
  async onModuleInit(): Promise<void> {
    const dir = PUBLIC_DIRS.find((url) => existsSync(fileURLToPath(new URL('index.html', url))));
    if (!dir) throw new Error(`The SPA's files are missing: looked in ${PUBLIC_DIRS.map((url) => fileURLToPath(url)).join(', ')}`);
    [this.indexHtml, this.appJs] = await Promise.all([readFile(new URL('index.html', dir), 'utf8'), readFile(new URL('app.js', dir), 'utf8')]);
  }

  @Get()
  @Header('Content-Type', 'text/html; charset=utf-8')
  @Header('Content-Security-Policy', CSP)
  @Header('X-Content-Type-Options', 'nosniff')
  @Header('Cache-Control', 'no-cache')
  page(): string {
    return this.indexHtml;
  }

  @Get('app.js')
  @Header('Content-Type', 'text/javascript; charset=utf-8')
  @Header('X-Content-Type-Options', 'nosniff')
  @Header('Cache-Control', 'no-cache')
  script(): string {
    return this.appJs;
  }
}
