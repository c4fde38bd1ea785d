import { generateKeyPairSync } from 'node:crypto';
import { chmodSync, existsSync, mkdirSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import type { Command } from 'commander';
import { thumbprint } from '../../keys/key-ring.js';
import { RefusedError } from '../cli-errors.js';
import { checkOutputFolder, writeFailed } from '../output-path.js';

export function keygenCommand(program: Command): void {
  program
    .command('keygen')
    .description('create an Ed25519 issuer key pair: DIR/issuer.key (private, 0600) and DIR/issuer.pub')
    .requiredOption('--out <dir>', 'folder to write issuer.key and issuer.pub into')
    .option('--force', 'overwrite an existing key pair', false)
    .action((options: { out: string; force: boolean }) => {
      checkOutputFolder('--out', options.out);
      const keyFile = join(options.out, 'issuer.key');
      const pubFile = join(options.out, 'issuer.pub');
      if (!options.force && (existsSync(keyFile) || existsSync(pubFile)))
        throw new RefusedError(
          'KEY_EXISTS',
          `${keyFile} or ${pubFile} already exists; pass --force to replace it`,
        );
      const { privateKey, publicKey } = generateKeyPairSync('ed25519');
      try {
        mkdirSync(options.out, { recursive: true });
        writeFileSync(keyFile, privateKey.export({ type: 'pkcs8', format: 'pem' }), { mode: 0o600 });
        chmodSync(keyFile, 0o600);
        writeFileSync(pubFile, publicKey.export({ type: 'spki', format: 'pem' }), { mode: 0o644 });
      } catch (err) {
        throw writeFailed('--out', options.out, err);
      }
      process.stdout.write(
        `Wrote ${keyFile} (private: keep it secret) and ${pubFile} (give it to servers as LICENSOR_TRUSTED_KEYS).\nkid: ${thumbprint(publicKey)}\n`,
      );
    });
}
