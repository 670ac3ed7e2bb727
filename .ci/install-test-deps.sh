#!/usr/bin/env bash
# What `make test` needs beyond node_modules, from Debian: kcat (librdkafka's client, for the
# conformance tests), chromium (the WebSocket client's browser test) and zookeeper (3.8, with
# its Java runtime: the cluster tests start their own server on a free port). Installed when missing
# and this is root with apt-get; otherwise says what is missing (the kcat tests then fail, the
# browser test is skipped with the reason).
set -u
need=()
command -v kcat >/dev/null 2>&1 || need+=(kcat)
[ -x /usr/bin/chromium ] || need+=(chromium)
[ -f /usr/share/java/zookeeper.jar ] || need+=(zookeeper)
[ ${#need[@]} -eq 0 ] && exit 0
if [ "$(id -u)" = 0 ] && command -v apt-get >/dev/null 2>&1; then
  echo "installing from Debian: ${need[*]}"
  export DEBIAN_FRONTEND=noninteractive
  apt-get update -qq && apt-get install -y -qq "${need[@]}" >/dev/null && exit 0
  echo "could not install ${need[*]}" >&2
else
  echo "missing ${need[*]}: install them (apt-get install ${need[*]}) for the full test suite" >&2
fi
exit 0
