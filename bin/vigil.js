#!/usr/bin/env node
// The `vigil` command (npx vigil …): Node 24 runs the TypeScript source directly.
await import('../src/cli.ts');
