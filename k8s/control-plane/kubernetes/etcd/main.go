// Command etcd is the etcd server (the same main as etcd's own), the
// API server's store.
package main

import (
	"os"

	"go.etcd.io/etcd/server/v3/etcdmain"
)

func main() {
	etcdmain.Main(os.Args)
}
