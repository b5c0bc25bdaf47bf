#!/usr/bin/env node
// Runs the TypeScript CLI through tsx, so there is no build step between a clone and a command.
import { register } from 'tsx/esm/api';

register();
await import('../client/cli.ts');
