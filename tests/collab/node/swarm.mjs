// Many stock y-websocket clients in one Node process, each moving its cursor (awareness) periodically.
// Usage: node swarm.mjs <serverUrl> <room> <token> <clients> <intervalMs> <durationMs>
// Prints one JSON line: {"clients", "synced", "awarenessMessages", "minPeersSeen"}.
import * as Y from 'yjs'
import { WebsocketProvider } from 'y-websocket'
import WebSocket from 'ws'

const [url, room, token, n, interval, duration] = process.argv.slice(2)
const clients = Number(n)
const providers = []
let awarenessMessages = 0

for (let i = 0; i < clients; i++) {
  const doc = new Y.Doc()
  const provider = new WebsocketProvider(url, room, doc, {
    WebSocketPolyfill: WebSocket, disableBc: true, params: { token }
  })
  provider.awareness.setLocalState({ user: { name: `peer-${i}`, color: '#123456' }, cursor: 0 })
  provider.on('status', () => {})
  providers.push(provider)
}
// Count every awareness frame the server sends us (message type 1), at the socket.
for (const provider of providers) {
  provider.on('status', ({ status }) => {
    if (status === 'connected') {
      provider.ws.addEventListener('message', (event) => {
        const data = new Uint8Array(event.data)
        if (data[0] === 1) awarenessMessages++
      })
    }
  })
}

const sleep = (ms) => new Promise((resolve) => setTimeout(resolve, ms))
const deadline = Date.now() + 15000
while (providers.some((p) => !p.synced) && Date.now() < deadline) await sleep(20)
const synced = providers.filter((p) => p.synced).length
process.stdout.write(JSON.stringify({ event: 'synced', synced }) + '\n')

const start = Date.now()
let tick = 0
while (Date.now() - start < Number(duration)) {
  tick++
  // One client at a time moves its cursor, round-robin: one awareness change per interval.
  providers[tick % clients].awareness.setLocalStateField('cursor', tick)
  await sleep(Number(interval))
}
await sleep(500)
const minPeersSeen = Math.min(...providers.map((p) => p.awareness.getStates().size))
process.stdout.write(JSON.stringify({ clients, synced, changes: tick, awarenessMessages, minPeersSeen }) + '\n')
for (const p of providers) p.destroy()
setTimeout(() => process.exit(0), 100)
