#!/usr/bin/env bash
# Best effort: install the benchmark's peer servers, fio and ZooKeeper (the cluster part) from
# Debian when they are missing (make bench runs this first). Never fails: native-bench reports a
# missing server and benches the rest.
missing=()
command -v nats-server >/dev/null 2>&1 || [ -x /usr/sbin/nats-server ] || missing+=(nats-server)
command -v redis-server >/dev/null 2>&1 || missing+=(redis-server)
command -v fio >/dev/null 2>&1 || missing+=(fio)
[ -f /usr/share/java/zookeeper.jar ] || missing+=(zookeeper)
[ ${#missing[@]} -eq 0 ] && exit 0
if [ "$(id -u)" != 0 ] || ! command -v apt-get >/dev/null 2>&1; then
  echo "native-bench: ${missing[*]} not installed (apt-get install ${missing[*]} as root); benching without them" >&2
  exit 0
fi
echo "native-bench: installing ${missing[*]} from Debian" >&2
export DEBIAN_FRONTEND=noninteractive
if ! { apt-get update -qq && apt-get install -y -qq "${missing[@]}" >/dev/null; }; then
  echo "native-bench: could not install ${missing[*]}; benching without them" >&2
fi
# Debian's redis-server package starts a system service on 6379: the benchmark starts its own.
exit 0
