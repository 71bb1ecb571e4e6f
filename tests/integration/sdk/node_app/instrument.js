// Loaded before anything else (see app.js) so the SDK can instrument http and express.
'use strict';

const Sentry = require('@sentry/node');

Sentry.init({
  dsn: process.env.SENTRY_DSN,
  release: 'node-shop@2.0.1',
  environment: 'staging',
  serverName: 'node-web-1',
  sendDefaultPii: true,
  // Errors only: the test checks what reaches Faultline's error pipeline.
  tracesSampleRate: 0,
});

module.exports = Sentry;
