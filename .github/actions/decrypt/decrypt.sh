#!/usr/bin/env bash
# The logic of the decrypt action, kept out of action.yml so it can be tested with a fake
# GITHUB_ENV (tests/cli/deploy.rs). Inputs come from the environment:
#   SOPS_AGE_KEY      the age identity (read by secrets itself; never printed or exported)
#   INPUT_ENV_FILES   encrypted files, one per line: values appended to $GITHUB_ENV, masked
#   INPUT_FILES       lines "ENCRYPTED DESTINATION": decrypted to DESTINATION (0600), masked
#   INPUT_FLATTEN     "true" to pass --flatten for env files
#   SECRETS_BIN       the binary to run (default: secrets on PATH)
set -euo pipefail

bin="${SECRETS_BIN:-secrets}"
: "${GITHUB_ENV:?GITHUB_ENV is not set: run this inside GitHub Actions}"
flatten=()
if [ "${INPUT_FLATTEN:-false}" = "true" ]; then
  flatten=(--flatten)
fi

while IFS= read -r file; do
  [ -z "${file//[[:space:]]/}" ] && continue
  "$bin" decrypt --github-env "${flatten[@]}" -- "$file"
  echo "decrypted $file into the environment" >&2
done <<< "${INPUT_ENV_FILES:-}"

while IFS= read -r line; do
  [ -z "${line//[[:space:]]/}" ] && continue
  read -r src dest extra <<< "$line"
  if [ -z "${dest:-}" ] || [ -n "${extra:-}" ]; then
    echo "error: files: expected \"ENCRYPTED DESTINATION\", got: $line" >&2
    exit 2
  fi
  # Masks first, then the file (written 0600 through a temporary file and a rename).
  "$bin" decrypt --format mask -- "$src"
  "$bin" decrypt --output "$dest" -- "$src"
  echo "decrypted $src to $dest" >&2
done <<< "${INPUT_FILES:-}"
