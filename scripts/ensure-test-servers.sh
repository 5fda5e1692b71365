#!/bin/sh
# Runs before `npm test` (the pretest script). The tests start their own servers on 127.0.0.1:
# fauxqs (from npm), DynamoDB Local (from npm; needs Java 17) and redis-server (Debian's
# package). This makes sure redis-server is installed, installing it when it can (as root, with
# apt-get), and says what is missing otherwise.
set -u

if ! command -v redis-server >/dev/null 2>&1; then
  if command -v apt-get >/dev/null 2>&1 && [ "$(id -u)" = 0 ]; then
    echo "pretest: installing redis-server (Debian package) for the Redis idempotency store tests" >&2
    apt-get install -y redis-server >/dev/null 2>&1 ||
      { apt-get update >/dev/null 2>&1 && apt-get install -y redis-server >/dev/null 2>&1; }
  fi
fi
if ! command -v redis-server >/dev/null 2>&1; then
  echo "npm test needs redis-server: the Redis idempotency store tests start one on 127.0.0.1." >&2
  echo "Install it (apt-get install redis-server, or brew install redis) and run npm test again." >&2
  exit 1
fi
if ! command -v javac >/dev/null 2>&1; then
  echo "npm test needs a Java 17 JDK (java and javac): the DynamoDB store tests run DynamoDB Local." >&2
  echo "Install it (apt-get install openjdk-17-jdk-headless) and run npm test again." >&2
  exit 1
fi
