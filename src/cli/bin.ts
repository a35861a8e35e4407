#!/usr/bin/env node
import { processIO } from './io.ts';
import { main } from './main.ts';

// Not a top-level await: the bundled CLI's command chunks import from this
// entry chunk (scripts/bundle-cli.ts), and would wait for it forever while it
// awaited them. main() reports every error itself.
void main(process.argv.slice(2), processIO()).then((code) => {
  process.exitCode = code;
});
