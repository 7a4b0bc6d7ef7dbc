// Reads sops files with sops-age (npm, installed by scripts/install-test-tools.sh into
// target/sops-age) and prints one JSON line per file: {"file", "ok": true, "data"} or
// {"file", "ok": false, "error"}. Usage: node tests/sops-age-decrypt.mjs KEYFILE TYPE:FILE...
// where TYPE is yaml, json or env. The identity is the AGE-SECRET-KEY line of KEYFILE.
import { readFileSync } from "node:fs";
import { createRequire } from "node:module";
import { fileURLToPath } from "node:url";
import { dirname, join } from "node:path";

const here = dirname(fileURLToPath(import.meta.url));
const require = createRequire(join(here, "../target/sops-age/node_modules/"));
const { decryptSops } = require("sops-age");

const [keyFile, ...items] = process.argv.slice(2);
const secretKey = readFileSync(keyFile, "utf8")
  .split("\n")
  .find((l) => l.startsWith("AGE-SECRET-KEY-"))
  .trim();

for (const item of items) {
  const colon = item.indexOf(":");
  const fileType = item.slice(0, colon);
  const file = item.slice(colon + 1);
  let line;
  try {
    const data = await decryptSops(readFileSync(file, "utf8"), { secretKey, fileType });
    line = { file, ok: true, data };
  } catch (e) {
    line = { file, ok: false, error: String(e && e.message ? e.message : e).slice(0, 300) };
  }
  process.stdout.write(JSON.stringify(line) + "\n");
}
