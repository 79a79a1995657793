// TLP levels, strictest last. DENY is not a TLP level: it is what an object with an unknown
// TLP-like or unresolvable marking gets, and it is served to nobody but the admin.
export const CLEAR = 0;
export const GREEN = 1;
export const AMBER = 2;
export const AMBER_STRICT = 3;
export const RED = 4;
export const DENY = 5;

export type Level = 0 | 1 | 2 | 3 | 4 | 5;
export type Clearance = 0 | 1 | 2 | 3;

export const LEVEL_NAMES = ['CLEAR', 'GREEN', 'AMBER', 'AMBER+STRICT', 'RED', 'DENY'] as const;
export type LevelName = (typeof LEVEL_NAMES)[number];

export const CLEARANCE_NAMES = ['CLEAR', 'GREEN', 'AMBER', 'AMBER+STRICT'] as const;

export function levelName(level: number): LevelName {
  return LEVEL_NAMES[level] ?? 'DENY';
}

export function levelOf(name: string): Level | undefined {
  const i = (LEVEL_NAMES as readonly string[]).indexOf(name.toUpperCase());
  return i < 0 ? undefined : (i as Level);
}

/** PAP (Permissible Actions Protocol) restricts use, not sharing: CLEAR < GREEN < AMBER < RED. */
export const PAP_NAMES = ['CLEAR', 'GREEN', 'AMBER', 'RED'] as const;
export type Pap = 0 | 1 | 2 | 3;
