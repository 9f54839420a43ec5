// Minimal real Backstage backend for the end-to-end tests: the catalog plugin plus the
// unprocessed-entities module (it exposes processing errors over HTTP), the auth plugin with the guest
// provider (real user tokens, signed with Backstage's own keys and published in its JWKS) and the proxy
// plugin (endpoints come from the overlay). Started by tests/e2e/backstage_harness.py as
// `node index.js --config app-config.yaml --config <overlay>`.
'use strict';

const { createBackend } = require('@backstage/backend-defaults');

// Plain text in the captured log: the dev log format colours even when stdout is a file, and
// FORCE_COLOR=0 does not stop it. Cosmetic only, so a missing module is ignored.
try {
  require('@colors/colors/safe').disable();
} catch {}

const backend = createBackend();
backend.add(require('@backstage/plugin-catalog-backend'));
backend.add(require('@backstage/plugin-catalog-backend-module-unprocessed'));
backend.add(require('@backstage/plugin-auth-backend'));
backend.add(require('@backstage/plugin-auth-backend-module-guest-provider'));
backend.add(require('@backstage/plugin-proxy-backend'));
backend.start().catch(error => {
  console.error('backend failed to start:', error);
  process.exit(1);
});
