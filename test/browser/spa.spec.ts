import { afterAll, beforeAll, describe, expect, it } from '@jest/globals';
import { existsSync } from 'node:fs';
import type { AddressInfo } from 'node:net';
import { chromium, type Browser, type BrowserContext, type Page, type Request } from 'playwright-core';
import { ADAPTERS, bootSampleApp, SEEDED_USER, type SampleApp } from '../e2e/support/sample-app.js';

/**
 * The sample's single-page app (GET /app) in headless Chromium: Debian's `chromium` package, driven by playwright-core
 * (no browser download; .ci/run installs the package). Tokens in HttpOnly cookies, the CSRF token in memory,
 * automatic refresh by access, logout and logout everywhere, on each adapter.
 */
const CHROMIUM = process.env.CHROMIUM_PATH || '/usr/bin/chromium';
/** Flags for a machine without network access and without a sandbox-capable kernel setup. */
const CHROMIUM_ARGS = [
  '--headless', '--no-sandbox', '--disable-gpu', '--disable-quic', '--no-first-run', '--disable-background-networking',
  '--disable-component-update', '--disable-sync',
];
/** A short access lifetime, passed by advancing the server's manual clock. */
const ACCESS_EXP = 60;
/** Set to a file path to keep a screenshot of the signed-in page (once per adapter, suffixed with its name). */
const SCREENSHOT = process.env.SPA_SCREENSHOT;

interface Tab {
  context: BrowserContext;
  page: Page;
  /** Requests the page sent, as `METHOD /path`. */
  sent: string[];
  /** Uncaught page errors and Content-Security-Policy violations. */
  problems: string[];
}

/** The browser globals the functions given to page.evaluate use (the project's typecheck has no DOM lib). */
declare const document: { cookie: string };
declare const localStorage: object;
declare const sessionStorage: object;
declare const window: { spa: { api: (method: string, path: string, body?: unknown) => Promise<Response> } };

let browser: Browser;

beforeAll(async () => {
  // Fail loudly: a missing browser must not pass as a skipped suite.
  if (!existsSync(CHROMIUM)) throw new Error(`No Chromium at ${CHROMIUM}: apt-get install -y chromium (.ci/run does it), or set CHROMIUM_PATH`);
  browser = await chromium.launch({ executablePath: CHROMIUM, args: CHROMIUM_ARGS });
});

afterAll(async () => {
  await browser?.close();
});

