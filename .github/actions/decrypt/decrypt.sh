#!/usr/bin/env bash
# The logic of the decrypt action, kept out of action.yml so it can be tested with a fake
# GITHUB_ENV (tests/cli/deploy.rs). Inputs come from the environment:
#   SOPS_AGE_KEY      the age identity (read by secrets itself; never printed or exported)
#   INPUT_ENV_FILES   encrypted files, one per line: values appended to $GITHUB_ENV, masked
#   INPUT_FILES       lines "ENCRYPTED DESTINATION": decrypted to DESTINATION (0600), masked
#   INPUT_FLATTEN     "true" to pass --flatten for env files
#   SECRETS_BIN       the binary to run (default: secrets on PATH)
set -euo pipefail

#   INPUT_AGE_KEY, INPUT_PGP_KEY, INPUT_AWS_*, INPUT_VAULT_*: key material and credentials;
#                     each is exported under its standard name only when given, so credentials
#                     set earlier in the job (aws-actions/configure-aws-credentials) stay in force
bin="${SECRETS_BIN:-secrets}"

export_if_set() { # NAME VALUE
  if [ -n "$2" ]; then export "$1=$2"; fi
}
export_if_set SOPS_AGE_KEY "${INPUT_AGE_KEY:-}"
export_if_set AWS_ACCESS_KEY_ID "${INPUT_AWS_ACCESS_KEY_ID:-}"
export_if_set AWS_SECRET_ACCESS_KEY "${INPUT_AWS_SECRET_ACCESS_KEY:-}"
export_if_set AWS_SESSION_TOKEN "${INPUT_AWS_SESSION_TOKEN:-}"
export_if_set AWS_PROFILE "${INPUT_AWS_PROFILE:-}"
export_if_set VAULT_ADDR "${INPUT_VAULT_ADDR:-}"
export_if_set VAULT_TOKEN "${INPUT_VAULT_TOKEN:-}"
export_if_set VAULT_NAMESPACE "${INPUT_VAULT_NAMESPACE:-}"
unset INPUT_AGE_KEY INPUT_AWS_SECRET_ACCESS_KEY INPUT_AWS_SESSION_TOKEN INPUT_VAULT_TOKEN
if [ -n "${INPUT_PGP_KEY:-}" ]; then
  GNUPGHOME="$(mktemp -d)"
  chmod 700 "$GNUPGHOME"
  export GNUPGHOME
  trap 'gpgconf --kill gpg-agent >/dev/null 2>&1 || true; rm -rf "$GNUPGHOME"' EXIT
  printf '%s\n' "$INPUT_PGP_KEY" | gpg --batch --quiet --import >/dev/null 2>&1 \
    || { echo "error: pgp-key: gpg could not import the key" >&2; exit 2; }
  unset INPUT_PGP_KEY
fi
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
