/**
 * Hash routing (`/tasker/ui/#/tasks/42`): works behind any static file server and needs no server-side
 * fallback. Routes are parsed into plain data so pages get typed parameters.
 */
export type Route =
  | { readonly page: 'overview' }
  | { readonly page: 'tasks'; readonly query: URLSearchParams }
  | { readonly page: 'task'; readonly id: number }
  | {
      readonly page: 'templates';
      readonly namespace?: string;
      readonly name?: string;
      readonly version?: string;
    }
  | { readonly page: 'new'; readonly query: URLSearchParams }
  | { readonly page: 'failures'; readonly fingerprint?: string }
  | { readonly page: 'schedules' }
  | { readonly page: 'not-found'; readonly path: string };

export function parseRoute(hash: string): Route {
  const raw = hash.replace(/^#/, '') || '/';
  const [path = '/', search = ''] = raw.split('?', 2);
  const query = new URLSearchParams(search);
  const parts = path.split('/').filter(Boolean).map(decodeURIComponent);
  const [head, a, b] = parts;
  if (parts.length === 0 || (head === 'overview' && parts.length === 1)) return { page: 'overview' };
  if (head === 'tasks' && parts.length === 1) return { page: 'tasks', query };
  if (head === 'tasks' && parts.length === 2 && a && /^[1-9][0-9]{0,15}$/.test(a)) {
    return { page: 'task', id: Number(a) };
  }
  if (head === 'templates' && parts.length <= 3) {
    const version = query.get('version') ?? undefined;
    return { page: 'templates', namespace: a, name: b, version };
  }
  if (head === 'new' && parts.length === 1) return { page: 'new', query };
  if (head === 'failures' && parts.length <= 2) return { page: 'failures', fingerprint: a };
  if (head === 'schedules' && parts.length === 1) return { page: 'schedules' };
  return { page: 'not-found', path };
}

export function href(path: string, query?: Record<string, string | undefined>): string {
  const qs = new URLSearchParams();
  for (const [key, value] of Object.entries(query ?? {})) if (value) qs.set(key, value);
  const s = qs.toString();
  return `#${path}${s ? `?${s}` : ''}`;
}
