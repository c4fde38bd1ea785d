/**
 * SIGKILL in the middle of 32 concurrent writers, on SQLite and on PostgreSQL: after a restart on
 * the same data, every acknowledged change is there with its audit entry, every change that is
 * there (acknowledged or cut off by the kill) has its audit entry, and no audit entry names a
 * change that is not there. A change and its entry are one transaction (docs/audit.md): the kill
 * can take both or neither, never one of them.
 */
import assert from 'node:assert/strict';
import { before, describe, test } from 'node:test';
import { postgresSkipReason } from '../helpers/postgres.js';
import { startServerProcess, type ServerProcess } from '../helpers/process.js';
import {
  allAudit,
  allUsers,
  call,
  installation,
  liveLicenses,
  liveTokens,
  ok,
  STORES,
  type Reply,
} from '../e2e/store-servers.js';

const WRITERS = 32;
const CYCLES = Number(process.env.LICENSOR_CRASH_CYCLES ?? 3);

let pgSkip: string | undefined;
before(async () => {
  pgSkip = await postgresSkipReason();
});

type Outcome = 'acknowledged' | 'refused' | 'unknown';

interface Sent {
  kind: 'user' | 'disable' | 'delete' | 'license' | 'token';
  /** The userid, license uuid or token name a create sent; the user id a disable or delete named. */
  key: string;
  outcome: Outcome;
  /** The id the acknowledgement carried, or the id a disable or delete named. */
  id?: number;
}

async function attempt(send: () => Promise<Reply>): Promise<{ outcome: Outcome; reply?: Reply }> {
  try {
    const reply = await send();
    // 4xx is a refusal: nothing may be stored. 5xx and a cut connection may have committed or not.
    return {
      outcome: reply.status < 300 ? 'acknowledged' : reply.status < 500 ? 'refused' : 'unknown',
      reply,
    };
  } catch {
    return { outcome: 'unknown' };
  }
}

const sleep = (ms: number): Promise<void> => new Promise((resolve) => setTimeout(resolve, ms));

function prng(seed: number): () => number {
  let s = seed >>> 0;
  return () => {
    s = (s * 1664525 + 1013904223) >>> 0;
    return s / 4294967296;
  };
}

/** One writer: mostly user creates, then disables and deletes of its own users, licenses, tokens. */
async function writer(
  base: string,
  name: string,
  random: () => number,
  stopped: () => boolean,
  sent: Sent[],
  issue: (uuid: string) => string,
): Promise<void> {
  // Its users not yet disabled, and those disabled: each is disabled at most once, deleted at most once.
  const enabled: number[] = [];
  const disabled: number[] = [];
  const pick = (from: number[]): number => from.splice(Math.floor(random() * from.length), 1)[0]!;
  for (let i = 0; !stopped() && i < 2000; i++) {
    const roll = random();
    const key = `${name}-${i}`;
    if (roll < 0.1 && enabled.length + disabled.length > 0) {
      const id = pick(random() < enabled.length / (enabled.length + disabled.length) ? enabled : disabled);
      const r = await attempt(() => call(base, 'DELETE', `/admin/users/${id}`));
      sent.push({ kind: 'delete', key, outcome: r.outcome, id });
    } else if (roll < 0.2 && enabled.length > 0) {
      const id = pick(enabled);
      const r = await attempt(() => call(base, 'PATCH', `/admin/users/${id}`, { disabled: true }));
      sent.push({ kind: 'disable', key, outcome: r.outcome, id });
      // Whatever its outcome: a disable cut off may have landed, and is not sent again.
      disabled.push(id);
    } else if (roll < 0.3) {
      const r = await attempt(() => call(base, 'POST', '/admin/license', { licenseKey: issue(key) }));
      sent.push({
        kind: 'license',
        key,
        outcome: r.outcome,
        ...(r.reply && { id: Number(r.reply.body.id) }),
      });
    } else if (roll < 0.4) {
      const r = await attempt(() =>
        call(base, 'POST', '/admin/tokens', { name: key, permissions: ['USER_ADMIN'] }),
      );
      sent.push({ kind: 'token', key, outcome: r.outcome, ...(r.reply && { id: Number(r.reply.body.id) }) });
    } else {
      const r = await attempt(() => call(base, 'POST', '/admin/users', { userid: key, iamid: 'idp' }));
      sent.push({ kind: 'user', key, outcome: r.outcome, ...(r.reply && { id: Number(r.reply.body.id) }) });
      if (r.outcome === 'acknowledged') enabled.push(Number(r.reply!.body.id));
    }
  }
}

