import { describe, expect, it } from 'vitest';
import { allowedMethods } from '../../../src/http/methods.ts';

const routes = [
  { method: 'GET', path: '/:root/collections/:id/objects' },
  { method: 'POST', path: '/:root/collections/:id/objects' },
  { method: 'GET', path: '/:root/collections/:id/objects/:objectId' },
  { method: 'DELETE', path: '/:root/collections/:id/objects/:objectId' },
  { method: 'GET', path: '/admin/clients' },
  { method: 'ALL', path: '*' },
];

describe('allowedMethods', () => {
  it('answers a path asked again as the first time, however many other paths came between', () => {
    const allowed = allowedMethods(routes);
    for (let round = 0; round < 3; round++) {
      expect(allowed('/default/collections/c1/objects')).toEqual(['GET', 'HEAD', 'POST']);
      expect(allowed('/default/collections/c1/objects/o1')).toEqual(['GET', 'HEAD', 'DELETE']);
      expect(allowed('/admin/clients')).toEqual(['GET', 'HEAD']);
      expect(allowed('/admin/nothing')).toEqual([]);
      // More distinct paths than the answers kept.
      for (let i = 0; i < 1500; i++) expect(allowed(`/r${i}/collections/c${round}/objects`)).toEqual(['GET', 'HEAD', 'POST']);
      expect(allowed(`/default/${'x'.repeat(300)}`)).toEqual([]);
    }
  });
});
