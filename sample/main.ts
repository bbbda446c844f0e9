import { Logger } from '@nestjs/common';
import { NestFactory } from '@nestjs/core';
import { FastifyAdapter } from '@nestjs/platform-fastify';
import { AppModule } from './app.module.js';
import { sampleAdapter, SampleConfig } from './config/sample-config.js';

// The library needs nothing adapter-specific: the same AppModule runs on Express (the default) or Fastify.
const adapter = sampleAdapter();
const app = adapter === 'fastify' ? await NestFactory.create(AppModule, new FastifyAdapter()) : await NestFactory.create(AppModule);
app.enableShutdownHooks();
const { port, store } = app.get(SampleConfig);
// Fastify listens on localhost only unless told otherwise; Express on every interface.
await (adapter === 'fastify' ? app.listen(port, '::') : app.listen(port));
new Logger('Sample').log(`Listening on http://localhost:${port} (${adapter}, session store: ${store})`);
