# ruff: noqa: E501 - the shell scripts this writes keep the lines of Kafka's own scripts
"""Writes /opt/kafka/bin for the local Kafka image: Kafka's own script names, each running its tool's
main class from the jars, and checks that every class is in the jars.

    python3 tools.py check LIBS_DIR BIN_DIR

Used by deploy/docker/engine.sh while it lays out the build context; not part of the image's run.
"""

import glob
import os
import sys
import zipfile

# script -> main class, as in Kafka 4.3's bin/ (only the tools the broker jars and kafka-tools hold)
TOOLS = {
    "kafka-server-start.sh": "kafka.Kafka",
    "kafka-storage.sh": "kafka.tools.StorageTool",
    "kafka-configs.sh": "kafka.admin.ConfigCommand",
    "kafka-acls.sh": "org.apache.kafka.tools.AclCommand",
    "kafka-broker-api-versions.sh": "org.apache.kafka.tools.BrokerApiVersionsCommand",
    "kafka-client-metrics.sh": "org.apache.kafka.tools.ClientMetricsCommand",
    "kafka-cluster.sh": "org.apache.kafka.tools.ClusterTool",
    "kafka-console-consumer.sh": "org.apache.kafka.tools.consumer.ConsoleConsumer",
    "kafka-console-producer.sh": "org.apache.kafka.tools.ConsoleProducer",
    "kafka-consumer-groups.sh": "org.apache.kafka.tools.consumer.group.ConsumerGroupCommand",
    "kafka-consumer-perf-test.sh": "org.apache.kafka.tools.ConsumerPerformance",
    "kafka-delegation-tokens.sh": "org.apache.kafka.tools.DelegationTokenCommand",
    "kafka-delete-records.sh": "org.apache.kafka.tools.DeleteRecordsCommand",
    "kafka-dump-log.sh": "org.apache.kafka.tools.DumpLogSegments",
    "kafka-e2e-latency.sh": "org.apache.kafka.tools.EndToEndLatency",
    "kafka-features.sh": "org.apache.kafka.tools.FeatureCommand",
    "kafka-get-offsets.sh": "org.apache.kafka.tools.GetOffsetShell",
    "kafka-groups.sh": "org.apache.kafka.tools.GroupsCommand",
    "kafka-jmx.sh": "org.apache.kafka.tools.JmxTool",
    "kafka-leader-election.sh": "org.apache.kafka.tools.LeaderElectionCommand",
    "kafka-log-dirs.sh": "org.apache.kafka.tools.LogDirsCommand",
    "kafka-metadata-quorum.sh": "org.apache.kafka.tools.MetadataQuorumCommand",
    "kafka-producer-perf-test.sh": "org.apache.kafka.tools.ProducerPerformance",
    "kafka-reassign-partitions.sh": "org.apache.kafka.tools.reassign.ReassignPartitionsCommand",
    "kafka-replica-verification.sh": "org.apache.kafka.tools.ReplicaVerificationTool",
    "kafka-share-groups.sh": "org.apache.kafka.tools.consumer.group.ShareGroupCommand",
    "kafka-streams-groups.sh": "org.apache.kafka.tools.streams.StreamsGroupCommand",
    "kafka-topics.sh": "org.apache.kafka.tools.TopicCommand",
    "kafka-transactions.sh": "org.apache.kafka.tools.TransactionsCommand",
    "kafka-verifiable-producer.sh": "org.apache.kafka.tools.VerifiableProducer",
}

