// The demo page: a video call with chat for everyone in one room, built on switchboard.js.
import { Mesh, SwitchboardClient, isValidRoomName } from './switchboard.js';

const $ = (id) => document.getElementById(id);
const ui = {
  status: $('server-status'),
  form: $('join-form'),
  room: $('room'),
  name: $('name'),
  join: $('join'),
  leave: $('leave'),
  notice: $('notice'),
  roomInfo: $('room-info'),
  videos: $('videos'),
  localTile: $('local-tile'),
  localVideo: $('local-video'),
  localState: $('local-state'),
  chatLog: $('chat-log'),
  chatForm: $('chat-form'),
  chatInput: $('chat-input'),
  chatSend: $('chat-send'),
  tileTemplate: $('tile-template'),
};

const CHAT = 'chat';

const SERVER_STATE_WORDS = {
  idle: () => 'Not connected',
  connecting: (e) => (e.resuming ? 'Reconnecting…' : 'Connecting to the server…'),
  open: () => 'Connected to the server',
  reconnecting: (e) => `Reconnecting… (lost the connection to the server; next try in ${Math.max(1, Math.round(e.delayMs / 1000))} s)`,
  closed: () => 'Disconnected from the server',
};

const PEER_STATE_WORDS = {
  new: 'Connecting…',
  connecting: 'Connecting…',
  connected: 'Connected',
  disconnected: 'Connection interrupted, waiting…',
  failed: 'Could not connect (a firewall may be in the way)',
  closed: 'Left',
};

const ERROR_WORDS = {
  'room-full': 'That room is full. Try another room name.',
  'too-many-rooms': 'You are in too many rooms at once.',
  'bad-message': 'The server did not accept that. Room names use letters, digits and . _ : - only.',
  'rate-limited': 'Too many messages too fast; slow down a little.',
  internal: 'The server had a problem. Please try again in a moment.',
  unavailable: 'The server is having trouble reaching its store; still trying…',
  timeout: 'The server did not answer in time. Check your connection and try again.',
  closed: 'The connection was closed.',
};

// A page that embeds the demo may list the nodes to reconnect to, in turn, before this module
// runs (window.switchboardServers = ['wss://a.example/ws', 'wss://b.example/ws']); by default the
// page's own node, which a load balancer may route anywhere.
const client = new SwitchboardClient(Array.isArray(window.switchboardServers) ? { url: window.switchboardServers } : {});
let mesh = null;
let localStream = null;
// Whether the room's roster has been shown, so that its members are not announced one by one.
let rosterShown = false;

// For the browser console (and the end-to-end tests): the live client and the current call.
window.demo = { client, get mesh() { return mesh; } };

client.on('state', (e) => {
  ui.status.dataset.state = e.state;
  ui.status.textContent = SERVER_STATE_WORDS[e.state](e);
  // The call's peer connections carry on while the session is resumed: only say so.
  ui.localState.textContent = e.state === 'reconnecting' || (e.state === 'connecting' && e.attempt > 0) ? 'Reconnecting…' : '';
  if (e.state !== 'open' && !client.resumable) rosterShown = false;
});
client.on('resume-failed', () => {
  rosterShown = false;
  if (mesh) addChatLine(null, 'You were away too long to pick up where you left; joining again.');
});
client.on('error', (error) => {
  // A message to a peer who left a moment ago: harmless, nothing for the user to do.
  if (error.code === 'peer-not-found') return;
  showNotice(ERROR_WORDS[error.code] ?? `The server refused a message (${error.message}).`);
});
client.connect().catch(() => {});

ui.room.value = new URLSearchParams(location.hash.slice(1)).get('room') ?? `room-${Math.floor(1000 + Math.random() * 9000)}`;
ui.name.value = localStorage.getItem('switchboard-demo-name') ?? '';

ui.form.addEventListener('submit', (event) => {
  event.preventDefault();
  join();
});
ui.leave.addEventListener('click', () => leave());
ui.chatForm.addEventListener('submit', (event) => {
  event.preventDefault();
  sendChat();
});

async function join() {
  const room = ui.room.value.trim();
  if (!isValidRoomName(room)) {
    showNotice('Room names are 1 to 128 letters, digits or . _ : - (no spaces).');
    return;
  }
  hideNotice();
  const name = ui.name.value.trim();
  localStorage.setItem('switchboard-demo-name', name);
  setJoining(true);
  localStream = await openCamera();
  mesh = new Mesh(client, room, { localStream, meta: name ? { name } : {}, dataChannels: [CHAT] });
  wire(mesh);
  try {
    await mesh.join();
    history.replaceState(null, '', `#room=${encodeURIComponent(room)}`);
    ui.roomInfo.textContent = `You are in room “${room}”. Share this page's address to invite someone.`;
  } catch (error) {
    showNotice(ERROR_WORDS[error.code] ?? `Could not join: ${error.message}`);
    resetCall();
  }
}

async function leave() {
  const leaving = mesh;
  resetCall();
  addChatLine(null, 'You left the room.');
  try {
    await leaving?.leave();
  } catch (error) {
    showNotice(ERROR_WORDS[error.code] ?? `Could not leave cleanly: ${error.message}`);
  }
}

function resetCall() {
  mesh = null;
  localStream?.getTracks().forEach((t) => t.stop());
  localStream = null;
  ui.localVideo.srcObject = null;
  ui.localTile.hidden = true;
  for (const tile of ui.videos.querySelectorAll('.tile.remote')) tile.remove();
  ui.roomInfo.textContent = 'Pick a room name and join. Anyone who joins the same room sees and hears you.';
  setJoining(false);
  updateChat();
}

