// Decrypt a sops file with sops-age (the npm reader), printing its data as JSON.
// Usage: node sops-age-decrypt.mjs <sops-age package dir> <encrypted file> <age identity file>
import { readFileSync } from "node:fs";
import { pathToFileURL } from "node:url";

const [pkg, file, identities] = process.argv.slice(2);
const { decryptSops } = await import(pathToFileURL(`${pkg}/dist/index.js`).href);
const secretKey = readFileSync(identities, "utf8")
  .split("\n")
  .find((line) => line.startsWith("AGE-SECRET-KEY-"));
try {
  const data = await decryptSops({ path: file, secretKey });
  process.stdout.write(JSON.stringify(data));
} catch (e) {
  process.stderr.write(`sops-age: ${e.message}\n`);
  process.exit(1);
}
