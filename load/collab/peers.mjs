// Load clients for load/bench_collab.py: many stock y-websocket providers in one Node process.
// Usage: node peers.mjs '<json>' with {url, rooms: [names], clients, token, mode, rate, duration, warmup, cursors}
//   mode "edit": in each room one client at a time (round-robin) inserts a marker `e<id>;` at `rate` edits/s;
//                every other client records when the marker arrives. Prints {"latencies": [ms per edit, the
//                time until the LAST other peer saw it], "sent", "complete"}.
//   mode "idle": connect, print {"synced": n}, stay connected until stdin closes.
import * as Y from 'yjs'
import { WebsocketProvider } from 'y-websocket'
import WebSocket from 'ws'
import readline from 'node:readline'
import { performance } from 'node:perf_hooks'

const cfg = JSON.parse(process.argv[2])
const sleep = (ms) => new Promise((resolve) => setTimeout(resolve, ms))
const rooms = cfg.rooms.map((name) => ({ name, peers: [] }))
const sent = new Map() // edit id -> {at, room, remaining, last}
const latencies = []
let nextId = 0
let measuring = false

for (const room of rooms) {
  for (let i = 0; i < cfg.clients; i++) {
    const doc = new Y.Doc()
    const provider = new WebsocketProvider(cfg.url, room.name, doc, {
      WebSocketPolyfill: WebSocket, disableBc: true, params: cfg.token ? { token: cfg.token } : {}
    })
    if (!cfg.cursors) provider.awareness.setLocalState(null)
    const text = doc.getMap('files')
    const peer = { doc, provider, text: null }
    doc.on('update', (_update, origin) => {
      if (origin !== provider) return
      const now = performance.now()
      const t = text.get('main.py')
      if (!(t instanceof Y.Text)) return
      // Markers are at the start of the text; scan a bounded prefix for those we wait for.
      const head = t.toString().slice(0, 64 * Math.max(4, sent.size))
      for (const match of head.matchAll(/e(\d+);/g)) {
        const id = Number(match[1])
        const pending = sent.get(id)
        if (pending && pending.room === room && !pending.seen.has(peer)) {
          pending.seen.add(peer)
          if (pending.seen.size === cfg.clients - 1) {
            if (pending.measured) latencies.push(now - pending.at)
            sent.delete(id)
          }
        }
      }
    })
    room.peers.push(peer)
  }
}

const deadline = Date.now() + 60000
const all = rooms.flatMap((r) => r.peers)
while (all.some((p) => !p.provider.synced) && Date.now() < deadline) await sleep(20)
const synced = all.filter((p) => p.provider.synced).length
process.stderr.write(`synced ${synced}/${all.length}\n`)

const mainText = (peer) => {
  const files = peer.doc.getMap('files')
  let t = files.get('main.py')
  if (!(t instanceof Y.Text)) { t = new Y.Text(); files.set('main.py', t) }
  return t
}

if (cfg.mode === 'idle') {
  process.stdout.write(JSON.stringify({ synced }) + '\n')
  readline.createInterface({ input: process.stdin }).on('close', () => process.exit(0))
} else {
  const period = 1000 / cfg.rate
  const start = Date.now()
  let turn = 0
  const editRoom = (room) => {
    const peer = room.peers[turn % room.peers.length]
    const id = nextId++
    sent.set(id, { at: performance.now(), room, seen: new Set(), measured: measuring })
    const t = mainText(peer)
    t.insert(0, `e${id};`)
    if (cfg.cursors) peer.provider.awareness.setLocalStateField('cursor', id)
  }
  // Rooms are spread over the period so that the server sees a steady stream, not bursts.
  let announced = false
  while (Date.now() - start < cfg.warmup + cfg.duration) {
    measuring = Date.now() - start >= cfg.warmup
    if (measuring && !announced) {
      announced = true
      process.stdout.write(JSON.stringify({ event: 'measuring' }) + '\n')
    }
    const tick = Date.now()
    for (let i = 0; i < rooms.length; i++) {
      editRoom(rooms[i])
      const due = tick + ((i + 1) * period) / rooms.length - Date.now()
      if (due > 0) await sleep(due)
    }
    turn++
  }
  process.stdout.write(JSON.stringify({ event: 'done' }) + '\n')
  const measuredSent = [...sent.values()].filter((s) => s.measured).length + latencies.length
  await sleep(2000)
  process.stdout.write(JSON.stringify({ synced, sent: measuredSent, complete: latencies.length, latencies }) + '\n')
  for (const p of all) p.provider.destroy()
  setTimeout(() => process.exit(0), 200)
}
