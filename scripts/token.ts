// Mints a local JWT for a member: npm run token -- alice [hours] [--name "Alice K."]
// (--name: the token's name claim, shown as the member's name until they set one).
import { readFileSync } from 'node:fs';
import path from 'node:path';
import { SignJWT } from 'jose';
import { ROOT } from './lib/sidecar.js';

const args = process.argv.slice(2);
const nameAt = args.indexOf('--name');
const name = nameAt >= 0 ? args.splice(nameAt, 2)[1] : undefined;
const [member, hours = '12'] = args;
if (!member || !/^(?=.*[A-Za-z0-9])[A-Za-z0-9._@:-]{1,128}$/.test(member)) {
  console.error('usage: npm run token -- <member-id> [hours] [--name <display name>]   (member id: 1-128 of A-Z a-z 0-9 . _ @ : -)');
  process.exit(2);
}
let secret: string | undefined;
try {
  // The local run keeps its secrets in LOCAL_RUN_DIR (default .tmp), see scripts/local/run.ts.
  secret = /RECIPE_SECRET_JWT_SIGNING_KEY=(\S+)/.exec(
    readFileSync(path.resolve(ROOT, process.env.LOCAL_RUN_DIR ?? '.tmp', 'local.env'), 'utf8'),
  )?.[1];
} catch {
  secret = undefined;
}
if (!secret) {
  console.error('no local signing key yet: run `npm start` once first');
  process.exit(1);
}
if (nameAt >= 0 && !name?.trim()) {
  console.error('--name needs a name: npm run token -- alice --name "Alice K."');
  process.exit(2);
}
const token = await new SignJWT(name ? { name } : {})
  .setProtectedHeader({ alg: 'HS256' })
  .setSubject(member)
  .setIssuedAt()
  .setExpirationTime(`${Number(hours)}h`)
  .sign(new TextEncoder().encode(secret));
console.log(token);
