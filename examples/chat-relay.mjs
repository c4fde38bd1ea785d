// A webhook receiver for Licensor that posts each event to a chat webhook (Slack, Mattermost,
// Rocket.Chat and Teams "incoming webhooks" all take {"text": "..."}). Node 20, no dependencies.
//
//   WEBHOOK_SECRET=whsec_... CHAT_WEBHOOK_URL=https://hooks.slack.com/services/... node examples/chat-relay.mjs
//   licensor webhooks add http://this-host:9000/ --event license.expiring --event seats.threshold
//
// It checks the Standard Webhooks signature (docs/webhooks.md#signing), refuses replays older than
// five minutes, and answers 200 only once the chat accepted the message, so Licensor retries
// otherwise. Deliveries are at least once: a webhook-id seen already is acknowledged, not reposted.
import { createHmac, timingSafeEqual } from 'node:crypto';
import { createServer } from 'node:http';

const secret = process.env.WEBHOOK_SECRET ?? '';
const chatUrl = process.env.CHAT_WEBHOOK_URL ?? '';
const port = Number(process.env.PORT ?? 9000);
if (!secret.startsWith('whsec_') || chatUrl === '') {
  console.error('set WEBHOOK_SECRET (whsec_...) and CHAT_WEBHOOK_URL');
  process.exit(2);
}

function verify(headers, body) {
  const id = headers['webhook-id'];
  const timestamp = headers['webhook-timestamp'];
  const signatures = headers['webhook-signature'];
  if (!id || !timestamp || !signatures) return false;
  if (Math.abs(Date.now() / 1000 - Number(timestamp)) > 300) return false;
  const key = Buffer.from(secret.slice('whsec_'.length), 'base64');
  const expected = createHmac('sha256', key).update(`${id}.${timestamp}.${body}`).digest();
  return signatures.split(' ').some((entry) => {
    const [version, signature] = entry.split(',');
    const given = Buffer.from(signature ?? '', 'base64');
    return version === 'v1' && given.length === expected.length && timingSafeEqual(given, expected);
  });
}

function message(event) {
  const d = event.data;
  const license = `license ${d.id} (${d.uuid})`;
  switch (event.type) {
    case 'license.expiring':
      return `:warning: ${license} expires in ${d.daysLeft} day(s), on ${d.expires}.`;
    case 'license.expired':
      return `:x: ${license} has expired.`;
    case 'license.started':
      return `:white_check_mark: ${license} is now active.`;
    case 'license.added':
    case 'license.deleted':
      return `${license} was ${event.type.slice('license.'.length)}.`;
    case 'seats.threshold':
      return `:busts_in_silhouette: ${d.percent} % of seats in use (${d.activeUserCount} of ${d.licenseSeats}).`;
    case 'seats.refused':
      return `:no_entry: ${d.count} user(s) refused a seat: all ${d.licenseSeats} seats are taken.`;
    case 'data_access.blocked':
      return ':rotating_light: Data access is BLOCKED: a hard-expiring license ended with no other active.';
    case 'data_access.restored':
      return ':white_check_mark: Data access is restored.';
    default:
      return `Licensor event ${event.type}.`;
  }
}

const seen = new Set();

createServer(async (req, res) => {
  const chunks = [];
  for await (const chunk of req) chunks.push(chunk);
  const body = Buffer.concat(chunks).toString('utf8');
  if (req.method !== 'POST' || !verify(req.headers, body)) {
    res.writeHead(401).end();
    return;
  }
  const id = req.headers['webhook-id'];
  if (seen.has(id)) {
    res.writeHead(200).end();
    return;
  }
  const event = JSON.parse(body);
  try {
    const posted = await fetch(chatUrl, {
      method: 'POST',
      headers: { 'content-type': 'application/json' },
      body: JSON.stringify({ text: message(event) }),
      signal: AbortSignal.timeout(5000),
    });
    if (!posted.ok) throw new Error(`chat answered ${posted.status}`);
    seen.add(id);
    if (seen.size > 10_000) seen.delete(seen.values().next().value);
    res.writeHead(200).end();
  } catch (err) {
    console.error(`could not post ${id}: ${err.message}`);
    res.writeHead(502).end(); // Licensor retries later
  }
}).listen(port, process.env.HOST ?? '0.0.0.0', () =>
  console.log(`relaying Licensor events to the chat on :${port}`),
);
