// Command sentry is Dapr's certificate authority, used locally for mTLS
// between sidecars (access control identifies callers by their certificate).
package main

import "github.com/dapr/dapr/cmd/sentry/app"

func main() {
	app.Run()
}
