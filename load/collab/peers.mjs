// Load clients for load/bench_collab.py: many stock y-websocket providers in one Node process.
// Usage: node peers.mjs '<json>' with {url, rooms: [names], clients, token, mode, rate, duration, warmup, cursors,
//                                      procs, index, tokens}
// `tokens` (optional): one list per room of one token per client (client i of room r presents tokens[r][i]);
// without it every client presents `token`.
// The clients of every room are spread over `procs` processes (this is number `index`): client i of a room
// lives in process i % procs, so that one process's event loop is not what the latency measures.
//   mode "edit": this process's clients take turns inserting a marker `e<index>_<n>;` in their room (together
//                the processes make `rate` edits/s per room) and record when other clients see markers.
//                Prints {"sends": {id: epoch ms}, "receipts": {id: [epoch ms, ...]}} (one time per receiving
//                client: every (edit, receiver) pair counts); the bench merges them.
//                Also prints {"event":"measuring"} after the warm-up and {"event":"done"} when it stops editing.
//   mode "idle": connect, print {"synced": n}, stay connected until stdin closes.
import * as Y from 'yjs'
import { WebsocketProvider } from 'y-websocket'
import WebSocket from 'ws'
import readline from 'node:readline'
import { performance } from 'node:perf_hooks'

const cfg = JSON.parse(process.argv[2])
const procs = cfg.procs || 1
const index = cfg.index || 0
const sleep = (ms) => new Promise((resolve) => setTimeout(resolve, ms))
const epoch = () => performance.timeOrigin + performance.now()
const rooms = cfg.rooms.map((name) => ({ name, peers: [] }))
const sends = {}
const receipts = {}
let next = 0

const onUpdate = (peer) => () => {
  const now = epoch()
  const t = peer.doc.getMap('files').get('main.py')
  if (!(t instanceof Y.Text)) return
  // New markers are inserted at the start: a bounded prefix holds every marker still in flight.
  for (const match of t.toString().slice(0, 4096).matchAll(/e(\d+_\d+);/g)) {
    const id = match[1]
    if (peer.seen.has(id)) continue
    peer.seen.add(id)
    if (id.startsWith(`${index}_`) && peer.own.has(id)) continue
    ;(receipts[id] || (receipts[id] = [])).push(Math.round(now * 1000) / 1000)
  }
}

for (const [r, room] of rooms.entries()) {
  for (let i = index; i < cfg.clients; i += procs) {
    const doc = new Y.Doc()
    const token = (cfg.tokens && cfg.tokens[r] && cfg.tokens[r][i]) || cfg.token
    const provider = new WebsocketProvider(cfg.url, room.name, doc, {
      WebSocketPolyfill: WebSocket, disableBc: true, params: token ? { token } : {}
    })
    if (!cfg.cursors) provider.awareness.setLocalState(null)
    const peer = { doc, provider, seen: new Set(), own: new Set() }
    doc.on('update', (_update, origin) => { if (origin === provider) onUpdate(peer)() })
    room.peers.push(peer)
  }
}

const all = rooms.flatMap((r) => r.peers)
const deadline = Date.now() + 60000
while (all.some((p) => !p.provider.synced) && Date.now() < deadline) await sleep(20)
const synced = all.filter((p) => p.provider.synced).length
process.stdout.write(JSON.stringify({ synced }) + '\n')

if (cfg.mode === 'idle') {
  readline.createInterface({ input: process.stdin }).on('close', () => process.exit(0))
} else {
  const mainText = (peer) => {
    const files = peer.doc.getMap('files')
    let t = files.get('main.py')
    if (!(t instanceof Y.Text)) { t = new Y.Text(); files.set('main.py', t) }
    return t
  }
  const editing = rooms.filter((r) => r.peers.length > 0)
  const period = (1000 * procs) / cfg.rate // this process's share of each room's edits
  const start = Date.now()
  let turn = 0
  let announced = false
  while (Date.now() - start < cfg.warmup + cfg.duration) {
    if (!announced && Date.now() - start >= cfg.warmup) {
      announced = true
      process.stdout.write(JSON.stringify({ event: 'measuring', at: epoch() }) + '\n')
    }
    const tick = Date.now()
    // Rooms are spread over the period so that the server sees a steady stream, not bursts.
    for (let i = 0; i < editing.length; i++) {
      const room = editing[i]
      const peer = room.peers[turn % room.peers.length]
      const id = `${index}_${next++}`
      peer.own.add(id)
      sends[id] = epoch()
      mainText(peer).insert(0, `e${id};`)
      if (cfg.cursors) peer.provider.awareness.setLocalStateField('cursor', next)
      const due = tick + ((i + 1) * period) / editing.length - Date.now()
      if (due > 0) await sleep(due)
    }
    turn++
  }
  process.stdout.write(JSON.stringify({ event: 'done', at: epoch() }) + '\n')
  await sleep(2000)
  // Exit only once the report is out: a pipe's writes are asynchronous, and exiting earlier cut reports longer
  // than the pipe's buffer when the reader was slow (a loaded machine).
  process.stdout.write(JSON.stringify({ sends, receipts }) + '\n', () => {
    for (const p of all) p.provider.destroy()
    setTimeout(() => process.exit(0), 200)
  })
}
