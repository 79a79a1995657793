import type { Limits } from '../federation/peer-client.ts';

/** How much one run of a source pulls: pages of `pageLimit` objects, at most `maxPages`. */
export type PullOptions = { pageLimit: number; maxPages: number; limits?: Partial<Limits> };
export const DEFAULT_PULL: PullOptions = { pageLimit: 1000, maxPages: 50 };

/** `more`: the run stopped at maxPages while the peer had more to send. */
export type PullOutcome = {
  ok: boolean;
  pages: number;
  stored: number;
  quarantined: number;
  more: boolean;
  error?: { code: string; message: string };
};
