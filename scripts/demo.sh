#!/usr/bin/env bash
# Encrypts and decrypts the example files in fixtures/examples with the installed `secrets`
# and the fixture key, and shows that decryption gives back every byte.
set -euo pipefail
cd "$(dirname "$0")/.."
key=fixtures/keys/test-key.txt
recipient=$(grep -o 'age1[0-9a-z]*' "$key" | head -1)
out=$(mktemp -d)
trap 'rm -rf "$out"' EXIT
for file in fixtures/examples/*; do
  name=$(basename "$file")
  secrets encrypt --age "$recipient" "$file" > "$out/$name"
  secrets decrypt --identity "$key" "$out/$name" > "$out/$name.decrypted"
  cmp -s "$file" "$out/$name.decrypted" && status="byte-identical" || status="DIFFERS"
  echo "== $name: encrypted, decrypted: $status"
done
echo
echo "== fixtures/examples/app.yaml, encrypted:"
secrets encrypt --age "$recipient" fixtures/examples/app.yaml | sed -E 's/(ENC\[AES256_GCM,data:.{12})[^]]*/\1.../g'
echo
echo "== one value: secrets decrypt --extract '[\"database\"][\"password\"]'"
secrets encrypt --age "$recipient" fixtures/examples/app.yaml > "$out/app.enc.yaml"
secrets decrypt --identity "$key" --extract '["database"]["password"]' "$out/app.enc.yaml"
echo
