// How people read a source in the console and the vigil command, in one place: a kind of source
// added later shows under its own name until it gets a label here, and its table rows need nothing.

const KIND_LABELS: Readonly<Record<string, string>> = { peer: 'Vigil peer', taxii: 'TAXII server', misp: 'MISP' };

/** "Vigil peer", "TAXII server", "MISP"; an unknown kind as itself. */
export const sourceKindLabel = (kind: string): string => KIND_LABELS[kind] ?? kind;

/** Where a source pulls from, whatever its kind: a server's URL, else the peer's node id (its client id before it is pinned). */
export function sourceFrom(s: { url?: string | null; peer_node_id?: string | null; peer_id?: string | null }): string {
  return s.url ?? s.peer_node_id ?? s.peer_id ?? '';
}

/** The remote collection as the admin named it: a peer's under its API root. */
export function sourceRemoteCollection(s: { remote_api_root?: string | null; remote_collection_id?: string | null }): string {
  return `${s.remote_api_root ? `${s.remote_api_root}/` : ''}${s.remote_collection_id ?? ''}`;
}

/** A lag in seconds as people read it: 42 s, 7 min, 3 h 5 min, 2 d 4 h. */
export function formatLag(seconds: number | null | undefined): string {
  if (seconds === null || seconds === undefined || !Number.isFinite(seconds)) return 'never pulled';
  const s = Math.max(0, Math.round(seconds));
  if (s < 60) return `${s} s`;
  if (s < 3600) return `${Math.floor(s / 60)} min`;
  if (s < 86_400) return `${Math.floor(s / 3600)} h ${Math.floor((s % 3600) / 60)} min`;
  return `${Math.floor(s / 86_400)} d ${Math.floor((s % 86_400) / 3600)} h`;
}
