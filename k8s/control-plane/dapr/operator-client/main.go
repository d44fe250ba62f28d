// Command operator-client asks the Dapr operator for what a sidecar loads at
// start (its Components, its Configuration, the Resiliency policies and the
// Subscriptions of its namespace), the way daprd does: with an mTLS
// certificate that Sentry issued for the app after validating the pod's
// service account token. It prints one JSON object, each resource as the
// operator sent it.
//
// Environment, as daprd has it in a pod: NAMESPACE (the app's namespace),
// DAPR_SENTRY_TOKEN_FILE (a service account token bound to the app's pod,
// audience spiffe://<trust domain>/ns/<control plane namespace>/dapr-sentry),
// DAPR_TRUST_ANCHORS_FILE, DAPR_SENTRY_ADDRESS, DAPR_OPERATOR_ADDRESS,
// DAPR_CONTROL_PLANE_NAMESPACE, DAPR_CONTROL_PLANE_TRUST_DOMAIN, APP_ID and
// CONFIG (the dapr.io/config annotation's value); TIMEOUT (a Go duration,
// 60s if unset) bounds the whole exchange.
package main

import (
	"context"
	"encoding/json"
	"fmt"
	"os"
	"time"

	"github.com/dapr/dapr/pkg/healthz"
	"github.com/dapr/dapr/pkg/modes"
	operatorclient "github.com/dapr/dapr/pkg/operator/client"
	operatorv1pb "github.com/dapr/dapr/pkg/proto/operator/v1"
	"github.com/dapr/dapr/pkg/security"
)

func main() {
	if err := run(); err != nil {
		fmt.Fprintln(os.Stderr, "operator-client:", err)
		os.Exit(1)
	}
}

func run() error {
	timeout := 60 * time.Second
	if value := os.Getenv("TIMEOUT"); value != "" {
		parsed, err := time.ParseDuration(value)
		if err != nil {
			return fmt.Errorf("TIMEOUT: %w", err)
		}
		timeout = parsed
	}
	ctx, cancel := context.WithTimeout(context.Background(), timeout)
	defer cancel()

	trustAnchors := os.Getenv("DAPR_TRUST_ANCHORS_FILE")
	namespace := os.Getenv("NAMESPACE")
	provider, err := security.New(ctx, security.Options{
		SentryAddress:           os.Getenv("DAPR_SENTRY_ADDRESS"),
		ControlPlaneTrustDomain: os.Getenv("DAPR_CONTROL_PLANE_TRUST_DOMAIN"),
		ControlPlaneNamespace:   os.Getenv("DAPR_CONTROL_PLANE_NAMESPACE"),
		TrustAnchorsFile:        &trustAnchors,
		AppID:                   os.Getenv("APP_ID"),
		MTLSEnabled:             true,
		Mode:                    modes.KubernetesMode,
		Healthz:                 healthz.New(),
	})
	if err != nil {
		return fmt.Errorf("security: %w", err)
	}
	providerErr := make(chan error, 1)
	go func() { providerErr <- provider.Run(ctx) }()
	sec, err := provider.Handler(ctx)
	if err != nil {
		return fmt.Errorf("certificate from sentry: %w", err)
	}

	client, conn, err := operatorclient.GetOperatorClient(ctx, os.Getenv("DAPR_OPERATOR_ADDRESS"), sec)
	if err != nil {
		return fmt.Errorf("dial operator: %w", err)
	}
	defer conn.Close()

	components, err := client.ListComponents(ctx, &operatorv1pb.ListComponentsRequest{Namespace: namespace})
	if err != nil {
		return fmt.Errorf("ListComponents: %w", err)
	}
	configuration, err := client.GetConfiguration(ctx, &operatorv1pb.GetConfigurationRequest{Name: os.Getenv("CONFIG"), Namespace: namespace})
	if err != nil {
		return fmt.Errorf("GetConfiguration: %w", err)
	}
	resiliencies, err := client.ListResiliency(ctx, &operatorv1pb.ListResiliencyRequest{Namespace: namespace})
	if err != nil {
		return fmt.Errorf("ListResiliency: %w", err)
	}
	subscriptions, err := client.ListSubscriptionsV2(ctx, &operatorv1pb.ListSubscriptionsRequest{Namespace: namespace})
	if err != nil {
		return fmt.Errorf("ListSubscriptionsV2: %w", err)
	}

	raw := func(items [][]byte) []json.RawMessage {
		out := make([]json.RawMessage, 0, len(items))
		for _, item := range items {
			out = append(out, item)
		}
		return out
	}
	return json.NewEncoder(os.Stdout).Encode(map[string]any{
		"components":    raw(components.GetComponents()),
		"configuration": json.RawMessage(configuration.GetConfiguration()),
		"resiliencies":  raw(resiliencies.GetResiliencies()),
		"subscriptions": raw(subscriptions.GetSubscriptions()),
	})
}
