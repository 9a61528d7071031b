package kafka

import (
	"fmt"
	"net"
	"sort"
	"strconv"

	"github.com/twmb/franz-go/pkg/kfake"

	"github.com/taskflow/taskflow/pkg/events"
)

// Embedded starts the embedded Kafka-protocol broker (franz-go's kfake) on addr
// (a 127.0.0.1 port) with TaskFlow's topics. With dataDir set it keeps its
// log there, so a restarted broker still has every record.
func Embedded(addr, dataDir string) (*kfake.Cluster, error) {
	host, portStr, err := net.SplitHostPort(addr)
	if err != nil {
		return nil, err
	}
	if host != "127.0.0.1" && host != "localhost" {
		return nil, fmt.Errorf("the embedded broker listens on 127.0.0.1 only, not %s", host)
	}
	port, err := strconv.Atoi(portStr)
	if err != nil {
		return nil, err
	}
	opts := []kfake.Opt{kfake.Ports(port), kfake.ClusterID("taskflow-dev")}
	for topic, n := range events.Partitions {
		opts = append(opts, kfake.SeedTopics(n, topic))
	}
	opts = append(opts, kfake.SeedTopics(3, BrokerTopic))
	if dataDir != "" {
		opts = append(opts, kfake.DataDir(dataDir), kfake.SyncWrites())
	}
	return kfake.NewCluster(opts...)
}

// TopicList names the topics with their partition counts.
func TopicList() []string {
	var out []string
	for t, n := range events.Partitions {
		out = append(out, fmt.Sprintf("%s/%d", t, n))
	}
	sort.Strings(out)
	return out
}
