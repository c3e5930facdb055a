import type { IncomingMessage, Server } from 'node:http';
import type { Duplex } from 'node:stream';
import { WebSocketServer, type RawData } from 'ws';
import type { SimClient, SimCore } from './core.js';
import { bearer, trimSlash } from './http.js';

function refuse(socket: Duplex, status: number, text: string): void {
  socket.end(`HTTP/1.1 ${status} ${text}\r\nconnection: close\r\ncontent-length: 0\r\n\r\n`);
}

/**
 * The WebSocket at backend.wsPath: the token rules (a wrong token refused, none gets the
 * public features), the auth faults, and protocol pings answered with pongs.
 */
export function attachWebSocket(server: Server, core: SimCore): WebSocketServer {
  const wss = new WebSocketServer({ noServer: true, maxPayload: 64 * 1024 });
  const wsPath = trimSlash(core.o.config.backend.wsPath);
  const token = core.o.token;
  server.on('upgrade', (req: IncomingMessage, socket: Duplex, head: Buffer) => {
    socket.on('error', () => socket.destroy());
    const url = new URL(req.url ?? '/', 'http://sim');
    core.stats.upgrades += 1;
    if (trimSlash(url.pathname) !== wsPath || core.stopped) return refuse(socket, 404, 'Not Found');
    const presented = url.searchParams.get('token') ?? bearer(req);
    const rightToken = token !== null && presented === token;
    // Fault auth: what real consumers do with a bad or missing token (PROTOCOL.md section 3).
    if (core.faults.auth === 'refuse' && !rightToken) return refuse(socket, 403, 'Forbidden');
    // A wrong token is refused outright; no token still gets the public features.
    if (token && presented !== null && presented !== token) return refuse(socket, 401, 'Unauthorized');
    const authed = !token || presented === token;
    wss.handleUpgrade(req, socket, head, (ws) => {
      if (core.faults.auth === 'close' && !rightToken) {
        ws.on('error', () => ws.terminate());
        ws.close(4401, 'unauthorized');
        return;
      }
      const client: SimClient = { ws, authed };
      core.clients.add(client);
      core.stats.clients = core.clients.size;
      ws.on('error', () => ws.terminate());
      ws.on('close', () => { core.clients.delete(client); core.stats.clients = core.clients.size; });
      ws.on('message', (data: RawData, isBinary: boolean) => {
        if (isBinary) return;
        let msg: { type?: unknown; timestamp?: unknown };
        try { msg = JSON.parse(data.toString()); } catch { return; }
        if (msg && msg.type === 'ping') ws.send(JSON.stringify({ type: 'pong', timestamp: msg.timestamp }));
      });
    });
  });
  return wss;
}
