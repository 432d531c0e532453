#!/usr/bin/env bash
# Installs the real servers and tools the suites use on loopback: etcd (Debian etcd-server),
# dnsmasq (dnsmasq-base), Chromium for the dashboard's browser test, openssl, and HAProxy and
# nginx, the proxies the HTTP benchmark compares against (CI runs it at smoke sizes). Idempotent:
# installs only what is missing, runs apt-get update only when the package lists are missing or
# stale, and stops any etcd the package started as a system service (the tests start their own
# members on free ports).
set -euo pipefail

say() { echo "[install-servers] $*"; }

have_etcd() { command -v etcd >/dev/null 2>&1; }
have_dnsmasq() { command -v dnsmasq >/dev/null 2>&1 || [ -x /usr/sbin/dnsmasq ]; }
# The dashboard's browser test drives Debian's Chromium (no browser download); etcd's TLS tests use openssl.
have_chromium() { [ -x "${CHROMIUM_PATH:-/usr/bin/chromium}" ]; }
have_openssl() { command -v openssl >/dev/null 2>&1; }
have_haproxy() { [ -x "${HAPROXY_BIN:-/usr/sbin/haproxy}" ]; }
have_nginx() { [ -x "${NGINX_BIN:-/usr/sbin/nginx}" ]; }

missing=()
have_etcd || missing+=(etcd-server)
have_dnsmasq || missing+=(dnsmasq-base)
have_chromium || missing+=(chromium)
have_openssl || missing+=(openssl)
have_haproxy || missing+=(haproxy)
have_nginx || missing+=(nginx)

if [ ${#missing[@]} -eq 0 ]; then
  say "etcd ($(etcd --version 2>/dev/null | head -n1)), dnsmasq, chromium, openssl, haproxy and nginx already installed; nothing to do"
  exit 0
fi

if [ "$(id -u)" -eq 0 ]; then
  SUDO=()
elif command -v sudo >/dev/null 2>&1 && sudo -n true 2>/dev/null; then
  SUDO=(sudo -n)
else
  say "missing: ${missing[*]}; need root (or password-less sudo) to install them" >&2
  exit 1
fi
if ! command -v apt-get >/dev/null 2>&1; then
  say "missing: ${missing[*]}; no apt-get on this machine, install them by hand" >&2
  exit 1
fi

export DEBIAN_FRONTEND=noninteractive
# Keep the package from starting its system service (the Docker convention: exit 101 = deny).
policy=/usr/sbin/policy-rc.d
created_policy=0
if [ ! -e "$policy" ]; then
  printf '#!/bin/sh\nexit 101\n' | "${SUDO[@]}" tee "$policy" >/dev/null
  "${SUDO[@]}" chmod +x "$policy"
  created_policy=1
fi
cleanup() { if [ "$created_policy" -eq 1 ]; then "${SUDO[@]}" rm -f "$policy"; fi; }
trap cleanup EXIT

install() { "${SUDO[@]}" apt-get install -y --no-install-recommends "${missing[@]}"; }
if compgen -G '/var/lib/apt/lists/*_Packages*' >/dev/null && install; then
  say "installed ${missing[*]} from the existing package lists"
else
  say "running apt-get update, then installing ${missing[*]}"
  "${SUDO[@]}" apt-get update
  install
  say "installed ${missing[*]}"
fi

# Stop an etcd the package may have started anyway (it runs as the 'etcd' user).
pids=$(pgrep -u etcd -x etcd || true)
if [ -n "$pids" ]; then
  say "stopping the packaged etcd service (pid $pids)"
  # shellcheck disable=SC2086
  "${SUDO[@]}" kill $pids || true
fi

have_etcd && have_dnsmasq && have_chromium && have_openssl && have_haproxy && have_nginx ||
  { say "installation finished but a binary is still missing" >&2; exit 1; }
dnsmasq_bin=$(command -v dnsmasq || echo /usr/sbin/dnsmasq)
say "ready: $(etcd --version | head -n1); $("$dnsmasq_bin" --version | head -n1)"
