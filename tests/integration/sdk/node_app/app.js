// An Express shop whose checkout fails; errors reach Sentry through its Express handler.
// Env: SENTRY_DSN (where to report), PORT, RUN_ID (makes this run's errors unique).
'use strict';

const Sentry = require('./instrument');
const express = require('express');

const RUN_ID = process.env.RUN_ID || 'local';

class NodeExpressCheckoutError extends Error {
  constructor(message, options) {
    super(message, options);
    this.name = 'NodeExpressCheckoutError';
  }
}

function chargeCard(cartId, amount) {
  throw new TypeError(`card gateway rejected amount ${amount} for cart ${cartId}`);
}

function checkout(cartId, body) {
  try {
    chargeCard(cartId, body.amount);
  } catch (cause) {
    throw new NodeExpressCheckoutError(`checkout failed (run ${RUN_ID})`, { cause });
  }
}

const app = express();
app.use(express.json());

app.post('/checkout/:cartId', (req, res) => {
  Sentry.setUser({ id: 'node-user-7', email: 'grace@example.com', username: 'grace' });
  Sentry.setTag('checkout.step', 'payment');
  Sentry.addBreadcrumb({
    category: 'cart',
    message: `loaded cart ${req.params.cartId}`,
    level: 'info',
    data: { items: (req.body.items || []).length },
  });
  checkout(req.params.cartId, req.body);
  res.json({ ok: true });
});

app.get('/healthz', (_req, res) => {
  res.json({ ok: true });
});

// Lets the caller wait until every captured event has been sent.
app.get('/flush', async (_req, res) => {
  const flushed = await Sentry.flush(5000);
  res.json({ flushed });
});

Sentry.setupExpressErrorHandler(app);

// Runs after Sentry's handler, which has already captured the error.
app.use((err, _req, res, _next) => {
  res.status(500).json({ error: err.name });
});

const server = app.listen(Number(process.env.PORT || 0), '127.0.0.1', () => {
  console.log(`listening on ${server.address().port}`);
});

process.on('SIGTERM', () => {
  Sentry.close(5000).finally(() => server.close(() => process.exit(0)));
});