describe.each(ADAPTERS)('the single-page app on %s', (adapter) => {
  let sample: SampleApp;
  let base: string;
  let tab: Tab;
  let other: Tab;

  beforeAll(async () => {
    sample = await bootSampleApp({ SAMPLE_ADAPTER: adapter, JWT_ACCESS_EXP: String(ACCESS_EXP) });
    await sample.app.listen(0, '127.0.0.1');
    base = `http://127.0.0.1:${(sample.app.getHttpServer().address() as AddressInfo).port}`;
    tab = await openTab();
    other = await openTab();
  });

  afterAll(async () => {
    await tab?.context.close();
    await other?.context.close();
    await sample?.close();
  });

  async function openTab(): Promise<Tab> {
    const context = await browser.newContext();
    const page = await context.newPage();
    const opened: Tab = { context, page, sent: [], problems: [] };
    page.on('request', (request: Request) => opened.sent.push(`${request.method()} ${new URL(request.url()).pathname}`));
    page.on('pageerror', (error) => opened.problems.push(error.message));
    page.on('console', (message) => {
      if (/Content Security Policy/i.test(message.text())) opened.problems.push(message.text());
    });
    return opened;
  }

  async function logIn(on: Tab): Promise<void> {
    await on.page.goto(`${base}/app`);
    await on.page.fill('#email', SEEDED_USER.email);
    await on.page.fill('#password', SEEDED_USER.password);
    await on.page.click('#login-form button[type=submit]');
    await on.page.waitForSelector('#profile:not([hidden])');
  }

  /** A fetch from the page itself, bypassing the app's wrapper: same origin, cookies sent, no CSRF header. */
  function rawFetch(on: Tab, method: string, path: string, body?: unknown): Promise<number> {
    return on.page.evaluate(async ([method, path, body]) => {
      const init: RequestInit = { method, credentials: 'include' };
      if (body !== undefined) Object.assign(init, { body: JSON.stringify(body), headers: { 'content-type': 'application/json' } });
      return (await fetch(path, init)).status;
    }, [method, path, body] as const);
  }

  /** Calls through the app's API wrapper (window.spa.api: CSRF header, refresh on 401, one retry); answers the statuses. */
  function viaApp(on: Tab, calls: Array<[string, string, unknown?]>): Promise<number[]> {
    return on.page.evaluate(async (calls) => {
      const { api } = window.spa;
      return Promise.all(calls.map(async ([method, path, body]) => (await api(method, path, body)).status));
    }, calls);
  }

  const refreshesSent = (on: Tab): number => on.sent.filter((line) => line === 'POST /refresh_by_access').length;

  it('serves the page and its script with their content types and a strict CSP', async () => {
    const page = await sample.http().get('/app').expect(200);
    expect(page.headers['content-type']).toMatch(/^text\/html/);
    expect(page.headers['content-security-policy']).toContain("script-src 'self'");
    expect(page.text).toContain('<script type="module" src="/app/app.js"></script>');
    const script = await sample.http().get('/app/app.js').expect(200);
    expect(script.headers['content-type']).toMatch(/^text\/javascript/);
    expect(script.text).toContain('/refresh_by_access');
    // The contract's readiness probe is unchanged.
    expect((await sample.http().get('/').expect(200)).text).toBe('Welcome to the nestjs-jwt-sessions sample app!');
  });

  it('logs in through the form and shows the user', async () => {
    await tab.page.goto(`${base}/app`);
    expect(await tab.page.isVisible('#login-form')).toBe(true);
    await tab.page.fill('#email', SEEDED_USER.email);
    await tab.page.fill('#password', 'wrong password');
    await tab.page.click('#login-form button[type=submit]');
    await tab.page.waitForSelector('#error:not([hidden])');
    expect(await tab.page.textContent('#error')).toBe('Wrong email or password.');

    await logIn(tab);
    expect(await tab.page.textContent('#user')).toBe(SEEDED_USER.email);
    expect(await tab.page.textContent('#status')).toBe('Signed in.');
    expect(await tab.page.isHidden('#login-form')).toBe(true);
    expect(await tab.page.isVisible('#error')).toBe(false);
    expect(await tab.page.locator('#sessions li').count()).toBe(1);
    if (SCREENSHOT) await tab.page.screenshot({ path: SCREENSHOT.replace(/(\.png)?$/, `-${adapter}.png`), fullPage: true });
  });

  it('keeps the tokens where JavaScript cannot read them', async () => {
    const cookies = await tab.context.cookies(base);
    const names = cookies.map((cookie) => cookie.name).sort();
    expect(names).toEqual(['jwt_access', 'jwt_refresh']);
    for (const cookie of cookies) expect(cookie.httpOnly).toBe(true);

    const seen = await tab.page.evaluate(() => ({
      cookie: document.cookie,
      local: Object.keys(localStorage),
      session: Object.keys(sessionStorage),
    }));
    expect(seen.cookie).not.toContain('jwt_access');
    expect(seen.cookie).not.toContain('jwt_refresh');
    for (const cookie of cookies) {
      expect(seen.cookie).not.toContain(cookie.value);
    }
    expect(seen).toEqual({ cookie: '', local: [], session: [] });
  });

  it('refuses a POST that carries the cookies but not the CSRF header, and creates nothing', async () => {
    const forged = { user: { email: 'forged@example.com', password: 'password456' } };
    expect(await rawFetch(tab, 'POST', '/users', forged)).toBe(401);
    expect(await rawFetch(tab, 'GET', '/users/2')).toBe(404);

    // From another site: a page that posts a form to the sample. SameSite and the cross-site check refuse it.
    const evil = await tab.context.newPage();
    await tab.context.route('http://evil.test/**', (route) => route.fulfill({
      contentType: 'text/html',
      body: `<form method="post" action="${base}/users" enctype="text/plain">`
        + `<input name='{"user":{"email":"cross@example.com","password":"pass' value='word456"}}'></form>`
        + '<script>document.forms[0].submit()</script>',
    }));
    const [answer] = await Promise.all([
      evil.waitForResponse((response) => response.url() === `${base}/users`),
      evil.goto('http://evil.test/'),
    ]);
    expect(answer.status()).toBe(401);
    await evil.close();
    expect(await rawFetch(tab, 'GET', '/users/2')).toBe(404);

    // The app's own call carries the CSRF token from memory, and goes through.
    const [created] = await viaApp(tab, [['POST', '/users', { user: { email: 'new@example.com', password: 'password456' } }]]);
    expect([200, 201]).toContain(created);
    expect(await rawFetch(tab, 'GET', '/users/2')).toBe(200);
  });

  it('refreshes by itself once the access token has expired, with one refresh for calls that fail together', async () => {
    // Before expiry nothing refreshes (an early refresh would be taken as a hijack).
    expect(await viaApp(tab, [['GET', '/users/1']])).toEqual([200]);
    expect(refreshesSent(tab)).toBe(0);

    sample.clock.advance(ACCESS_EXP + 1);
    expect(await rawFetch(tab, 'GET', '/users/1')).toBe(401);
    const before = tab.sent.length;
    const statuses = await viaApp(tab, [['GET', '/users/1'], ['GET', '/sessions'], ['GET', '/users/1']]);
    expect(statuses).toEqual([200, 200, 200]);
    expect(refreshesSent(tab)).toBe(1);
    // Three calls, one refresh, three retries.
    expect(tab.sent.slice(before).sort()).toEqual([
      'GET /sessions', 'GET /sessions', 'GET /users/1', 'GET /users/1', 'GET /users/1', 'GET /users/1', 'POST /refresh_by_access',
    ]);

    // The same through the UI: Reload loads two resources at once.
    sample.clock.advance(ACCESS_EXP + 1);
    const beforeReload = tab.sent.length;
    await tab.page.click('#reload');
    await waitFor(() => tab.sent.length - beforeReload === 5);
    expect(tab.sent.slice(beforeReload).sort()).toEqual(['GET /sessions', 'GET /sessions', 'GET /users/1', 'GET /users/1', 'POST /refresh_by_access']);
    await tab.page.waitForLoadState('networkidle');
    expect(await tab.page.textContent('#user')).toBe(SEEDED_USER.email);
    expect(await tab.page.textContent('#status')).toBe('Signed in.');

    // The refresh answered a new CSRF token, which the app now sends: unsafe calls still pass.
    const [created] = await viaApp(tab, [['POST', '/users', { user: { email: 'after-refresh@example.com', password: 'password456' } }]]);
    expect([200, 201]).toContain(created);
    expect(refreshesSent(tab)).toBe(2);
  });

  it('logs out everywhere: another browser\'s session ends too', async () => {
    await logIn(other);
    await tab.page.click('#reload');
    await waitFor(async () => (await tab.page.locator('#sessions li').count()) === 2);

    await tab.page.click('#logout-all');
    await tab.page.waitForSelector('#login-form:not([hidden])');
    expect(await tab.page.textContent('#status')).toBe('Logged out everywhere (2 sessions ended).');
    expect(await rawFetch(tab, 'GET', '/users/1')).toBe(401);

    // The other browser still holds its cookies, but its session is gone: its refresh fails and it shows the form.
    expect(await rawFetch(other, 'GET', '/users/1')).toBe(401);
    await other.page.click('#reload');
    await other.page.waitForSelector('#login-form:not([hidden])');
    expect(await other.page.textContent('#status')).toBe('Your session has ended: please log in again.');
    expect(await other.page.isHidden('#profile')).toBe(true);
  });

  it('logs out: the cookies are cleared, the protected page is refused, and the old token is dead', async () => {
    await logIn(tab);
    const [access] = (await tab.context.cookies(base)).filter((cookie) => cookie.name === 'jwt_access');

    await tab.page.click('#logout');
    await tab.page.waitForSelector('#login-form:not([hidden])');
    expect(await tab.page.textContent('#status')).toBe('Logged out.');
    expect(await tab.page.isHidden('#profile')).toBe(true);
    expect((await tab.context.cookies(base)).map((cookie) => cookie.name)).toEqual([]);
    expect(await rawFetch(tab, 'GET', '/users/1')).toBe(401);

    // Put the old access cookie back: the session was flushed on the server, so it is still refused.
    await tab.context.addCookies([access]);
    expect(await rawFetch(tab, 'GET', '/users/1')).toBe(401);
    // And through the app: its refresh fails, so it stays on the login form.
    expect(await viaApp(tab, [['GET', '/users/1']])).toEqual([401]);
    expect(await tab.page.isVisible('#login-form')).toBe(true);
  });

  it('ran without page errors or Content-Security-Policy violations', () => {
    expect([...tab.problems, ...other.problems]).toEqual([]);
  });
});

/** Polls until the condition holds (5 s at most). */
async function waitFor(condition: () => boolean | Promise<boolean>): Promise<void> {
  const deadline = Date.now() + 5000;
  while (!(await condition())) {
    if (Date.now() > deadline) throw new Error('Timed out waiting for the page');
    await new Promise((resolve) => setTimeout(resolve, 20));
  }
}
