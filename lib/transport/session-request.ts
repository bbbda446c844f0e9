/**
 * The little of an HTTP request the guards read. Express and Fastify requests both fit it; for GraphQL or
 * WebSockets, override `JwtSessionsGuard.getRequest` to hand over an object of this shape.
 * @publicApi
 */
export interface SessionRequest {
  method?: string;
  /** The method on the wire when method-override middleware changed `method` (Express sets it). */
  originalMethod?: string;
  headers: Record<string, string | string[] | undefined>;
}
