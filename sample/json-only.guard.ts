import { Injectable, UnsupportedMediaTypeException, type CanActivate, type ExecutionContext } from '@nestjs/common';

/**
 * Takes JSON bodies only. A cross-site HTML form can post url-encoded or multipart bodies without a preflight,
 * which would let another site log a victim into the attacker's account (login CSRF); it cannot post JSON.
 */
@Injectable()
export class JsonOnlyGuard implements CanActivate {
  canActivate(context: ExecutionContext): boolean {
    const type = context.switchToHttp().getRequest<{ headers: Record<string, unknown> }>().headers['content-type'];
    if (typeof type !== 'string' || !/^application\/json\s*(;|$)/i.test(type)) {
      throw new UnsupportedMediaTypeException('Send the body as application/json');
    }
    return true;
  }
}
