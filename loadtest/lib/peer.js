// One signaling client of the native protocol (docs/protocol.md) over k6's WebSocket.
import { WebSocket } from 'k6/websockets';

/**
 * A WebSocket peer that parses every frame and hands it to the handler registered for its
 * `type`. `welcome` sets `id`; `error` frames, and socket errors as `socket`, go to
 * `onError(code)` (the scripts count them).
 */
export class Peer {
  constructor(url, onError) {
    this.id = null;
    this.closedByUs = false;
    this.handlers = {};
    this.onOpenWelcome = null;
    this.ws = new WebSocket(url);
    this.ws.addEventListener('message', (event) => this.dispatch(event.data));
    this.ws.addEventListener('error', () => onError('socket'));
    this.on('error', (m) => onError(m.code));
    this.on('welcome', (m) => {
      this.id = m.peer;
      if (this.onOpenWelcome) {
        this.onOpenWelcome(this);
      }
    });
  }

  /** Calls `fn(peer)` once the server has said welcome (the socket is open and has an id). */
  ready(fn) {
    this.onOpenWelcome = fn;
  }

  /** Registers `fn(message)` for server messages of `type`. */
  on(type, fn) {
    this.handlers[type] = fn;
  }

  /** Calls `fn(event)` when the socket closes; `closedByUs` tells who closed it. */
  onClose(fn) {
    this.ws.addEventListener('close', (event) => fn(event));
  }

  dispatch(text) {
    let message;
    try {
      message = JSON.parse(text);
    } catch (e) {
      this.handlers.error && this.handlers.error({ code: 'client-bad-json' });
      return;
    }
    const handler = this.handlers[message.type];
    if (handler) {
      handler(message);
    }
  }

  /** Sends `message` as JSON if the socket is open; false when it is not. */
  send(message) {
    if (this.ws.readyState !== 1) {
      return false;
    }
    this.ws.send(JSON.stringify(message));
    return true;
  }

  join(room, meta) {
    return this.send({ type: 'join', room: room, meta: meta || {} });
  }

  /** `offer`, `answer`, `candidate` or `signal`; without `to` it goes to everyone else in the room. */
  relay(type, room, to, data) {
    const message = { type: type, room: room, data: data };
    if (to) {
      message.to = to;
    }
    return this.send(message);
  }

  leave(room) {
    return this.send({ type: 'leave', room: room });
  }

  ping(id) {
    return this.send({ type: 'ping', id: id });
  }

  close() {
    this.closedByUs = true;
    if (this.ws.readyState <= 1) {
      this.ws.close();
    }
  }
}
