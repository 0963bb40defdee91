'use strict';
const express = require('express');

const router = express.Router();
router.get('/healthz', (req, res) => res.json({ ok: true }));
router.get('/', (req, res) => {
  res.type('html').send('<!doctype html><title>bench</title><script src="/assets/app.min.js"></script>');
});
module.exports = router;