function setJoining(inCall) {
  ui.join.hidden = inCall;
  ui.leave.hidden = !inCall;
  ui.room.disabled = inCall;
  ui.name.disabled = inCall;
}

async function openCamera() {
  if (!navigator.mediaDevices?.getUserMedia) {
    showNotice('This page cannot use the camera here (it needs https or localhost). You can still chat.');
    return null;
  }
  try {
    const stream = await navigator.mediaDevices.getUserMedia({
      video: { width: { ideal: 640 }, height: { ideal: 360 } },
      audio: true,
    });
    ui.localVideo.srcObject = stream;
    ui.localTile.hidden = false;
    ui.localState.textContent = '';
    return stream;
  } catch (error) {
    const why = {
      NotAllowedError: 'Camera and microphone access was blocked.',
      NotFoundError: 'No camera or microphone was found.',
      NotReadableError: 'The camera is in use by another program.',
    }[error.name] ?? `The camera could not be opened (${error.message}).`;
    showNotice(`${why} You can still chat and see the others.`);
    return null;
  }
}

function wire(call) {
  // Events of a call that was left or replaced must not touch the page any more.
  const live = (handler) => (event) => { if (mesh === call) handler(event); };
  call.on('joined', live((msg) => {
    const names = call.peers.map(displayName);
    addChatLine(null, names.length
      ? `You joined “${call.room}”. Here already: ${names.join(', ')}.`
      : `You joined “${call.room}”. Nobody else is here yet.`);
    rosterShown = true;
  }));
  call.on('peer-joined', live(({ peer }) => {
    addTile(peer);
    if (rosterShown) addChatLine(null, `${displayName(peer)} joined.`);
  }));
  call.on('peer-left', live(({ peer, reason }) => {
    tileOf(peer)?.remove();
    updateChat();
    if (reason === 'reconnect') return;
    const how = {
      disconnect: ' (their connection closed)',
      'node-lost': ' (their server went away)',
      expired: ' (they lost their connection and did not come back)',
      overflow: ' (they were away too long)',
    }[reason] ?? '';
    addChatLine(null, `${displayName(peer)} left${how}.`);
  }));
  call.on('peer-state', live(({ peer }) => showPeerState(peer)));
  // Between the two the peer's connection to the server is down; media may still flow.
  call.on('peer-reconnecting', live(({ peer }) => showPeerState(peer)));
  call.on('peer-resumed', live(({ peer }) => showPeerState(peer)));
  call.on('track', live(({ peer, track, streams }) => {
    const video = tileOf(peer)?.querySelector('video');
    if (!video) return;
    if (streams[0]) {
      video.srcObject = streams[0];
    } else {
      video.srcObject ??= new MediaStream();
      video.srcObject.addTrack(track);
    }
  }));
  call.on('channel-open', live(() => updateChat()));
  call.on('channel-close', live(() => updateChat()));
  call.on('message', live(({ peer, label, data }) => {
    if (label === CHAT && typeof data === 'string') addChatLine(displayName(peer), data);
  }));
  call.on('error', live(({ peer, error }) => {
    showNotice(`Something went wrong with the connection to ${displayName(peer)}: ${error.message}`);
  }));
}

function addTile(peer) {
  const tile = ui.tileTemplate.content.firstElementChild.cloneNode(true);
  tile.dataset.peer = peer.id;
  tile.querySelector('.who').textContent = displayName(peer);
  ui.videos.append(tile);
  showPeerState(peer);
}

function showPeerState(peer) {
  const tile = tileOf(peer);
  if (!tile) return;
  const state = peer.connectionState;
  tile.dataset.state = state;
  tile.toggleAttribute('data-reconnecting', peer.reconnecting);
  const words = PEER_STATE_WORDS[state] ?? state;
  tile.querySelector('.state').textContent = peer.reconnecting ? `Reconnecting… · ${words}` : words;
}

function tileOf(peer) {
  return ui.videos.querySelector(`.tile.remote[data-peer="${CSS.escape(peer.id)}"]`);
}

function displayName(peer) {
  const name = typeof peer.meta?.name === 'string' ? peer.meta.name.trim().slice(0, 40) : '';
  return name || `Guest ${peer.id.slice(0, 4)}`;
}

function sendChat() {
  const text = ui.chatInput.value.trim();
  if (!text || !mesh) return;
  if (mesh.send(CHAT, text) > 0) {
    addChatLine('You', text, true);
    ui.chatInput.value = '';
  }
}

function updateChat() {
  const open = mesh?.peers.some((p) => p.channels.get(CHAT)?.readyState === 'open') ?? false;
  ui.chatInput.disabled = !open;
  ui.chatSend.disabled = !open;
  ui.chatInput.placeholder = open ? 'Type a message' : mesh ? 'Waiting for someone to chat with…' : 'Join a room to chat';
}

function addChatLine(who, text, mine = false) {
  const li = document.createElement('li');
  if (who === null) {
    li.className = 'system';
    li.textContent = text;
  } else {
    if (mine) li.className = 'mine';
    const b = document.createElement('b');
    b.textContent = `${who}:`;
    li.append(b, document.createTextNode(text));
  }
  ui.chatLog.append(li);
  ui.chatLog.scrollTop = ui.chatLog.scrollHeight;
}

function showNotice(text) {
  ui.notice.textContent = text;
  ui.notice.hidden = false;
}

function hideNotice() {
  ui.notice.hidden = true;
}
