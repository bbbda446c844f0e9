import { Logger } from '@nestjs/common';
import { NestFactory } from '@nestjs/core';
import { AppModule } from './app.module.js';
import { SampleConfig } from './config/sample-config.js';

const app = await NestFactory.create(AppModule);
app.enableShutdownHooks();
const { port, store } = app.get(SampleConfig);
await app.listen(port);
new Logger('Sample').log(`Listening on http://localhost:${port} (session store: ${store})`);
