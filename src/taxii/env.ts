import type { Principal } from '../services/auth.ts';

export type TaxiiEnv = { Variables: { principal: Principal } };
