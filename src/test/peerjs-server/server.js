// The PeerJS peer of the relay benchmark (RelayBenchmark --peerjs): the `peer` package's own
// signaling server, set up as its README's "Combining with existing express app" does, in one
// Node.js process. Clients connect to /peerjs?key=peerjs&id=ID&token=TOKEN and get {"type":"OPEN"};
// {"type":"OFFER"|"ANSWER"|"CANDIDATE","dst":ID,"payload":...} goes to that client as
// JSON.stringify({type, src, dst, payload}). GET /health/ready answers 200 (for the benchmark).
// Env: PORT (default 8080), HOST (default 127.0.0.1).
//
// Options changed from the package's defaults, so that the benchmark measures relaying and not a
// limit: concurrent_limit (5,000 by default) raised above the benchmark's 18,000 sockets, and
// alive_timeout (90 s without a HEARTBEAT closes a client; the benchmark's clients send none)
// raised above a run's length.
'use strict';
const http = require('http');
const express = require('express');
const { ExpressPeerServer } = require('peer');

const app = express();
const server = http.createServer(app);
app.get('/health/ready', (req, res) => res.status(200).end());
app.use('/', ExpressPeerServer(server, {
  path: '/',
  key: 'peerjs',
  concurrent_limit: 1000000,
  alive_timeout: 3600000,
}));
server.listen(Number(process.env.PORT || 8080), process.env.HOST || '127.0.0.1');
