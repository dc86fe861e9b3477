// Command etcd is the upstream etcd server: etcd's own main, which cannot be installed with
// `go install` because its go.mod carries local replace directives.
package main

import (
	"os"

	"go.etcd.io/etcd/server/v3/etcdmain"
)

func main() {
	etcdmain.Main(os.Args)
}
