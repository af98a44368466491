#!/usr/bin/env node
// The `skiff` command: the built CLI (run `npm run build`, or `npm start`, first).
import '../dist/main.js';
