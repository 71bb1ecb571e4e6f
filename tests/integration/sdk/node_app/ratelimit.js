// Reports COUNT errors one after another (each flushed before the next, as errors spaced
// in time would be), then flushes once more so the SDK sends its client report.
// Env: SENTRY_DSN (where to report), COUNT (how many errors).
// Prints {"eventIds": [...]} on stdout.
'use strict';

const Sentry = require('./instrument');

const COUNT = Number(process.env.COUNT || '6');

async function main() {
  const eventIds = [];
  for (let n = 0; n < COUNT; n += 1) {
    eventIds.push(Sentry.captureException(new Error(`node quota check ${n}`)));
    await Sentry.flush(10000);
  }
  await Sentry.flush(10000);
  process.stdout.write(JSON.stringify({ eventIds }) + '\n');
}

main().catch((err) => {
  console.error(err);
  process.exit(1);
});
