/**
 * Issue 7, "Both module systems": the package as a consumer gets it. `npm pack` builds the tarball; two throwaway
 * apps install it from the registry's point of view (their own node_modules, nothing linked to this repo):
 *
 * - a NestJS 12 ESM app ("type": "module"), on the newest 12.x: the top of the peer ranges;
 * - a NestJS 11 CommonJS app (no "type"; its compiled main.js does `require('nestjs-jwt-sessions')`, which Node
 *   >= 20.19 serves through require(esm)), pinned to the lowest version of every peer range (@nestjs/* 11.0.0,
 *   reflect-metadata 0.2.0, rxjs 7.1.0): the floor of the peer ranges.
 *
 * Each app is compiled with tsc against the package's declarations, booted as a child process, and driven over HTTP:
 * login, guarded request, refresh, logout. The CommonJS app also has the jest setup the Nest 11 CLI generates; its
 * default configuration cannot load an ESM package, and the one-line fix documented in the README is proved here.
 *
 * Slow (registry installs): about a minute; every step has a generous timeout.
 */
import { describe, expect, it, beforeAll, afterAll } from '@jest/globals';
import { spawn, type ChildProcess } from 'node:child_process';
import { existsSync, mkdirSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { dirname, join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';

const ROOT = resolve(dirname(fileURLToPath(import.meta.url)), '../..');
const TSC = join(ROOT, 'node_modules', 'typescript', 'bin', 'tsc');
const PKG = JSON.parse(readFileSync(join(ROOT, 'package.json'), 'utf8')) as { name: string; version: string };
const TIMEOUT = 240_000;

/** The one-line fix for a Nest 11 app's default (CommonJS) jest: let ts-jest compile this package and jose to CommonJS. */
const CJS_JEST_FIX = ['/node_modules/(?!(nestjs-jwt-sessions|jose)/)'];

interface Result {
  code: number | null;
  stdout: string;
  stderr: string;
}

/** Children started by this file: killed in afterAll whatever happens. */
const children = new Set<ChildProcess>();

/** A clean environment for the children: not this jest's worker id or node options. */
function childEnv(): NodeJS.ProcessEnv {
  const env = { ...process.env };
  delete env.JEST_WORKER_ID;
  delete env.NODE_OPTIONS;
  return env;
}

function run(command: string, args: string[], cwd: string, timeoutMs = TIMEOUT): Promise<Result> {
  return new Promise((done, fail) => {
    const child = spawn(command, args, { cwd, env: childEnv(), stdio: ['ignore', 'pipe', 'pipe'] });
    children.add(child);
    let stdout = '';
    let stderr = '';
    child.stdout!.on('data', (chunk: Buffer) => (stdout += chunk.toString()));
    child.stderr!.on('data', (chunk: Buffer) => (stderr += chunk.toString()));
    const timer = setTimeout(() => child.kill('SIGKILL'), timeoutMs);
    child.on('error', (error) => {
      clearTimeout(timer);
      children.delete(child);
      fail(error);
    });
    child.on('close', (code) => {
      clearTimeout(timer);
      children.delete(child);
      done({ code, stdout, stderr });
    });
  });
}

/** Runs a command that must succeed; a failure shows its output. */
async function ok(command: string, args: string[], cwd: string): Promise<Result> {
  const result = await run(command, args, cwd);
  if (result.code !== 0) {
    throw new Error(`${command} ${args.join(' ')} (in ${cwd}) exited ${result.code}\n${result.stdout}\n${result.stderr}`);
  }
  return result;
}

function writeJson(path: string, value: unknown): void {
  writeFileSync(path, `${JSON.stringify(value, null, 2)}\n`);
}

/** Starts an app (it prints `LISTENING <port>` once it listens on a free port) and answers its base URL. */
function boot(cwd: string): Promise<{ url: string; child: ChildProcess; stderr: () => string }> {
  return new Promise((done, fail) => {
    const child = spawn(process.execPath, ['dist/main.js'], { cwd, env: childEnv(), stdio: ['ignore', 'pipe', 'pipe'] });
    children.add(child);
    let stdout = '';
    let stderr = '';
    const timer = setTimeout(() => fail(new Error(`app in ${cwd} did not listen within 60 s\n${stdout}\n${stderr}`)), 60_000);
    child.stderr!.on('data', (chunk: Buffer) => (stderr += chunk.toString()));
    child.stdout!.on('data', (chunk: Buffer) => {
      stdout += chunk.toString();
      const port = /LISTENING (\d+)/.exec(stdout)?.[1];
      if (port) {
        clearTimeout(timer);
        done({ url: `http://127.0.0.1:${port}`, child, stderr: () => stderr });
      }
    });
    child.on('exit', (code) => {
      children.delete(child);
      clearTimeout(timer);
      fail(new Error(`app in ${cwd} exited ${code} before listening\n${stdout}\n${stderr}`));
    });
  });
}

function stop(child: ChildProcess): Promise<void> {
  return new Promise((done) => {
    if (child.exitCode !== null || child.signalCode !== null) return done();
    child.once('exit', () => done());
    child.kill('SIGTERM');
    setTimeout(() => child.kill('SIGKILL'), 5_000).unref();
  });
}

// ---------------------------------------------------------------------------------------------------------------
// The apps. One TypeScript source serves both: tsc emits ESM or CommonJS from the nearest package.json "type".

const MAIN_TS = `import 'reflect-metadata';
import { Body, Controller, Delete, Get, HttpCode, Module, Post } from '@nestjs/common';
import { NestFactory } from '@nestjs/core';
import {
  AccessAuth, FoundToken, JwtSessionsModule, RefreshAuth, SessionService, TokenPayload, type AccessTokenPayload,
} from 'nestjs-jwt-sessions';

@Controller()
class AuthController {
  constructor(private readonly sessions: SessionService) {}

  @Post('login')
  login(@Body() body: { user_id: number }) {
    return this.sessions.login({ payload: { user_id: body.user_id }, namespace: \`user-\${body.user_id}\` });
  }

  @AccessAuth()
  @Get('me')
  me(@TokenPayload('user_id') userId: number) {
    return { user_id: userId };
  }

  @RefreshAuth()
  @Post('refresh')
  refresh(@FoundToken() token: string, @TokenPayload('user_id') userId: number) {
    return this.sessions.refresh(token, { payload: { user_id: userId } });
  }

  @AccessAuth()
  @Delete('logout')
  @HttpCode(200)
  async logout(@TokenPayload() payload: AccessTokenPayload) {
    return { flushed: await this.sessions.flushByAccessPayload(payload) };
  }
}

@Module({
  imports: [JwtSessionsModule.forRoot({ signingKey: 'consumer-test-signing-key-0123456789abcdef' })],
  controllers: [AuthController],
})
class AppModule {}

async function bootstrap(): Promise<void> {
  const app = await NestFactory.create(AppModule, { logger: ['error', 'warn'] });
  await app.listen(0, '127.0.0.1');
  const address = app.getHttpServer().address() as { port: number };
  console.log(\`LISTENING \${address.port}\`);
}

bootstrap().catch((error: unknown) => {
  console.error(error);
  process.exit(1);
});
`;

/** The app's build config: strict, decorators, NodeNext (the module format comes from package.json "type"). */
const APP_TSCONFIG = {
  compilerOptions: {
    module: 'nodenext', moduleResolution: 'nodenext', target: 'ES2023', strict: true,
    experimentalDecorators: true, emitDecoratorMetadata: true, isolatedModules: true, skipLibCheck: true,
    rootDir: 'src', outDir: 'dist', types: ['node'],
  },
  files: ['src/main.ts'],
};

/** The testing entry point outside jest: a context on the testing preset, a session minted by loginAs, verified. */
const TESTING_CHECK_BODY = `
class TestApp {}
Module({ imports: [JwtSessionsTestingModule.forRoot()] })(TestApp);
const context = await NestFactory.createApplicationContext(TestApp, { logger: false });
const session = await loginAs(context, { payload: { user_id: 3 } });
const { payload } = await context.get(SessionService).authorizeAccess(session.tokens.access);
await context.close();
console.log(JSON.stringify({ headers: Object.keys(session.headers), user_id: payload.user_id, clock: typeof TestClock }));
`;
const TESTING_CHECK_MJS = `import 'reflect-metadata';
import { Module } from '@nestjs/common';
import { NestFactory } from '@nestjs/core';
import { SessionService } from 'nestjs-jwt-sessions';
import { JwtSessionsTestingModule, TestClock, loginAs } from 'nestjs-jwt-sessions/testing';
${TESTING_CHECK_BODY}`;
const TESTING_CHECK_CJS = `require('reflect-metadata');
const { Module } = require('@nestjs/common');
const { NestFactory } = require('@nestjs/core');
const { SessionService } = require('nestjs-jwt-sessions');
const { JwtSessionsTestingModule, TestClock, loginAs } = require('nestjs-jwt-sessions/testing');
(async () => {${TESTING_CHECK_BODY}})().catch((error) => { console.error(error); process.exit(1); });
`;

/** Subpaths that must not be importable: only "." and "./testing" (and "./package.json") are public. */
const DEEP_IMPORTS = [
  'nestjs-jwt-sessions/dist/lib/session/session.service.js',
  'nestjs-jwt-sessions/dist/lib/index.js',
  'nestjs-jwt-sessions/lib/index.ts',
  'nestjs-jwt-sessions/testing/index.js',
];
const PUBLIC_IMPORTS = ['nestjs-jwt-sessions', 'nestjs-jwt-sessions/testing'];

const IMPORT_PROBE_CJS = `const out = {};
for (const s of ${JSON.stringify([...PUBLIC_IMPORTS, ...DEEP_IMPORTS])}) {
  try { const m = require(s); out[s] = 'loaded:' + Object.keys(m).length; } catch (e) { out[s] = e.code || String(e); }
}
console.log(JSON.stringify(out));`;
const IMPORT_PROBE_MJS = `const out = {};
for (const s of ${JSON.stringify([...PUBLIC_IMPORTS, ...DEEP_IMPORTS])}) {
  try { const m = await import(s); out[s] = 'loaded:' + Object.keys(m).length; } catch (e) { out[s] = e.code || String(e); }
}
console.log(JSON.stringify(out));`;

/** What the Nest 11 CLI (`nest new`) writes: its jest block of package.json, tsconfig.json, and a spec. */
const NEST11_DEFAULT_JEST = {
  moduleFileExtensions: ['js', 'json', 'ts'],
  rootDir: 'src',
  testRegex: '.*\\.spec\\.ts$',
  transform: { '^.+\\.(t|j)s$': 'ts-jest' },
  collectCoverageFrom: ['**/*.(t|j)s'],
  coverageDirectory: '../coverage',
  testEnvironment: 'node',
};
/** The Nest 11 starter's tsconfig.json, with the two changes TypeScript 6 requires: no `baseUrl`, an explicit `rootDir`. */
const NEST11_TSCONFIG = {
  compilerOptions: {
    module: 'nodenext', moduleResolution: 'nodenext', resolvePackageJsonExports: true, esModuleInterop: true,
    isolatedModules: true, declaration: true, removeComments: true, emitDecoratorMetadata: true,
    experimentalDecorators: true, allowSyntheticDefaultImports: true, target: 'ES2023', sourceMap: true,
    outDir: './dist', rootDir: './src', incremental: true, skipLibCheck: true, strictNullChecks: true,
    forceConsistentCasingInFileNames: true, noImplicitAny: false, strictBindCallApply: false,
    noFallthroughCasesInSwitch: false,
  },
};
const APP_SPEC_TS = `import { Controller, Get, type INestApplication } from '@nestjs/common';
import { Test } from '@nestjs/testing';
import { AccessAuth, TokenPayload } from 'nestjs-jwt-sessions';
import { JwtSessionsTestingModule, loginAs } from 'nestjs-jwt-sessions/testing';

@Controller()
class MeController {
  @AccessAuth()
  @Get('me')
  me(@TokenPayload('user_id') userId: number) {
    return { user_id: userId };
  }
}

describe('nestjs-jwt-sessions in the default CommonJS jest of a Nest 11 app', () => {
  let app: INestApplication;

  beforeAll(async () => {
    const moduleRef = await Test.createTestingModule({
      imports: [JwtSessionsTestingModule.forRoot()],
      controllers: [MeController],
    }).compile();
    app = moduleRef.createNestApplication({ logger: false });
    await app.listen(0, '127.0.0.1');
  });

  afterAll(async () => {
    await app?.close();
  });

  it('guards a route, and a loginAs session passes it', async () => {
    const session = await loginAs(app, { payload: { user_id: 7 } });
    expect(session.headers.authorization).toMatch(/^Bearer /);
    const base = await app.getUrl();
    expect((await fetch(\`\${base}/me\`)).status).toBe(401);
    const allowed = await fetch(\`\${base}/me\`, { headers: session.headers });
    expect(allowed.status).toBe(200);
    expect(await allowed.json()).toEqual({ user_id: 7 });
  });
});
`;

/** login, guarded request, refresh, guarded request with the new access token, logout, and the session is gone. */
async function sessionRoundTrip(base: string): Promise<void> {
  const json = { 'content-type': 'application/json' };
  const bearer = (token: string) => ({ authorization: `Bearer ${token}` });

  const login = await fetch(`${base}/login`, { method: 'POST', headers: json, body: JSON.stringify({ user_id: 7 }) });
  expect(login.status).toBe(201);
  const tokens = (await login.json()) as { access: string; refresh: string; csrf: string };
  expect(tokens).toEqual(expect.objectContaining({ access: expect.any(String), refresh: expect.any(String), csrf: expect.any(String) }));

  const me = await fetch(`${base}/me`, { headers: bearer(tokens.access) });
  expect(me.status).toBe(200);
  expect(await me.json()).toEqual({ user_id: 7 });
  expect((await fetch(`${base}/me`)).status).toBe(401);

  const refresh = await fetch(`${base}/refresh`, { method: 'POST', headers: { 'x-refresh-token': tokens.refresh } });
  expect(refresh.status).toBe(201);
  const refreshed = (await refresh.json()) as { access: string };
  expect(typeof refreshed.access).toBe('string');
  expect(refreshed.access).not.toBe(tokens.access);

  const meAgain = await fetch(`${base}/me`, { headers: bearer(refreshed.access) });
  expect(meAgain.status).toBe(200);
  expect(await meAgain.json()).toEqual({ user_id: 7 });
  // The refresh retired the session's previous access token.
  expect((await fetch(`${base}/me`, { headers: bearer(tokens.access) })).status).toBe(401);

  const logout = await fetch(`${base}/logout`, { method: 'DELETE', headers: bearer(refreshed.access) });
  expect(logout.status).toBe(200);
  expect(await logout.json()).toEqual({ flushed: 1 });

  expect((await fetch(`${base}/me`, { headers: bearer(refreshed.access) })).status).toBe(401);
  expect((await fetch(`${base}/refresh`, { method: 'POST', headers: { 'x-refresh-token': tokens.refresh } })).status).toBe(401);
}

/** tsc's own errors located in this package's declarations (other packages' .d.ts are not ours to answer for). */
function errorsInOurDeclarations(output: string): string[] {
  return output.split('\n').filter((line) => line.startsWith('node_modules/nestjs-jwt-sessions/'));
}

// ---------------------------------------------------------------------------------------------------------------

describe('the packed package in a NestJS 12 ESM app and a NestJS 11 CommonJS app', () => {
  let work: string;
  let tarball: string;
  let files: string[];
  let esmApp: string;
  let cjsApp: string;

  beforeAll(async () => {
    work = mkdtempSync(join(tmpdir(), 'jwt-sessions-consumer-'));
    await ok('npm', ['run', 'build', '--silent'], ROOT);
    await ok('npm', ['pack', '--silent', '--pack-destination', work], ROOT);
    tarball = join(work, `${PKG.name}-${PKG.version}.tgz`);
    files = (await ok('tar', ['-tzf', tarball], work)).stdout.split('\n').filter(Boolean).sort();

    esmApp = join(work, 'esm-app');
    cjsApp = join(work, 'cjs-app');
    for (const app of [esmApp, cjsApp]) {
      mkdirSync(join(app, 'src'), { recursive: true });
      writeFileSync(join(app, 'src', 'main.ts'), MAIN_TS);
      writeJson(join(app, 'tsconfig.app.json'), APP_TSCONFIG);
    }

    writeJson(join(esmApp, 'package.json'), {
      name: 'esm-app', private: true, version: '0.0.0', type: 'module',
      dependencies: {
        '@nestjs/common': '^12.0.0', '@nestjs/core': '^12.0.0', '@nestjs/platform-express': '^12.0.0',
        'reflect-metadata': '^0.2.0', rxjs: '^7.1.0', [PKG.name]: `file:${tarball}`,
      },
      devDependencies: { '@types/node': '^20.19.0' },
    });
    writeFileSync(join(esmApp, 'testing-check.mjs'), TESTING_CHECK_MJS);

    writeJson(join(cjsApp, 'package.json'), {
      name: 'cjs-app', private: true, version: '0.0.0',
      scripts: { test: 'jest' },
      dependencies: {
        // The floor of every peer range.
        '@nestjs/common': '11.0.0', '@nestjs/core': '11.0.0', '@nestjs/platform-express': '11.0.0',
        'reflect-metadata': '0.2.0', rxjs: '7.1.0', [PKG.name]: `file:${tarball}`,
      },
      devDependencies: {
        '@nestjs/testing': '11.0.0', '@types/jest': '^30.0.0', '@types/node': '^20.19.0', jest: '^30.0.0',
        'ts-jest': '^29.2.5', typescript: '~6.0.3',
      },
      jest: NEST11_DEFAULT_JEST,
    });
    writeJson(join(cjsApp, 'tsconfig.json'), NEST11_TSCONFIG);
    writeFileSync(join(cjsApp, 'src', 'app.spec.ts'), APP_SPEC_TS);
    writeFileSync(join(cjsApp, 'testing-check.cjs'), TESTING_CHECK_CJS);

    // npm refuses (ERESOLVE) an install whose peer dependencies conflict: both installs passing is the peer check.
    await Promise.all([esmApp, cjsApp].map((app) => ok('npm', ['install', '--no-audit', '--no-fund', '--loglevel=error'], app)));
    await Promise.all([esmApp, cjsApp].map((app) => ok(process.execPath, [TSC, '-p', 'tsconfig.app.json'], app)));
  }, TIMEOUT);

  afterAll(async () => {
    await Promise.all([...children].map(stop));
    if (work) rmSync(work, { recursive: true, force: true });
  }, 30_000);

  it('packs the built code, its declarations, README and LICENSE, and nothing else', () => {
    for (const file of ['package.json', 'README.md', 'LICENSE', 'dist/lib/index.js', 'dist/lib/index.d.ts',
      'dist/lib/testing/index.js', 'dist/lib/testing/index.d.ts']) {
      expect(files).toContain(`package/${file}`);
    }
    const outside = files.filter((file) => !file.startsWith('package/dist/lib/'));
    expect(outside).toEqual(['package/LICENSE', 'package/README.md', 'package/package.json']);
    expect(files.filter((file) => /^package\/(test|sample|bench|lib)\/|^package\/dist\/(sample|bench|test)\//.test(file))).toEqual([]);
    // Only .js and .d.ts: no TypeScript sources, no source maps pointing at sources that are not shipped.
    expect(files.filter((file) => file.startsWith('package/dist/') && !/\.(d\.ts|js)$/.test(file))).toEqual([]);

    const js = files.filter((file) => file.endsWith('.js')).map((file) => file.slice('package/dist/'.length, -'.js'.length));
    const dts = files.filter((file) => file.endsWith('.d.ts')).map((file) => file.slice('package/dist/'.length, -'.d.ts'.length));
    expect(dts).toEqual(js);
    // Every shipped module is built from a current source: no output left over from a deleted or renamed file.
    expect(js.filter((module) => !existsSync(join(ROOT, `${module}.ts`)))).toEqual([]);
  });

  it('installs under the newest 12.x and the lowest versions of the peer ranges', async () => {
    const versions = async (app: string) => {
      const tree = JSON.parse((await ok('npm', ['ls', '--json'], app)).stdout) as { dependencies: Record<string, { version: string }> };
      return Object.fromEntries(['@nestjs/common', '@nestjs/core', 'reflect-metadata', 'rxjs', PKG.name].map((name) => [name, tree.dependencies[name]?.version]));
    };
    const esm = await versions(esmApp);
    expect(esm['@nestjs/core']).toMatch(/^12\./);
    expect(esm[PKG.name]).toBe(PKG.version);
    expect(await versions(cjsApp)).toEqual({
      '@nestjs/common': '11.0.0', '@nestjs/core': '11.0.0', 'reflect-metadata': '0.2.0', rxjs: '7.1.0', [PKG.name]: PKG.version,
    });
  }, TIMEOUT);

  it('compiles each app as its module system wants: import in the ESM app, require in the CommonJS app', () => {
    expect(readFileSync(join(esmApp, 'dist', 'main.js'), 'utf8')).toMatch(/from 'nestjs-jwt-sessions'/);
    expect(readFileSync(join(cjsApp, 'dist', 'main.js'), 'utf8')).toMatch(/require\("nestjs-jwt-sessions"\)/);
  });

  // An app with skipLibCheck: false must get no error from our .d.ts under either major. The inferred type of an
  // exported createParamDecorator(...) const inlines @nestjs/common's own types, which differ between 11 and 12:
  // such exports need an explicit annotation.
  it('its declarations type-check against Nest 12 and Nest 11 types, library checks on (skipLibCheck: false)', async () => {
    for (const app of [esmApp, cjsApp]) {
      const result = await run(process.execPath, [TSC, '-p', 'tsconfig.app.json', '--noEmit', '--skipLibCheck', 'false'], app);
      expect({ app: app === esmApp ? 'nest 12 esm' : 'nest 11 cjs', errors: errorsInOurDeclarations(result.stdout) })
        .toEqual({ app: app === esmApp ? 'nest 12 esm' : 'nest 11 cjs', errors: [] });
    }
  }, TIMEOUT);

  it.each([
    ['NestJS 12 ESM app', () => esmApp],
    ['NestJS 11 CommonJS app', () => cjsApp],
  ])('%s: boots, and logs in, guards, refreshes and logs out over HTTP', async (_name, appDir) => {
    const app = await boot(appDir());
    try {
      await sessionRoundTrip(app.url);
      expect(app.stderr()).not.toMatch(/Error/);
    } finally {
      await stop(app.child);
    }
  }, TIMEOUT);

  it.each([
    ['NestJS 12 ESM app', () => esmApp, 'testing-check.mjs', ['--input-type=module', '-e', IMPORT_PROBE_MJS]],
    ['NestJS 11 CommonJS app', () => cjsApp, 'testing-check.cjs', ['-e', IMPORT_PROBE_CJS]],
  ])('%s: imports the two public entry points, and no deep path', async (_name, appDir, testingCheck, probe) => {
    const imports = JSON.parse((await ok(process.execPath, probe as string[], appDir())).stdout) as Record<string, string>;
    for (const entry of PUBLIC_IMPORTS) expect(imports[entry]).toMatch(/^loaded:[1-9]/);
    for (const deep of DEEP_IMPORTS) expect({ [deep]: imports[deep] }).toEqual({ [deep]: 'ERR_PACKAGE_PATH_NOT_EXPORTED' });

    const testing = JSON.parse((await ok(process.execPath, [testingCheck as string], appDir())).stdout) as unknown;
    expect(testing).toEqual({ headers: ['authorization'], user_id: 3, clock: 'function' });
  }, TIMEOUT);

  it('NestJS 11 CommonJS app: its default jest cannot load the package; transformIgnorePatterns for it and jose fixes that', async () => {
    const jest = async (jestConfig: object) => {
      const pkg = JSON.parse(readFileSync(join(cjsApp, 'package.json'), 'utf8')) as Record<string, unknown>;
      writeJson(join(cjsApp, 'package.json'), { ...pkg, jest: jestConfig });
      const result = await run(process.execPath, ['node_modules/jest/bin/jest.js', '--ci', '--cacheDirectory', '.jest-cache'], cjsApp);
      return { code: result.code, output: result.stdout + result.stderr };
    };

    const asGenerated = await jest(NEST11_DEFAULT_JEST);
    expect(asGenerated.code).toBe(1);
    expect(asGenerated.output).toContain('Must use import to load ES Module');
    expect(asGenerated.output).toContain('node_modules/nestjs-jwt-sessions/dist/lib/index.js');

    // Half a fix: the package compiles, but its dependency jose 6 is ESM-only too.
    const packageOnly = await jest({ ...NEST11_DEFAULT_JEST, transformIgnorePatterns: ['/node_modules/(?!nestjs-jwt-sessions/)'] });
    expect(packageOnly.code).toBe(1);
    expect(packageOnly.output).toMatch(/Must use import to load ES Module: \S*node_modules\/jose\//);

    // The fix: one line. ts-jest (>= 29.3.2) compiles JavaScript from node_modules to CommonJS without `allowJs`.
    const fixed = await jest({ ...NEST11_DEFAULT_JEST, transformIgnorePatterns: CJS_JEST_FIX });
    expect(fixed.output).toContain('Tests:       1 passed, 1 total');
    expect(fixed.code).toBe(0);
  }, TIMEOUT);
});
