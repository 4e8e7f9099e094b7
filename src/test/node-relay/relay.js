// The Node.js peer of the relay benchmark (RelayBenchmark --node-relay): the kind of ~40-line
// WebSocket signaling server a tutorial writes, on the `ws` package and Node's `http` module, in
// one process (one event loop, like FloorRelay). It speaks exactly FloorRelay's subset of the
// native protocol on /ws: a `welcome` with a fresh peer id; `join` -> `joined` with the roster
// (and `peer-joined` to the others); a frame with "to":"ID" goes to that peer with "to":"ID"
// replaced by "from":"SENDER", everything else byte for byte. GET /health/ready answers 200.
// Env: PORT (default 8080), HOST (default 127.0.0.1). No validation, limits, metrics or logging.
//
// Finding the target: every frame is JSON.parse'd, as a tutorial server does (so this relay pays
// for a full parse per message, where FloorRelay only searches bytes). The frame sent on is the
// received text with the "to" field swapped in place, not JSON.stringify of the parsed object:
// re-serialising would change the field order and round the benchmark's 64-bit send times
// (beyond 2^53) through doubles, and Switchboard too relays `data` byte for byte.
// permessage-deflate stays off (the ws server's default), as in Switchboard and FloorRelay.
'use strict';
const http = require('http');
const { WebSocketServer } = require('ws');

const peers = new Map(); // peer id -> socket
const rooms = new Map(); // room -> [peer id]
let nextPeer = 0;

const server = http.createServer((req, res) => {
  res.writeHead(req.method === 'GET' && req.url === '/health/ready' ? 200 : 404, { 'content-length': 0 }).end();
});
const wss = new WebSocketServer({ server, path: '/ws', maxPayload: 65536 });

wss.on('connection', (ws) => {
  const id = 'n' + (nextPeer++).toString(36);
  const joinedRooms = [];
  peers.set(id, ws);
  ws.send(`{"type":"welcome","peer":"${id}"}`);

  ws.on('message', (data, isBinary) => {
    if (isBinary) return;
    const text = data.toString();
    let msg;
    try { msg = JSON.parse(text); } catch { return; }
    if (typeof msg.to === 'string') {
      const target = peers.get(msg.to);
      const key = `"to":"${msg.to}"`;
      const at = text.indexOf(key);
      if (target && at >= 0) target.send(text.slice(0, at) + `"from":"${id}"` + text.slice(at + key.length));
    } else if (msg.type === 'join' && typeof msg.room === 'string') {
      const members = rooms.get(msg.room) || [];
      rooms.set(msg.room, members);
      const again = members.includes(id); // joining again: the roster is the others, nobody is told
      const others = members.filter((p) => p !== id);
      const announce = `{"type":"peer-joined","room":"${msg.room}","peer":"${id}","meta":{}}`;
      if (!again) others.forEach((p) => peers.get(p)?.send(announce));
      if (!again) { members.push(id); joinedRooms.push(msg.room); }
      const roster = others.map((p) => `{"peer":"${p}","meta":{}}`).join(',');
      const reqId = typeof msg.id === 'string' ? `,"id":"${msg.id}"` : '';
      ws.send(`{"type":"joined","room":"${msg.room}","peer":"${id}","peers":[${roster}]${reqId}}`);
    }
  });

  ws.on('close', () => {
    peers.delete(id);
    for (const room of joinedRooms) {
      const members = rooms.get(room).filter((p) => p !== id);
      if (members.length) rooms.set(room, members); else rooms.delete(room);
    }
  });
  ws.on('error', () => ws.terminate());
});

process.on('SIGTERM', () => process.exit(0));
const host = process.env.HOST || '127.0.0.1';
const port = Number(process.env.PORT || 8080);
server.listen(port, host, () => {
  console.log(`node relay listening on ${host}:${port} (node ${process.version}, ws ${require('ws/package.json').version}, one event loop)`);
});
