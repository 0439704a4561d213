// A stock y-websocket client driven by JSON lines on stdin; it answers each command with one JSON line.
// Usage: node client.mjs <serverUrl> <room> [token]
// Commands: {"op":"wait_synced"} {"op":"insert","file","index","text"} {"op":"random","count","seed","delay"}
//           {"op":"files"} {"op":"awareness","state"} {"op":"peers"} {"op":"disconnect"} {"op":"connect"}
//           {"op":"state_vector"} {"op":"exit"}
// Events (unprompted lines): {"event":"denied","reason"} {"event":"close","code","reason"}
import * as Y from 'yjs'
import { WebsocketProvider } from 'y-websocket'
import WebSocket from 'ws'
import readline from 'node:readline'

const [url, room, token] = process.argv.slice(2)
const doc = new Y.Doc()
const files = doc.getMap('files')
const out = (obj) => process.stdout.write(JSON.stringify(obj) + '\n')

const warn = console.warn
console.warn = (...args) => {
  const text = args.join(' ')
  if (text.startsWith('Permission denied')) out({ event: 'denied', reason: text })
  else warn(...args)
}

const provider = new WebsocketProvider(url, room, doc, {
  WebSocketPolyfill: WebSocket,
  disableBc: true,
  params: token ? { token } : {},
  maxBackoffTime: 500
})
provider.on('connection-close', (event) => {
  if (event) out({ event: 'close', code: event.code, reason: String(event.reason || '') })
})

const text = (name) => {
  let t = files.get(name)
  if (!(t instanceof Y.Text)) {
    t = new Y.Text()
    files.set(name, t)
  }
  return t
}

// A small seeded PRNG so that a failing random run can be replayed.
const rng = (seed) => () => {
  seed = (seed * 1103515245 + 12345) & 0x7fffffff
  return seed / 0x7fffffff
}

const waitSynced = () => new Promise((resolve) => {
  if (provider.synced) resolve()
  else provider.once('synced', () => resolve())
})

const sleep = (ms) => new Promise((resolve) => setTimeout(resolve, ms))

const handlers = {
  wait_synced: async () => { await waitSynced(); return {} },
  insert: async ({ file = 'main.py', index = 0, text: s }) => {
    const t = text(file)
    t.insert(Math.min(index, t.length), s)
    return {}
  },
  random: async ({ count, seed = 1, delay = 0, file = 'main.py' }) => {
    const r = rng(seed)
    for (let i = 0; i < count; i++) {
      const t = text(file)
      if (t.length > 0 && r() < 0.3) {
        const at = Math.floor(r() * t.length)
        t.delete(at, Math.min(t.length - at, 1 + Math.floor(r() * 3)))
      } else {
        t.insert(Math.floor(r() * (t.length + 1)), String.fromCharCode(97 + Math.floor(r() * 26)))
      }
      if (delay) await sleep(delay)
    }
    return {}
  },
  files: async () => {
    const result = {}
    files.forEach((v, k) => { if (v instanceof Y.Text) result[k] = v.toString() })
    return { files: result }
  },
  awareness: async ({ state }) => { provider.awareness.setLocalState(state); return {} },
  peers: async () => {
    const states = []
    provider.awareness.getStates().forEach((s, id) => { if (id !== doc.clientID) states.push(s) })
    return { peers: states }
  },
  state_vector: async () => ({ state_vector: Buffer.from(Y.encodeStateVector(doc)).toString('base64') }),
  disconnect: async () => { provider.disconnect(); return {} },
  connect: async () => { provider.connect(); return {} },
  exit: async () => { provider.destroy(); setTimeout(() => process.exit(0), 10); return {} }
}

const lines = readline.createInterface({ input: process.stdin })
lines.on('line', async (line) => {
  const cmd = JSON.parse(line)
  try {
    out({ id: cmd.id, ok: true, ...(await handlers[cmd.op](cmd)) })
  } catch (err) {
    out({ id: cmd.id, ok: false, error: String(err) })
  }
})
lines.on('close', () => process.exit(0))
