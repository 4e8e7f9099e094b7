// The tutorial peer of the relay benchmark (RelayBenchmark --tutorial-server): a signaling server
// of the WebRTC tutorial's login protocol, which Switchboard serves at /direct (docs/dialects.md),
// built the way that tutorial builds its own: the ws package, one process, JSON.parse of every
// message, a map from login name to socket, a new object JSON.stringify'd for each message sent,
// and a console.log line for each message received, as the tutorial's server prints them.
//   {"type":"login","name":N}               -> {"type":"login","success":true|false}
//   {"type":"offer","name":TO,"offer":O}    -> TO gets {"type":"offer","offer":O,"name":FROM}
//   {"type":"answer","name":TO,"answer":A}  -> TO gets {"type":"answer","answer":A}
//   {"type":"candidate","name":TO,"candidate":C} -> TO gets {"type":"candidate","candidate":C}
//   {"type":"leave","name":TO}              -> TO gets {"type":"leave"}
// A socket that closes is logged out; the user it last called or answered gets {"type":"leave"}.
// Accepts WebSockets on any path; GET /health/ready answers 200 (for the benchmark).
// Env: PORT (default 8080), HOST (default 127.0.0.1).
'use strict';
const http = require('http');
const { WebSocketServer } = require('ws');

const server = http.createServer((req, res) => {
  res.writeHead(req.url === '/health/ready' ? 200 : 404).end();
});
const wss = new WebSocketServer({ server });
const users = new Map();

function send(socket, message) {
  socket.send(JSON.stringify(message));
}

wss.on('connection', (socket) => {
  socket.on('message', (raw) => {
    let message;
    try {
      message = JSON.parse(raw);
    } catch (e) {
      console.log('Invalid JSON');
      message = {};
    }
    console.log('received', message.type, 'for', message.name);
    const to = users.get(message.name);
    switch (message.type) {
      case 'login':
        if (to) {
          send(socket, { type: 'login', success: false });
        } else {
          users.set(message.name, socket);
          socket.name = message.name;
          send(socket, { type: 'login', success: true });
        }
        break;
      case 'offer':
        if (to) {
          socket.otherName = message.name;
          send(to, { type: 'offer', offer: message.offer, name: socket.name });
        }
        break;
      case 'answer':
        if (to) {
          socket.otherName = message.name;
          send(to, { type: 'answer', answer: message.answer });
        }
        break;
      case 'candidate':
        if (to) {
          send(to, { type: 'candidate', candidate: message.candidate });
        }
        break;
      case 'leave':
        if (to) {
          to.otherName = null;
          send(to, { type: 'leave' });
        }
        break;
      default:
        send(socket, { type: 'error', message: 'Command not found: ' + message.type });
    }
  });
  socket.on('close', () => {
    if (socket.name && users.get(socket.name) === socket) {
      users.delete(socket.name);
      const other = socket.otherName && users.get(socket.otherName);
      if (other) {
        other.otherName = null;
        send(other, { type: 'leave' });
      }
    }
  });
});

server.listen(Number(process.env.PORT || 8080), process.env.HOST || '127.0.0.1');
