import Type from 'typebox';

const EXAMPLE_JWK = {
  kty: 'OKP',
  crv: 'Ed25519',
  x: '11qYAYKxCrfVS_7TyWQHOg7hcvPapiMlrwIaaPcHURo',
  kid: 'kPrK_qmxVWaYVA9wwBF6Iuo3vVzz7TxHCTwXBygrS4k',
  alg: 'EdDSA',
  use: 'sig',
} as const;

export const InstanceJwk = Type.Object(
  {
    kty: Type.Literal('OKP'),
    crv: Type.Literal('Ed25519'),
    x: Type.String({ description: 'The public key (base64url, RFC 8037)' }),
    kid: Type.String({ description: 'RFC 7638 thumbprint: the `kid` of the documents it signs' }),
    alg: Type.Literal('EdDSA'),
    use: Type.Literal('sig'),
  },
  { additionalProperties: false, description: 'An instance public key', examples: [EXAMPLE_JWK] },
);

export const Instance = Type.Object(
  {
    instanceId: Type.String({ format: 'uuid', description: 'Shared by every instance on this database' }),
    kid: Type.String({ description: 'The key that signs now' }),
    publicKey: InstanceJwk,
    createdAt: Type.String({ format: 'date-time', description: 'When the identity was created' }),
  },
  {
    additionalProperties: false,
    description: 'The instance identity',
    examples: [
      {
        instanceId: '4f9c2f62-8f7e-4a55-9b43-2d2f2c0f7e11',
        kid: EXAMPLE_JWK.kid,
        publicKey: EXAMPLE_JWK,
        createdAt: '2026-06-01T12:00:00.000Z',
      },
    ],
  },
);

export const Jwks = Type.Object(
  { keys: Type.Array(InstanceJwk, { description: 'Newest first: the first one signs now' }) },
  {
    additionalProperties: false,
    description: 'The instance public keys (RFC 7517 JWK Set)',
    examples: [{ keys: [EXAMPLE_JWK] }],
  },
);

export const JWS_EXAMPLE =
  'eyJhbGciOiJFZERTQSIsInR5cCI6InVzYWdlLXJlcG9ydCtqd3MiLCJraWQiOiJrUHJLIn0.eyJpbnN0YW5jZUlkIjoiLi4uIn0.c2lnbmF0dXJl';

export const Jose = Type.String({
  description: 'A compact JWS (RFC 7515): header.payload.signature',
  examples: [JWS_EXAMPLE],
});

export const EntitlementsJwsQuery = Type.Object(
  {
    nonce: Type.String({
      pattern: '^[A-Za-z0-9_-]{1,128}$',
      description: 'Echoed in the payload: 1 to 128 URL-safe characters, fresh for each request',
      examples: ['q3Zf7yX2bA'],
    }),
  },
  { additionalProperties: false },
);
