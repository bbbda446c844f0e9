import { BadRequestException, Injectable, type PipeTransform, type Type } from '@nestjs/common';
import { validateSync } from 'class-validator';

/** Validates a request body (or part of it) against a class-validator class; anything else is a 400. */
export function ValidatedBody<T extends object>(schema: Type<T>): Type<PipeTransform<unknown, T>> {
  @Injectable()
  class ValidatedBodyPipe implements PipeTransform<unknown, T> {
    transform(value: unknown): T {
      if (value === null || typeof value !== 'object' || Array.isArray(value)) {
        throw new BadRequestException('Request body must be a JSON object');
      }
      const instance = Object.assign(new schema(), value);
      const errors = validateSync(instance, { forbidUnknownValues: true });
      if (errors.length > 0) {
        throw new BadRequestException(errors.flatMap((error) => Object.values(error.constraints ?? {})));
      }
      return instance;
    }
  }
  return ValidatedBodyPipe;
}
