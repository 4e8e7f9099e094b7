// The peer-data peer of the relay benchmark (RelayBenchmark --peer-data): peer-data-server, the
// Socket.IO 2 signaling server that peer-data's docs give for its SocketChannel, set up as those
// docs' server.js does (express, http, appendPeerDataServer(server)), in one Node.js process.
// Clients speak Socket.IO over Engine.IO 3: 42["message",{type, caller, callee, room, payload}];
// CONNECT joins room.id and goes to the room, OFFER/ANSWER/CANDIDATE go to callee.id, each with
// caller set to the sender's socket id, and every message is echoed to its sender in a "log"
// event. GET /health/ready answers 200 (for the benchmark). Env: PORT (default 8080), HOST
// (default 127.0.0.1).
//
// One option changed from Socket.IO's defaults, so that the benchmark measures relaying and not a
// heartbeat: the ping interval and timeout (25 s and 20 s, which close a client that sends no
// ping; the benchmark's clients send none), raised above a run's length as the benchmark does for
// Switchboard (PING_INTERVAL_SECONDS). peer-data-server passes Socket.IO no options, so they are
// given to the Socket.IO it is handed.
'use strict';
const http = require('http');
const express = require('express');
const socketIo = require('socket.io');

const withDefaults = socketIo.listen;
socketIo.listen = (srv, opts) => withDefaults(srv, { ...opts, pingInterval: 1800000, pingTimeout: 1800000 });
const PeerDataServer = require('peer-data-server');

const app = express();
app.get('/health/ready', (req, res) => res.status(200).end());
const appendPeerDataServer = PeerDataServer.default || PeerDataServer;
const server = http.createServer(app);
appendPeerDataServer(server);
server.listen(Number(process.env.PORT || 8080), process.env.HOST || '127.0.0.1');
