package main

import (
	"bytes"
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/rand"
	"crypto/tls"
	"crypto/x509"
	"crypto/x509/pkix"
	"encoding/pem"
	"io"
	"math/big"
	"net"
	"net/http"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/openai/openai-go"
	"github.com/openai/openai-go/option"
	"go.uber.org/zap"
)

// writeCert writes a self-signed certificate for 127.0.0.1 named cn and
// its key as PEM files, and returns the certificate.
func writeCert(t *testing.T, certFile, keyFile, cn string) *x509.Certificate {
	t.Helper()
	key, err := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	if err != nil {
		t.Fatal(err)
	}
	tmpl := &x509.Certificate{
		SerialNumber: big.NewInt(time.Now().UnixNano()), Subject: pkix.Name{CommonName: cn},
		NotBefore: time.Now().Add(-time.Hour), NotAfter: time.Now().Add(time.Hour),
		IPAddresses: []net.IP{net.IPv4(127, 0, 0, 1)}, KeyUsage: x509.KeyUsageDigitalSignature,
		ExtKeyUsage: []x509.ExtKeyUsage{x509.ExtKeyUsageServerAuth}, BasicConstraintsValid: true, IsCA: true,
	}
	der, err := x509.CreateCertificate(rand.Reader, tmpl, tmpl, &key.PublicKey, key)
	if err != nil {
		t.Fatal(err)
	}
	kder, err := x509.MarshalECPrivateKey(key)
	if err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(certFile, pem.EncodeToMemory(&pem.Block{Type: "CERTIFICATE", Bytes: der}), 0o600); err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(keyFile, pem.EncodeToMemory(&pem.Block{Type: "EC PRIVATE KEY", Bytes: kder}), 0o600); err != nil {
		t.Fatal(err)
	}
	cert, err := x509.ParseCertificate(der)
	if err != nil {
		t.Fatal(err)
	}
	return cert
}

// With --ssl-certfile and --ssl-keyfile the server speaks HTTPS only: an
// OpenAI client that trusts the certificate gets a completion, a plain
// HTTP request gets none.
func TestServeTLS(t *testing.T) {
	dir := t.TempDir()
	certFile, keyFile := filepath.Join(dir, "cert.pem"), filepath.Join(dir, "key.pem")
	cert := writeCert(t, certFile, keyFile, "nuri-test")
	addr := strings.TrimPrefix(startServe(t, "--ssl-certfile", certFile, "--ssl-keyfile", keyFile), "http://")
	roots := x509.NewCertPool()
	roots.AddCert(cert)
	hc := &http.Client{Timeout: 20 * time.Second, Transport: &http.Transport{TLSClientConfig: &tls.Config{RootCAs: roots}}}
	resp, err := hc.Get("https://" + addr + "/health")
	if err != nil {
		t.Fatal(err)
	}
	body, _ := io.ReadAll(resp.Body)
	resp.Body.Close()
	if resp.StatusCode != 200 || resp.TLS == nil {
		t.Fatalf("health over TLS: %d %s", resp.StatusCode, body)
	}
	client := openai.NewClient(option.WithBaseURL("https://"+addr+"/v1/"), option.WithAPIKey("unused"), option.WithHTTPClient(hc), option.WithMaxRetries(0))
	c, err := client.Completions.New(t.Context(), openai.CompletionNewParams{
		Model: "stories260K", Prompt: openai.CompletionNewParamsPromptUnion{OfString: openai.String("Once upon a time")}, MaxTokens: openai.Int(8),
	})
	if err != nil || c.Choices[0].Text == "" {
		t.Fatalf("completion over TLS: %v %+v", err, c)
	}
	if resp, err := (&http.Client{Timeout: 5 * time.Second}).Get("http://" + addr + "/health"); err == nil {
		b, _ := io.ReadAll(resp.Body)
		resp.Body.Close()
		if resp.StatusCode == 200 {
			t.Fatalf("plain HTTP answered on the TLS port: %d %s", resp.StatusCode, b)
		}
	}
	for _, args := range [][]string{{"--model", "m.gguf", "--ssl-certfile", certFile}, {"--model", "m.gguf", "--ssl-keyfile", keyFile}} {
		var stderr bytes.Buffer
		if _, err := parseServe(args, &stderr); err == nil {
			t.Errorf("%v accepted", args)
		}
	}
}

// A renewed certificate is served from the next handshake after the check
// interval; a pair that does not load leaves the previous one in service.
func TestCertReloader(t *testing.T) {
	dir := t.TempDir()
	certFile, keyFile := filepath.Join(dir, "cert.pem"), filepath.Join(dir, "key.pem")
	first := writeCert(t, certFile, keyFile, "first")
	r, err := newCertReloader(certFile, keyFile, zap.NewNop())
	if err != nil {
		t.Fatal(err)
	}
	leaf := func() string {
		t.Helper()
		c, err := r.getCertificate(nil)
		if err != nil {
			t.Fatal(err)
		}
		x, err := x509.ParseCertificate(c.Certificate[0])
		if err != nil {
			t.Fatal(err)
		}
		return x.Subject.CommonName
	}
	if got := leaf(); got != first.Subject.CommonName {
		t.Fatalf("serving %q", got)
	}
	later := time.Now().Add(time.Minute)
	writeCert(t, certFile, keyFile, "second")
	for _, f := range []string{certFile, keyFile} {
		if err := os.Chtimes(f, later, later); err != nil {
			t.Fatal(err)
		}
	}
	if got := leaf(); got != "first" {
		t.Fatalf("reloaded before the check interval: %q", got)
	}
	r.checked = time.Now().Add(-2 * certCheckEvery)
	if got := leaf(); got != "second" {
		t.Fatalf("after renewal serving %q", got)
	}
	// Half replaced: a certificate whose key is not beside it.
	otherKey := filepath.Join(dir, "other-key.pem")
	writeCert(t, certFile, otherKey, "third")
	later = later.Add(time.Minute)
	if err := os.Chtimes(certFile, later, later); err != nil {
		t.Fatal(err)
	}
	r.checked = time.Now().Add(-2 * certCheckEvery)
	if got := leaf(); got != "second" {
		t.Fatalf("a broken pair replaced the served one: %q", got)
	}
	if _, err := newCertReloader(filepath.Join(dir, "missing.pem"), keyFile, zap.NewNop()); err == nil {
		t.Fatal("a missing certificate loaded")
	}
}
