#!/usr/bin/env bash
# Make sure the database servers the tests use are up (CI runs on a machine that has them).
set -uo pipefail
if command -v pg_isready >/dev/null && ! pg_isready -q -h 127.0.0.1; then
  pg_ctlcluster --skip-systemctl-redirect "$(ls /etc/postgresql)" main start || true
fi
if command -v mysqladmin >/dev/null && ! mysqladmin -uroot -h127.0.0.1 status >/dev/null 2>&1; then
  start-stop-daemon --start --oknodo --background --exec /usr/sbin/mariadbd || true
  for _ in $(seq 30); do mysqladmin -uroot -h127.0.0.1 status >/dev/null 2>&1 && break; sleep 1; done
fi
# headless Chromium and its driver for the cookie banner tests (Debian packages)
command -v chromium >/dev/null || (apt-get update && apt-get install -y chromium chromium-driver) || true
exit 0
