#!/usr/bin/env node
// Launcher for the quicmesh-lab CLI: the compiled dist/ or, in a clone whose build is missing or
// older than the sources, the TypeScript sources through tsx (bin/launch.js).
import { launch } from './launch.js';

await launch('quicmesh-lab');