RUN_CLASS = """#!/usr/bin/env bash
# As Kafka's bin/kafka-run-class.sh, for the jars in /opt/kafka/libs:
#   kafka-run-class.sh [-daemon] [-name NAME] [-loggc] CLASS [ARGS...]
# KAFKA_HEAP_OPTS, KAFKA_JVM_PERFORMANCE_OPTS, KAFKA_GC_LOG_OPTS, KAFKA_JMX_OPTS, KAFKA_LOG4J_OPTS
# and KAFKA_OPTS are passed to the JVM as there.
base_dir=$(cd "$(dirname "$0")/.." && pwd)
daemon=""
while [ $# -gt 0 ]; do
  case $1 in
    -daemon) daemon=1; shift ;;
    -name) shift 2 ;;
    -loggc) shift ;;
    *) break ;;
  esac
done
[ $# -ge 1 ] || { echo "USAGE: $0 [-daemon] [-name servicename] [-loggc] classname [opts]"; exit 1; }
KAFKA_HEAP_OPTS=${KAFKA_HEAP_OPTS:--Xmx256M}
KAFKA_JVM_PERFORMANCE_OPTS=${KAFKA_JVM_PERFORMANCE_OPTS:--server -XX:+UseG1GC -XX:MaxGCPauseMillis=20 -XX:InitiatingHeapOccupancyPercent=35 -XX:+ExplicitGCInvokesConcurrent -XX:MaxInlineLevel=15 -Djava.awt.headless=true}
KAFKA_LOG4J_OPTS=${KAFKA_LOG4J_OPTS:--Dlog4j2.configurationFile=$base_dir/config/tools-log4j2.properties}
java="${JAVA_HOME:+$JAVA_HOME/bin/}java"
# shellcheck disable=SC2086  # the option variables are lists of words, as in Kafka's script
set -- "$java" $KAFKA_HEAP_OPTS $KAFKA_JVM_PERFORMANCE_OPTS ${KAFKA_GC_LOG_OPTS:-} ${KAFKA_JMX_OPTS:-} \\
  $KAFKA_LOG4J_OPTS -cp "$base_dir/libs/*" ${KAFKA_OPTS:-} "$@"
if [ -n "$daemon" ]; then nohup "$@" >/dev/null 2>&1 </dev/null & else exec "$@"; fi
"""

SERVER_START = """#!/usr/bin/env bash
# As Kafka's bin/kafka-server-start.sh: kafka-server-start.sh [-daemon] server.properties [--override property=value]*
[ $# -ge 1 ] || { echo "USAGE: $0 [-daemon] server.properties [--override property=value]*"; exit 1; }
base_dir=$(cd "$(dirname "$0")/.." && pwd)
export KAFKA_LOG4J_OPTS=${KAFKA_LOG4J_OPTS:--Dlog4j2.configurationFile=$base_dir/config/log4j2.properties}
export KAFKA_HEAP_OPTS=${KAFKA_HEAP_OPTS:--Xmx1G -Xms1G}
extra=()
[ "$1" = -daemon ] && { extra=(-daemon); shift; }
exec "$base_dir/bin/kafka-run-class.sh" "${extra[@]}" -name kafkaServer kafka.Kafka "$@"
"""

TOOL = """#!/usr/bin/env bash
exec "$(dirname "$0")/kafka-run-class.sh" {cls} "$@"
"""


def main() -> int:
    if len(sys.argv) != 4 or sys.argv[1] != "check":
        print(__doc__, file=sys.stderr)
        return 2
    libs, bin_dir = sys.argv[2], sys.argv[3]
    classes = set()
    for jar in glob.glob(os.path.join(libs, "*.jar")):
        with zipfile.ZipFile(jar) as z:
            classes.update(n[:-6].replace("/", ".") for n in z.namelist() if n.endswith(".class"))
    missing = sorted(f"{s} ({c})" for s, c in TOOLS.items() if c not in classes)
    if missing:
        print("main classes missing from the jars: " + ", ".join(missing), file=sys.stderr)
        return 1
    os.makedirs(bin_dir, exist_ok=True)
    scripts = {"kafka-run-class.sh": RUN_CLASS, "kafka-server-start.sh": SERVER_START}
    scripts.update({s: TOOL.format(cls=c) for s, c in TOOLS.items() if s not in scripts})
    for name, text in scripts.items():
        path = os.path.join(bin_dir, name)
        with open(path, "w") as f:
            f.write(text)
        os.chmod(path, 0o755)  # noqa: S103 - scripts on the image's PATH, run by every user
    return 0


if __name__ == "__main__":
    sys.exit(main())
