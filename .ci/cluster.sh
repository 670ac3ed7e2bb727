#!/usr/bin/env bash
# `make cluster`: a local ZooKeeper (Debian's package, installed when missing; data under
# ./data/zookeeper, client port 2181) and three brokers from config/cluster/broker-{1,2,3}.properties
# (Kafka protocol on 127.0.0.1:19092, 29092, 39092; WebSocket on 19094, 29094, 39094; data under
# ./data/broker-N). Ctrl-C stops the brokers cleanly (SIGTERM: leaderships move first), then
# ZooKeeper.
set -u
cd "$(dirname "$0")/.."
JAR=/usr/share/java/zookeeper.jar
if [ ! -f "$JAR" ]; then
  if [ "$(id -u)" = 0 ] && command -v apt-get >/dev/null 2>&1; then
    echo "installing zookeeper from Debian"
    DEBIAN_FRONTEND=noninteractive apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq zookeeper >/dev/null
  else
    echo "ZooKeeper is missing: apt-get install zookeeper" >&2
    exit 1
  fi
fi
mkdir -p data/zookeeper
pids=()
stop() {
  trap - INT TERM
  echo "stopping the brokers"
  for p in "${pids[@]:1}"; do kill -TERM "$p" 2>/dev/null; done
  for p in "${pids[@]:1}"; do wait "$p" 2>/dev/null; done
  kill -TERM "${pids[0]}" 2>/dev/null
  wait "${pids[0]}" 2>/dev/null
  exit 0
}
trap stop INT TERM
java -Xmx256m -cp "/etc/zookeeper/conf:$JAR" -Dzookeeper.log.dir=./data/zookeeper \
  org.apache.zookeeper.server.ZooKeeperServerMain config/cluster/zookeeper.cfg > data/zookeeper/zookeeper.out 2>&1 &
pids+=($!)
for _ in $(seq 1 100); do
  if (exec 3<>/dev/tcp/127.0.0.1/2181 && echo ruok >&3 && timeout 1 cat <&3) 2>/dev/null | grep -q imok; then break; fi
  sleep 0.1
done
for n in 1 2 3; do
  node --import tsx src/cli/main.ts broker "config/cluster/broker-$n.properties" > >(sed -u "s/^/[broker $n] /") 2>&1 &
  pids+=($!)
done
wait