/** The data and the audit log of a restarted server, checked against each other and the ledger. */
async function verify(
  server: ServerProcess,
  sent: Sent[],
  when: string,
): Promise<{ entries: number; landed: number }> {
  const base = server.url;
  const users = new Map((await allUsers(base)).map((u) => [u.id, u]));
  const licenses = new Map((await liveLicenses(base)).map((l) => [l.id, l]));
  const tokens = new Map((await liveTokens(base)).map((tk) => [tk.id, tk]));
  const audit = await allAudit(base);
  const successes = audit.filter((a) => a.outcome === 'success').map((a) => `${a.action} ${a.target}`);
  const entries = new Set(successes);
  assert.equal(entries.size, successes.length, `${when}: a change audited twice`);
  const has = (entry: string): boolean => entries.has(entry);

  // 1. Every acknowledged change is there, with its entry.
  const deleteOf = new Map(sent.filter((s) => s.kind === 'delete').map((s) => [s.id!, s.outcome]));
  for (const s of sent) {
    if (s.outcome !== 'acknowledged') continue;
    const what = `${when}: acknowledged ${s.kind} ${s.key} (id ${s.id})`;
    if (s.kind === 'user') {
      assert.ok(has(`user.create user:${s.id}`), `${what} has no audit entry`);
      const deleted = deleteOf.get(s.id!);
      if (deleted === undefined || deleted === 'refused') assert.ok(users.has(s.id!), `${what} is missing`);
      if (users.has(s.id!)) assert.equal(users.get(s.id!)!.userid, s.key, `${what} is another user`);
    } else if (s.kind === 'disable') {
      assert.ok(has(`user.update user:${s.id}`), `${what} has no audit entry`);
      if (users.has(s.id!)) assert.equal(users.get(s.id!)!.disabled, true, `${what} is undone`);
    } else if (s.kind === 'delete') {
      assert.ok(has(`user.delete user:${s.id}`), `${what} has no audit entry`);
      assert.ok(!users.has(s.id!), `${what} is undone`);
    } else if (s.kind === 'license') {
      assert.ok(has(`license.add license:${s.id}`), `${what} has no audit entry`);
      assert.equal(licenses.get(s.id!)?.uuid, s.key, `${what} is missing`);
    } else {
      assert.ok(has(`token.create token:${s.id}`), `${what} has no audit entry`);
      assert.equal(tokens.get(s.id!)?.name, s.key, `${what} is missing`);
    }
  }

  // 2. Everything that is there has its entry: acknowledged or cut off, a change is whole or absent.
  const sentKeys = new Set(sent.map((s) => s.key));
  for (const user of users.values()) {
    assert.ok(sentKeys.has(user.userid), `${when}: user ${user.userid} was never sent`);
    assert.ok(
      has(`user.create user:${user.id}`),
      `${when}: user ${user.id} is stored without its audit entry`,
    );
    if (user.disabled)
      assert.ok(has(`user.update user:${user.id}`), `${when}: user ${user.id} is disabled without its entry`);
  }
  for (const license of licenses.values())
    assert.ok(has(`license.add license:${license.id}`), `${when}: license ${license.id} has no audit entry`);
  for (const token of tokens.values())
    if (!token.bootstrap)
      assert.ok(has(`token.create token:${token.id}`), `${when}: token ${token.id} has no audit entry`);

  // 3. No entry names a change that is not there.
  for (const entry of entries) {
    const [action, target] = entry.split(' ') as [string, string];
    const id = Number(target.split(':')[1]);
    const gone = has(`user.delete user:${id}`);
    const why = `${when}: "${entry}" names a change that is not stored`;
    if (action === 'user.create') assert.ok(users.has(id) || gone, why);
    else if (action === 'user.update') assert.ok(users.get(id)?.disabled === true || gone, why);
    else if (action === 'user.delete') assert.ok(!users.has(id) && has(`user.create user:${id}`), why);
    else if (action === 'license.add') assert.ok(licenses.has(id), why);
    else if (action === 'token.create') assert.ok(tokens.has(id), why);
    else assert.fail(`${when}: unexpected entry "${entry}"`);
  }
  // Cut-off creates that committed all the same: the kill landed mid-commit, where it matters.
  const stored = new Set([
    ...[...users.values()].map((u) => u.userid),
    ...[...licenses.values()].map((l) => l.uuid),
    ...[...tokens.values()].map((tk) => tk.name),
  ]);
  const landed = sent.filter((s) => s.outcome === 'unknown' && stored.has(s.key)).length;
  return { entries: entries.size, landed };
}

