export { AccessAuth, RefreshAuth, RefreshByAccessAuth } from './auth.decorators.js';
export { TokenClaims } from './token-claims.decorator.js';
export { TokenPayload, ClaimlessPayload, FoundToken, CurrentSession } from './param.decorators.js';
export { JwtSessionsGuard } from './jwt-sessions.guard.js';
export { TokenPayloadPipe } from './token-payload.pipe.js';
export type { AuthMode, AuthOptions, AuthContext, SessionView } from './auth-rule.js';
export { authContextOf } from './auth-context.js';
