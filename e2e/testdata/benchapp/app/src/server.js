'use strict';
// The benchmark application: serves the minified assets the assets
// artifact (or the Dockerfile's assets stage) built, and a status page.
const express = require('express');
const path = require('path');
const routes = require('./routes');

const app = express();
app.use('/assets', express.static(path.join(__dirname, '..', 'public', 'assets')));
app.use('/', routes);

const port = Number(process.env.PORT || 3000);
if (require.main === module) {
  app.listen(port, () => console.log(`listening on ${port}`));
}
module.exports = app;
