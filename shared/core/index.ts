/**
 * configstamp's pure core: plain objects in, plain objects out. No client, server, logger,
 * environment, clock or filesystem (eslint.config.js fences this folder).
 */
export * from './admission.js';
export * from './annotations.js';
export * from './csi.js';
export * from './decide.js';
export * from './digest.js';
export * from './duration.js';
export * from './evaluate.js';
export * from './json.js';
export * from './kinds.js';
export * from './meta.js';
export * from './patch.js';
export * from './policy.js';
export * from './progress.js';
export * from './recreate.js';
export * from './references.js';
export * from './selector.js';
export * from './stamp.js';
export * from './timing.js';
export * from './versions.js';
export * from './waves.js';
export * from './window.js';
export * from './workload.js';