// The two stores are killed side by side: the file stays well under a minute.
describe('SIGKILL under concurrent writers', { concurrency: true }, () => {
  for (const store of STORES) {
    test(
      `${store}: ${CYCLES} SIGKILLs under ${WRITERS} concurrent writers, no change without its audit entry nor entry without its change`,
      { timeout: 120_000 },
      async (t) => {
        if (store === 'postgres' && pgSkip) return t.skip(pgSkip);
        const { env, issuer } = await installation(t, store);
        let server = await startServerProcess(t, env);
        await ok(server.url, 'POST', '/admin/license', {
          licenseKey: issuer.issue({ seats: 1_000_000, uuid: 'base' }),
        });
        const random = prng(store === 'sqlite' ? 7 : 11);
        const issue = (uuid: string): string => issuer.issue({ seats: 0, uuid });
        const sent: Sent[] = [];
        const figures: string[] = [];
        for (let cycle = 0; cycle < CYCLES; cycle++) {
          let stop = false;
          const writers = Array.from({ length: WRITERS }, (_, w) =>
            writer(server.url, `c${cycle}w${w}`, prng(cycle * 100 + w), () => stop, sent, issue),
          );
          const before = sent.length;
          // The kill lands once the load flows (a busy machine starts slowly), at a random moment.
          const acknowledged = (): number =>
            sent.slice(before).filter((s) => s.outcome === 'acknowledged').length;
          const flowing = Date.now();
          while (acknowledged() < WRITERS && Date.now() - flowing < 5000) await sleep(20);
          await sleep(Math.floor(random() * 800));
          // No new request after this; the ones in flight are cut by the kill.
          stop = true;
          await server.stop('SIGKILL');
          await Promise.all(writers);
          const mine = sent.slice(before);
          server = await startServerProcess(t, env);
          const { entries, landed } = await verify(server, sent, `${store} cycle ${cycle}`);
          const count = (o: Outcome): number => mine.filter((s) => s.outcome === o).length;
          figures.push(
            `cycle ${cycle}: ${mine.length} sent, ${count('acknowledged')} acknowledged, ${count('unknown')} cut, ${count('refused')} refused; ${landed} cut-off creates committed (all cycles so far); ${entries} entries check out`,
          );
        }
        await server.stop();
        for (const line of figures) t.diagnostic(`${store} ${line}`);
        assert.ok(
          sent.filter((s) => s.outcome === 'acknowledged').length >= WRITERS * CYCLES,
          'enough load to mean something',
        );
        assert.ok(
          sent.some((s) => s.outcome === 'unknown'),
          'some writes were cut off by the kills',
        );
      },
    );
  }
});
