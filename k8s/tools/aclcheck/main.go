// aclcheck answers "would this sidecar let that caller invoke this method?"
// with Dapr's own access control code (pkg/acl of github.com/dapr/dapr
// v1.18.3), exactly as a callee's daprd decides a service invocation: the
// method is normalized, the caller is identified by the SPIFFE ID of its
// mTLS certificate (obtained here through a real in-memory TLS handshake
// with go-spiffe's gRPC credentials, as between two sidecars), and the
// policies of the callee's Configuration are applied for an HTTP app.
//
// Usage: aclcheck <configuration.yaml> < queries.json
//
//	queries: [{"caller":"gateway","namespace":"ns","trustDomain":"public","verb":"GET","method":"recipes/1"}]
//	         (an empty caller means a request without an mTLS identity)
//
// Prints {"decisions": the queries, each with "allowed" and "reason";
// "metricsPathMatching": "" or why daprd would refuse the Configuration's
// metrics.http.pathMatching (it registers them in an http.ServeMux at start,
// which panics on a malformed or conflicting pattern)}.
package main

import (
	"context"
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/rand"
	"crypto/x509"
	"crypto/x509/pkix"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"math/big"
	"net"
	"net/url"
	"os"
	"strings"
	"time"

	"github.com/spiffe/go-spiffe/v2/bundle/x509bundle"
	"github.com/spiffe/go-spiffe/v2/spiffegrpc/grpccredentials"
	"github.com/spiffe/go-spiffe/v2/spiffeid"
	"github.com/spiffe/go-spiffe/v2/spiffetls/tlsconfig"
	"github.com/spiffe/go-spiffe/v2/svid/x509svid"
	"google.golang.org/grpc/peer"

	"go.opencensus.io/stats/view"

	"github.com/dapr/dapr/pkg/acl"
	"github.com/dapr/dapr/pkg/config"
	diag "github.com/dapr/dapr/pkg/diagnostics"
	"github.com/dapr/dapr/pkg/messaging/method"
	commonv1pb "github.com/dapr/dapr/pkg/proto/common/v1"
	"github.com/dapr/kit/logger"
)

type query struct {
	Caller      string `json:"caller"`
	Namespace   string `json:"namespace"`
	TrustDomain string `json:"trustDomain"`
	Verb        string `json:"verb"`
	Method      string `json:"method"`
	Allowed     bool   `json:"allowed"`
	Reason      string `json:"reason,omitempty"`
}

func main() {
	if len(os.Args) != 2 {
		fail(errors.New("usage: aclcheck <configuration.yaml> < queries.json"))
	}
	conf, err := config.LoadStandaloneConfiguration(os.Args[1])
	if err != nil {
		fail(err)
	}
	list, err := acl.ParseAccessControlSpec(conf.Spec.AccessControlSpec, true)
	if err != nil {
		fail(err)
	}
	var queries []query
	if err := json.NewDecoder(os.Stdin).Decode(&queries); err != nil {
		fail(fmt.Errorf("reading queries: %w", err))
	}
	ca, err := newCA()
	if err != nil {
		fail(err)
	}
	for i := range queries {
		q := &queries[i]
		ctx := context.Background()
		if q.Caller != "" {
			if ctx, err = ca.peerContext(q.TrustDomain, q.Namespace, q.Caller); err != nil {
				fail(err)
			}
		}
		operation, err := method.NormalizeMethod(q.Method)
		if err != nil {
			q.Reason = err.Error()
			continue
		}
		verb, ok := commonv1pb.HTTPExtension_Verb_value[strings.ToUpper(q.Verb)]
		if !ok {
			fail(fmt.Errorf("unknown HTTP verb %q", q.Verb))
		}
		if list == nil {
			q.Allowed, q.Reason = true, "no access control policy"
			continue
		}
		q.Allowed, q.Reason = acl.ApplyAccessControlPolicies(ctx, operation, commonv1pb.HTTPExtension_Verb(verb), true, list)
	}
	out := json.NewEncoder(os.Stdout)
	out.SetIndent("", "  ")
	report := struct {
		Decisions           []query `json:"decisions"`
		MetricsPathMatching string  `json:"metricsPathMatching"`
	}{queries, checkPathMatching(conf)}
	if err := out.Encode(report); err != nil {
		fail(err)
	}
}

// checkPathMatching initialises daprd's HTTP metrics with the Configuration's
// metrics spec, as the runtime does at start.
func checkPathMatching(conf *config.Configuration) (problem string) {
	spec := conf.GetMetricsSpec()
	defer func() {
		if r := recover(); r != nil {
			problem = fmt.Sprint(r)
		}
	}()
	log := logger.NewLogger("aclcheck")
	log.SetOutput(os.Stderr) // stdout carries the report
	meter := view.NewMeter()
	meter.Start()
	defer meter.Stop()
	httpConfig := diag.NewHTTPMonitoringConfig(spec.GetHTTPPathMatching(), spec.GetHTTPIncreasedCardinality(log), spec.GetHTTPExcludeVerbs())
	if err := diag.DefaultHTTPMonitoring.Init(meter, "aclcheck", httpConfig, spec.GetLatencyDistribution(log)); err != nil {
		return err.Error()
	}
	return ""
}

