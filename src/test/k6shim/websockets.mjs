// k6/websockets implements the browser WebSocket API; so does Node's (--experimental-websocket).
export const WebSocket = globalThis.WebSocket;
