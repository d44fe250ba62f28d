// Command placement is Dapr's actor placement service. The app uses no
// actors, but `dapr run` always points sidecars at a placement service, and
// without one every sidecar logs a connection error twice a second.
package main

import "github.com/dapr/dapr/cmd/placement/app"

func main() {
	app.Run()
}