type certAuthority struct {
	cert *x509.Certificate
	key  *ecdsa.PrivateKey
}

func newCA() (*certAuthority, error) {
	key, err := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	if err != nil {
		return nil, err
	}
	tmpl := &x509.Certificate{
		SerialNumber:          big.NewInt(1),
		Subject:               pkix.Name{CommonName: "aclcheck test CA"},
		NotBefore:             time.Now().Add(-time.Hour),
		NotAfter:              time.Now().Add(time.Hour),
		IsCA:                  true,
		BasicConstraintsValid: true,
		KeyUsage:              x509.KeyUsageCertSign | x509.KeyUsageDigitalSignature,
	}
	der, err := x509.CreateCertificate(rand.Reader, tmpl, tmpl, &key.PublicKey, key)
	if err != nil {
		return nil, err
	}
	cert, err := x509.ParseCertificate(der)
	return &certAuthority{cert: cert, key: key}, err
}

// svid issues an X.509 SVID for spiffe://<td>/ns/<ns>/<app>, as Sentry does for a sidecar.
func (ca *certAuthority) svid(id spiffeid.ID) (*x509svid.SVID, error) {
	key, err := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	if err != nil {
		return nil, err
	}
	uri, _ := url.Parse(id.String())
	tmpl := &x509.Certificate{
		SerialNumber: big.NewInt(time.Now().UnixNano()),
		NotBefore:    time.Now().Add(-time.Hour),
		NotAfter:     time.Now().Add(time.Hour),
		URIs:         []*url.URL{uri},
		KeyUsage:     x509.KeyUsageDigitalSignature,
		ExtKeyUsage:  []x509.ExtKeyUsage{x509.ExtKeyUsageServerAuth, x509.ExtKeyUsageClientAuth},
	}
	der, err := x509.CreateCertificate(rand.Reader, tmpl, ca.cert, &key.PublicKey, ca.key)
	if err != nil {
		return nil, err
	}
	cert, err := x509.ParseCertificate(der)
	if err != nil {
		return nil, err
	}
	return &x509svid.SVID{ID: id, Certificates: []*x509.Certificate{cert}, PrivateKey: key}, nil
}

// peerContext performs an mTLS handshake between a caller sidecar with the
// given identity and a callee, and returns the callee's context carrying the
// caller as its gRPC peer.
func (ca *certAuthority) peerContext(trustDomain, namespace, app string) (context.Context, error) {
	td, err := spiffeid.TrustDomainFromString(trustDomain)
	if err != nil {
		return nil, err
	}
	callerID, err := spiffeid.FromSegments(td, "ns", namespace, app)
	if err != nil {
		return nil, err
	}
	calleeID, err := spiffeid.FromSegments(td, "ns", namespace, "callee")
	if err != nil {
		return nil, err
	}
	callerSVID, err := ca.svid(callerID)
	if err != nil {
		return nil, err
	}
	calleeSVID, err := ca.svid(calleeID)
	if err != nil {
		return nil, err
	}
	// Sidecars trust the one Sentry CA whatever the trust domain (dapr/kit trust anchors).
	bundle := x509bundle.FromX509Authorities(td, []*x509.Certificate{ca.cert})
	server := grpccredentials.MTLSServerCredentials(calleeSVID, bundle, tlsconfig.AuthorizeAny())
	client := grpccredentials.MTLSClientCredentials(callerSVID, bundle, tlsconfig.AuthorizeAny())

	a, b := net.Pipe()
	defer a.Close()
	defer b.Close()
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	clientErr := make(chan error, 1)
	go func() {
		conn, _, err := client.ClientHandshake(ctx, "callee", a)
		clientErr <- err
		if err == nil {
			// Keep reading: a TLS 1.3 server writes its session tickets after
			// the handshake, and a net.Pipe write blocks until it is read.
			_, _ = io.Copy(io.Discard, conn)
		}
	}()
	_, authInfo, err := server.ServerHandshake(b)
	if err != nil {
		return nil, fmt.Errorf("server handshake: %w", err)
	}
	if err := <-clientErr; err != nil {
		return nil, fmt.Errorf("client handshake: %w", err)
	}
	return peer.NewContext(context.Background(), &peer.Peer{AuthInfo: authInfo}), nil
}

func fail(err error) {
	fmt.Fprintln(os.Stderr, "aclcheck:", err)
	os.Exit(2)
}
