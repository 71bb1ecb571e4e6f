// A job that fails, then sends its user's feedback with Sentry.captureFeedback: one
// feedback about the error event, one about nothing in particular.
// Env: SENTRY_DSN (where to report), RUN_ID (makes this run's error unique).
// Prints {"eventId": ..., "feedbackId": ..., "generalId": ...} on stdout.
'use strict';

const Sentry = require('./instrument');

const RUN_ID = process.env.RUN_ID || 'local';

class NodeFeedbackJobError extends Error {
  constructor(message) {
    super(message);
    this.name = 'NodeFeedbackJobError';
  }
}

async function main() {
  const eventId = Sentry.captureException(new NodeFeedbackJobError(`report failed (run ${RUN_ID})`));
  const feedbackId = Sentry.captureFeedback({
    message: `The report page went blank (run ${RUN_ID})`,
    name: 'Grace Hopper',
    email: 'grace@example.com',
    associatedEventId: eventId,
  });
  const generalId = Sentry.captureFeedback({
    message: `Love the new dashboard (run ${RUN_ID})`,
    name: 'Grace Hopper',
    email: 'grace@example.com',
  });
  const flushed = await Sentry.flush(10000);
  if (!flushed) {
    throw new Error('Sentry.flush timed out');
  }
  process.stdout.write(JSON.stringify({ eventId, feedbackId, generalId }) + '\n');
}

main().catch((err) => {
  console.error(err);
  process.exit(1);
});
