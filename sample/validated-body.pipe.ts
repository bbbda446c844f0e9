import { BadRequestException, Injectable, type PipeTransform, type Type } from '@nestjs/common';
import { getMetadataStorage, validateSync } from 'class-validator';

/**
 * Validates a request body (or part of it) against a class-validator class; anything else is a 400.
 * Only the fields the class declares are copied, onto a fresh instance: keys such as `__proto__` or
 * `constructor` in the JSON never reach the object class-validator inspects.
 */
export function ValidatedBody<T extends object>(schema: Type<T>): Type<PipeTransform<unknown, T>> {
  const fields = [...new Set(getMetadataStorage().getTargetValidationMetadatas(schema, '', true, false).map((rule) => rule.propertyName))];

  @Injectable()
  class ValidatedBodyPipe implements PipeTransform<unknown, T> {
    transform(value: unknown): T {
      if (value === null || typeof value !== 'object' || Array.isArray(value)) {
        throw new BadRequestException('Request body must be a JSON object');
      }
      const instance = new schema();
      for (const field of fields) {
        if (Object.prototype.hasOwnProperty.call(value, field)) {
          Object.defineProperty(instance, field, { value: (value as Record<string, unknown>)[field], enumerable: true, writable: true });
        }
      }
      const errors = validateSync(instance);
      if (errors.length > 0) {
        throw new BadRequestException(errors.flatMap((error) => Object.values(error.constraints ?? {})));
      }
      return instance;
    }
  }
  return ValidatedBodyPipe;
}
