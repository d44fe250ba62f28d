// Mints a local JWT for a member: npm run token -- alice [hours]
import { readFileSync } from 'node:fs';
import { SignJWT } from 'jose';

const [member, hours = '12'] = process.argv.slice(2);
if (!member || !/^(?=.*[A-Za-z0-9])[A-Za-z0-9._@:-]{1,128}$/.test(member)) {
  console.error('usage: npm run token -- <member-id> [hours]   (member id: 1-128 of A-Z a-z 0-9 . _ @ : -)');
  process.exit(2);
}
let secret: string | undefined;
try {
  secret = /RECIPE_SECRET_JWT_SIGNING_KEY=(\S+)/.exec(readFileSync(new URL('../.tmp/local.env', import.meta.url), 'utf8'))?.[1];
} catch {
  secret = undefined;
}
if (!secret) {
  console.error('no local signing key yet: run `npm start` once first');
  process.exit(1);
}
const token = await new SignJWT({})
  .setProtectedHeader({ alg: 'HS256' })
  .setSubject(member)
  .setIssuedAt()
  .setExpirationTime(`${Number(hours)}h`)
  .sign(new TextEncoder().encode(secret));
console.log(token);
