#!/usr/bin/env node
// The `crier` command. The code lives in dist/ (built by `npm run build`, which `npm install` runs).
import '../dist/cli/crier.js';
