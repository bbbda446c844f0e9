import { Module } from '@nestjs/common';
import { SampleConfig } from './sample-config.js';

@Module({
  providers: [{ provide: SampleConfig, useFactory: () => new SampleConfig() }],
  exports: [SampleConfig],
})
export class SampleConfigModule {}
