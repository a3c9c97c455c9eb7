/**
 * The world of the isolation test: pool A's members (who call) and pool B's resources (what they
 * must not reach). Capabilities extend it with isolation-world.<capability>.ts files.
 */
export interface IsolationWorld {
  /** Ids of the base world's rows. */
  ids: Record<string, string>;
  /** Path parameter values, by name: every {name} in any endpoint path needs one (pointing into pool B). */
  params: Record<string, string>;
  /** Sample body per endpoint name (required for every endpoint that declares a body). */
  bodies: Record<string, unknown>;
  /** Strings of pool B that must never appear in an answer to pool A's members. */
  markers: string[];
  /** API tokens of pool A's members, by description. */
  tokens: Record<string, string>;
  poolB: { id: string; name: string };
  queryB: string;
  retrievalB: string;
  /** Extra checks that pool B is unchanged after every call. */
  checks: (() => Promise<void>)[];
}

export type WorldExtension = (w: IsolationWorld) => Promise<{
  params?: Record<string, string>;
  bodies?: Record<string, unknown>;
  markers?: string[];
  check?: () => Promise<void>;
}>;
