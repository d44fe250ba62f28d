// A Kafka-protocol test broker for the end-to-end suite: franz-go's kfake,
// an in-memory fake of a Kafka cluster that speaks the Kafka wire protocol.
// It is not Apache Kafka (no replication to speak of, nothing on disk, its
// own implementation of the protocol); it lets the project's Kafka pub/sub
// component and the relay run against the Kafka protocol where no Kafka
// broker can be installed.
//
//	kfake -port 9092
package main

import (
	"flag"
	"fmt"
	"os"
	"os/signal"
	"syscall"

	"github.com/twmb/franz-go/pkg/kfake"
)

func main() {
	port := flag.Int("port", 9092, "port to listen on")
	flag.Parse()
	cluster, err := kfake.NewCluster(
		kfake.Ports(*port),
		kfake.AllowAutoTopicCreation(),
		kfake.SeedTopics(1),
	)
	if err != nil {
		fmt.Fprintln(os.Stderr, err)
		os.Exit(1)
	}
	fmt.Printf("kfake (a Kafka-protocol test broker, not Apache Kafka) listening on %v\n", cluster.ListenAddrs())
	stop := make(chan os.Signal, 1)
	signal.Notify(stop, syscall.SIGINT, syscall.SIGTERM)
	<-stop
	cluster.Close()
}
