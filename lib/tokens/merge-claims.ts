import type { TokenClaimsOptions } from '../interfaces/jwt-sessions-options.interface.js';

/**
 * Layers claims field by field, later layers winning; an `undefined` field never erases an earlier one,
 * so a per-route `{ leeway: 5 }` keeps the module's audience check.
 * @internal
 */
export function mergeClaims(...layers: Array<TokenClaimsOptions | undefined>): TokenClaimsOptions {
  const merged: Record<string, unknown> = {};
  for (const layer of layers) {
    for (const [key, value] of Object.entries(layer ?? {})) {
      if (value !== undefined) merged[key] = value;
    }
  }
  return merged as TokenClaimsOptions;
}
