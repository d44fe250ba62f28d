// kubevalidate strict-decodes Kubernetes manifests into the typed structs of
// k8s.io/api, the same way the API server's strict field validation
// (kubectl apply --validate=strict) does: an unknown or misspelt field, a
// duplicated field, or a value of the wrong type (a string where an integer
// belongs, a malformed resource quantity) is an error. Object metadata is
// checked with apimachinery's own rules (DNS names, label and annotation
// syntax).
//
// Usage: kubevalidate < manifests.yaml (multi-document YAML on stdin).
// Prints one JSON line per document: {"index","apiVersion","kind","name","errors"}
// and exits 1 when any document has errors.
package main

import (
	"bufio"
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"os"

	appsv1 "k8s.io/api/apps/v1"
	autoscalingv2 "k8s.io/api/autoscaling/v2"
	batchv1 "k8s.io/api/batch/v1"
	corev1 "k8s.io/api/core/v1"
	networkingv1 "k8s.io/api/networking/v1"
	policyv1 "k8s.io/api/policy/v1"
	rbacv1 "k8s.io/api/rbac/v1"
	"k8s.io/apimachinery/pkg/api/meta"
	apivalidation "k8s.io/apimachinery/pkg/api/validation"
	"k8s.io/apimachinery/pkg/runtime"
	"k8s.io/apimachinery/pkg/runtime/serializer"
	"k8s.io/apimachinery/pkg/util/validation/field"
	utilyaml "k8s.io/apimachinery/pkg/util/yaml"
)

type result struct {
	Index      int      `json:"index"`
	APIVersion string   `json:"apiVersion"`
	Kind       string   `json:"kind"`
	Name       string   `json:"name"`
	Errors     []string `json:"errors"`
}

// Kinds whose API requires a namespace (everything this tool knows but these two).
var clusterScoped = map[string]bool{"Namespace": true, "ClusterRole": true, "ClusterRoleBinding": true}

func main() {
	scheme := runtime.NewScheme()
	for _, add := range []func(*runtime.Scheme) error{
		corev1.AddToScheme, appsv1.AddToScheme, autoscalingv2.AddToScheme, batchv1.AddToScheme,
		networkingv1.AddToScheme, policyv1.AddToScheme, rbacv1.AddToScheme,
	} {
		if err := add(scheme); err != nil {
			fail(err)
		}
	}
	decoder := serializer.NewCodecFactory(scheme, serializer.EnableStrict).UniversalDeserializer()

	reader := utilyaml.NewYAMLReader(bufio.NewReader(os.Stdin))
	out := json.NewEncoder(os.Stdout)
	failed := false
	for index := 0; ; {
		doc, err := reader.Read()
		if errors.Is(err, io.EOF) {
			break
		}
		if err != nil {
			fail(err)
		}
		if len(bytes.TrimSpace(stripComments(doc))) == 0 {
			continue
		}
		r := validate(decoder, doc)
		r.Index = index
		index++
		if len(r.Errors) > 0 {
			failed = true
		}
		if err := out.Encode(r); err != nil {
			fail(err)
		}
	}
	if failed {
		os.Exit(1)
	}
}

func validate(decoder runtime.Decoder, doc []byte) result {
	r := result{Errors: []string{}}
	// What the document says it is, for the report, even when decoding fails.
	var head struct {
		APIVersion string `json:"apiVersion"`
		Kind       string `json:"kind"`
		Metadata   struct {
			Name string `json:"name"`
		} `json:"metadata"`
	}
	if j, err := utilyaml.ToJSON(doc); err == nil {
		_ = json.Unmarshal(j, &head)
	}
	r.APIVersion, r.Kind, r.Name = head.APIVersion, head.Kind, head.Metadata.Name
	obj, _, err := decoder.Decode(doc, nil, nil)
	if err != nil {
		// A strict decoding error still returns the decoded object: report the
		// problem and go on checking its metadata.
		r.Errors = append(r.Errors, err.Error())
		if !runtime.IsStrictDecodingError(err) || obj == nil {
			return r
		}
	}
	accessor, err := meta.Accessor(obj)
	if err != nil {
		r.Errors = append(r.Errors, err.Error())
		return r
	}
	r.Name = accessor.GetName()
	nameRule := apivalidation.NameIsDNSSubdomain
	if r.Kind == "Service" {
		nameRule = apivalidation.NameIsDNS1035Label // a Service name becomes a DNS label
	}
	for _, e := range apivalidation.ValidateObjectMetaAccessor(accessor, !clusterScoped[r.Kind], nameRule, field.NewPath("metadata")) {
		r.Errors = append(r.Errors, e.Error())
	}
	return r
}

// stripComments drops YAML comment lines so that a document made only of
// comments counts as empty.
func stripComments(doc []byte) []byte {
	var b bytes.Buffer
	for _, line := range bytes.Split(doc, []byte("\n")) {
		if t := bytes.TrimSpace(line); len(t) > 0 && t[0] != '#' {
			b.Write(line)
			b.WriteByte('\n')
		}
	}
	return b.Bytes()
}

func fail(err error) {
	fmt.Fprintln(os.Stderr, "kubevalidate:", err)
	os.Exit(2)
}
